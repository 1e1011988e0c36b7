"""Extract: each source object read page by page into gzip NDJSON chunks, resumably.

`extract_object` stages one object: pages are buffered up to `extract_chunk_size` records and
written as a chunk at a page boundary, then the object manifest (chunks, counts, sha256 checksums,
the source checkpoint after the chunk, the max cursor) is rewritten. Run again after a crash (the
durable retry), it reads the manifest and resumes from its checkpoint, so no record is staged twice.
A chunk never holds more than `extract_chunk_size` records (a page that overfills the buffer is
cut into several chunks, all stored before the one manifest update that advances the checkpoint).
Memory is bounded by one chunk plus one page. `finish_extract` joins the object manifests into the
run manifest. Malformed source rows count as source records and go to quarantine.

    out = extract_object(run, "contacts", store)     # one activity per object, fanned out
    run_out = finish_extract(run, [out, ...], store)  # ExtractOutput for the later stages

Layout: `staging/{migration}/{run}/raw/{object}/{n:05d}.ndjson.gz` + `raw/{object}/manifest.json`,
`raw/manifest.json` for the run, `quarantine/extract/{object}/{n:05d}.ndjson.gz`.

Files (COM-05, COM-41): a record carrying `_file: {path, size}` has the file's bytes copied, streamed,
to `files/{object}/{source id}` under the run's prefix, and gains `_file.blob` (and the `size` and
`sha256` of what was copied), before its chunk is written — so a resumed extraction copies the file
again at most, never loses it. A file over `MAX_ATTACHMENT_BYTES` (Dataverse's ceiling for file
data), one the source cannot open, or a source that opens no files, leaves `_file.blob` unset with
`_file.not_staged` saying why; the load step quarantines that record naming the file and the reason.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict

from shared.errors import ConfigError
from shared.migration.models import ExtractOutput, ObjectExtract, RunRef
from shared.sources import Source, open_source
from shared.sources._base import open_source_file
from shared.storage import write_ndjson_gz

MANIFEST_VERSION = 1
MAX_ATTACHMENT_BYTES = 131_072_000
"""The most a Dataverse org accepts for a note's file (`organization.maxuploadfilesize` at its maximum,
"128 MB"); a larger file can never load, so it is not copied."""


class Store(Protocol):
    """What extraction needs from the staging store (StagingStore, or a dict-backed fake)."""

    def put_bytes(self, path: str, data: bytes) -> None: ...

    def put_json(self, path: str, document: Any) -> None: ...

    def get_json(self, path: str) -> Any: ...

    def put_stream(self, path: str, stream: IO[bytes]) -> None:
        """Only called for records that carry a file."""
        ...


class ExtractObjectInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    run: RunRef
    object: str


class ObjectExtractOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    object: str
    manifest_path: str
    records: int = 0
    malformed: int = 0
    chunks: list[str] = []
    max_cursor: str | None = None


class FinishExtractInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    run: RunRef
    objects: list[ObjectExtractOutput]


def parse_cursor(value: Any) -> datetime | None:
    """A cursor value as an aware datetime: ISO-8601 text, or unix seconds (number or digits)."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
        try:
            return datetime.fromtimestamp(float(value), tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def object_names(run: RunRef, base_dir: Path | None = None) -> list[str]:
    """The source's objects, in their declared order (the extraction plan)."""
    source = open_source(run.spec.source, base_dir)
    try:
        return [o.name for o in source.objects()]
    finally:
        source.close()


def manifest_path(run: RunRef, object: str) -> str:
    return f"{run.prefix}/raw/{object}/manifest.json"


def extract_object(
    run: RunRef,
    object: str,
    store: Store,
    base_dir: Path | None = None,
    *,
    source: Source | None = None,
    page_limit: int | None = None,
) -> ObjectExtractOutput:
    """Stage one object's records (only those changed since `run.since` on a delta run).

    `page_limit` stops after that many pages (tests use it to simulate a crash mid-way)."""
    path = manifest_path(run, object)
    manifest: dict[str, Any] = store.get_json(path) or {
        "version": MANIFEST_VERSION,
        "object": object,
        "run": run.run_id,
        "since": run.since,
        "complete": False,
        "records": 0,
        "malformed": 0,
        "flushes": 0,
        "chunks": [],
        "quarantine": [],
        "checkpoint": None,
        "max_cursor": run.since,
    }
    if manifest["complete"]:
        return _output(path, manifest)
    own = source is None
    src = source or open_source(run.spec.source, base_dir)
    try:
        declared = {o.name: o for o in src.objects()}
        if object not in declared:
            raise ConfigError(f"source {src.name!r} has no object {object!r}")
        cursor_field = declared[object].cursor_field
        primary_key = declared[object].primary_key
        chunk_size = run.spec.options.extract_chunk_size
        since = parse_cursor(run.since) if run.since else None
        max_cursor = parse_cursor(manifest["max_cursor"])
        rows: list[dict[str, Any]] = []
        bad: list[dict[str, Any]] = []

        def flush(checkpoint: dict[str, Any] | None, complete: bool) -> None:
            n = manifest["flushes"]
            for i in range(0, len(rows), chunk_size):  # no chunk over extract_chunk_size
                data, count = write_ndjson_gz(rows[i : i + chunk_size])
                chunk = f"{run.prefix}/raw/{object}/{len(manifest['chunks']):05d}.ndjson.gz"
                store.put_bytes(chunk, data)
                manifest["chunks"].append(
                    {"path": chunk, "records": count, "sha256": hashlib.sha256(data).hexdigest()}
                )
            if bad:
                data, _ = write_ndjson_gz(bad)
                qpath = f"{run.prefix}/quarantine/extract/{object}/{n:05d}.ndjson.gz"
                store.put_bytes(qpath, data)
                manifest["quarantine"].append({"path": qpath, "records": len(bad)})
            manifest["records"] += len(rows) + len(bad)
            manifest["malformed"] += len(bad)
            manifest["flushes"] = n + 1
            manifest["checkpoint"] = checkpoint
            manifest["max_cursor"] = max_cursor.isoformat() if max_cursor else None
            manifest["complete"] = complete
            store.put_json(path, manifest)  # the checkpoint advances only after its chunk is stored
            rows.clear()
            bad.clear()

        checkpoint = manifest["checkpoint"]
        pages = 0
        for page in src.read(object, since=since, checkpoint=checkpoint):
            for item in page.records:
                if item.error is not None:
                    row = {**item.error.attrs(), "stage": "extract"}
                    for extra in ("file", "line", "column"):
                        value = getattr(item.error, extra, None)
                        if value is not None:
                            row[extra] = value
                    bad.append(row)
                    continue
                assert item.record is not None
                if isinstance(item.record.get("_file"), dict):
                    _stage_file(run, object, primary_key, item.record, src, store)
                rows.append(item.record)
                if cursor_field:
                    cursor = parse_cursor(item.record.get(cursor_field))
                    if cursor is not None and (max_cursor is None or cursor > max_cursor):
                        max_cursor = cursor
            checkpoint = page.checkpoint
            pages += 1
            if len(rows) + len(bad) >= chunk_size:
                flush(checkpoint, False)
            if page_limit is not None and pages >= page_limit:
                return _output(path, manifest)
        flush(checkpoint, True)
        return _output(path, manifest)
    finally:
        if own:
            src.close()


def file_blob_path(run: RunRef, object: str, source_id: str) -> str:
    return f"{run.prefix}/files/{object}/{quote(source_id, safe='')}"


class _Tally:
    """Counts and hashes what passes through; refuses to read past `limit` bytes."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self.size = 0
        self.sha256 = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        data = self._stream.read(n)
        self.size += len(data)
        if self.size > self._limit:
            raise _OverCeiling
        self.sha256.update(data)
        return data


class _OverCeiling(Exception):
    pass


def _stage_file(
    run: RunRef, object: str, primary_key: str, record: dict[str, Any], src: Source, store: Store
) -> None:
    """Copy the record's file into staging and note where (`_file.blob`); see the module docstring."""
    ref: dict[str, Any] = record["_file"]
    ref.pop("blob", None)
    ref.pop("not_staged", None)
    path, size = ref.get("path"), ref.get("size")
    if isinstance(size, int) and size > MAX_ATTACHMENT_BYTES:
        ref["not_staged"] = f"over {MAX_ATTACHMENT_BYTES} bytes, the most Dataverse accepts for a file"
        return
    stream = open_source_file(src, path) if isinstance(path, str) and path else None
    if stream is None:
        ref["not_staged"] = "the source could not open the file"
        return
    source_id = str(record.get("_key") or record.get(primary_key) or "")
    blob = file_blob_path(run, object, source_id)
    tally = _Tally(stream, MAX_ATTACHMENT_BYTES)
    try:
        with stream:
            store.put_stream(blob, tally)
    except _OverCeiling:
        ref["not_staged"] = f"over {MAX_ATTACHMENT_BYTES} bytes, the most Dataverse accepts for a file"
        return
    except (OSError, zipfile.BadZipFile):
        ref["not_staged"] = "the source file could not be read"
        return
    ref.update(blob=blob, size=tally.size, sha256=tally.sha256.hexdigest())


def finish_extract(run: RunRef, objects: list[ObjectExtractOutput], store: Store) -> ExtractOutput:
    """Join the object manifests into the run manifest; the run's max cursor is the latest."""
    cursors = [c for o in objects if (c := parse_cursor(o.max_cursor)) is not None]
    out = ExtractOutput(
        manifest_path=f"{run.prefix}/raw/manifest.json",
        objects={
            o.object: ObjectExtract(records=o.records, malformed=o.malformed, chunks=list(o.chunks))
            for o in objects
        },
        max_cursor=max(cursors).isoformat() if cursors else run.since,
    )
    store.put_json(
        out.manifest_path,
        {
            "version": MANIFEST_VERSION,
            "source": run.spec.source.kind,
            "run": run.run_id,
            "since": run.since,
            "object_manifests": {o.object: o.manifest_path for o in objects},
            **out.model_dump(mode="json"),
        },
    )
    return out


def staged_records(extract: ExtractOutput, store: Any, name: str) -> Iterator[dict[str, Any]]:
    """An object's staged records, chunk by chunk (none when the source had no such object)."""
    info = extract.objects.get(name)
    for path in info.chunks if info else []:
        yield from store.get_records(path)


def extract_source(run: RunRef, store: Store, base_dir: Path | None = None) -> ExtractOutput:
    """Every object one after another, then the run manifest (tests, benchmarks, the CLI)."""
    outs = [extract_object(run, name, store, base_dir) for name in object_names(run, base_dir)]
    return finish_extract(run, outs, store)


def _output(path: str, manifest: dict[str, Any]) -> ObjectExtractOutput:
    return ObjectExtractOutput(
        object=manifest["object"],
        manifest_path=path,
        records=manifest["records"],
        malformed=manifest["malformed"],
        chunks=[c["path"] for c in manifest["chunks"]],
        max_cursor=manifest["max_cursor"],
    )
