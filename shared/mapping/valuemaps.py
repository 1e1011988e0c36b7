"""Value maps: a source label → a Dataverse option integer, per field, with a declared policy for a
label the map does not hold (COM-16: never written as some other option by accident).

    {to: industrycode, from: industry, map: {Software: 1, Retail: 2}, unmapped: quarantine}

`unmapped` is one of `quarantine` (the record is quarantined as UnmappedValue naming the object and
field), `default:<n>` (a deliberate, declared default option) or `keep_label_in:<column>` (the
choice column stays empty and the label is written to a text column).
"""

from __future__ import annotations

import re
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

UnmappedKind = Literal["quarantine", "default", "keep_label_in"]
UNMAPPED_KINDS: tuple[str, ...] = get_args(UnmappedKind)
_POLICY = re.compile(r"^(quarantine)$|^(default):(-?\d+)$|^(keep_label_in):([A-Za-z_{}][A-Za-z0-9_{}]*)$")


class Unmapped(Exception):
    """The label has no option and the policy is quarantine (the caller raises UnmappedValue)."""


def parse_policy(policy: str) -> tuple[UnmappedKind, str | None]:
    m = _POLICY.match(policy.strip())
    if m is None:
        raise ValueError(
            f"unmapped policy {policy!r} is not one of quarantine, default:<option>, keep_label_in:<column>"
        )
    if m.group(1):
        return "quarantine", None
    if m.group(2):
        return "default", m.group(3)
    return "keep_label_in", m.group(5)


def label_of(value: Any) -> str:
    """How a source value is looked up in a map: booleans as true/false, the rest as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


class ValueMap(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    to: str
    from_: str = Field(alias="from")
    map: dict[str, bool | int] = Field(min_length=1, description="label → option (or true/false)")
    unmapped: str = "quarantine"
    required: bool = False

    @field_validator("unmapped")
    @classmethod
    def _policy(cls, v: str) -> str:
        parse_policy(v)
        return v

    @field_validator("map", mode="before")
    @classmethod
    def _keys_as_labels(cls, v: Any) -> Any:
        return {label_of(k): n for k, n in v.items()} if isinstance(v, dict) else v

    def apply(self, value: Any) -> dict[str, Any]:
        """The columns to write for a source value; raises Unmapped under the quarantine policy."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return {}
        label = label_of(value)
        if label in self.map:
            return {self.to: self.map[label]}
        kind, arg = parse_policy(self.unmapped)
        if kind == "default":
            return {self.to: int(arg or 0)}
        if kind == "keep_label_in":
            return {str(arg): label}
        raise Unmapped(f"{self.from_} has a label with no option in {self.to}")


__all__ = ["UNMAPPED_KINDS", "Unmapped", "UnmappedKind", "ValueMap", "label_of", "parse_policy"]
