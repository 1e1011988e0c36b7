"""What the Profi, The Practice and SmartDesk sample generators share: a streaming export writer
that takes column order from the layout, deterministic realistic values, the edge cases, and the
generator itself (`Sample`: `generate()` and the command line), so each source holds only its data.

A generator yields rows per object as the reader returns them (None for empty, int, bool, list);
`Bad` stands for a deliberately malformed line, recorded with the file, line and column the reader
must report. `Generated` keeps every expected record unless `collect=False` (large mode).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import shutil
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shared.sources.exports import load_layout
from shared.sources.exports.layout import FileLayout, Layout

EXPORTED_AT = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)
EPOCH = datetime(2023, 1, 2, 9, 0, tzinfo=UTC)
BUMPED_AT = EXPORTED_AT + timedelta(days=1)  # the cursor a re-exported, changed record gets
LARGE_ATTACHMENT_BYTES = 5 * 1024 * 1024 + 300_000  # just over Dataverse's default 5 MB

FIRST = [
    "Anna",
    "Ben",
    "Chloé",
    "Dmitri",
    "Elif",
    "Fatima",
    "Gustav",
    "Hana",
    "Ines",
    "Jonas",
    "Kenji",
    "Łukasz",
    "María",
    "Noor",
    "Oskar",
    "Priya",
    "Quentin",
    "Renée",
    "Søren",
    "Thảo",
    "Uma",
    "Zoë",
]
LAST = [
    "Müller",
    "García",
    "Okafor",
    "Nguyễn",
    "Ødegaard",
    "Kowalski",
    "Smith",
    "Rossi",
    "Dubois",
    "Yılmaz",  # noqa: RUF001 - a real Turkish name
    "O'Brien",
    "van der Berg",
    "Schäfer",
    "Tanaka",
    "佐藤",
    "Novák",
    "Björk",
    "Costa",
]
COMPANY = [
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Tailspin",
    "Woodgrove",
    "Litware",
    "Adatum",
    "Proseware",
    "Lumière",
    "Kraków Tech",
    "Zürich Coaching",
    "Fjord & Co",
    "Bright Path",
    "Summit",
    "Keystone",
]
SUFFIX = ["Ltd", "GmbH", "Inc", "AG", "SAS", "BV", "Partners", "Group"]
CITIES = [
    ("Berlin", "BE", "10115", "DE"),
    ("Lyon", "ARA", "69001", "FR"),
    ("Austin", "TX", "73301", "US"),
    ("Kraków", "MA", "30-001", "PL"),
    ("Malmö", "M", "211 19", "SE"),
    ("São Paulo", "SP", "01000-000", "BR"),
]
_WORDS = "goal progress reflection accountability habit energy career transition leadership feedback \
plan values stress boundaries confidence delegation priorities vision sleep focus"
WORDS = _WORDS.split()


@dataclass(frozen=True)
class Bad:
    """A malformed line: `cells` written as they are (or `raw` bytes), reported at `column`."""

    id: str
    column: str | None
    cells: list[str] | None = None
    raw: bytes | None = None


@dataclass(frozen=True)
class Missing:
    """A well-formed row the reader must still quarantine (e.g. its attachment file is missing)."""

    row: dict[str, Any]
    column: str


@dataclass
class Generated:
    out: Path
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    malformed: list[tuple[str, str, int, str | None]] = field(default_factory=list)  # object, file, line, col
    counts: dict[str, int] = field(default_factory=dict)


class Rng(random.Random):
    def when(self, start: datetime = EPOCH, days: int = 800) -> datetime:
        """A moment in `days` after `start`, always before the export was taken."""
        moment = start + timedelta(minutes=self.randrange(days * 24 * 60))
        return min(moment, EXPORTED_AT - timedelta(hours=1))

    def person(self) -> tuple[str, str]:
        return self.choice(FIRST), self.choice(LAST)

    def email(self, first: str, last: str, domain: str, i: int) -> str | None:
        """Mostly valid; some missing, some malformed (no domain, spaces, double @)."""
        roll = self.random()
        local = f"{_ascii(first)}.{_ascii(last)}{i}".lower().replace(" ", "").replace("'", "")
        if roll < 0.06:
            return None
        if roll < 0.10:
            return self.choice([f"{local}@", f"{local} at {domain}", f"{local}@@{domain}", local])
        return f"{local}@{domain}"

    def phone(self) -> str | None:
        return (
            None
            if self.random() < 0.1
            else f"+{self.choice([1, 33, 44, 49, 48])} {self.randrange(10**8, 10**9)}"
        )

    def text(self, words: int) -> str:
        return " ".join(self.choice(WORDS) for _ in range(words)).capitalize() + "."

    def long_note(self) -> str:
        """A very long note (~40 KB) with paragraphs, quotes, commas and semicolons."""
        paras = [f'"{self.text(40)}", she said; {self.text(30)}' for _ in range(120)]
        return "\n\n".join(paras)


def ts(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _ascii(s: str) -> str:
    s = s.replace("ø", "o").replace("Ø", "O").replace("ł", "l").replace("Ł", "L").replace("ı", "i")  # noqa: RUF001
    plain = "".join(c for c in unicodedata.normalize("NFKD", s) if c.isascii())
    return plain or "user"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(value)
    return str(value)


def write_export(
    out: Path,
    layout: Layout,
    rows: dict[str, Callable[[], Iterable[dict[str, Any] | Bad | Missing]]],
    *,
    files: Iterable[tuple[str, bytes | Callable[[], Iterator[bytes]]]] = (),
    reference: dict[str, Any] | None = None,
    extra_csv: dict[str, tuple[list[str], Iterable[dict[str, Any]]]] | None = None,
    collect: bool = True,
    export_id: str = "",
) -> Generated:
    """Write the export folder streaming, one object at a time, and its manifest last."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    gen = Generated(out)
    manifest_files: dict[str, int] = {}
    for name, make_rows in rows.items():
        fl = layout.files[name]
        n = _write_csv(out, fl, make_rows(), gen, collect)
        manifest_files[fl.file] = n
        gen.counts[name] = n
    for name, (header, items) in (extra_csv or {}).items():
        with (out / name).open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            count = 0
            for item in items:
                w.writerow([_cell(item.get(h)) for h in header])
                count += 1
        manifest_files[name] = count
    for name, data in (reference or {}).items():
        (out / name).write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    for rel, content in files:
        target = out / "files" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as f:
            if isinstance(content, bytes):
                f.write(content)
            else:
                for chunk in content():
                    f.write(chunk)
    manifest = {
        "source": layout.source,
        "export_id": export_id or f"{layout.source}-sample",
        "exported_at": ts(EXPORTED_AT),
        "schema_version": layout.schema_version,
        "files": manifest_files,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return gen


def _write_csv(
    out: Path, fl: FileLayout, rows: Iterable[dict[str, Any] | Bad], gen: Generated, collect: bool
) -> int:
    header = list(fl.columns)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    line = 1
    count = 0
    expected = gen.records.setdefault(fl.object, []) if collect else None
    with (out / fl.file).open("wb") as f:
        f.write((",".join(header) + "\n").encode())
        for row in rows:
            count += 1
            if isinstance(row, Missing):
                data = _format(w, buf, [_cell(row.row.get(h)) for h in header])
                gen.malformed.append((fl.object, fl.file, line + 1, row.column))
            elif isinstance(row, Bad):
                data = row.raw if row.raw is not None else _format(w, buf, row.cells or [])
                gen.malformed.append((fl.object, fl.file, line + 1, row.column))
            else:
                data = _format(w, buf, [_cell(row.get(h)) for h in header])
                if expected is not None:
                    expected.append(row)
            f.write(data)
            line += data.count(b"\n")
    return count


def _format(w: Any, buf: io.StringIO, cells: list[str]) -> bytes:
    buf.seek(0)
    buf.truncate()
    w.writerow(cells)
    return buf.getvalue().encode("utf-8")


def file_bytes(rng: Rng, size: int, kind: str) -> bytes:
    """Small deterministic file content that looks like its type."""
    head = {"pdf": b"%PDF-1.4\n", "png": b"\x89PNG\r\n\x1a\n", "txt": b""}.get(kind, b"")
    body = bytes(rng.getrandbits(8) for _ in range(max(0, size - len(head))))
    return head + body


def large_file(seed: int, size: int = LARGE_ATTACHMENT_BYTES) -> Callable[[], Iterator[bytes]]:
    """Generated at generation time (never committed): deterministic chunks, bounded memory."""

    def chunks() -> Iterator[bytes]:
        rng = random.Random(seed)
        left = size
        while left:
            n = min(left, 1 << 20)
            yield rng.randbytes(n)
            left -= n

    return chunks


def zip_export(folder: Path, target: Path, *, top: str | None = None) -> Path:
    """Zip an export folder (optionally under one top-level folder, as some tools do)."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                rel = p.relative_to(folder).as_posix()
                z.write(p, f"{top}/{rel}" if top else rel)
    return target


def scale(records: int | None, base: dict[str, int], weights: dict[str, float]) -> dict[str, int]:
    """Row counts: the small default, or `records` spread over the objects by weight."""
    if not records:
        return dict(base)
    total = sum(weights.values())
    return {k: max(base.get(k, 1), int(records * weights.get(k, 0) / total)) for k in base}


Rows = dict[str, Callable[[], Iterable[dict[str, Any] | Bad | Missing]]]
Files = list[tuple[str, bytes | Callable[[], Iterator[bytes]]]]


class Export:
    """One run of a generator: row counts `n`, the seed, large mode, the records to bump, and the
    attachment files (filled while attachments are generated, written after every CSV)."""

    def __init__(
        self, sample: Sample, out: Path, records: int | None, seed: int, bump: dict[str, set[str]]
    ) -> None:
        self.sample = sample
        self.out = out
        self.seed = seed
        self.n = scale(records, sample.base, sample.weights)
        self.large = records is not None
        self.bump = bump
        self.layout = load_layout(sample.source)
        self.keys = {k: v.primary_key for k, v in self.layout.files.items()}
        self.files: Files = []

    def changed(self, obj: str, rec: dict[str, Any], cursor: str = "updated_at") -> dict[str, Any]:
        """`rec`, with a cursor after the export when it is one of the records to bump."""
        if rec.get(self.keys[obj]) in self.bump.get(obj, ()):
            rec[cursor] = ts(BUMPED_AT)
        return rec

    def ref(self, rng: Rng, prefix: str, obj: str) -> str:
        """The id of a random one of the `n[obj]` records of `obj`."""
        return f"{prefix}{rng.randrange(1, self.n[obj] + 1):06d}"

    def attach(self, rng: Rng, i: int, rel: str, size: int, kind: str = "pdf") -> tuple[str, int]:
        """Attachment i's file and size: the first is the > 5 MB one (small in large mode), the
        `missing_file`th has none (unless in large mode), the others are `size` bytes of `kind`."""
        if i == 1:
            rel, size = self.sample.large_file, (LARGE_ATTACHMENT_BYTES if not self.large else 64_000)
            self.files.append((rel, large_file(self.seed, size)))
        elif i != self.sample.missing_file or self.large:
            self.files.append((rel, file_bytes(rng, size, kind)))
        return rel, size

    def attachment(
        self,
        i: int,
        rel: str,
        size: int,
        mime: str,
        columns: dict[str, Any],
        *,
        cursor: str | None = None,
        **more: Any,
    ) -> dict[str, Any] | Missing:
        """Attachment i's row: its `columns`, the file's name, type, size and path, `more` columns,
        and the `_file` the reader must resolve it to; the `missing_file`th is a `Missing` row. With
        a `cursor`, a record to bump gets it after the export."""
        rec = {
            **columns,
            "file_name": rel.rsplit("/", 1)[1],
            "mime_type": mime,
            "size_bytes": size,
            "path": rel,
            **more,
            "_file": {"path": str(self.out / "files" / rel), "size": size},
        }
        if i == self.sample.missing_file and not self.large:
            return Missing(rec, "path")
        return self.changed("attachments", rec, cursor) if cursor else rec


@dataclass(frozen=True)
class Sample:
    """A source's sample generator: `rows(export)` makes the per-object row generators (in file
    order); `reference` JSON files and `extra_csv` files are written as they are."""

    source: str
    doc: str | None  # the generator module's docstring: its first paragraph describes the command
    out: Path  # where the committed sample lives
    seed: int
    base: dict[str, int]
    weights: dict[str, float]
    large_file: str  # under files/, generated and git-ignored
    missing_file: int  # the attachment whose file is left out
    rows: Callable[[Export], Rows]
    reference: dict[str, Any] = field(default_factory=dict)
    extra_csv: dict[str, tuple[list[str], Iterable[dict[str, Any]]]] | None = None

    def generate(
        self,
        out: Path | None = None,
        *,
        records: int | None = None,
        seed: int | None = None,
        collect: bool = True,
        bump: dict[str, set[str]] | None = None,
    ) -> Generated:
        """Write the export; `bump` = {object: ids} gives those records a cursor after the export."""
        ex = Export(
            self, self.out if out is None else out, records, self.seed if seed is None else seed, bump or {}
        )
        gen = write_export(
            ex.out,
            ex.layout,
            self.rows(ex),
            files=ex.files,
            collect=collect,
            reference=self.reference,
            extra_csv=self.extra_csv,
        )
        (ex.out / ".gitignore").write_text(f"files/{self.large_file}\n", encoding="utf-8")
        return gen

    def main(self, argv: list[str] | None = None) -> None:
        p = argparse.ArgumentParser(description=(self.doc or "").split("\n\n")[0])
        p.add_argument("--out", type=Path, default=self.out)
        p.add_argument("--records", type=int, default=None, help="total rows, spread over the objects")
        p.add_argument("--seed", type=int, default=self.seed)
        p.add_argument("--zip", type=Path, default=None, help="also zip the export here")
        a = p.parse_args(argv)
        gen = self.generate(a.out, records=a.records, seed=a.seed, collect=a.records is None)
        if a.zip:
            zip_export(a.out, a.zip)
        print(f"{a.out}: {sum(gen.counts.values())} rows, {len(gen.malformed)} malformed")
