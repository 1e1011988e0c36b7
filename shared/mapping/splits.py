"""Split rules: which target table a source record lands in, as data (issue 6).

Rules are tried in order; the first whose `when` holds decides, and the list must end with an
`otherwise`, so every record lands exactly once — in one target, skipped by a named rule, or
quarantined.

    split:
      - {when: {field: status_label, in: [Potential, Contacted]}, table: lead}
      - {when: {field: _type, equals: CustomActivity}, skip: custom_activity_type_not_provisioned}
      - {otherwise: account}          # or `otherwise: quarantine`, or `otherwise: "skip:<rule>"`

Predicates: `in`, `not_in`, `equals`, `empty` on a field path; `has_children: <object>` asks the
caller (Profi: clients with no session → Lead), which must supply a `children` function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.mapping.paths import get_path
from shared.mapping.valuemaps import label_of

Outcome = tuple[Literal["target", "skip", "quarantine"], str | None]
ChildrenFn = Callable[[str, str], bool]
"""(child object, parent source id) → whether that parent has at least one child record."""


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Predicate(_M):
    field: str | None = None
    in_: list[Any] | None = Field(default=None, alias="in")
    not_in: list[Any] | None = None
    equals: Any = None
    empty: bool | None = None
    has_children: str | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Predicate:
        tests = [
            n for n in ("in_", "not_in", "equals", "empty", "has_children") if getattr(self, n) is not None
        ]
        if len(tests) != 1:
            raise ValueError("a predicate has exactly one of in, not_in, equals, empty, has_children")
        if tests[0] == "has_children" and self.field is not None:
            raise ValueError("has_children takes no field")
        if tests[0] != "has_children" and not self.field:
            raise ValueError("the predicate needs a field")
        return self

    def holds(
        self, record: dict[str, Any], children: ChildrenFn | None, record_id: str | None = None
    ) -> bool:
        if self.has_children is not None:
            if children is None:
                raise ValueError(f"has_children: {self.has_children} needs the child index")
            return children(
                self.has_children, record_id if record_id is not None else str(record.get("id") or "")
            )
        value = get_path(record, self.field or "")
        missing = value is None or (isinstance(value, str | list | dict) and not value)
        if self.empty is not None:
            return missing == self.empty
        label = None if missing else label_of(value)
        if self.in_ is not None:
            return label in {label_of(x) for x in self.in_}
        if self.not_in is not None:
            return label not in {label_of(x) for x in self.not_in}
        return label == label_of(self.equals)


class SplitRule(_M):
    when: Predicate | None = None
    otherwise: str | None = None
    table: str | None = Field(default=None, description="The target (by name) the record lands in")
    skip: str | None = Field(default=None, description="A named skip rule")

    @model_validator(mode="after")
    def _shape(self) -> SplitRule:
        if (self.when is None) == (self.otherwise is None):
            raise ValueError("a split rule has exactly one of when, otherwise")
        if self.when is not None and (self.table is None) == (self.skip is None):
            raise ValueError("a `when` rule has exactly one of table, skip")
        if self.otherwise is not None and (self.table or self.skip):
            raise ValueError("`otherwise` names its outcome itself: a target, quarantine or skip:<rule>")
        return self

    def outcome(self) -> Outcome:
        if self.table:
            return "target", self.table
        if self.skip:
            return "skip", self.skip
        other = self.otherwise or ""
        if other == "quarantine":
            return "quarantine", None
        if other.startswith("skip:"):
            return "skip", other.removeprefix("skip:")
        return "target", other


def choose(
    rules: list[SplitRule],
    record: dict[str, Any],
    children: ChildrenFn | None = None,
    record_id: str | None = None,
) -> Outcome:
    for rule in rules:
        if rule.when is None or rule.when.holds(record, children, record_id):
            return rule.outcome()
    raise AssertionError("a validated split ends with `otherwise`")  # pragma: no cover


__all__ = ["ChildrenFn", "Outcome", "Predicate", "SplitRule", "choose"]
