"""Joins: what a record needs to know about other objects' rows before it is transformed, as data.

Export sources keep related facts in their own files: The Practice's custom properties are key-value
rows (`client_properties.csv`), Profi's split needs to know whether a client has any session. A
profile object declares such a join; the run builds one index per join from the staged rows once,
after extraction, and the transform sees it under `_join.<name>` of each record:

    joins:
      - {name: sessions, object: sessions, on: client_id}                       # count
      - {name: properties, object: client_properties, on: client_id,
         kind: pivot, key: key, value: value}                                   # {key: value}
      - {name: paid, object: sessions, on: client_id, kind: sum, value: amount,
         where: {field: status, equals: completed}}                             # a total

A pivot join also infers each key's column type from every value it saw (PRAC-08: dates → DateOnly,
numbers → Decimal, anything else → Text), so its keys can become typed columns (`properties:` of a
target, PRAC-09), planned and provisioned before any record moves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.mapping.paths import get_path
from shared.mapping.splits import Predicate

JoinKind = Literal["count", "pivot", "sum"]
InferredType = Literal["date", "decimal", "string", "memo", "choice", "boolean"]
"""A property column's type: inferred from the values (date, decimal, string, memo), or declared by
the source's field definitions (`types_from`), which may also say choice or boolean."""
DEFAULT_KINDS: dict[str, InferredType] = {
    "text": "string", "string": "string", "textarea": "memo", "longtext": "memo",
    "number": "decimal", "numeric": "decimal", "decimal": "decimal", "integer": "decimal",
    "currency": "decimal",
    "date": "date", "datetime": "date",
    "dropdown": "choice", "select": "choice", "choice": "choice", "choices": "choice", "picklist": "choice",
    "checkbox": "boolean", "boolean": "boolean", "bool": "boolean",
}  # fmt: skip
JOIN_FIELD = "_join"
"""Where a record carries its joins during the transform (`_join.sessions`)."""


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class TypesFrom(_M):
    """COM-14, PROFI-14, SD-12: the source's own field definitions type a pivot join's keys (a
    dropdown becomes a choice with its options, a checkbox a boolean); keys without a definition keep
    the type inferred from their values."""

    object: str = Field(description="The source object holding the field definitions")
    key: str = Field(description="Its column naming the field (the pivot join's key)")
    type: str = Field(description="Its column holding the field type")
    options: str | None = Field(default=None, description="Its column listing a choice's options")
    separator: str = ";"
    label: str | None = Field(default=None, description="Its column holding the display label")
    where: Predicate | None = Field(default=None, description="Only definitions for which this holds")
    kinds: dict[str, InferredType] = Field(
        default={}, description="Source type → column type (beside the defaults)"
    )

    def kind_of(self, source_type: str) -> InferredType | None:
        t = source_type.strip().lower()
        return self.kinds.get(t) or DEFAULT_KINDS.get(t)


class JoinSpec(_M):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    object: str = Field(description="The source object whose rows are joined")
    on: str = Field(description="The column of those rows that holds this record's source id")
    kind: JoinKind = "count"
    key: str | None = Field(default=None, description="pivot: the column naming the property")
    value: str | None = Field(default=None, description="pivot/sum: the column holding the value")
    where: Predicate | list[Predicate] | None = Field(
        default=None, description="Only rows for which this holds (a list: all of them)"
    )
    types_from: TypesFrom | None = Field(default=None, description="pivot: declared types of its keys")

    @model_validator(mode="before")
    @classmethod
    def _yaml_on(cls, data: Any) -> Any:
        """YAML 1.1 reads a bare `on:` key as the boolean true; it means this field."""
        if isinstance(data, dict) and True in data and "on" not in data:
            return {("on" if k is True else k): v for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _shape(self) -> JoinSpec:
        if self.kind == "pivot" and not (self.key and self.value):
            raise ValueError("a pivot join needs key and value")
        if self.kind == "sum" and not self.value:
            raise ValueError("a sum join needs value")
        if self.kind == "count" and (self.key or self.value):
            raise ValueError("a count join takes no key or value")
        if self.types_from is not None and self.kind != "pivot":
            raise ValueError("types_from types the keys of a pivot join")
        return self


class JoinIndex(BaseModel):
    """One built join: parent source id → its value; for a pivot, each key's inferred type too."""

    model_config = ConfigDict(extra="forbid")
    name: str
    kind: JoinKind
    parents: dict[str, Any] = {}
    types: dict[str, InferredType] = {}
    options: dict[str, dict[str, int]] = Field(default={}, description="choice keys: label → option value")
    labels: dict[str, str] = Field(default={}, description="Display labels the definitions give")
    rows: int = 0
    orphans: int = Field(default=0, description="Joined rows whose parent id is empty")

    def value_for(self, parent_id: str) -> Any:
        if self.kind == "count":
            return int(self.parents.get(parent_id, 0))
        if self.kind == "sum":
            return self.parents.get(parent_id)
        return dict(self.parents.get(parent_id) or {})


def declare_types(
    index: JoinIndex, spec: TypesFrom, definitions: Iterable[dict[str, Any]], option_prefix: int
) -> list[str]:
    """Apply the source's field definitions over the inferred types; returns notes on what it could
    not apply (an unknown source type keeps the inferred one)."""
    notes: list[str] = []
    for d in definitions:
        if spec.where is not None and not spec.where.holds(d, None):
            continue
        key = str(get_path(d, spec.key) or "").strip()
        if not key:
            continue
        raw_type = str(get_path(d, spec.type) or "")
        kind = spec.kind_of(raw_type)
        if kind is None:
            notes.append(f"{key}: source type {raw_type!r} has no column type; typed from its values")
            continue
        if spec.label and (label := get_path(d, spec.label)):
            index.labels[key] = str(label)
        if kind == "choice":
            raw = get_path(d, spec.options or "") or ""
            items = raw if isinstance(raw, list) else str(raw).split(spec.separator)  # a reader may split
            labels = list(dict.fromkeys(str(o).strip() for o in items if str(o).strip()))
            if not labels:
                notes.append(f"{key}: a {raw_type} with no options; kept as text")
                kind = "string"
            else:
                index.options[key] = {o: option_prefix * 10_000 + n for n, o in enumerate(labels)}
        index.types[key] = kind
    return notes


def _all_hold(where: Predicate | list[Predicate] | None, row: dict[str, Any]) -> bool:
    preds = [] if where is None else where if isinstance(where, list) else [where]
    return all(p.holds(row, None) for p in preds)


def build_index(join: JoinSpec, rows: Iterable[dict[str, Any]]) -> JoinIndex:
    """One pass over the joined object's staged rows (bounded by the number of parents)."""
    parents: dict[str, Any] = {}
    seen: dict[str, list[str]] = {}
    n = orphans = 0
    for row in rows:
        if not _all_hold(join.where, row):
            continue
        n += 1
        parent = get_path(row, join.on)
        if parent in (None, ""):
            orphans += 1
            continue
        pid = str(parent)
        if join.kind == "count":
            parents[pid] = parents.get(pid, 0) + 1
        elif join.kind == "sum":
            amount = _decimal(get_path(row, join.value or ""))
            if amount is not None:
                parents[pid] = str(Decimal(parents.get(pid, "0")) + amount)
        else:
            key = get_path(row, join.key or "")
            value = get_path(row, join.value or "")
            if key in (None, "") or value in (None, ""):
                continue
            parents.setdefault(pid, {})[str(key)] = value
            seen.setdefault(str(key), []).append(str(value))
    types = {k: infer_type(v) for k, v in sorted(seen.items())}
    return JoinIndex(name=join.name, kind=join.kind, parents=parents, types=types, rows=n, orphans=orphans)


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
STRING_MAX = 4000
"""Beyond this a text property becomes a multiline (memo) column."""


def infer_type(values: Iterable[str]) -> InferredType:
    """PRAC-08: every value a date → date; every value a number → decimal; otherwise text."""
    vals = [v.strip() for v in values if v is not None and v.strip()]
    if vals and all(_as_date(v) is not None for v in vals):
        return "date"
    if vals and all(_decimal(v) is not None for v in vals):
        return "decimal"
    return "memo" if any(len(v) > STRING_MAX for v in vals) else "string"


def convert_property(value: Any, kind: InferredType, options: dict[str, int] | None = None) -> Any:
    """A property value as its column type expects it (Web API JSON); a choice label must be one of
    the column's options — never written as another."""
    text = str(value).strip()
    if kind == "choice":
        if options is None or text not in options:
            raise ValueError("is not one of its options")
        return options[text]
    if kind == "boolean":
        if text.lower() in ("true", "yes", "1", "on", "y"):
            return True
        if text.lower() in ("false", "no", "0", "off", "n"):
            return False
        raise ValueError("is not true or false")
    if kind == "date":
        d = _as_date(text)
        if d is None:
            raise ValueError("is not a date")
        return d.isoformat()
    if kind == "decimal":
        num = _decimal(text)
        if num is None:
            raise ValueError("is not a number")
        return float(num)
    return text


def column_name(key: str) -> str:
    """PRAC-09: `hourly_rate` → `HourlyRate` (the SchemaName after the publisher prefix)."""
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", key) if p]
    name = "".join(p[:1].upper() + p[1:] for p in parts) or "Property"
    if not name[0].isalpha():
        name = "P" + name
    return name[:40]


def _as_date(v: str) -> date | None:
    try:
        if _ISO_DATE.match(v):
            return date.fromisoformat(v)
        if _ISO_DATETIME.match(v):
            return datetime.fromisoformat(v.replace("Z", "+00:00")).date()
    except ValueError:
        return None
    return None


def _decimal(v: Any) -> Decimal | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        d = Decimal(str(v).strip())
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


__all__ = [
    "DEFAULT_KINDS",
    "JOIN_FIELD",
    "JoinIndex",
    "JoinSpec",
    "TypesFrom",
    "build_index",
    "column_name",
    "convert_property",
    "declare_types",
    "infer_type",
]
