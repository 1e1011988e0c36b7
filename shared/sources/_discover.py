"""Discovery helpers every connector shares: infer field types from a sample of records.

profile = FieldProfiler(limit=200)
for rec in records: profile.add(rec)
fields = profile.fields(custom=lambda name: name.startswith("custom."))
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from shared.sources._base import FieldInfo, FieldType

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 ()./-]{6,}$")
_URL = re.compile(r"^https?://", re.I)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SAMPLES = 3
_ENUM_MAX = 12


def _value_type(name: str, value: Any) -> FieldType:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "money" if name in ("value", "amount") else "integer"
    if isinstance(value, float):
        return "decimal"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    if not isinstance(value, str):
        return "unknown"
    if name == "id" or name.endswith("_id") or name in ("user_id", "assigned_to", "created_by", "updated_by"):
        return "reference" if name != "id" else "string"
    if _DATE.match(value):
        return "date"
    if len(value) >= 19 and value[4:5] == "-" and value[10:11] == "T":
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
            return "datetime"
        except ValueError:
            pass
    if _EMAIL.match(value):
        return "email"
    if _URL.match(value):
        return "url"
    if _PHONE.match(value) and any(c.isdigit() for c in value):
        return "phone"
    return "text" if len(value) > 255 or "\n" in value else "string"


class FieldProfiler:
    """Accumulates, over a bounded sample, each field's types, fill count and a few samples."""

    def __init__(self, limit: int = 200) -> None:
        self.limit = limit
        self.seen = 0
        self._types: dict[str, dict[FieldType, int]] = {}
        self._filled: dict[str, int] = {}
        self._samples: dict[str, list[str]] = {}
        self._distinct: dict[str, set[str] | None] = {}

    def add(self, record: dict[str, Any]) -> None:
        if self.seen >= self.limit:
            return
        self.seen += 1
        for name, value in record.items():
            types = self._types.setdefault(name, {})
            self._filled.setdefault(name, 0)
            if value is None or value == "" or value == [] or value == {}:
                continue
            self._filled[name] += 1
            t = _value_type(name, value)
            types[t] = types.get(t, 0) + 1
            if not isinstance(value, dict | list):
                text = str(value)[:80]
                samples = self._samples.setdefault(name, [])
                if text not in samples and len(samples) < _SAMPLES:
                    samples.append(text)
                distinct = self._distinct.setdefault(name, set())
                if distinct is not None and t == "string":
                    distinct.add(text)
                    if len(distinct) > _ENUM_MAX:
                        self._distinct[name] = None

    def fields(
        self,
        *,
        custom: Callable[[str], bool] = lambda _: False,
        references: dict[str, str] | None = None,
    ) -> list[FieldInfo]:
        refs = references or {}
        out: list[FieldInfo] = []
        for name in sorted(self._types):
            types = self._types[name]
            kind: FieldType = max(types, key=lambda t: types[t]) if types else "unknown"
            if {"email", "string"} <= set(types) and kind == "email":
                kind = "email"  # a few malformed addresses do not make it a string field
            distinct = self._distinct.get(name)
            options: list[str] = []
            if (
                kind == "string"
                and distinct is not None
                and 1 < len(distinct) <= _ENUM_MAX
                and self._filled[name] >= 3 * len(distinct)
            ):
                kind, options = "enum", sorted(distinct)
            if name in refs:
                kind = "reference"
            out.append(
                FieldInfo(
                    name=name,
                    type=kind,
                    filled=self._filled[name],
                    samples=list(self._samples.get(name, [])),
                    custom=custom(name),
                    options=options,
                    references=refs.get(name),
                )
            )
        return out
