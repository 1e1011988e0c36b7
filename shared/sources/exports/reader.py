"""The one reader for the CSV exports of Profi, The Practice and SmartDesk.

Each source differs only in its layout (`layouts/<source>.yaml`). The reader streams one CSV at a
time (bounded memory: one page of records), checks every row against the layout, and turns a bad
row into a quarantined `ExtractedRecord` whose `ExportRowError` names the file, line and column —
never the value — and goes on.

    source = ExportSource(Path("samples/profi/export"), load_layout("profi"))
    for page in source.read("clients", since=watermark, checkpoint=saved):
        stage(page.records); save(page.checkpoint)

Rules (documented here because the tests prove them):
- Checkpoint = `{file, line, offset, rows}` after the page's last row; resuming seeks to `offset`,
  so every record comes exactly once. `done: true` marks a finished file.
- Delta: a record is read when its cursor (`updated_at`, or `created_at` for append-only files) is
  strictly after `since`. No cursor value, or a file declared `delta: always`, counts as changed; a
  malformed row whose cursor cannot be read is reported on every delta read, never dropped silently.
- manifest.json row counts: a mismatch is a warning in `discover()`, and at the end of a full read
  one quarantine note (source id `<file>#manifest`) carries it into the run's quarantine report, so
  the admin sees that rows were lost or added after the export. The run goes on; the reader cannot
  tell which rows are missing, so refusing the whole export would help nobody.
- Attachments: the path column is resolved under `files/`; the record gains `_file`
  `{path, size}`; a missing file or a path leaving `files/` quarantines that row. `open_file(path)`
  streams such a file's bytes (extraction copies them into staging).
- Column-rename map (spec `source.columns`): `{file or object: {their column: our column}}`
  applied to the header before it is checked. Missing required columns refuse the export.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from shared.errors import MalformedRow, SourceFormatRefused
from shared.sources._base import (
    Discovery,
    ExtractedRecord,
    Page,
    SourceObject,
    SourceUser,
)
from shared.sources.exports.archive import MANIFEST, Archive, safe_member
from shared.sources.exports.layout import FileLayout, Layout

PAGE_SIZE = 500
csv.field_size_limit(64 * 1024 * 1024)  # very long notes are real; a 64 MB field is not


class ExportRowError(MalformedRow):
    """A malformed export row: file and line as attributes too, so reports need not parse text."""

    def __init__(self, reason: str, *, file: str, line: int, **kw: Any) -> None:
        super().__init__(reason, **kw)
        self.file = file
        self.line = line

    def attrs(self) -> dict[str, Any]:
        return {**super().attrs(), "file": self.file, "line": self.line}


# --- value conversion: one lookup table, FieldType -> parser (ValueError = malformed) -------------


def _integer(v: str) -> int:
    return int(v.strip())


def _decimal(v: str) -> str:
    d = Decimal(v.strip())
    if not d.is_finite():
        raise ValueError("not finite")
    return v.strip()


def _date(v: str) -> str:
    date.fromisoformat(v.strip())
    return v.strip()


def _datetime(v: str) -> str:
    parse_timestamp(v)
    return v.strip()


_BOOL = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def _boolean(v: str) -> bool:
    return _BOOL[v.strip().lower()]


def _list(v: str) -> list[str]:
    return [x.strip() for x in v.split(";") if x.strip()]


_PARSERS: dict[str, Any] = {
    "integer": _integer,
    "decimal": _decimal,
    "money": _decimal,
    "date": _date,
    "datetime": _datetime,
    "boolean": _boolean,
    "list": _list,
}
_EXPECTED = {
    "integer": "an integer",
    "decimal": "a decimal number",
    "money": "a decimal amount",
    "date": "an ISO-8601 date",
    "datetime": "an ISO-8601 date-time",
    "boolean": "true/false",
}


def parse_timestamp(value: str) -> datetime:
    """ISO-8601 date-time (or date); naive values are UTC. Raises ValueError."""
    v = value.strip()
    dt = (
        datetime.fromisoformat(v)
        if "T" in v or " " in v
        else datetime.combine(date.fromisoformat(v), datetime.min.time())
    )
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class _Lines:
    """Byte-exact line iterator for csv.reader: csv pulls exactly the lines of one record, so
    `offset`/`line` after each row are where the next row starts (a resumable position)."""

    def __init__(self, raw: IO[bytes], offset: int = 0, line: int = 0) -> None:
        self.raw = raw
        self.offset = offset
        self.line = line

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        chunk = self.raw.readline()
        if not chunk:
            raise StopIteration
        self.offset += len(chunk)
        self.line += 1
        text = chunk.decode("utf-8", "surrogateescape")  # invalid bytes survive to be located
        if self.line == 1 and text.startswith("\ufeff"):
            text = text[1:]
        return text


class ExportSource:
    """A Profi / The Practice / SmartDesk export (folder or .zip) read through its layout."""

    def __init__(
        self,
        path: Path,
        layout: Layout,
        columns: dict[str, dict[str, str]] | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.name = layout.source
        self.layout = layout
        self.page_size = page_size
        self.archive = Archive(path)
        self.manifest = self._manifest()
        self._renames = columns or {}

    # --- Source protocol ------------------------------------------------------------------------

    def objects(self) -> list[SourceObject]:
        return [
            SourceObject(fl.object, fl.primary_key, fl.cursor if fl.delta == "cursor" else None)
            for fl in self.layout.files.values()
        ]

    def discover(self, sample_size: int = 200) -> Discovery:
        from shared.sources.exports.discover import discover

        return discover(self, sample_size)

    def read(
        self, object: str, *, since: datetime | None = None, checkpoint: dict[str, Any] | None = None
    ) -> Iterator[Page]:
        fl = self._file(object)
        if checkpoint is not None:
            if checkpoint.get("file") != fl.file:
                raise ValueError(f"checkpoint for {checkpoint.get('file')} given to {fl.file}")
            if checkpoint.get("done"):
                return
        batch: list[ExtractedRecord] = []
        position: dict[str, Any] = dict(checkpoint or {"file": fl.file, "line": 1, "offset": 0, "rows": 0})
        for item, pos in self.rows(fl, position):
            position = pos
            if item.error is None and not self._changed(fl, item.record, since):
                continue
            if item.error is not None and since is not None and self._cursor_readable_and_old(item, since):
                continue
            batch.append(item)
            if len(batch) >= self.page_size:
                yield Page(object, batch, position)
                batch = []
        position = {**position, "done": True}
        note = self._manifest_note(fl, int(position.get("rows", 0)))
        if note is not None:
            batch.append(note)
        yield Page(object, batch, position)

    def users(self) -> list[SourceUser]:
        u = self.layout.users
        out: list[SourceUser] = []
        for page in self.read(u.object):
            for item in page.records:
                r = item.record
                if r is None:
                    continue
                email = (r.get(u.email) or "").strip().lower() or None
                name = " ".join(str(r[c]) for c in u.name if r.get(c)) or None
                active = (
                    True
                    if u.active_column is None or r.get(u.active_column) is None
                    else str(r[u.active_column]).lower() in u.active_values
                )
                out.append(SourceUser(str(r[u.id]), email, name, active))
        return out

    def open_file(self, path: str) -> IO[bytes] | None:
        """The bytes of an attachment this export staged as `_file.path` (for extraction to copy);
        None when the path is not one of this export's files."""
        return self.archive.open_located(path)

    def close(self) -> None:
        self.archive.close()

    # --- rows -----------------------------------------------------------------------------------

    def present(self, fl: FileLayout) -> bool:
        return self.archive.exists(fl.file)

    def header(self, fl: FileLayout) -> list[str]:
        with self.archive.open(fl.file) as raw:
            lines = _Lines(raw)
            row = next(csv.reader(lines), None)
        if row is None:
            raise SourceFormatRefused(f"{self.name} export: {fl.file} is empty (no header row)")
        return self._mapped_header(fl, row)

    def rows(
        self, fl: FileLayout, position: dict[str, Any] | None = None
    ) -> Iterator[tuple[ExtractedRecord, dict[str, Any]]]:
        """Every row of a file after `position`, checked and converted, with the position after it."""
        if not self.present(fl):
            if fl.optional:
                return
            raise SourceFormatRefused(f"{self.name} export has no {fl.file} (a required file of its layout)")
        pos = position or {"file": fl.file, "line": 1, "offset": 0, "rows": 0}
        with self.archive.open(fl.file) as raw:
            lines = _Lines(raw)
            header_row = next(csv.reader(lines), None)
            if header_row is None:
                return
            header = self._mapped_header(fl, header_row)
            rows = int(pos.get("rows", 0))
            if int(pos.get("offset", 0)) > lines.offset:
                raw.seek(int(pos["offset"]))
                lines.offset, lines.line = int(pos["offset"]), int(pos["line"])
            end_line = lines.line
            for values in csv.reader(lines):
                start_line, end_line = end_line + 1, lines.line
                if not values or values == [""]:
                    continue  # blank line
                rows += 1
                item = self._convert(fl, header, values, start_line)
                yield item, {"file": fl.file, "line": end_line, "offset": lines.offset, "rows": rows}

    def _convert(self, fl: FileLayout, header: list[str], values: list[str], line: int) -> ExtractedRecord:
        keys = fl.key_columns or [fl.primary_key]
        by_name = dict(zip(header, values, strict=False))
        sid = "/".join(by_name.get(k, "") for k in keys) if all(by_name.get(k) for k in keys) else ""
        if _has_surrogates(sid):
            sid = ""
        sid = sid or f"{fl.file}:{line}"

        def bad(column: str | None, why: str) -> ExtractedRecord:
            where = f"{fl.file} line {line}" + (f", column {column}" if column else "")
            return ExtractedRecord(
                fl.object,
                None,
                ExportRowError(
                    f"{where}: {why}",
                    file=fl.file,
                    line=line,
                    source=self.name,
                    object=fl.object,
                    source_id=sid,
                    field=column,
                ),
            )

        if len(values) != len(header):
            column = header[len(values)] if len(values) < len(header) else None
            return bad(column, f"row has {len(values)} fields, the header has {len(header)}")
        record: dict[str, Any] = {}
        for name, raw_value in zip(header, values, strict=True):
            if _has_surrogates(raw_value):
                return bad(name, "invalid UTF-8")
            col = fl.columns.get(name)
            if raw_value == "":
                record[name] = [] if col is not None and col.type == "list" else None
                continue
            parser = _PARSERS.get(col.type) if col is not None else None
            if parser is None:
                record[name] = raw_value
                continue
            try:
                record[name] = parser(raw_value)
            except (ValueError, KeyError, InvalidOperation):
                return bad(name, f"not {_EXPECTED.get(col.type if col else '', 'valid')}")
        for c in fl.columns.values():
            if c.optional and c.name not in record:
                record[c.name] = [] if c.type == "list" else None
        for k in keys:
            if not record.get(k):
                return bad(k, "the key column is empty")
        if fl.key_columns:
            record["_key"] = sid
        if fl.attachment_path:
            member = safe_member(record.get(fl.attachment_path) or "")
            if member is None:
                return bad(fl.attachment_path, "attachment path is empty or leaves files/")
            size = self.archive.size(member)
            if size is None:
                return bad(fl.attachment_path, "attachment file is missing from files/")
            record["_file"] = {"path": self.archive.locate(member), "size": size}
        return ExtractedRecord(fl.object, record)

    def _mapped_header(self, fl: FileLayout, row: list[str]) -> list[str]:
        renames = {**self._renames.get(fl.object, {}), **self._renames.get(fl.file, {})}
        header = [renames.get(h.strip(), h.strip()) for h in row]
        missing = [c for c in fl.required_columns if c not in header]
        if missing:
            raise SourceFormatRefused(
                f"{self.name} export: {fl.file} lacks column(s) {', '.join(missing)}; if the export "
                f"names them differently, map them in the spec: source.columns.{fl.object}: "
                "{their_column: our_column}"
            )
        dupes = sorted({h for h in header if header.count(h) > 1})
        if dupes:
            raise SourceFormatRefused(f"{self.name} export: {fl.file} repeats column(s) {', '.join(dupes)}")
        return header

    # --- delta, manifest ------------------------------------------------------------------------

    @staticmethod
    def _changed(fl: FileLayout, record: dict[str, Any] | None, since: datetime | None) -> bool:
        if since is None or fl.delta == "always" or fl.cursor is None or record is None:
            return True
        value = record.get(fl.cursor)
        if not value:
            return True  # declared policy: no cursor value counts as changed
        return parse_timestamp(value) > _aware(since)

    def _cursor_readable_and_old(self, item: ExtractedRecord, since: datetime) -> bool:
        """A malformed row follows the delta rule only when its cursor can still be read."""
        err = item.error
        if not isinstance(err, ExportRowError):
            return False
        fl = self._file(item.object)
        if fl.cursor is None or fl.delta == "always" or err.field == fl.cursor or err.field is None:
            return False
        value = self._raw_cell(fl, err.line, fl.cursor)
        try:
            return value is not None and parse_timestamp(value) <= _aware(since)
        except ValueError:
            return False

    def _raw_cell(self, fl: FileLayout, line: int, column: str) -> str | None:
        # Rare path (malformed rows on a delta read): re-read to that line.
        with self.archive.open(fl.file) as raw:
            lines = _Lines(raw)
            reader = csv.reader(lines)
            header = self._mapped_header(fl, next(reader))
            end = lines.line
            for values in reader:
                start, end = end + 1, lines.line
                if start == line:
                    cells = dict(zip(header, values, strict=False))
                    v = cells.get(column)
                    return None if v is None or _has_surrogates(v) else v
        return None

    def _manifest(self) -> dict[str, Any]:
        if not self.archive.exists(MANIFEST):
            raise SourceFormatRefused(
                f"{self.archive.path.name} is not a {self.layout.source} export: manifest.json is missing"
            )
        with self.archive.open(MANIFEST) as f:
            try:
                data = json.loads(f.read().decode("utf-8-sig"))
            except (ValueError, UnicodeDecodeError):
                raise SourceFormatRefused(f"{self.layout.source} export: manifest.json is not JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
            raise SourceFormatRefused(f"{self.layout.source} export: manifest.json has no files map")
        if data.get("source") not in (None, self.layout.source):
            raise SourceFormatRefused(
                f"export's manifest says source {data.get('source')!r}, the spec says {self.layout.source!r}"
            )
        return data

    def manifest_count(self, fl: FileLayout) -> int | None:
        n = self.manifest["files"].get(fl.file)
        return int(n) if isinstance(n, int) else None

    def _manifest_note(self, fl: FileLayout, rows: int) -> ExtractedRecord | None:
        expected = self.manifest_count(fl)
        if expected is None or expected == rows or not self.present(fl):
            return None
        return ExtractedRecord(
            fl.object,
            None,
            ExportRowError(
                f"{fl.file}: manifest.json lists {expected} rows, the file holds {rows} "
                "(rows lost or added after the export; re-export to be sure nothing is missing)",
                file=fl.file,
                line=0,
                source=self.name,
                object=fl.object,
                source_id=f"{fl.file}#manifest",
            ),
        )

    def _file(self, object: str) -> FileLayout:
        fl = self.layout.files.get(object)
        if fl is None:
            raise ValueError(f"{self.name} has no object {object!r}")
        return fl


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
