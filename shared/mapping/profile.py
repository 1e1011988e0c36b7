"""Mapping profiles: per source, where each object lands in Dataverse, field by field, as data.

A profile is YAML in `profiles/<source>.yaml`, validated on load; an error names the file, the
object and the path of the bad entry (`close.yaml: objects[contacts].targets.contact.fields.2.convert:
unknown converter …`). A customer spec overrides any part (`options.profile_overrides`, merged by
`merge_overrides`, then validated the same way).

An object lands in one target table, or in one of several chosen by a `split` (splits.py). A target
declares its field maps (with converters, convert.py), value maps (valuemaps.py), lookups resolved
through the id map at load time (COM-24) — to whichever table the parent landed in —, references
resolved against the target by a key (a currency by ISO code), the owner fields, and the state map
(state.py). Custom columns are written as `{prefix}_name` and only when `write_custom_columns` is on
(the schema plan of the profile is provisioned first, COM-13).

    profile = load_profile("close")
    profile = profile_for(spec)            # with the spec's overrides
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from shared.errors import ConfigError
from shared.mapping.convert import converter
from shared.mapping.generators import GenerateSpec
from shared.mapping.joins import JoinSpec
from shared.mapping.parties import PartyMap
from shared.mapping.paths import get_path
from shared.mapping.schema_plan import SchemaPlan
from shared.mapping.splits import Predicate, SplitRule
from shared.mapping.state import StateRule
from shared.mapping.valuemaps import ValueMap, parse_policy

PROFILES_DIR = Path(__file__).with_name("profiles")
SkipRule = Literal[
    "object_not_in_profile",
    "custom_activity_type_not_provisioned",
    "status_change_history",
    "email_thread_summary",
]
SKIP_RULES: tuple[str, ...] = get_args(SkipRule)
PlaceholderRule = Literal["no_company_placeholder"]
PLACEHOLDER_RULES: tuple[str, ...] = get_args(PlaceholderRule)
WriteMode = Literal["upsert", "skip"]
WRITE_MODES: tuple[str, ...] = get_args(WriteMode)
CUSTOM_MARK = "{prefix}"
"""A target column named `{prefix}_x` is a custom column of the schema plan."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FieldMap(_Model):
    """`from: a` or `from: [a, b]` (the first non-empty wins): `from_` is always the first path, so a
    reader that asks "which source field feeds this column" gets one; `paths` gives all of them."""

    to: str
    from_: str | None = Field(default=None, alias="from")
    fallbacks: list[str] = Field(default=[], description="Further source paths, tried in order")
    value: Any = Field(default=None, description="A constant, when there is no source field")
    default: Any = Field(default=None, description="Written when the source value is empty")
    convert: str | None = None
    required: bool = False
    translate: dict[str, Any] | None = Field(
        default=None,
        description="Source value → the value written (before convert); a value it lacks is left empty. "
        "For plain columns (a stage's probability, its label); choice columns take value_maps",
    )

    @model_validator(mode="before")
    @classmethod
    def _path_list(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("from"), list):
            paths = [str(p) for p in data["from"]]
            if not paths:
                raise ValueError("`from` lists no path")
            return {**data, "from": paths[0], "fallbacks": [*paths[1:], *data.get("fallbacks", [])]}
        return data

    @model_validator(mode="after")
    def _valid(self) -> FieldMap:
        if (self.from_ is None) == (self.value is None):
            raise ValueError("a field map has exactly one of from, value")
        if self.convert is not None:
            converter(self.convert)
        return self

    @property
    def paths(self) -> list[str]:
        return [self.from_, *self.fallbacks] if self.from_ is not None else []


class LookupSource(_Model):
    """One possible parent. `when` makes it conditional on the record (a polymorphic link: X2CRM's
    `associationType`, SmartDesk's `regarding_type` name which object `associationId` points into)."""

    from_: str = Field(alias="from")
    object: str
    when: Predicate | None = None


class LookupMap(_Model):
    """A lookup resolved through the id map (COM-24): the parent must load in an earlier phase.

    `bind` is the navigation property; `{table}` in it is the table the parent landed in (read from
    the id map entry), so a regarding lookup follows a parent that a split sent to lead or account.
    With several `sources` the first whose parent loaded into one of `tables` wins. No such parent:
    a `placeholder` of the profile when one is named and the source field is empty or the parent
    landed elsewhere; otherwise a quarantine (required) or no binding.
    """

    to: str
    bind: str = "{to}"
    object: str | None = None
    from_: str | None = Field(default=None, alias="from")
    sources: list[LookupSource] = []
    tables: list[str] = Field(default=[], description="Parent tables accepted (empty: any)")
    required: bool = False
    placeholder: str | None = None

    @model_validator(mode="after")
    def _sources(self) -> LookupMap:
        single = self.object is not None or self.from_ is not None
        if single and (self.object is None or self.from_ is None):
            raise ValueError("a lookup needs both object and from")
        if single == bool(self.sources):
            raise ValueError("a lookup has either object+from or sources")
        return self

    def candidates(self) -> list[LookupSource]:
        if self.sources:
            return list(self.sources)
        return [LookupSource.model_validate({"from": self.from_, "object": self.object})]


class ReferenceMap(_Model):
    """A lookup to a row that already exists in the target, found by a key column at load time
    (e.g. `transactioncurrencyid` by `isocurrencycode`)."""

    to: str
    bind: str
    from_: str = Field(alias="from")
    entity_set: str
    primary_id: str
    key: str
    default: str | None = None
    required: bool = False


class OwnerFields(_Model):
    from_: list[str] = Field(
        alias="from", min_length=1, description="Source user-id fields, first present wins"
    )


class StateMap(StateRule):
    close: list[FieldMap] = Field(default=[], description="opportunityclose columns for Win/Lose")


class FileMap(_Model):
    """The file a row carries (an annotation's attachment, COM-41): the source path of the staged file
    reference (`_file`: `{blob, size, path}` set by extraction), and the columns that receive the body,
    the file name and the MIME type. The load step reads the bytes from staging and writes them
    within the org's upload limit (too large: quarantined with the size and the limit)."""

    from_: str = Field(default="_file", alias="from")
    body: str = "documentbody"
    name_from: str | None = None
    name_to: str = "filename"
    mime_from: str | None = None
    mime_to: str = "mimetype"


class DedupeMap(_Model):
    """Match a row against records already in Dynamics before writing it (e.g. Account by name +
    website). `match` pairs a target column with the source path that fills it (converted as the
    field map of that column converts it); every pair must be equal (case-insensitive) for a match.
    `on_match: link` writes nothing and links the source record to the existing row (the id map points
    there, children bind to it, rollback leaves it alone)."""

    match: dict[str, str] = Field(min_length=1, description="target column → source path")
    on_match: Literal["link"] = "link"


class PropertyColumns(_Model):
    """PRAC-08/09, PROFI-14: every key of a pivot join becomes its own custom column on this table,
    named `{prefix}_<PascalCase key>`, typed from the values seen (planned at run time, provisioned
    before the load). `keys` limits it to those keys; `exclude` leaves keys out (counted, reported)."""

    join: str
    keys: list[str] = []
    exclude: list[str] = []

    def wants(self, key: str) -> bool:
        return key not in self.exclude and (not self.keys or key in self.keys)


class CustomFieldGuard(_Model):
    """CLOSE-15: the custom fields a target's records may carry (`under` a path prefix such as
    `custom.`); a record with a value in any other is quarantined naming that field — its type
    must define the field first."""

    under: str
    allowed: list[str] = []
    owner: str = Field(default="", description="What defines the fields (for the message)")

    def undefined(self, record: dict[str, Any]) -> list[str]:
        keys: list[str] = []
        nested = self.under.rstrip(".")
        if isinstance(record.get(nested), dict):
            keys += [f"{self.under}{k}" for k, v in record[nested].items() if v not in (None, "", [])]
        keys += [k for k, v in record.items() if k.startswith(self.under) and v not in (None, "", [])]
        allowed = {f"{self.under}{a}" for a in self.allowed}
        return sorted({k for k in keys if k not in allowed})


class TargetMap(_Model):
    table: str
    entity_set: str
    primary_id: str
    write_mode: WriteMode = "upsert"
    fields: list[FieldMap] = []
    value_maps: list[ValueMap] = []
    lookups: list[LookupMap] = []
    references: list[ReferenceMap] = []
    owner: OwnerFields | None = None
    state: StateMap | None = None
    source_id_to: str | None = Field(default=None, description="Column that keeps the source id")
    file: FileMap | None = None
    dedupe: DedupeMap | None = None
    properties: PropertyColumns | None = None
    custom_fields: CustomFieldGuard | None = None
    parties: list[PartyMap] = Field(default=[], description="Activity parties (parties.py, INT-12)")


_TARGET_KEYS = set(TargetMap.model_fields)


class ObjectMap(_Model):
    name: str
    phase: int = Field(ge=1)
    id_from: str = Field(default="id", alias="id", description="The source path of the record's id")
    source: str | None = Field(
        default=None,
        description="The source object whose records this maps (default: `name`). Two objects may map "
        "one source object, e.g. an organisation client → Account, then its person → Contact (PRAC-02)",
    )
    targets: dict[str, TargetMap] = Field(min_length=1)
    split: list[SplitRule] = []
    joins: list[JoinSpec] = []

    @model_validator(mode="before")
    @classmethod
    def _inline_target(cls, data: Any) -> Any:
        """`table:`/`fields:`… directly on the object: one target named after its table."""
        if isinstance(data, dict) and "table" in data and "targets" not in data:
            inline = {k: v for k, v in data.items() if k in _TARGET_KEYS}
            rest = {k: v for k, v in data.items() if k not in _TARGET_KEYS}
            return {**rest, "targets": {str(data["table"]): inline}}
        return data

    @model_validator(mode="after")
    def _split(self) -> ObjectMap:
        if len(self.targets) > 1 and not self.split:
            raise ValueError(f"{self.name} has several targets but no split rule")
        if self.split:
            if self.split[-1].otherwise is None or sum(r.otherwise is not None for r in self.split) != 1:
                raise ValueError("a split ends with exactly one `otherwise`")
            for i, rule in enumerate(self.split):
                kind, name = rule.outcome()
                if kind == "target" and name not in self.targets:
                    raise ValueError(f"split.{i}: {name!r} is not a target of {self.name}")
                child = rule.when.has_children if rule.when is not None else None
                if child is not None and not any(j.object == child and j.kind == "count" for j in self.joins):
                    raise ValueError(f"split.{i}: has_children: {child} needs a count join on {child}")
        joins = {j.name: j for j in self.joins}
        if len(joins) != len(self.joins):
            raise ValueError("a join name is used twice")
        for tname, t in self.targets.items():
            if t.properties is not None:
                j = joins.get(t.properties.join)
                if j is None or j.kind != "pivot":
                    raise ValueError(f"{tname}.properties: {t.properties.join!r} is not a pivot join")
        return self

    def source_id(self, record: dict[str, Any]) -> str:
        value = get_path(record, self.id_from)
        return "" if value is None else str(value)

    @property
    def staged(self) -> str:
        """The source object whose staged records feed this object."""
        return self.source or self.name

    # the first target stands for the object where one table is asked for (bulk probe, reports)
    @property
    def table(self) -> str:
        return next(iter(self.targets.values())).table

    @property
    def entity_set(self) -> str:
        return next(iter(self.targets.values())).entity_set

    @property
    def primary_id(self) -> str:
        return next(iter(self.targets.values())).primary_id

    @property
    def tables(self) -> list[str]:
        return list(dict.fromkeys(t.table for t in self.targets.values()))

    # flat views over every target, for readers that ask "what does this object read and fill"
    # (proposer, owner matching): one source path per field map, one parent per lookup
    @property
    def fields(self) -> list[FieldMap]:
        return [
            fm.model_copy(update={"from_": p, "fallbacks": []})
            for t in self.targets.values()
            for fm in t.fields
            for p in fm.paths
        ]

    @property
    def lookups(self) -> list[LookupMap]:
        return [
            lk.model_copy(update={"object": src.object, "from_": src.from_, "sources": []})
            for t in self.targets.values()
            for lk in t.lookups
            for src in lk.candidates()
        ]

    @property
    def owner(self) -> OwnerFields | None:
        paths = [p for t in self.targets.values() if t.owner for p in t.owner.from_]
        return OwnerFields.model_validate({"from": list(dict.fromkeys(paths))}) if paths else None


class SkipMap(_Model):
    object: str
    rule: str
    why: str


class Placeholder(_Model):
    """A row the load step creates once per migration for records with no real parent (CLOSE-04),
    flagged under `rule` in the report for the admin to merge or resolve."""

    name: str
    rule: PlaceholderRule
    table: str
    entity_set: str
    primary_id: str
    payload: dict[str, Any] = Field(min_length=1)


class OwnerPolicy(_Model):
    """The source's own rule for owners with no enabled Dataverse user (COM-19): its page may say the
    import waits until the admin provisions them (X2-16, SD-13, CLOSE-20) — for every object, or only
    for `objects` (SmartDesk blocks deals and activities). The spec's `options.unmatched_owner`, when
    set, decides instead."""

    unmatched: Literal["fallback", "block"] = "fallback"
    objects: list[str] = Field(default=[], description="Objects whose records block (empty: every object)")
    why: str = ""


class Profile(_Model):
    source: str
    version: int
    write_custom_columns: bool = Field(
        default=False,
        description="Write `{prefix}_…` columns: on once the profile's schema plan is provisioned",
    )
    schema_: SchemaPlan | None = Field(
        default=None, alias="schema", description="Custom tables/columns/option sets/keys to provision"
    )
    objects: list[ObjectMap]
    skip_rules: dict[str, str] = Field(
        default={}, description="Named rules of this profile (name → why) a split may skip by"
    )
    skip: list[SkipMap] = []
    placeholders: list[Placeholder] = []
    owners: OwnerPolicy = OwnerPolicy()
    generate: list[GenerateSpec] = Field(
        default=[],
        description="Mapping generated after extraction from what the source holds (generators.py)",
    )

    @field_validator("objects")
    @classmethod
    def _unique(cls, v: list[ObjectMap]) -> list[ObjectMap]:
        names = [o.name for o in v]
        if len(set(names)) != len(names):
            raise ValueError("an object is mapped twice")
        return v

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Profile:
        prefix = (info.context or {}).get("prefix", CUSTOM_MARK)
        phase = {o.name: o.phase for o in self.objects}
        placeholders = {p.name for p in self.placeholders}
        rules = set(SKIP_RULES) | set(self.skip_rules)
        for sk in self.skip:
            if sk.rule not in rules:
                raise ValueError(f"skip[{sk.object}]: unknown skip rule {sk.rule!r}; known: {sorted(rules)}")
        for o in self.objects:
            for i, rule in enumerate(o.split):
                kind, name = rule.outcome()
                if kind == "skip" and name not in rules:
                    raise ValueError(
                        f"{o.name}.split.{i}: unknown skip rule {name!r}; known: {sorted(rules)}"
                    )
            for tname, t in o.targets.items():
                for lk in t.lookups:
                    for src in lk.candidates():
                        if src.object not in phase:
                            raise ValueError(
                                f"{o.name}.{tname}.{lk.to} looks up {src.object!r}, which the profile "
                                "does not map"
                            )
                        if phase[src.object] >= o.phase:
                            raise ValueError(
                                f"{o.name} (phase {o.phase}) looks up {src.object} which loads no earlier"
                            )
                    if lk.placeholder is not None and lk.placeholder not in placeholders:
                        raise ValueError(f"{o.name}.{tname}.{lk.to}: no placeholder {lk.placeholder!r}")
                for vm in t.value_maps:
                    parse_policy(vm.unmapped)
                missing = sorted(set(self.custom_columns(t)) - self._planned(t.table, prefix))
                if missing:
                    raise ValueError(
                        f"{o.name}.{tname} writes custom columns the schema plan does not declare on "
                        f"{t.table}: {missing}"
                    )
        return self

    @staticmethod
    def custom_columns(t: TargetMap) -> list[str]:
        """The `{prefix}_x` columns a target writes, as lowercase `x` (the plan's name, lowercased)."""
        names = [f.to for f in t.fields] + ([t.source_id_to] if t.source_id_to else [])
        for vm in t.value_maps:
            kind, arg = parse_policy(vm.unmapped)
            names += [vm.to] + ([arg] if kind == "keep_label_in" and arg else [])
        mark = CUSTOM_MARK + "_"
        return [n.removeprefix(mark).lower() for n in names if n.startswith(mark)]

    def _planned(self, table: str, prefix: str) -> set[str]:
        """The plan's custom columns on `table` (a standard table, or a plan table by its prefixed
        logical name), lowercase, with the primary name column of a plan table."""
        plan = self.schema_
        if plan is None:
            return set()

        def named(ref: str) -> bool:
            return ref == table or f"{prefix}_{ref.lower()}" == table

        names = {c.name.lower() for c in plan.columns if named(c.table)}
        names |= {t.primary_name.name.lower() for t in plan.tables if named(t.name)}
        return names

    def object(self, name: str) -> ObjectMap | None:
        return next((o for o in self.objects if o.name == name), None)

    def skip_rule(self, name: str) -> SkipMap | None:
        return next((s for s in self.skip if s.object == name), None)

    def placeholder(self, name: str) -> Placeholder | None:
        return next((p for p in self.placeholders if p.name == name), None)

    def phases(self) -> list[list[ObjectMap]]:
        """Objects grouped by load phase, in load order (parents before children)."""
        return [[o for o in self.objects if o.phase == p] for p in sorted({o.phase for o in self.objects})]

    def entity_set_of(self, table: str) -> str | None:
        for o in self.objects:
            for t in o.targets.values():
                if t.table == table:
                    return t.entity_set
        return next((p.entity_set for p in self.placeholders if p.table == table), None)


def merge_overrides(base: Any, override: Any, key: str | None = None) -> Any:
    """A customer's override over the profile: it changes only what it sets (a key given as null
    clears it). Mappings merge key by key; the `objects` list merges by object `name` (a new name
    adds an object); any other list is replaced whole."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for k, value in override.items():
            out[k] = merge_overrides(base[k], value, k) if k in base else copy.deepcopy(value)
        return out
    if (
        key == "objects"
        and isinstance(base, list)
        and isinstance(override, list)
        and all(isinstance(x, dict) and "name" in x for x in [*base, *override])
    ):
        merged = [dict(x) for x in base]
        index = {x["name"]: n for n, x in enumerate(merged)}
        for item in override:
            if item["name"] in index:
                merged[index[item["name"]]] = merge_overrides(merged[index[item["name"]]], item)
            else:
                merged.append(copy.deepcopy(item))
        return merged
    return copy.deepcopy(override)


def _describe(exc: ValidationError, data: Any) -> str:
    problems = []
    for e in exc.errors():
        loc = list(e["loc"])
        parts: list[str] = []
        if len(loc) >= 2 and loc[0] == "objects" and isinstance(loc[1], int):
            objects = data.get("objects") if isinstance(data, dict) else None
            name = None
            if isinstance(objects, list) and loc[1] < len(objects) and isinstance(objects[loc[1]], dict):
                name = objects[loc[1]].get("name")
            parts.append(f"objects[{name if name else loc[1]}]")
            loc = loc[2:]
        parts.extend(str(p) for p in loc)
        problems.append(f"{'.'.join(parts) or '(root)'}: {e['msg']}")
    return "; ".join(problems)


def parse_profile(data: Any, *, where: str, prefix: str = CUSTOM_MARK) -> Profile:
    try:
        return Profile.model_validate(data, context={"prefix": prefix})
    except ValidationError as exc:
        raise ConfigError(f"mapping profile {where} is invalid: {_describe(exc, data)}") from None


@cache
def _raw(source: str) -> str:
    path = PROFILES_DIR / f"{source}.yaml"
    if not path.exists():
        raise ConfigError(f"no mapping profile for source {source!r} ({path.name} missing)")
    return json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")))


@cache
def _load(source: str, overrides: str, prefix: str) -> Profile:
    data = json.loads(_raw(source))
    where = f"{source}.yaml"
    extra = json.loads(overrides)
    if extra:
        data = merge_overrides(data, extra)
        where += " with the spec's profile_overrides"
    parse_profile(data, where=where)  # errors name the file as people wrote it, `{prefix}` and all
    return parse_profile(_with_prefix(data, prefix), where=where, prefix=prefix)


_PREFIXED_KEYS = frozenset({"table", "entity_set", "primary_id", "bind", "tables"})
"""Where `{prefix}` names a custom table (or its id, entity set, navigation property) and is replaced
when the profile is loaded. Column names keep `{prefix}`: `write_custom_columns` decides on them."""


def _with_prefix(data: Any, prefix: str, key: str | None = None) -> Any:
    if isinstance(data, dict):
        return {k: _with_prefix(v, prefix, k) for k, v in data.items()}
    if isinstance(data, list):
        return [_with_prefix(v, prefix, key) for v in data]
    if isinstance(data, str) and key in _PREFIXED_KEYS:
        return data.replace(CUSTOM_MARK, prefix)
    return data


def raw_profile(source: str) -> dict[str, Any]:
    """The profile as written (before overrides and validation): what an override merges over."""
    data = json.loads(_raw(source))
    return data if isinstance(data, dict) else {}


def load_profile(source: str, overrides: dict[str, Any] | None = None, prefix: str = "new") -> Profile:
    """The source's profile, with a customer's overrides merged over it and custom tables named with
    the publisher prefix (validated, cached)."""
    return _load(source, json.dumps(overrides or {}, sort_keys=True), prefix)


def _cache_clear() -> None:
    _raw.cache_clear()
    _load.cache_clear()


load_profile.cache_clear = _cache_clear  # type: ignore[attr-defined]


def profile_for(spec: Any) -> Profile:
    """The profile a migration spec runs with (`options.profile_overrides`, when the spec has it)."""
    overrides = getattr(getattr(spec, "options", None), "profile_overrides", None)
    prefix = getattr(getattr(spec, "options", None), "publisher_prefix", None) or "new"
    return load_profile(spec.source.kind, overrides or None, prefix)
