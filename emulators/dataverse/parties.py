"""Activity parties: the `<activity>_activity_parties` collection written with an activity.

An activity's senders, recipients, attendees… are rows of `activityparty`, one per party, written
through the activity (`"email_activity_parties": [{"participationtypemask": 1,
"partyid_systemuser@odata.bind": "/systemusers(<id>)"}, {"participationtypemask": 2,
"addressused": "x@y.example"}]`) in POST, PATCH/upsert, the bulk messages and `$batch`. The table
itself takes RetrieveMultiple only (its reference page lists no Create/Update/Delete), so it is read
with `GET activityparties?$filter=_activityid_value eq <id>` or `$expand=<activity>_activity_parties`.

Rules (powerapps-docs `activityparty-entity.md`, "Activity Party types available for each activity"):
- the party types (`participationtypemask`) an activity takes: email Sender/To/Cc/Bcc, phonecall and fax
  Sender/To, letter Sender/To/Bcc, appointment and recurringappointmentmaster Organizer/Required/Optional
  attendees, serviceappointment Customer/Resource, campaignactivity Sender, campaignresponse Customer,
  chat ChatParticipant; "a custom activity supports all activity party types" (1-13). Any other standard
  activity (task, opportunityclose…) takes none. A type an activity does not take, or an unknown one →
  400 0x80094006 ActivityPartyParticipationTypeMaskNotFound "The Activity Party type Mask '{0}' not
  found." (web-service-error-codes; which code Dataverse picks for a known type on the wrong activity is
  not documented — this one is the closest);
- a party points at a row with `partyid_<table>@odata.bind` (the targets of `activityparty.partyid`;
  the row must exist → 404 0x80040217) and/or names an address in `addressused`; neither → 400
  0x80040203 (InvalidArgument; code and wording are the emulator's, no documented one found);
- unknown properties, wrong JSON types, unknown navigation properties → the usual payload errors
  (0x80048d19), naming `Microsoft.Dynamics.CRM.activityparty`.

Storage: one `activityparty` row per party with `_activityid_value`, `_partyid_value`,
`participationtypemask`, `addressused`, `partyobjecttypecode` and `partyidname` (the party row's
primary name). A write that sends the collection replaces the activity's parties (rows whose content
is unchanged keep their id: the id is derived from the activity and the party, so a re-run changes
nothing); deleting the activity deletes its parties.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import errors
from .metadata import TableMeta
from .odata_query import parse_select
from .store import column_sql
from .validation import Mode, validate_payload

if TYPE_CHECKING:
    from .engine import Engine

PARTY_TABLE = "activityparty"
SUFFIX = "_activity_parties"
MASK = "participationtypemask"
PARTY_TYPES = {
    1: "Sender",
    2: "ToRecipient",
    3: "CCRecipient",
    4: "BccRecipient",
    5: "RequiredAttendee",
    6: "OptionalAttendee",
    7: "Organizer",
    8: "Regarding",
    9: "Owner",
    10: "Resource",
    11: "Customer",
    12: "ChatParticipant",
    13: "Related",
}
# activityparty-entity.md, "Activity Party types available for each activity"
ALLOWED: dict[str, frozenset[int]] = {
    "appointment": frozenset({5, 6, 7}),
    "campaignactivity": frozenset({1}),
    "campaignresponse": frozenset({11}),
    "chat": frozenset({12}),
    "email": frozenset({1, 2, 3, 4}),
    "fax": frozenset({1, 2}),
    "letter": frozenset({1, 2, 4}),
    "phonecall": frozenset({1, 2}),
    "recurringappointmentmaster": frozenset({5, 6, 7}),
    "serviceappointment": frozenset({10, 11}),
}
_NS = uuid.UUID("5b0c9f1e-7d4a-4e62-9a0c-3f1d2e6b8a41")
# Columns a party row answers with but which no write sets; kept out of the "unchanged" comparison.
_VOLATILE = frozenset({"versionnumber"})


@dataclass(frozen=True)
class Party:
    """One validated party: its type, its column values, and the row it points at (if any)."""

    mask: int
    values: dict[str, Any]
    target: str | None = None
    target_id: str | None = None


def collection(table: TableMeta) -> str:
    """The collection-valued navigation property of an activity's parties (`email_activity_parties`)."""
    return f"{table.logical_name}{SUFFIX}"


def allowed_masks(table: TableMeta, is_custom: bool) -> frozenset[int]:
    if is_custom:
        return frozenset(PARTY_TYPES)
    return ALLOWED.get(table.logical_name, frozenset())


# --- errors ---------------------------------------------------------------------------------------


def mask_not_found(mask: Any) -> errors.DataverseError:
    """ActivityPartyParticipationTypeMaskNotFound (web-service-error-codes)."""
    return errors.DataverseError(400, "0x80094006", f"The Activity Party type Mask '{mask}' not found.")


def no_party(table: TableMeta, index: int) -> errors.DataverseError:
    return errors.invalid_argument(
        f"The activity party {index} of {collection(table)} has neither a partyid nor an addressused: "
        "an activity party must point at a record or name an address."
    )


def not_supported(message: str) -> errors.DataverseError:
    """Direct writes to `activityparty`: SdkEntityDoesNotSupportMessage, as for bulk messages."""
    from .sdkmessages import not_supported as build  # sdkmessages imports the operations (a cycle)

    return build(message, PARTY_TABLE)


# --- writes ---------------------------------------------------------------------------------------


def split(table: TableMeta, body: dict[str, Any]) -> tuple[dict[str, Any], list[Any] | None]:
    """The body without the party collection, and the collection (None when the body has none)."""
    name = collection(table)
    if name not in body:
        return body, None
    if not table.is_activity:
        raise errors.not_implemented(
            f"Writing '{name}' (the activity parties that point at a {table.logical_name})"
        )
    rest = {k: v for k, v in body.items() if k != name}
    raw = body[name]
    if not isinstance(raw, list):
        raise errors.payload_error(
            table.entity_set,
            f"Microsoft.OData.ODataException: The property '{name}' is a collection-valued navigation "
            "property; its value must be a JSON array of activityparty objects.",
        )
    return rest, raw


def validate(engine: Engine, table: TableMeta, raw: list[Any], mode: Mode, is_custom: bool) -> list[Party]:
    """Each item of the collection → a Party, or the error Dataverse answers with."""
    party_table = _party_table(engine, table)
    allowed = allowed_masks(table, is_custom)
    out: list[Party] = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise errors.payload_error(
                table.entity_set,
                f"Microsoft.OData.ODataException: Each item of '{collection(table)}' must be a JSON object "
                "(an activityparty).",
            )
        mask = item.get(MASK)
        if mask is None:
            raise errors.invalid_argument(
                f"The activity party {index} of {collection(table)} has no participationtypemask."
            )
        if isinstance(mask, bool) or not isinstance(mask, int):
            raise errors.wrong_type(table.entity_set, mask, "Edm.Int32")
        if mask not in allowed:
            raise mask_not_found(mask)
        rest = {k: v for k, v in item.items() if k != MASK}
        changes = validate_payload(
            party_table,
            rest,
            "seed" if mode == "seed" else "create",
            engine.sets_to_logical,
            engine.bind_resolver,
        )
        values = {k: v for k, v in changes.values.items() if k != party_table.primary_id}
        ref = changes.lookups.get("partyid")
        target, target_id = (ref.target, ref.target_id) if ref is not None else (None, None)
        if target_id is None and not (values.get("addressused") or "").strip():
            raise no_party(table, index)
        missing = target is not None and target_id is not None and not engine.store.exists(target, target_id)
        if missing and mode != "seed":
            raise errors.record_not_found(str(target), str(target_id))
        own_id = changes.values.get(party_table.primary_id)
        if own_id is not None:
            values[party_table.primary_id] = own_id
        out.append(Party(mask, values, target, target_id))
    return out


def replace(engine: Engine, table: TableMeta, activity_id: str, parties: list[Party]) -> None:
    """Make `parties` the activity's parties: unchanged rows stay, others go, new ones are added."""
    party_table = engine.registry.by_logical(PARTY_TABLE)
    if party_table is None:  # pragma: no cover - the table is in the standard metadata
        raise errors.not_implemented("Activity parties without the activityparty table")
    existing = {str(d[party_table.primary_id]): d for d in rows_of(engine, [activity_id])}
    seen: Counter[tuple[Any, ...]] = Counter()
    wanted: dict[str, dict[str, Any]] = {}
    for party in parties:
        key = (party.mask, party.target, party.target_id, str(party.values.get("addressused") or "").lower())
        seen[key] += 1
        pid = party.values.get(party_table.primary_id) or str(
            uuid.uuid5(_NS, f"{activity_id}|{'|'.join(map(str, key))}|{seen[key]}")
        )
        wanted[pid] = _document(engine, party_table, table, activity_id, pid, party)
    for pid in set(existing) - set(wanted):
        engine.store.delete(PARTY_TABLE, pid)
    for pid, doc in wanted.items():
        old = existing.get(pid)
        if old is not None and _same(old, doc):
            continue
        doc["versionnumber"] = engine.store.next_version()
        if old is not None:
            engine.store.replace(PARTY_TABLE, pid, doc)
        elif engine.store.exists(PARTY_TABLE, pid):  # a supplied id already used by another activity
            raise errors.duplicate_record()
        else:
            engine.store.insert(PARTY_TABLE, pid, doc)


def delete_for(engine: Engine, activity_id: str) -> None:
    """Deleting an activity deletes its parties."""
    for doc in rows_of(engine, [activity_id]):
        engine.store.delete(PARTY_TABLE, str(doc["activitypartyid"]))


def rows_of(engine: Engine, activity_ids: Iterable[str]) -> list[dict[str, Any]]:
    """The stored party rows of these activities, in the order they were written."""
    ids = list(activity_ids)
    if not ids:
        return []
    marks = ",".join("?" for _ in ids)
    return engine.store.query(
        PARTY_TABLE, f"{column_sql('_activityid_value')} IN ({marks})", ids, "rowid", -1
    )


def _document(
    engine: Engine, party_table: TableMeta, table: TableMeta, activity_id: str, pid: str, party: Party
) -> dict[str, Any]:
    from .engine import LOOKUP_TYPES_KEY

    doc: dict[str, Any] = {LOOKUP_TYPES_KEY: {}}
    for attr in party_table.attributes.values():
        if attr.type == "Boolean" and isinstance(attr.default, bool):
            doc[attr.name] = attr.default
    doc.update(party.values)
    doc[party_table.primary_id] = pid
    doc[MASK] = party.mask
    doc["instancetypecode"] = 0
    engine._set_lookup(party_table, doc, "activityid", table.logical_name, activity_id)
    if party.target is not None and party.target_id is not None:
        engine._set_lookup(party_table, doc, "partyid", party.target, party.target_id)
        doc["partyobjecttypecode"] = party.target
        target_table = engine.registry.by_logical(party.target)
        row = engine.store.get(party.target, party.target_id) or {}
        if target_table is not None and target_table.primary_name and "partyidname" not in party.values:
            doc["partyidname"] = row.get(target_table.primary_name)
    return doc


def _same(old: dict[str, Any], new: dict[str, Any]) -> bool:
    keys = (set(old) | set(new)) - _VOLATILE
    return all(old.get(k) == new.get(k) for k in keys)


_outer_cache: dict[str, tuple[TableMeta, TableMeta]] = {}


def _party_table(engine: Engine, table: TableMeta) -> TableMeta:
    """activityparty as validation sees it inside an activity: errors name the outer entity set."""
    party_table = engine.registry.by_logical(PARTY_TABLE)
    if party_table is None:  # pragma: no cover - the table is in the standard metadata
        raise errors.not_implemented("Activity parties without the activityparty table")
    cached = _outer_cache.get(table.entity_set)
    if cached is not None and cached[0] is party_table:
        return cached[1]
    inner = dataclasses.replace(party_table, entity_set=table.entity_set)
    _outer_cache[table.entity_set] = (party_table, inner)
    return inner


# --- reads ($expand) ------------------------------------------------------------------------------


def parse_expand(text: str, table: TableMeta, engine: Engine) -> list[str] | None:
    """`$expand=<activity>_activity_parties` (optionally `($select=a,b)`) → the party `$select` (None:
    every column). Any other expansion is not implemented."""
    text = text.strip()
    name, _, inner = text.partition("(")
    if name.strip() != collection(table) or not table.is_activity:
        raise errors.not_implemented(f"The query option '$expand={text}'")
    if not inner:
        return None
    if not inner.endswith(")"):
        raise errors.query_syntax(f"Syntax error in $expand '{text}'.")
    option, _, value = inner[:-1].partition("=")
    if option.strip() != "$select":
        raise errors.not_implemented(f"The nested query option '{option.strip()}' in $expand")
    party_table = engine.registry.by_logical(PARTY_TABLE)
    assert party_table is not None
    return parse_select(value, party_table)


def expand(
    engine: Engine, docs: list[dict[str, Any]], table: TableMeta, select: list[str] | None
) -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
    """The parties of `docs` (one query), serialized; call the result with an activity's document."""
    party_table = engine.registry.by_logical(PARTY_TABLE)
    assert party_table is not None
    by_activity: dict[str, list[dict[str, Any]]] = {}
    for row in rows_of(engine, [str(d[table.primary_id]) for d in docs]):
        by_activity.setdefault(str(row.get("_activityid_value")), []).append(row)

    def of(doc: dict[str, Any]) -> list[dict[str, Any]]:
        rows = by_activity.get(str(doc[table.primary_id]), [])
        return [engine.serialize(party_table, r, select) for r in rows]

    return of
