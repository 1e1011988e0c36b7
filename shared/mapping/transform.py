"""Turn one source record into one Dataverse row, as its object map says — or into a named skip.

The split (if any) picks the target; then field maps, value maps, the state pair and the owner give
the payload. Lookups stay pending: the load step resolves them through the id map (COM-24), to the
table the parent actually landed in. A state Dataverse does not accept on create becomes a
follow-up the load step performs after the upsert (INT-06, INT-07).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from shared.errors import InvalidField, UnmappedValue, UnresolvedLookup
from shared.ids import target_id
from shared.mapping.convert import converter
from shared.mapping.joins import JOIN_FIELD, InferredType, column_name, convert_property
from shared.mapping.owners import OwnerMap
from shared.mapping.parties import build_parties, collection
from shared.mapping.paths import get_path
from shared.mapping.profile import CUSTOM_MARK, FieldMap, ObjectMap, TargetMap
from shared.mapping.splits import ChildrenFn, choose
from shared.mapping.state import OPEN_STATE, FollowUp, follow_up_kind
from shared.mapping.valuemaps import Unmapped, label_of


class PendingLookup(BaseModel):
    to: str
    bind: str
    candidates: list[tuple[str, str]]
    """(source object, source id) of each possible parent, in order of preference."""
    tables: list[str] = []
    required: bool = False
    placeholder: str | None = None
    field: str = ""

    @property
    def object(self) -> str:
        return self.candidates[0][0] if self.candidates else ""

    @property
    def source_id(self) -> str:
        return self.candidates[0][1] if self.candidates else ""


class PendingReference(BaseModel):
    to: str
    bind: str
    entity_set: str
    primary_id: str
    key: str
    value: str
    required: bool = False
    field: str = ""


class FileRef(BaseModel):
    """A file the load step writes with the row: the staged bytes (`blob`, set by extraction) go into
    `column` (base64), within the org's upload limit."""

    column: str
    blob: str | None = None
    size: int | None = None
    name: str | None = None
    mime_type: str | None = None
    path: str | None = None
    """Where the file was in the source (for messages; never its content)."""


class TargetRow(BaseModel):
    """One staged Dataverse write (a line of a target chunk)."""

    source_id: str
    table: str
    entity_set: str
    id: str
    payload: dict[str, Any]
    target: str = ""
    primary_id: str = ""
    lookups: list[PendingLookup] = []
    references: list[PendingReference] = []
    owner_id: str | None = None
    owner_status: str | None = None
    reopen: dict[str, Any] = {}
    """Columns sent with the upsert but not verified: the open state a closed row is reopened in."""
    follow_up: FollowUp | None = None
    file: FileRef | None = None
    dedupe: dict[str, str] = {}
    """Target column → value to look for among existing rows before writing (DedupeMap)."""
    parties_dropped: int = 0
    """Malformed party addresses left out of `<table>_activity_parties` (parties.py)."""


class Skipped(BaseModel):
    """A record a named rule leaves out (counted, reported, never silent)."""

    source_id: str
    rule: str


def custom_column(name: str, prefix: str, enabled: bool) -> str | None:
    """`{prefix}_x` → `new_x` when custom columns are written, else None (left out)."""
    if CUSTOM_MARK not in name:
        return name
    return name.replace(CUSTOM_MARK, prefix) if enabled else None


def transform_record(
    obj: ObjectMap,
    record: dict[str, Any],
    *,
    source: str,
    scope: str,
    owners: OwnerMap | None,
    prefix: str = "new",
    custom_columns: bool = False,
    children: ChildrenFn | None = None,
    property_types: dict[str, dict[str, InferredType]] | None = None,
    property_options: dict[str, dict[str, dict[str, int]]] | None = None,
) -> TargetRow | Skipped:
    """`property_types`: per pivot join, each key's inferred column type (from the run's join index);
    `children`: whether a parent has child rows (`has_children` splits)."""
    sid = obj.source_id(record)

    def fail(cls: Callable[..., Exception], field: str | None, reason: str) -> Exception:
        return cls(reason, source=source, object=obj.name, source_id=sid, field=field)

    name = next(iter(obj.targets))
    if obj.split:
        kind, outcome = choose(obj.split, record, children, sid)
        if kind == "skip":
            return Skipped(source_id=sid, rule=str(outcome))
        if kind == "quarantine":
            first = obj.split[0].when
            field = first.field if first is not None else None
            raise fail(UnmappedValue, field, f"{obj.name}: no split rule places this record")
        name = str(outcome)
    t = obj.targets[name]

    def col(column: str) -> str | None:
        return custom_column(column, prefix, custom_columns)

    if t.custom_fields is not None and (undefined := t.custom_fields.undefined(record)):
        raise fail(
            InvalidField,
            undefined[0],
            f"{undefined[0]} is not a field of {t.custom_fields.owner or t.table}: define it first "
            "(CLOSE-15); this record waits",
        )
    payload: dict[str, Any] = {t.primary_id: target_id(scope, source, obj.name, sid)}
    payload.update(_fields(t.fields, record, t.table, col, fail))
    for vm in t.value_maps:
        try:
            for column, value in vm.apply(get_path(record, vm.from_)).items():
                if (c := col(column)) is not None:
                    payload[c] = value
        except Unmapped:
            raise fail(
                UnmappedValue, vm.from_, f"{obj.name}.{vm.from_}: label has no option in {t.table}.{vm.to}"
            ) from None
        if vm.required and col(vm.to) not in payload:
            raise fail(InvalidField, vm.from_, f"{vm.from_} is empty but {t.table}.{vm.to} is required")
    if t.source_id_to and (c := col(t.source_id_to)) is not None:
        payload[c] = sid
    parties_dropped = 0
    if t.parties:
        payload[collection(t.table)], parties_dropped = build_parties(t.parties, record)
    if t.properties is not None and custom_columns:
        join = t.properties.join
        types, options = (property_types or {}).get(join, {}), (property_options or {}).get(join, {})
        payload.update(_properties(t, record, types, options, prefix, fail))

    reopen: dict[str, Any] = {}
    follow_up = None
    if t.state is not None:
        pair = t.state.pair_for(get_path(record, t.state.from_))
        if pair is None:
            raise fail(
                UnmappedValue,
                t.state.from_,
                f"{obj.name}.{t.state.from_}: status has no state/status pair in {t.table}",
            )
        if pair.state == OPEN_STATE:
            payload["statuscode"] = pair.status
        else:
            reopen = {"statecode": OPEN_STATE}
            if t.state.open_status is not None:
                payload["statuscode"] = t.state.open_status
                reopen["statuscode"] = t.state.open_status
            kind = follow_up_kind(t.table, pair.state)
            close = (
                _fields(t.state.close, record, "opportunityclose", col, fail) if kind != "set_state" else {}
            )
            follow_up = FollowUp(kind=kind, state=pair.state, status=pair.status, close=close)

    lookups = []
    for i, spec in enumerate(t.lookups):
        to = col(spec.to)  # a custom lookup column: `{prefix}_x`, written only with custom columns
        if to is not None and (lk := _lookup(t, i, record, fail)) is not None:
            lookups.append(lk.model_copy(update={"to": to}) if to != lk.to else lk)
    references: list[PendingReference] = []
    for ref in t.references:
        value = get_path(record, ref.from_)
        value = str(value).strip() if value not in (None, "") else ref.default
        if not value:
            if ref.required:
                raise fail(
                    UnresolvedLookup, ref.from_, f"{ref.from_} is empty but {t.table}.{ref.to} is required"
                )
            continue
        references.append(
            PendingReference(
                to=ref.to,
                bind=ref.bind,
                entity_set=ref.entity_set,
                primary_id=ref.primary_id,
                key=ref.key,
                value=value,
                required=ref.required,
                field=ref.from_,
            )
        )

    file = _file_ref(t, record, payload) if t.file is not None else None
    dedupe = _dedupe_keys(t, payload, record) if t.dedupe is not None else {}

    owner_id = owner_status = None
    if t.owner is not None and owners is not None:
        source_user = next((str(v) for f in t.owner.from_ if (v := get_path(record, f))), None)
        owner_id, owner_status = owners.resolve(source_user)
    return TargetRow(
        source_id=sid,
        target=name,
        table=t.table,
        entity_set=t.entity_set,
        primary_id=t.primary_id,
        id=payload[t.primary_id],
        payload=payload,
        lookups=lookups,
        references=references,
        owner_id=owner_id,
        owner_status=owner_status,
        reopen=reopen,
        follow_up=follow_up,
        file=file,
        dedupe=dedupe,
        parties_dropped=parties_dropped,
    )


def _properties(
    t: TargetMap,
    record: dict[str, Any],
    types: dict[str, InferredType],
    options: dict[str, dict[str, int]],
    prefix: str,
    fail: Callable[..., Exception],
) -> dict[str, Any]:
    """PRAC-09: each key of the record's pivot join → its own typed column `{prefix}_<key>`."""
    assert t.properties is not None
    values = get_path(record, f"{JOIN_FIELD}.{t.properties.join}") or {}
    out: dict[str, Any] = {}
    for key, value in sorted(values.items()):
        if not t.properties.wants(key) or _blank(value):
            continue
        kind = types.get(key, "string")
        field = f"{t.properties.join}.{key}"
        try:
            out[f"{prefix}_{column_name(key).lower()}"] = convert_property(value, kind, options.get(key))
        except ValueError as exc:
            cls = UnmappedValue if kind == "choice" else InvalidField  # COM-16: never another option
            raise fail(cls, field, f"property {key!r} {exc} (its column is {kind})") from None
    return out


def _file_ref(t: TargetMap, record: dict[str, Any], payload: dict[str, Any]) -> FileRef | None:
    fm = t.file
    assert fm is not None
    staged = get_path(record, fm.from_)
    if not isinstance(staged, dict):
        return None
    name = get_path(record, fm.name_from) if fm.name_from else None
    mime = get_path(record, fm.mime_from) if fm.mime_from else None
    if name:
        payload[fm.name_to] = str(name)
    if mime:
        payload[fm.mime_to] = str(mime)
    size = staged.get("size")
    return FileRef(
        column=fm.body,
        blob=staged.get("blob"),
        size=int(size) if size is not None else None,
        name=str(name) if name else None,
        mime_type=str(mime) if mime else None,
        path=staged.get("path"),
    )


def _dedupe_keys(t: TargetMap, payload: dict[str, Any], record: dict[str, Any]) -> dict[str, str]:
    """The match values as the row writes them (converted), else the raw source value; a key with
    no value means no dedupe for this row (a blank never matches)."""
    assert t.dedupe is not None
    keys: dict[str, str] = {}
    for column, path in t.dedupe.match.items():
        value = payload.get(column)
        if value in (None, ""):
            value = get_path(record, path)
        if value in (None, ""):
            return {}
        keys[column] = str(value).strip()
    return keys


def _fields(
    maps: list[FieldMap],
    record: dict[str, Any],
    table: str,
    col: Callable[[str], str | None],
    fail: Callable[..., Exception],
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for fm in maps:
        column = col(fm.to)
        if column is None:
            continue
        if fm.from_ is None:
            value = fm.value
        else:
            value = next((v for p in fm.paths if not _blank(v := get_path(record, p))), None)
        where = fm.paths[0] if fm.paths else fm.to
        if fm.translate is not None and value is not None:
            value = fm.translate.get(label_of(value))
        if fm.convert is not None:
            try:
                value = converter(fm.convert)(value)
            except ValueError as exc:
                raise fail(InvalidField, where, f"{where} → {table}.{fm.to}: {exc}") from None
        if isinstance(value, str) and not value.strip():
            value = None
        if value is None and fm.default is not None:
            value = fm.default
        if value is None:
            if fm.required:
                raise fail(InvalidField, where, f"{where} is empty but {table}.{fm.to} is required")
            continue
        out[column] = value
    return out


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _lookup(
    t: TargetMap, i: int, record: dict[str, Any], fail: Callable[..., Exception]
) -> PendingLookup | None:
    lk = t.lookups[i]
    applicable = [src for src in lk.candidates() if src.when is None or src.when.holds(record, None)]
    found = [
        (src.object, str(v)) for src in applicable if (v := get_path(record, src.from_)) not in (None, "")
    ]
    field = (applicable or lk.candidates())[0].from_
    if not found and lk.placeholder is None:
        if lk.required:
            raise fail(UnresolvedLookup, field, f"{field} is empty but {t.table}.{lk.to} is required")
        return None
    return PendingLookup(
        to=lk.to,
        bind=lk.bind,
        candidates=found,
        tables=lk.tables,
        required=lk.required,
        placeholder=lk.placeholder,
        field=field,
    )


class Resolution(BaseModel):
    """How a pending lookup resolved: bound to a parent, to a placeholder, missing, or nothing."""

    kind: str  # "bound" | "placeholder" | "missing" | "none"
    nav: str | None = None
    table: str | None = None
    target_id: str | None = None
    placeholder: str | None = None


def resolve_lookup(lk: PendingLookup, entry_of: Callable[[str, str], tuple[str, str] | None]) -> Resolution:
    """Resolve through the id map (`entry_of(object, source_id)` → (table, target id) or None).

    The first candidate whose parent loaded into an accepted table wins. A parent that did not load
    at all makes the lookup `missing` (the caller quarantines when it is required). A parent that
    landed in another table, or no parent in the source, gives the placeholder when one is named.
    """
    missing = False
    for obj, sid in lk.candidates:
        entry = entry_of(obj, sid)
        if entry is None:
            missing = True
            continue
        table, tid = entry
        if not lk.tables or table in lk.tables:
            nav = lk.bind.replace("{to}", lk.to).replace("{table}", table)
            return Resolution(kind="bound", nav=nav, table=table, target_id=tid)
    if missing and lk.required:
        return Resolution(kind="missing")
    if lk.placeholder is not None and not missing:
        return Resolution(kind="placeholder", placeholder=lk.placeholder)
    return Resolution(kind="missing" if lk.required else "none")


PLACEHOLDER_OBJECT = "_placeholder"


def placeholder_id(scope: str, source: str, name: str) -> str:
    """The deterministic id of a profile placeholder row (one per migration scope)."""
    return target_id(scope, source, PLACEHOLDER_OBJECT, name)
