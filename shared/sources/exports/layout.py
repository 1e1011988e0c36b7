"""An export's layout as data: files, columns and their types, keys, cursors, references, the
reference-only files that feed the rebuild inventory, and cross-file checks.

One YAML per source in `layouts/` (profi, practice, smartdesk); the reader and the sample
generators both read it, so a column exists in exactly one place.

    layout = load_layout("profi")
    layout.files["clients"].columns["company_id"].references   # -> "companies"
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal, cast, get_args

import yaml

from shared.sources._base import FieldType, InventoryKind

LAYOUTS = Path(__file__).parent / "layouts"
DeltaPolicy = Literal["cursor", "always"]
_FIELD_TYPES = frozenset(get_args(FieldType))
_KINDS = frozenset(get_args(InventoryKind))


@dataclass(frozen=True)
class Column:
    name: str
    type: FieldType
    references: str | None = None  # object a reference column points at
    references_by: str | None = None  # polymorphic: the column naming the target kind …
    targets: dict[str, str] = field(default_factory=dict)  # … and kind value -> object
    optional: bool = False  # may be absent from a customer's export


@dataclass(frozen=True)
class KeyValue:
    """A file of (entity, key, value) rows: one custom field per key (PRAC-08, PROFI-14, SD-12)."""

    entity_column: str
    key_column: str
    value_column: str
    definitions: str | None = None  # object holding declared definitions (key, type, label, options)
    definition_key: str = "field_key"
    definition_type: str = "type"
    definition_label: str = "label"
    definition_options: str = "options"
    type_map: dict[str, FieldType] = field(default_factory=dict)


@dataclass(frozen=True)
class FileLayout:
    object: str
    file: str
    primary_key: str  # a column, or "_key" for a composite key (key_columns joined by "/")
    columns: dict[str, Column]
    cursor: str | None = None
    delta: DeltaPolicy = "cursor"  # "always": no cursor, every delta read includes the file
    optional: bool = False  # the export may lack this file
    attachment_path: str | None = None  # column holding a path under files/
    key_value: KeyValue | None = None
    key_columns: list[str] = field(default_factory=list)  # composite key parts

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns.values() if not c.optional]


@dataclass(frozen=True)
class UsersLayout:
    object: str
    id: str
    email: str
    name: list[str]
    active_column: str | None = None
    active_values: frozenset[str] = frozenset({"active"})


@dataclass(frozen=True)
class InventoryFile:
    """A reference-only file (JSON list, or CSV) listed in the inventory, not migrated as data."""

    file: str
    kind: InventoryKind
    recommendation: str
    name_field: str = "name"
    detail_fields: list[str] = field(default_factory=list)
    by_field: str | None = None  # recommendation chosen by this field's value …
    by_value: dict[str, str] = field(default_factory=dict)  # … value -> recommendation
    requirement: str = ""  # the requirement id the listing proves (PRAC-14, PROFI-22…)


@dataclass(frozen=True)
class LinkCheck:
    """Rows of `object` with `when` set must find (columns) among `target`'s (target_columns)."""

    id: str
    object: str
    when: str
    columns: list[str]
    target: str
    target_columns: list[str]
    message: str


@dataclass(frozen=True)
class Layout:
    source: str
    schema_version: int
    files: dict[str, FileLayout]
    users: UsersLayout
    inventory: list[InventoryFile] = field(default_factory=list)
    checks: list[LinkCheck] = field(default_factory=list)

    def by_file(self, file: str) -> FileLayout | None:
        for fl in self.files.values():
            if fl.file == file:
                return fl
        return None


@cache
def load_layout(source: str) -> Layout:
    path = LAYOUTS / f"{source}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return parse_layout(data)


def parse_layout(data: dict[str, Any]) -> Layout:
    files = {name: _file(name, spec) for name, spec in data["files"].items()}
    u = data["users"]
    users = UsersLayout(
        object=u["object"],
        id=u["id"],
        email=u["email"],
        name=list(u["name"]),
        active_column=u.get("active_column"),
        active_values=frozenset(u.get("active_values", ["active"])),
    )
    inventory = [
        InventoryFile(
            file=i["file"],
            kind=_kind(i["kind"]),
            recommendation=i["recommendation"],
            name_field=i.get("name_field", "name"),
            detail_fields=list(i.get("detail_fields", [])),
            by_field=i.get("by_field"),
            by_value=dict(i.get("by_value", {})),
            requirement=i.get("requirement", ""),
        )
        for i in data.get("inventory", [])
    ]
    checks = [LinkCheck(**c) for c in data.get("checks", [])]
    layout = Layout(data["source"], int(data["schema_version"]), files, users, inventory, checks)
    _validate(layout)
    return layout


def _file(name: str, spec: dict[str, Any]) -> FileLayout:
    columns = {c: _column(c, s) for c, s in spec["columns"].items()}
    kv = spec.get("key_value")
    return FileLayout(
        object=name,
        file=spec.get("file", f"{name}.csv"),
        primary_key=spec["primary_key"] if isinstance(spec["primary_key"], str) else "_key",
        key_columns=[] if isinstance(spec["primary_key"], str) else list(spec["primary_key"]),
        columns=columns,
        cursor=spec.get("cursor"),
        delta=spec.get("delta", "cursor"),
        optional=bool(spec.get("optional", False)),
        attachment_path=spec.get("attachment_path"),
        key_value=KeyValue(**{**kv, "type_map": {k: _type(v) for k, v in kv.get("type_map", {}).items()}})
        if kv
        else None,
    )


def _column(name: str, spec: str | dict[str, Any]) -> Column:
    """`type`, `ref <object>`, `type?` (optional) or a mapping for polymorphic references."""
    if isinstance(spec, dict):
        return Column(
            name,
            _type(spec.get("type", "reference")),
            references=spec.get("references"),
            references_by=spec.get("by"),
            targets=dict(spec.get("targets", {})),
            optional=bool(spec.get("optional", False)),
        )
    optional = spec.endswith("?")
    spec = spec.rstrip("?")
    if spec.startswith("ref "):
        return Column(name, "reference", references=spec[4:].strip(), optional=optional)
    return Column(name, _type(spec), optional=optional)


def _type(value: str) -> FieldType:
    if value not in _FIELD_TYPES:
        raise ValueError(f"unknown field type {value!r} in an export layout")
    return cast(FieldType, value)


def _kind(value: str) -> InventoryKind:
    if value not in _KINDS:
        raise ValueError(f"unknown inventory kind {value!r} in an export layout")
    return cast(InventoryKind, value)


def _validate(layout: Layout) -> None:
    """A layout that contradicts itself is a programming mistake: fail loudly at load."""
    for fl in layout.files.values():
        names = set(fl.columns)
        keys = fl.key_columns or [fl.primary_key]
        for col in [*keys, fl.cursor, fl.attachment_path]:
            assert col is None or col in names, f"{layout.source}.{fl.object}: unknown column {col}"
        for c in fl.columns.values():
            for target in [c.references, *c.targets.values()]:
                assert target is None or target in layout.files, f"{fl.object}.{c.name} -> {target}?"
    assert layout.users.object in layout.files
    for chk in layout.checks:
        assert chk.object in layout.files and chk.target in layout.files
