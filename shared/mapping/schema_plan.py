"""What a profile asks the target to provision: custom tables, columns, option sets, lookups, keys.

A plan is data (a `schema:` block of a profile, or a customer's override) and knows nothing of the
publisher: names are PascalCase *without* a prefix, and the prefix is applied when the plan is
provisioned (`logical_name`, `schema_name`). The seeds' Salesforce-style names (`Program_Enrollment__c`)
are kept only as `seed_name`, which provisioning records in the Description (`describe`).

A reference to a table (a column's `table`, a lookup's `target`, a key's `table`) is either the `name` of
a CustomTable in the plan (PascalCase) or the logical name of a table that already exists (lowercase,
e.g. `account`). Likewise a key's columns name CustomColumns of the plan or existing logical names.

Usage::

    plan = parse_schema_plan(profile_yaml["schema"], where="profiles/close.yaml: schema")
    plan.table_logical_name("ProgramEnrollment", "new")   # 'new_programenrollment'
    column.resolved_options(10000)                         # [('Active', 100000000), ...]
"""

from __future__ import annotations

import re
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.errors import ConfigError

ColumnType = Literal[
    "string", "memo", "integer", "decimal", "money", "boolean", "date", "datetime",
    "choice", "multichoice", "lookup",
]  # fmt: skip
COLUMN_TYPES: tuple[str, ...] = get_args(ColumnType)
Ownership = Literal["user", "organization"]
KEY_COLUMN_TYPES = frozenset({"string", "integer", "decimal", "date", "datetime", "lookup"})
"""Column types Dataverse accepts in an alternate key (define-alternate-keys-entity.md)."""

NAME_PATTERN = r"^[A-Z][A-Za-z0-9]{0,39}$"
"""PascalCase, no prefix, no underscores: the part after `{prefix}_`."""
LOGICAL_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
_NAME = re.compile(NAME_PATTERN)
_LOGICAL = re.compile(LOGICAL_NAME_PATTERN)

OPTION_BLOCK = 10_000
"""Option values default to option_value_prefix * 10,000 + n (n = position in the list, from 0)."""

# max_length bounds per Dataverse (StringAttributeMetadata 4000, MemoAttributeMetadata 1,048,576)
_LENGTH = {"string": (1, 4000, 100), "memo": (1, 1_048_576, 2000)}
_PRECISION = {"decimal": (0, 10, 2), "money": (0, 4, 2)}


def logical_name(prefix: str, name: str) -> str:
    """`new`, `ProgramEnrollment` → `new_programenrollment` (INT-01: prefix + name, never `__c`)."""
    return f"{prefix}_{name.lower()}"


def schema_name(prefix: str, name: str) -> str:
    """`new`, `ProgramEnrollment` → `new_ProgramEnrollment`."""
    return f"{prefix}_{name}"


def describe(description: str | None, seed_name: str | None) -> str:
    """The Description written to the target: the plan's text, then the seed's name for audit."""
    parts = [description.strip()] if description else []
    if seed_name:
        parts.append(f"Seed name: {seed_name}.")
    return " ".join(parts) or "Provisioned by Intact."


def _is_plan_name(ref: str) -> bool:
    return bool(_NAME.match(ref))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Option(_Model):
    label: str = Field(min_length=1, max_length=250)
    value: int | None = Field(default=None, description="Default: option_value_prefix * 10,000 + position.")


def resolve_option_values(options: list[Option], option_prefix: int) -> list[tuple[str, int]]:
    """Each option's (label, value); values left out are option_prefix * 10,000 + position."""
    base = option_prefix * OPTION_BLOCK
    out = [(o.label, o.value if o.value is not None else base + n) for n, o in enumerate(options)]
    values = [v for _, v in out]
    if len(set(values)) != len(values):
        dupes = sorted({v for v in values if values.count(v) > 1})
        raise ConfigError(f"option values collide: {dupes} (explicit values overlap the defaults)")
    return out


def _check_options(options: list[Option]) -> None:
    labels = [o.label for o in options]
    if len(set(labels)) != len(labels):
        raise ValueError(f"duplicate option labels: {sorted({x for x in labels if labels.count(x) > 1})}")
    explicit = [o.value for o in options if o.value is not None]
    if len(set(explicit)) != len(explicit):
        raise ValueError("duplicate option values")


class PrimaryName(_Model):
    name: str = Field(default="Name", pattern=NAME_PATTERN)
    display_name: str = "Name"
    max_length: int = Field(default=100, ge=1, le=4000)


class CustomTable(_Model):
    name: str = Field(pattern=NAME_PATTERN, description="PascalCase without the publisher prefix.")
    seed_name: str | None = Field(default=None, description="The seed's name, e.g. Program_Enrollment__c.")
    display_name: str = Field(min_length=1, max_length=100)
    plural_name: str = Field(min_length=1, max_length=100)
    description: str | None = None
    ownership: Ownership = "user"
    has_notes: bool = False
    has_activities: bool = False
    is_activity: bool = False
    primary_name: PrimaryName = PrimaryName()

    @model_validator(mode="after")
    def _activity_rules(self) -> CustomTable:
        if self.is_activity and self.ownership != "user":
            raise ValueError("an activity table must be user-owned")
        if self.is_activity and self.has_activities:
            raise ValueError("an activity table cannot itself have activities")
        return self


class GlobalOptionSet(_Model):
    name: str = Field(pattern=NAME_PATTERN)
    seed_name: str | None = None
    display_name: str = Field(min_length=1, max_length=100)
    description: str | None = None
    options: list[Option] = Field(min_length=1)

    @model_validator(mode="after")
    def _options(self) -> GlobalOptionSet:
        _check_options(self.options)
        return self

    def resolved_options(self, option_prefix: int) -> list[tuple[str, int]]:
        return resolve_option_values(self.options, option_prefix)


class CustomColumn(_Model):
    table: str = Field(description="A standard table's logical name, or a CustomTable name in the plan.")
    name: str = Field(pattern=NAME_PATTERN, description="PascalCase without the publisher prefix.")
    seed_name: str | None = None
    display_name: str = Field(min_length=1, max_length=100)
    description: str | None = None
    type: ColumnType
    max_length: int | None = Field(default=None, ge=1)
    precision: int | None = Field(default=None, ge=0)
    min_value: float | None = Field(default=None, alias="min")
    max_value: float | None = Field(default=None, alias="max")
    options: list[Option] = []
    global_option_set: str | None = Field(
        default=None, description="A GlobalOptionSet name in the plan, or an existing option set's name."
    )
    target: str | None = Field(default=None, description="Lookup: the target table (plan name or logical).")
    required: bool = False
    secured: bool = False
    field_security_profile: str | None = Field(
        default=None, description="COM-15: the field security profile that may read/write this column."
    )

    @model_validator(mode="after")
    def _type_rules(self) -> CustomColumn:
        t = self.type
        if not (_is_plan_name(self.table) or _LOGICAL.match(self.table)):
            raise ValueError(f"table {self.table!r} is neither a plan table name nor a logical name")
        if self.max_length is not None and t not in _LENGTH:
            raise ValueError(f"max_length applies to string/memo columns, not {t}")
        if t in _LENGTH and self.max_length is not None:
            lo, hi, _ = _LENGTH[t]
            if not lo <= self.max_length <= hi:
                raise ValueError(f"max_length of a {t} column must be {lo}..{hi}")
        if self.precision is not None:
            if t not in _PRECISION:
                raise ValueError(f"precision applies to decimal/money columns, not {t}")
            lo, hi, _ = _PRECISION[t]
            if not lo <= self.precision <= hi:
                raise ValueError(f"precision of a {t} column must be {lo}..{hi}")
        bounded = self.min_value is not None or self.max_value is not None
        if bounded and t not in ("integer", "decimal", "money"):
            raise ValueError(f"min/max apply to integer/decimal/money columns, not {t}")
        if self.min_value is not None and self.max_value is not None and self.min_value > self.max_value:
            raise ValueError("min is greater than max")
        if t in ("choice", "multichoice"):
            if bool(self.options) == bool(self.global_option_set):
                raise ValueError(f"a {t} column needs exactly one of options or global_option_set")
            _check_options(self.options)
        elif self.options or self.global_option_set:
            raise ValueError(f"options/global_option_set apply to choice/multichoice columns, not {t}")
        if t == "lookup":
            if not self.target:
                raise ValueError("a lookup column needs target (the table it points to)")
            if not (_is_plan_name(self.target) or _LOGICAL.match(self.target)):
                raise ValueError(f"target {self.target!r} is neither a plan table name nor a logical name")
        elif self.target:
            raise ValueError(f"target applies to lookup columns, not {t}")
        if self.field_security_profile and not self.secured:
            raise ValueError("field_security_profile needs secured: true")
        return self

    @property
    def effective_max_length(self) -> int | None:
        return self.max_length if self.max_length is not None else _LENGTH.get(self.type, (0, 0, None))[2]

    @property
    def effective_precision(self) -> int | None:
        return self.precision if self.precision is not None else _PRECISION.get(self.type, (0, 0, None))[2]

    def resolved_options(self, option_prefix: int) -> list[tuple[str, int]]:
        return resolve_option_values(self.options, option_prefix)


class AlternateKey(_Model):
    table: str
    name: str = Field(pattern=NAME_PATTERN)
    display_name: str | None = None
    columns: list[str] = Field(min_length=1, max_length=16)

    @model_validator(mode="after")
    def _refs(self) -> AlternateKey:
        if not (_is_plan_name(self.table) or _LOGICAL.match(self.table)):
            raise ValueError(f"table {self.table!r} is neither a plan table name nor a logical name")
        if len(set(self.columns)) != len(self.columns):
            raise ValueError("a key lists a column twice")
        return self


class SchemaPlan(_Model):
    """Everything one profile needs the target to have beyond the standard schema."""

    tables: list[CustomTable] = []
    columns: list[CustomColumn] = []
    option_sets: list[GlobalOptionSet] = []
    keys: list[AlternateKey] = []

    @model_validator(mode="after")
    def _references(self) -> SchemaPlan:
        problems: list[str] = []
        tables = {t.name for t in self.tables}
        _dupes(problems, "tables", [t.name for t in self.tables])
        _dupes(problems, "option_sets", [o.name for o in self.option_sets])
        _dupes(problems, "columns", [f"{c.table}.{c.name}" for c in self.columns])
        _dupes(problems, "keys", [f"{k.table}.{k.name}" for k in self.keys])
        option_sets = {o.name for o in self.option_sets}
        primary = {t.name: t.primary_name.name.lower() for t in self.tables}
        for i, c in enumerate(self.columns):
            if primary.get(c.table) == c.name.lower():
                problems.append(f"columns.{i}.name: {c.name!r} is the primary name column of {c.table}")
            if _is_plan_name(c.table) and c.table not in tables:
                problems.append(f"columns.{i}.table: {c.table!r} is not a table of this plan")
            if c.target and _is_plan_name(c.target) and c.target not in tables:
                problems.append(f"columns.{i}.target: {c.target!r} is not a table of this plan")
            gos = c.global_option_set
            if gos and not (gos in option_sets or _LOGICAL.match(gos)):
                problems.append(f"columns.{i}.global_option_set: {gos!r} is not an option set of this plan")
        for i, k in enumerate(self.keys):
            if _is_plan_name(k.table) and k.table not in tables:
                problems.append(f"keys.{i}.table: {k.table!r} is not a table of this plan")
            planned = {c.name: c for c in self.columns if c.table == k.table}
            for j, col in enumerate(k.columns):
                at = f"keys.{i}.columns.{j}"
                if _is_plan_name(col):
                    if col not in planned:
                        problems.append(f"{at}: {col!r} is not a column of {k.table} in this plan")
                    elif planned[col].type not in KEY_COLUMN_TYPES:
                        problems.append(f"{at}: a {planned[col].type} column cannot be in a key")
                elif not _LOGICAL.match(col):
                    problems.append(f"{at}: {col!r} is neither a plan column nor a logical name")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # --- names, given the publisher prefix ----------------------------------------------------
    def table_logical_name(self, ref: str, prefix: str) -> str:
        """A table reference as the target's logical name (plan tables get the prefix)."""
        return logical_name(prefix, ref) if _is_plan_name(ref) else ref

    def column_logical_name(self, ref: str, prefix: str) -> str:
        return logical_name(prefix, ref) if _is_plan_name(ref) else ref

    def option_set_name(self, ref: str, prefix: str) -> str:
        return logical_name(prefix, ref) if _is_plan_name(ref) else ref

    def is_empty(self) -> bool:
        return not (self.tables or self.columns or self.option_sets or self.keys)


def _dupes(problems: list[str], where: str, names: list[str]) -> None:
    seen: set[str] = set()
    for n in names:
        key = n.lower()  # logical names are lowercase: Foo and FOO collide in the target
        if key in seen:
            problems.append(f"{where}: {n!r} is declared twice")
        seen.add(key)


def parse_schema_plan(data: Any, *, where: str = "schema") -> SchemaPlan:
    """Validate a plan; the ConfigError names `where` and the path of every bad entry."""
    try:
        return SchemaPlan.model_validate(data or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"{where}: invalid schema plan: {problems}") from None


__all__ = [
    "COLUMN_TYPES",
    "NAME_PATTERN",
    "OPTION_BLOCK",
    "AlternateKey",
    "ColumnType",
    "CustomColumn",
    "CustomTable",
    "GlobalOptionSet",
    "Option",
    "PrimaryName",
    "SchemaPlan",
    "describe",
    "logical_name",
    "parse_schema_plan",
    "resolve_option_values",
    "schema_name",
]
