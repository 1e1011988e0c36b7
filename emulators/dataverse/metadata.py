"""Table metadata the generic engine runs on.

Every table behaves according to its metadata only (no per-table code), so adding a table — or, later,
creating one through `EntityDefinitions` — is a data change. The committed `standard_tables.json` is
produced by `tools/build_metadata.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

DEFAULT_METADATA_PATH = Path(__file__).resolve().parent / "metadata" / "standard_tables.json"

LOOKUP_TYPES = frozenset({"Lookup", "Customer", "Owner"})
STRING_TYPES = frozenset({"String", "Memo", "EntityName"})
INT_TYPES = frozenset({"Integer", "Picklist", "State", "Status"})
DECIMAL_TYPES = frozenset({"Decimal", "Money"})
# Column types with no structural Web API property (activity parties are a collection navigation).
NON_PROPERTY_TYPES = frozenset({"PartyList"})

EDM_TYPES = {
    "String": "Edm.String",
    "Memo": "Edm.String",
    "EntityName": "Edm.String",
    "Integer": "Edm.Int32",
    "Picklist": "Edm.Int32",
    "State": "Edm.Int32",
    "Status": "Edm.Int32",
    "BigInt": "Edm.Int64",
    "Decimal": "Edm.Decimal",
    "Money": "Edm.Decimal",
    "Double": "Edm.Double",
    "Boolean": "Edm.Boolean",
    "DateTime": "Edm.DateTimeOffset",
    "Uniqueidentifier": "Edm.Guid",
    "Lookup": "Edm.Guid",
    "Customer": "Edm.Guid",
    "Owner": "Edm.Guid",
    "Image": "Edm.Binary",
}


@dataclass(frozen=True)
class AttributeMeta:
    """One column; `type` None means the reference only knew the name (accepted as any scalar)."""

    name: str
    type: str | None
    valid_for_create: bool
    valid_for_update: bool
    valid_for_read: bool
    required: str = "None"
    max_length: int | None = None
    min_value: float | None = None
    max_value: float | None = None
    format: str | None = None
    behavior: str | None = None
    default: Any = None
    options: dict[int, str | None] = field(default_factory=dict)
    bool_labels: dict[int, str | None] = field(default_factory=dict)
    default_status: dict[int, int] = field(default_factory=dict)
    state_of: dict[int, int] = field(default_factory=dict)
    targets: tuple[str, ...] = ()
    nav: dict[str, str] = field(default_factory=dict)

    @property
    def is_lookup(self) -> bool:
        return self.type in LOOKUP_TYPES

    @property
    def value_name(self) -> str:
        """Name of the readable property: `_x_value` for lookups, the logical name otherwise."""
        return f"_{self.name}_value" if self.is_lookup else self.name

    @property
    def edm_type(self) -> str:
        if self.type == "DateTime" and self.behavior == "DateOnly":
            return "Edm.Date"
        return EDM_TYPES.get(self.type or "", "Edm.String")

    @property
    def is_date_only(self) -> bool:
        return self.type == "DateTime" and self.behavior == "DateOnly"


@dataclass(frozen=True)
class NavBinding:
    """A single-valued navigation property usable with `@odata.bind`."""

    name: str
    attribute: str
    targets: tuple[str, ...]


@dataclass
class TableMeta:
    logical_name: str
    schema_name: str
    entity_set: str
    primary_id: str
    primary_name: str | None
    ownership: str | None
    is_activity: bool
    messages: frozenset[str]
    attributes: dict[str, AttributeMeta]

    @property
    def odata_type(self) -> str:
        return f"Microsoft.Dynamics.CRM.{self.logical_name}"

    @cached_property
    def navigation(self) -> dict[str, NavBinding]:
        out: dict[str, NavBinding] = {}
        for attr in self.attributes.values():
            if not attr.is_lookup:
                continue
            by_name: dict[str, list[str]] = {}
            for target in attr.targets:
                by_name.setdefault(attr.nav.get(target, attr.name), []).append(target)
            for name, targets in by_name.items():
                out[name] = NavBinding(name, attr.name, tuple(targets))
        return out

    @cached_property
    def readable(self) -> dict[str, AttributeMeta]:
        """Properties exposed on reads, keyed by their Web API name (`_x_value` for lookups)."""
        return {
            a.value_name: a
            for a in self.attributes.values()
            if a.valid_for_read and a.type not in NON_PROPERTY_TYPES
        }

    @cached_property
    def state_attribute(self) -> AttributeMeta | None:
        return next((a for a in self.attributes.values() if a.type == "State"), None)

    @cached_property
    def status_attribute(self) -> AttributeMeta | None:
        return next((a for a in self.attributes.values() if a.type == "Status"), None)


def _attr_from_json(name: str, raw: dict[str, Any]) -> AttributeMeta:
    return AttributeMeta(
        name=name,
        type=raw.get("type"),
        valid_for_create=raw.get("create", False),
        valid_for_update=raw.get("update", False),
        valid_for_read=raw.get("read", True),
        required=raw.get("required", "None"),
        max_length=raw.get("max_length"),
        min_value=raw.get("min"),
        max_value=raw.get("max"),
        format=raw.get("format"),
        behavior=raw.get("behavior"),
        default=raw.get("default"),
        options={int(v): label for v, label in raw.get("options", [])},
        bool_labels={int(k): v for k, v in raw.get("labels", {}).items()},
        default_status={int(k): v for k, v in raw.get("default_status", {}).items() if v is not None},
        state_of={int(k): v for k, v in raw.get("state_of", {}).items() if v is not None},
        targets=tuple(raw.get("targets", ())),
        nav=dict(raw.get("nav", {})),
    )


class MetadataRegistry:
    """All known tables, by logical name and by entity set name."""

    def __init__(self, tables: dict[str, TableMeta]) -> None:
        self.replace_all(tables)

    def replace_all(self, tables: dict[str, TableMeta]) -> None:
        """Swap in a new set of tables (custom schema changes rebuild them; see `custom_schema.py`)."""
        self._by_logical = dict(tables)
        self._by_set = {t.entity_set: t for t in tables.values()}
        self.sets_to_logical = {t.entity_set: t.logical_name for t in tables.values()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MetadataRegistry:
        tables: dict[str, TableMeta] = {}
        for logical, raw in data["tables"].items():
            tables[logical] = TableMeta(
                logical_name=logical,
                schema_name=raw.get("schema") or logical,
                entity_set=raw["entity_set"],
                primary_id=raw["primary_id"],
                primary_name=raw.get("primary_name"),
                ownership=raw.get("ownership"),
                is_activity=raw.get("is_activity", False),
                messages=frozenset(raw.get("messages", ())),
                attributes={n: _attr_from_json(n, a) for n, a in raw["attributes"].items()},
            )
        return cls(tables)

    @classmethod
    def load(cls, path: Path | None = None) -> MetadataRegistry:
        return cls.from_json(json.loads((path or DEFAULT_METADATA_PATH).read_text(encoding="utf-8")))

    def by_logical(self, logical_name: str) -> TableMeta | None:
        return self._by_logical.get(logical_name)

    def by_set(self, entity_set: str) -> TableMeta | None:
        return self._by_set.get(entity_set)

    def tables(self) -> list[TableMeta]:
        return list(self._by_logical.values())
