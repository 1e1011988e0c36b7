"""The proposer: "AI proposes the map; you confirm".

For each source field the profile does not cover (custom fields above all) it proposes a target
column — an existing one, or a new custom column — with a confidence and a reason, from three kinds
of evidence: name similarity (`_similarity`), type compatibility (`TYPE_FIT`, a lookup table) and the
patterns of the sampled values (`_patterns`). It runs offline; an optional `Advisor` (an LLM behind
a Protocol, none shipped) may re-rank the candidates it is shown. Reasons and advisor requests carry
counts, never sampled values: samples may be personal data.

The result is a `MappingProposal`, YAML a person edits (`status: approved`, a different `target`)
and hands back with the approval; `approval.overrides_from_proposal` turns the approved entries into
profile overrides (field maps and schema-plan columns).

    columns = read_target_columns(client, ["contact", "account"])
    proposal = propose(discovery, load_profile("close"), columns,
                       object_tables={"leads": "account", "contacts": "contact"})
    Path("mapping.yaml").write_text(proposal.to_yaml())
    ...                                                   # a person edits and approves
    overrides, notes = overrides_from_proposal(load_proposal("mapping.yaml"), profile)
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any, Literal, Protocol, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.errors import ConfigError
from shared.mapping._patterns import ValueEvidence, read_values
from shared.mapping._similarity import compact, name_similarity, strip_prefixes, words
from shared.mapping.profile import Profile
from shared.mapping.schema_plan import NAME_PATTERN, ColumnType
from shared.sources import Discovery, FieldInfo

FORMAT = "intact-mapping-proposal/1"
Status = Literal["proposed", "approved", "rejected"]
STATUSES: tuple[str, ...] = get_args(Status)
NEW = "new:"
EXISTING_THRESHOLD = 0.6
"""An existing column is proposed only when it scores at least this; otherwise a new column is."""

# --- the target's columns -----------------------------------------------------------------------

AttributeType = str  # Dataverse AttributeType: String, Memo, Integer, Picklist, …

COLUMN_TYPE_OF: dict[AttributeType, ColumnType] = {
    "String": "string",
    "Memo": "memo",
    "Integer": "integer",
    "BigInt": "integer",
    "Decimal": "decimal",
    "Double": "decimal",
    "Money": "money",
    "Boolean": "boolean",
    "DateTime": "datetime",
    "Picklist": "choice",
    "MultiSelectPicklist": "multichoice",
}
"""Attribute types the proposer maps into, as the schema plan's column types."""

SYSTEM_COLUMNS = frozenset(
    {
        "overriddencreatedon",
        "importsequencenumber",
        "timezoneruleversionnumber",
        "utcconversiontimezonecode",
        "traversedpath",
        "processid",
        "stageid",
        "exchangerate",
        "versionnumber",
        "entityimage",
        "participatesinworkflow",
        "lastonholdtime",
        "isrevenuesystemcalculated",
        "skippricecalculation",
        "pricingerrorcode",
        "onholdtime",
    }
)
"""Columns a migration never maps a source field into."""


@dataclass(frozen=True)
class TargetColumn:
    """One column of a target table, as the metadata API describes it."""

    table: str
    logical_name: str
    type: AttributeType
    display_name: str | None = None
    max_length: int | None = None
    date_only: bool = False
    format: str | None = None  # String Format: Email, Phone, Url, Text…
    options: tuple[tuple[int, str], ...] = ()  # (value, label) of a Picklist

    @property
    def column_type(self) -> ColumnType:
        if self.type == "DateTime":
            return "date" if self.date_only else "datetime"
        return COLUMN_TYPE_OF[self.type]


def _label(raw: Any) -> str | None:
    if isinstance(raw, dict):
        user = raw.get("UserLocalizedLabel") or {}
        if user.get("Label"):
            return str(user["Label"])
        for loc in raw.get("LocalizedLabels") or []:
            if loc.get("Label"):
                return str(loc["Label"])
        return None
    return str(raw) if raw else None


def columns_from_metadata(
    table: str, attributes: Iterable[Mapping[str, Any]], picklists: Iterable[Mapping[str, Any]] = ()
) -> list[TargetColumn]:
    """Target columns from Web API AttributeMetadata (and PicklistAttributeMetadata with its
    OptionSet): only columns a create may set, of a type the proposer maps into."""
    options: dict[str, tuple[tuple[int, str], ...]] = {}
    for p in picklists:
        opts = (p.get("OptionSet") or {}).get("Options") or []
        options[str(p["LogicalName"])] = tuple(
            (int(o["Value"]), _label(o.get("Label")) or str(o["Value"])) for o in opts
        )
    out: list[TargetColumn] = []
    for a in attributes:
        name, kind = str(a["LogicalName"]), str(a.get("AttributeType") or "")
        if kind not in COLUMN_TYPE_OF or name in SYSTEM_COLUMNS or a.get("IsValidForCreate") is False:
            continue
        fmt = a.get("Format")
        behavior = (
            (a.get("DateTimeBehavior") or {}).get("Value")
            if isinstance(a.get("DateTimeBehavior"), dict)
            else None
        )
        out.append(
            TargetColumn(
                table=table,
                logical_name=name,
                type=kind,
                display_name=_label(a.get("DisplayName")),
                max_length=a.get("MaxLength"),
                date_only=fmt == "DateOnly" or behavior == "DateOnly",
                format=fmt if isinstance(fmt, str) else None,
                options=options.get(name, ()),
            )
        )
    return out


class _MetadataReader(Protocol):
    def request(self, method: str, path: str, *, params: Mapping[str, str] | None = None) -> Any: ...


def read_target_columns(client: _MetadataReader, tables: Iterable[str]) -> dict[str, list[TargetColumn]]:
    """Each table's columns through the Web API metadata endpoints (a `DataverseClient`).

    `MaxLength`, `Format` and `OptionSet` live on derived metadata types, so they are read through
    cast segments (`…/Attributes/Microsoft.Dynamics.CRM.StringAttributeMetadata`), as Dataverse
    refuses them in a `$select` on the base type."""
    out: dict[str, list[TargetColumn]] = {}
    for table in dict.fromkeys(tables):
        base = f"EntityDefinitions(LogicalName='{table}')/Attributes"

        def get(path: str, **params: str) -> list[dict[str, Any]]:
            return list(client.request("GET", path, params=params).json()["value"])

        attrs = get(base, **{"$select": "LogicalName,AttributeType,DisplayName,IsValidForCreate"})
        extra: dict[str, dict[str, Any]] = {}
        for cast, select in (
            ("StringAttributeMetadata", "LogicalName,MaxLength,Format"),
            ("MemoAttributeMetadata", "LogicalName,MaxLength"),
            ("DateTimeAttributeMetadata", "LogicalName,Format"),
        ):
            for row in get(f"{base}/Microsoft.Dynamics.CRM.{cast}", **{"$select": select}):
                extra.setdefault(row["LogicalName"], {}).update(
                    {k: v for k, v in row.items() if k in ("MaxLength", "Format")}
                )
        picks = get(
            f"{base}/Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
            **{"$select": "LogicalName", "$expand": "OptionSet($select=Options)"},
        )
        merged = [{**a, **extra.get(a["LogicalName"], {})} for a in attrs]
        out[table] = columns_from_metadata(table, merged, picks)
    return out


# --- evidence → score ---------------------------------------------------------------------------

TYPE_FIT: dict[str, dict[AttributeType, float]] = {
    # value kind → Dataverse attribute type → how well it fits (absent = incompatible)
    "string": {"String": 1.0, "Memo": 0.8, "Picklist": 0.5},
    "memo": {"Memo": 1.0, "String": 0.5},
    "email": {"String": 1.0, "Memo": 0.3},
    "phone": {"String": 1.0},
    "url": {"String": 1.0, "Memo": 0.4},
    "integer": {
        "Integer": 1.0,
        "BigInt": 0.95,
        "Decimal": 0.8,
        "Double": 0.8,
        "Money": 0.6,
        "String": 0.3,
        "Picklist": 0.3,
    },
    "decimal": {"Decimal": 1.0, "Double": 0.9, "Money": 0.8, "Integer": 0.4, "String": 0.3},
    "money": {"Money": 1.0, "Decimal": 0.8, "Double": 0.6, "Integer": 0.4},
    "boolean": {"Boolean": 1.0, "Picklist": 0.5, "String": 0.2},
    "date": {"DateTime": 1.0, "String": 0.2},
    "datetime": {"DateTime": 1.0, "String": 0.2},
    "choice": {"Picklist": 1.0, "MultiSelectPicklist": 0.6, "String": 0.6, "Boolean": 0.4},
    "multichoice": {"MultiSelectPicklist": 1.0, "Memo": 0.5, "String": 0.5, "Picklist": 0.3},
}

NEW_TYPE: dict[str, ColumnType] = {
    "string": "string",
    "memo": "memo",
    "email": "string",
    "phone": "string",
    "url": "string",
    "integer": "integer",
    "decimal": "decimal",
    "money": "money",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
    "choice": "choice",
    "multichoice": "multichoice",
}
NEW_LENGTH = {"email": 100, "phone": 50, "url": 200}
STRENGTH = {"string": 0.6, "memo": 0.8, "choice": 0.85, "multichoice": 0.8}
"""How much the pattern alone says about the right type (others: the share of samples matching)."""
NEW_MAX_CONFIDENCE = 0.9
"""A new column is always a judgement call: never proposed as certain."""
FORMAT_OF_KIND = {"email": "Email", "phone": "Phone", "url": "Url"}
CONVERT_OF_KIND = {"email": "email", "url": "url", "datetime": "datetime"}


@dataclass(frozen=True)
class Candidate:
    table: str
    column: str  # a logical name, or new:<Name>
    type: ColumnType
    confidence: float
    reason: str
    options: tuple[str, ...] = ()

    @property
    def target(self) -> str:
        return f"{self.table}.{self.column}"


def _option_overlap(source: Sequence[str], target: Sequence[tuple[int, str]]) -> float:
    if not source or not target:
        return 0.0
    labels = [lab.lower() for _, lab in target]
    hits = sum(1 for s in source if s.lower() in labels or any(s.lower() in lab for lab in labels))
    return hits / len(source)


def _score(f: FieldInfo, ev: ValueEvidence, col: TargetColumn) -> Candidate | None:
    fit = TYPE_FIT.get(ev.kind, {}).get(col.type, 0.0)
    if fit == 0.0:
        return None
    names = [n for n in (f.name, f.label) if n]
    targets = [col.logical_name] + (
        [col.display_name] if col.display_name and col.display_name != col.logical_name else []
    )
    name = max(name_similarity(n, t, col.table) for n in names for t in targets)
    if name < 0.3:
        return None
    notes = [f"name {'matches' if name >= 0.95 else 'resembles'} {col.logical_name} ({name:.2f})"]
    bonus = 0.0
    if ev.total:
        notes.append(ev.describe())
    if ev.kind in FORMAT_OF_KIND and col.format == FORMAT_OF_KIND[ev.kind]:
        bonus += 0.1
        notes.append(f"{col.logical_name} is formatted for {ev.kind}")
    if ev.kind == "date" and col.type == "DateTime":
        bonus += 0.05 if col.date_only else -0.05
    if ev.kind == "datetime" and col.date_only:
        fit *= 0.7
        notes.append("the column keeps the date only")
    if col.type in ("Picklist", "MultiSelectPicklist") and ev.options:
        overlap = _option_overlap(ev.options, col.options)
        bonus += 0.15 * overlap
        matched = round(overlap * len(ev.options))
        notes.append(
            f"{matched}/{len(ev.options)} source labels match its options; the rest need a value map"
        )
    if col.max_length and ev.max_length > col.max_length:
        fit *= 0.7
        notes.append(f"longest sample exceeds its {col.max_length} characters")
    if fit < 1.0:
        notes.append(f"type fits {'partly' if fit >= 0.5 else 'poorly'} ({ev.kind} → {col.type})")
    confidence = max(0.0, min(1.0, name * (0.55 + 0.45 * fit) + bonus))
    return Candidate(col.table, col.logical_name, col.column_type, round(confidence, 2), "; ".join(notes))


MONEY_WORDS = frozenset(
    {
        "amount",
        "budget",
        "price",
        "rate",
        "fee",
        "cost",
        "revenue",
        "value",
        "salary",
        "income",
        "spend",
        "total",
        "balance",
        "payment",
        "sales",
        "turnover",
    }
)
"""A number whose name speaks of money is money."""


def _name_hints(f: FieldInfo, ev: ValueEvidence) -> ValueEvidence:
    ws = {w for n in (f.name, f.label) if n for w in words(n)}
    if ev.kind in ("integer", "decimal") and ws & MONEY_WORDS:
        return replace(ev, kind="money", what=f"{ev.what}, and the name speaks of an amount")
    return ev


def new_column_name(f: FieldInfo) -> str:
    """PascalCase, ASCII, no prefix, ≤ 40 characters: `c_industryVertical` → `IndustryVertical`."""
    base = unicodedata.normalize("NFKD", f.label or strip_prefixes(f.name)).encode("ascii", "ignore").decode()
    ws = words(base) or [w for w in re.split(r"[^A-Za-z0-9]+", f.name) if w]
    name = "".join(w[:1].upper() + w[1:] for w in ws)[:40] or "Field"
    return name if re.match(NAME_PATTERN, name) else f"F{name}"[:40]


def _new_candidate(f: FieldInfo, ev: ValueEvidence, table: str, best_existing: float) -> Candidate:
    strength = STRENGTH.get(ev.kind, ev.fraction if ev.total else 0.5)
    confidence = min(NEW_MAX_CONFIDENCE, strength * (1 - 0.6 * best_existing))
    kind = NEW_TYPE[ev.kind]
    detail = ev.describe() if ev.total else f"the source declares it {f.type}"
    why = f"no existing {table} column fits (best {best_existing:.2f}); {detail} → new {kind} column"
    if ev.kind in ("choice", "multichoice"):
        why += f" with {len(ev.options)} options"
    return Candidate(
        table,
        NEW + new_column_name(f),
        kind,
        round(max(0.05, confidence), 2),
        why,
        tuple(ev.options) if kind in ("choice", "multichoice") else (),
    )


# --- the optional advisor (an LLM backend) ------------------------------------------------------


@dataclass(frozen=True)
class AdviceRequest:
    """What an advisor is shown: names, types and counts — never a sampled value.

    `options` holds an enumeration's labels (pick-list labels, not personal data)."""

    source: str
    object: str
    field: str
    label: str | None
    source_type: str
    evidence: str
    kind: str
    options: tuple[str, ...]
    candidates: tuple[Candidate, ...]


@dataclass(frozen=True)
class Advice:
    target: str  # one of the candidates' `table.column`
    confidence: float
    reason: str


class Advisor(Protocol):
    """Re-ranks the offline candidates, e.g. with an LLM; it may only choose among them."""

    name: str

    def advise(self, request: AdviceRequest) -> list[Advice]: ...


ADVISORS: dict[str, Callable[[], Advisor]] = {}
"""Named advisor factories; `offline` (no advisor) is the default and needs no entry."""


def register_advisor(name: str, factory: Callable[[], Advisor]) -> None:
    ADVISORS[name] = factory


def advisor_for(backend: str | None) -> Advisor | None:
    """The configured advisor: None for `offline` (the default)."""
    if backend in (None, "", "offline"):
        return None
    if backend not in ADVISORS:
        known = ", ".join(["offline", *sorted(ADVISORS)])
        raise ConfigError(f"proposer backend {backend!r} is not registered (known: {known})")
    return ADVISORS[backend]()


def _apply_advice(advisor: Advisor, request: AdviceRequest) -> list[Candidate]:
    by_target = {c.target: c for c in request.candidates}
    ranked: list[Candidate] = []
    for a in advisor.advise(request):
        c = by_target.pop(a.target, None)
        if c is None:  # an advisor may not invent columns
            continue
        conf = round(max(0.0, min(1.0, a.confidence)), 2)
        ranked.append(
            Candidate(c.table, c.column, c.type, conf, f"{advisor.name}: {a.reason} ({c.reason})", c.options)
        )
    return (
        ranked + sorted(by_target.values(), key=lambda c: -c.confidence)
        if ranked
        else list(request.candidates)
    )


# --- propose -------------------------------------------------------------------------------------

_SKIP_TYPES = frozenset({"reference", "object", "unknown"})
_SKIP_NAMES = frozenset(
    {
        "id",
        "date_updated",
        "updated_at",
        "updatedat",
        "lastupdated",
        "modified_at",
        "date_modified",
        "createdby",
        "updatedby",
    }
)


def _root(path: str) -> str:
    """`emails[0].email` → `emails`; `custom.Lead Owner` stays whole (a dotted custom key)."""
    if path.startswith("custom."):
        return path
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def _walk(node: Any, read: set[str], filled: set[str]) -> None:
    """Collect every source path (`from`, a predicate's `field`) and target column (`to`) that a
    part of a profile names, whatever block it sits in: field/value maps, lookups, references,
    owners, state rules, split predicates."""
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            value = getattr(node, name)
            if name in ("from_", "field") and value:
                read.update(_root(p) for p in ([value] if isinstance(value, str) else value))
            elif name in ("to", "source_id_to") and isinstance(value, str):
                filled.add(value)
            else:
                _walk(value, read, filled)
    elif isinstance(node, dict):
        for v in node.values():
            _walk(v, read, filled)
    elif isinstance(node, list | tuple):
        for v in node:
            _walk(v, read, filled)


def covered_fields(profile: Profile | None, obj: str) -> tuple[set[str], set[str]]:
    """(source fields the profile reads, target columns it fills) for one object."""
    om = profile.object(obj) if profile else None
    read: set[str] = set()
    filled: set[str] = set()
    if om is not None:
        _walk(om, read, filled)
    return read, filled


def propose(
    discovery: Discovery,
    profile: Profile | None,
    target_columns_by_table: Mapping[str, Sequence[TargetColumn]],
    *,
    object_tables: Mapping[str, str | Sequence[str]],
    only_custom: bool | None = None,
    advisor: Advisor | None = None,
) -> MappingProposal:
    """A proposal for every uncovered field of every object in `object_tables`.

    An object the profile maps is proposed field by field; one it does not map (a carrier of custom
    values, such as The Practice's `client_properties`) only for its custom fields — unless
    `only_custom` says otherwise. An object that maps to several tables (SmartDesk's custom values
    apply to contacts, accounts and deals) gets candidates from all of them.
    """
    entries: list[ProposalEntry] = []
    for obj in discovery.objects:
        tables = object_tables.get(obj.name)
        if not tables:
            continue
        tables = [tables] if isinstance(tables, str) else list(tables)
        in_profile = profile is not None and profile.object(obj.name) is not None
        custom_only = (not in_profile) if only_custom is None else only_custom
        read, filled = covered_fields(profile, obj.name)
        for f in obj.fields:
            if f.name in read or (custom_only and not f.custom) or (f.filled == 0 and not f.samples):
                continue
            if f.type in _SKIP_TYPES or f.references or f.name.lower() in _SKIP_NAMES:
                continue
            if f.type == "list" and not f.samples and not f.options:
                continue
            entries.append(
                _propose_field(
                    discovery.source, obj.name, f, tables, target_columns_by_table, filled, advisor
                )
            )
    return MappingProposal(
        source=discovery.source, backend=advisor.name if advisor else "offline", entries=entries
    )


def rank(
    f: FieldInfo,
    tables: Sequence[str],
    columns: Mapping[str, Sequence[TargetColumn]],
    taken: Collection[str] = (),
) -> tuple[ValueEvidence, list[Candidate]]:
    """Every candidate for one field, best first (existing columns and the new-column option)."""
    ev = _name_hints(f, read_values(f.samples, options=f.options, declared=f.type))
    found = [
        c
        for t in tables
        for col in columns.get(t, ())
        if col.logical_name not in taken and (c := _score(f, ev, col)) is not None
    ]
    plain = [compact(n) for n in (f.name, f.label) if n]
    # equal scores: the column whose whole name is closest wins (`fax` over `address1_fax`)
    found.sort(
        key=lambda c: (
            -c.confidence,
            -max(SequenceMatcher(None, p, c.column).ratio() for p in plain),
            c.column,
        )
    )
    best = found[0].confidence if found else 0.0
    new = _new_candidate(f, ev, tables[0], best)
    if best >= EXISTING_THRESHOLD:
        return ev, [*found, new]
    return ev, [new, *found]


def _propose_field(
    source: str,
    obj: str,
    f: FieldInfo,
    tables: Sequence[str],
    columns: Mapping[str, Sequence[TargetColumn]],
    taken: Collection[str],
    advisor: Advisor | None,
) -> ProposalEntry:
    ev, ranked = rank(f, tables, columns, taken)
    if advisor is not None:
        ranked = _apply_advice(
            advisor,
            AdviceRequest(
                source,
                obj,
                f.name,
                f.label,
                f.type,
                ev.describe(),
                ev.kind,
                tuple(ev.options),
                tuple(ranked[:6]),
            ),
        )
    top = ranked[0]
    return ProposalEntry(
        object=obj,
        field=f.name,
        label=f.label,
        custom=f.custom,
        table=top.table,
        target=top.column,
        type=top.type,
        confidence=top.confidence,
        reason=top.reason,
        options=list(top.options),
        convert=CONVERT_OF_KIND.get(ev.kind),
        alternatives=[
            Alternative(table=c.table, target=c.column, type=c.type, confidence=c.confidence, reason=c.reason)
            for c in ranked[1:4]
        ],
    )


# --- the document a person edits ---------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Alternative(_Model):
    table: str
    target: str
    type: ColumnType
    confidence: float = Field(ge=0, le=1)
    reason: str


class ProposalEntry(_Model):
    """One source field and the column proposed for it. A person sets `status` and may change
    `table`/`target`/`type`/`options` (a `new:<Name>` target creates a column on approval)."""

    object: str
    field: str
    label: str | None = None
    custom: bool = False
    status: Status = "proposed"
    table: str
    target: str = Field(description="An existing column's logical name, or new:<PascalName>.")
    type: ColumnType
    confidence: float = Field(ge=0, le=1)
    reason: str
    options: list[str] = []
    convert: str | None = None
    alternatives: list[Alternative] = []

    @model_validator(mode="after")
    def _target_shape(self) -> ProposalEntry:
        if self.target.startswith(NEW):
            name = self.target[len(NEW) :]
            if not re.match(NAME_PATTERN, name):
                raise ValueError(f"new column name {name!r} must be PascalCase without a prefix (≤ 40)")
            if self.type in ("choice", "multichoice") and not self.options:
                raise ValueError(f"a new {self.type} column needs options")
        elif not re.match(r"^[a-z][a-z0-9_]{0,63}$", self.target):
            raise ValueError(f"target {self.target!r} is neither a logical name nor new:<Name>")
        return self

    @property
    def is_new(self) -> bool:
        return self.target.startswith(NEW)


class MappingProposal(_Model):
    format: Literal["intact-mapping-proposal/1"] = FORMAT
    source: str
    backend: str = "offline"
    entries: list[ProposalEntry] = []

    def approved(self) -> list[ProposalEntry]:
        return [e for e in self.entries if e.status == "approved"]

    def to_yaml(self) -> str:
        head = (
            "# Intact mapping proposal: set `status: approved` (or rejected) on each entry; you may change\n"
            "# table/target/type/options. target is an existing column's logical name or new:<PascalName>.\n"
        )
        return head + yaml.safe_dump(
            self.model_dump(mode="json"), sort_keys=False, allow_unicode=True, width=110
        )


def parse_proposal(document: Any, where: str = "the mapping proposal") -> MappingProposal:
    """An edited proposal (a file's YAML, or an approval's body); a ConfigError names every bad entry."""
    try:
        return MappingProposal.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"{where}: invalid mapping proposal: {problems}") from None


def load_proposal(path: Path) -> MappingProposal:
    """Read an edited proposal; a ConfigError names the file and every bad entry."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the mapping proposal ({type(exc).__name__})") from None
    return parse_proposal(data, str(path))


# --- which table an object lands in, when the profile does not say -------------------------------

DEFAULT_OBJECT_TABLES: dict[str, dict[str, str | list[str]]] = {
    "close": {"leads": "account", "contacts": "contact", "opportunities": "opportunity"},
    "x2crm": {
        "contacts": "contact",
        "accounts": "account",
        "opportunities": "opportunity",
        "x2leads": "lead",
    },
    "profi": {"clients": "contact", "companies": "account", "custom_field_values": "contact"},
    "practice": {"clients": "contact", "client_properties": "contact"},
    "smartdesk": {
        "accounts": "account",
        "contacts": "contact",
        "leads": "lead",
        "deals": "opportunity",
        "custom_field_values": ["contact", "account", "opportunity"],
    },
}
"""Per source: object → table(s) for objects the profile does not map yet, and the objects that only
carry custom values (Profi/SmartDesk `custom_field_values`, The Practice `client_properties`)."""


def object_tables_for(source: str, profile: Profile | None) -> dict[str, str | list[str]]:
    """The profile's object → table, completed by DEFAULT_OBJECT_TABLES."""
    out: dict[str, str | list[str]] = dict(DEFAULT_OBJECT_TABLES.get(source, {}))
    for o in profile.objects if profile else []:
        tables = list(getattr(o, "tables", None) or [o.table])
        out[o.name] = tables[0] if len(tables) == 1 else tables
    return out


__all__ = [
    "ADVISORS",
    "DEFAULT_OBJECT_TABLES",
    "EXISTING_THRESHOLD",
    "TYPE_FIT",
    "Advice",
    "AdviceRequest",
    "Advisor",
    "Alternative",
    "Candidate",
    "MappingProposal",
    "ProposalEntry",
    "TargetColumn",
    "advisor_for",
    "columns_from_metadata",
    "covered_fields",
    "load_proposal",
    "new_column_name",
    "object_tables_for",
    "parse_proposal",
    "propose",
    "rank",
    "read_target_columns",
    "register_advisor",
]
