"""What the Profi, The Practice and SmartDesk sample generators share: a streaming export writer
that takes column order from the layout, deterministic realistic values, and the edge cases.

A generator yields rows per object as the reader returns them (None for empty, int, bool, list);
`Bad` stands for a deliberately malformed line, recorded with the file, line and column the reader
must report. `Generated` keeps every expected record unless `collect=False` (large mode).
"""

from __future__ import annotations

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
