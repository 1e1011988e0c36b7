"""discover() for the export sources: counts, fields (declared types, inferred ones for extra
columns and key-value properties), samples, relationships, the rebuild inventory and the
warnings an admin must see (manifest mismatches, dangling references, PROFI-21 links…)."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from shared.sources._base import Discovery, FieldInfo, FieldType, InventoryItem, ObjectInfo, Relationship
from shared.sources.exports.layout import FileLayout, InventoryFile

if TYPE_CHECKING:
    from shared.sources.exports.reader import ExportSource

DATAVERSE_DEFAULT_ATTACHMENT_LIMIT = 5 * 1024 * 1024  # bytes: the default maxuploadfilesize
_MAX_SAMPLES = 3
_MAX_IDS = 20


def infer_type(values: list[str]) -> FieldType:
    """PRAC-08: every value a date → date, every value a number → decimal, anything else → text."""
    present = [v.strip() for v in values if v and v.strip()]
    if not present:
        return "text"
    if all(_is_date(v) for v in present):
        return "date"
    if all(_is_number(v) for v in present):
        return "decimal"
    return "text"


def _is_date(v: str) -> bool:
    try:
        date.fromisoformat(v[:10])
    except ValueError:
        return False
    return len(v) == 10 or v[10] in "T "


def _is_number(v: str) -> bool:
    try:
        return Decimal(v.replace(",", "")).is_finite() and not v.startswith(("+",))
    except InvalidOperation:
        return False


class _FieldStats:
    def __init__(self) -> None:
        self.filled = 0
        self.samples: list[str] = []
        self.seen = 0  # values looked at for inference (running flags: memory stays bounded)
        self.all_dates = True
        self.all_numbers = True

    def add(self, value: Any, keep: bool) -> None:
        if value in (None, "", []):
            return
        self.filled += 1
        text = ";".join(value) if isinstance(value, list) else str(value)
        if len(self.samples) < _MAX_SAMPLES and text not in self.samples:
            self.samples.append(text[:80])
        if keep:
            self.seen += 1
            self.all_dates = self.all_dates and _is_date(text.strip())
            self.all_numbers = self.all_numbers and _is_number(text.strip())

    @property
    def inferred(self) -> FieldType:
        """PRAC-08: all dates → date, all numbers → decimal, anything else → text."""
        if not self.seen:
            return "text"
        return "date" if self.all_dates else "decimal" if self.all_numbers else "text"


def discover(src: ExportSource, sample_size: int = 200) -> Discovery:
    layout = src.layout
    objects: list[ObjectInfo] = []
    warnings: list[str] = []
    keys: dict[str, set[str]] = {}  # object -> primary keys (for the reference check)
    refs: list[tuple[str, str, str, list[tuple[str, str]]]] = []  # (object, column, to, [(id, ref)])
    check_rows: dict[str, list[tuple[str, tuple[str, ...]]]] = defaultdict(list)
    check_targets: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    big_attachments: list[str] = []
    malformed: dict[str, int] = {}

    for fl in layout.files.values():
        if not src.present(fl):
            if not fl.optional:
                warnings.append(f"{fl.file} is missing from the export")
            continue
        header = src.header(fl)
        stats = {h: _FieldStats() for h in header}
        kv: dict[str, _FieldStats] = defaultdict(_FieldStats)
        count = 0
        bad = 0
        pk: set[str] = set()
        fl_refs = {c.name: c for c in fl.columns.values() if c.type == "reference"}
        found: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for item, _pos in src.rows(fl):
            count += 1
            r = item.record
            if r is None:
                bad += 1
                continue
            for h in header:
                stats[h].add(r.get(h), keep=count <= sample_size)
            pk.add(str(r[fl.primary_key]))
            for name, col in fl_refs.items():
                value = r.get(name)
                if not value:
                    continue
                target = col.references or col.targets.get(str(r.get(col.references_by or "")), "")
                found[f"{name}->{target}"].append((str(r[fl.primary_key]), str(value)))
            if fl.key_value is not None:
                k = str(r.get(fl.key_value.key_column) or "")
                kv[k].add(r.get(fl.key_value.value_column), keep=True)
            for chk in layout.checks:
                if chk.object == fl.object and r.get(chk.when):
                    check_rows[chk.id].append(
                        (str(r[fl.primary_key]), tuple(str(r.get(c)) for c in chk.columns))
                    )
                if chk.target == fl.object:
                    check_targets[chk.id].add(tuple(str(r.get(c)) for c in chk.target_columns))
            size = (r.get("_file") or {}).get("size", 0)
            if size > DATAVERSE_DEFAULT_ATTACHMENT_LIMIT:
                big_attachments.append(str(r[fl.primary_key]))
        keys[fl.object] = pk
        for key, pairs in found.items():
            col_name, target = key.split("->")
            refs.append((fl.object, col_name, target, pairs))
        if bad:
            malformed[fl.file] = bad
        expected = src.manifest_count(fl)
        if expected is not None and expected != count:
            warnings.append(f"{fl.file}: manifest.json lists {expected} rows, the file holds {count}")
        elif expected is None:
            warnings.append(f"{fl.file} is not listed in manifest.json")
        fields = [_field(fl, h, s) for h, s in stats.items()]
        if fl.key_value is not None:
            fields += _kv_fields(src, fl, kv)
        objects.append(ObjectInfo(fl.object, count, fields))

    for obj, col_name, target, pairs in refs:
        dangling = [rid for rid, ref in pairs if target and ref not in keys.get(target, set())]
        if target and target in keys and dangling:
            warnings.append(
                f"{obj}.{col_name}: {len(dangling)} reference(s) to {target} missing from the export "
                f"(deleted records?): {_ids(dangling)}"
            )
    for chk in layout.checks:
        broken = [rid for rid, cols in check_rows[chk.id] if cols not in check_targets[chk.id]]
        if broken:
            warnings.append(f"{chk.id}: {len(broken)} {chk.message}: {_ids(broken)}")
    for file, n in malformed.items():
        warnings.append(f"{file}: {n} malformed row(s) will be quarantined (file, line and column reported)")
    if big_attachments:
        warnings.append(
            f"{len(big_attachments)} attachment(s) exceed Dataverse's default 5 MB file limit: "
            f"{_ids(big_attachments)} (raise the org's limit or store them in SharePoint)"
        )
    manifest_only = set(src.manifest["files"]) - {fl.file for fl in layout.files.values()}
    manifest_only -= {i.file for i in layout.inventory}
    for file in sorted(manifest_only):
        warnings.append(f"{file} is in manifest.json but not in the {layout.source} layout (not read)")

    return Discovery(
        source=layout.source,
        objects=objects,
        relationships=_relationships(src),
        inventory=[item for inv in layout.inventory for item in _inventory(src, inv)],
        warnings=warnings,
    )


def _field(fl: FileLayout, name: str, s: _FieldStats) -> FieldInfo:
    col = fl.columns.get(name)
    if col is None:  # a column the layout does not know: a customer's custom column
        return FieldInfo(name, s.inferred, s.filled, s.samples, custom=True)
    return FieldInfo(name, col.type, s.filled, s.samples, references=col.references)


def _kv_fields(src: ExportSource, fl: FileLayout, kv: dict[str, _FieldStats]) -> list[FieldInfo]:
    """One custom field per key: declared by a definitions file, else inferred (PRAC-08)."""
    spec = fl.key_value
    assert spec is not None
    declared: dict[str, dict[str, Any]] = {}
    if spec.definitions:
        defs = src.layout.files[spec.definitions]
        if src.present(defs):
            for item, _ in src.rows(defs):
                if item.record is not None:
                    declared[str(item.record[spec.definition_key])] = item.record
    out: list[FieldInfo] = []
    for key in sorted(set(kv) | set(declared)):
        stats = kv.get(key) or _FieldStats()
        d = declared.get(key)
        if d is not None:
            ftype = spec.type_map.get(str(d.get(spec.definition_type)), "text")
            options = d.get(spec.definition_options) or []
            out.append(
                FieldInfo(
                    key,
                    ftype,
                    stats.filled,
                    stats.samples,
                    custom=True,
                    label=d.get(spec.definition_label),
                    options=list(options),
                )
            )
        else:
            out.append(FieldInfo(key, stats.inferred, stats.filled, stats.samples, custom=True))
    return out


def _relationships(src: ExportSource) -> list[Relationship]:
    out: list[Relationship] = []
    for fl in src.layout.files.values():
        for c in fl.columns.values():
            for target in [c.references] if c.references else sorted(set(c.targets.values())):
                out.append(Relationship(fl.object, c.name, target))
    return out


def _inventory(src: ExportSource, inv: InventoryFile) -> list[InventoryItem]:
    if not src.archive.exists(inv.file):
        return []
    with src.archive.open(inv.file) as f:
        raw = f.read().decode("utf-8-sig")
    if inv.file.endswith(".json"):
        data = json.loads(raw)
        rows: list[dict[str, Any]] = data if isinstance(data, list) else list(data.get("items", []))
    else:
        rows = list(csv.DictReader(io.StringIO(raw)))
    items: list[InventoryItem] = []
    for row in rows:
        detail = "; ".join(
            f"{k}: {_short(row[k])}" for k in inv.detail_fields if row.get(k) not in (None, "", [])
        )
        why = inv.by_value.get(str(row.get(inv.by_field))) if inv.by_field else None
        items.append(
            InventoryItem(
                inv.kind,
                str(row.get(inv.name_field) or row.get("id") or "(unnamed)"),
                (f"[{inv.requirement}] " if inv.requirement else "") + detail,
                why or inv.recommendation,
            )
        )
    return items


def _short(value: Any) -> str:
    if isinstance(value, list):
        return f"{len(value)} item(s)"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _ids(ids: list[str]) -> str:
    shown = ", ".join(ids[:_MAX_IDS])
    return shown + (f" … (+{len(ids) - _MAX_IDS})" if len(ids) > _MAX_IDS else "")
