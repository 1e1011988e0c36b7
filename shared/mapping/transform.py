"""Turn one source record into one Dataverse row, as its object map says.

Output rows carry the deterministic target id, the column payload, the lookups still to resolve
through the id map at load time (COM-24), and the resolved owner.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from shared.errors import InvalidField, UnresolvedLookup
from shared.ids import target_id
from shared.mapping.convert import CONVERTERS
from shared.mapping.owners import OwnerMap
from shared.mapping.paths import get_path
from shared.mapping.profile import ObjectMap


class PendingLookup(BaseModel):
    to: str
    bind: str
    object: str
    source_id: str
    required: bool


class TargetRow(BaseModel):
    """One staged Dataverse write (a line of a target chunk)."""

    source_id: str
    table: str
    entity_set: str
    id: str
    payload: dict[str, Any]
    lookups: list[PendingLookup] = []
    owner_id: str | None = None
    owner_status: str | None = None


def transform_record(
    obj: ObjectMap,
    record: dict[str, Any],
    *,
    source: str,
    scope: str,
    owners: OwnerMap | None,
) -> TargetRow:
    sid = str(record.get("id") or "")

    def fail(cls: Callable[..., Exception], field: str, reason: str) -> Exception:
        return cls(reason, source=source, object=obj.name, source_id=sid, field=field)

    payload: dict[str, Any] = {obj.primary_id: target_id(scope, source, obj.name, sid)}
    for fm in obj.fields:
        value = get_path(record, fm.from_)
        if fm.convert is not None:
            try:
                value = CONVERTERS[fm.convert](value)
            except ValueError as exc:
                raise fail(InvalidField, fm.from_, f"{fm.from_} → {obj.table}.{fm.to}: {exc}") from None
        if isinstance(value, str) and not value.strip():
            value = None
        if value is None:
            if fm.required:
                raise fail(InvalidField, fm.from_, f"{fm.from_} is empty but {obj.table}.{fm.to} is required")
            continue
        payload[fm.to] = value

    lookups: list[PendingLookup] = []
    for lk in obj.lookups:
        parent = get_path(record, lk.from_)
        if parent in (None, ""):
            if lk.required:
                raise fail(
                    UnresolvedLookup, lk.from_, f"{lk.from_} is empty but {obj.table}.{lk.to} is required"
                )
            continue
        lookups.append(
            PendingLookup(
                to=lk.to, bind=lk.bind, object=lk.object, source_id=str(parent), required=lk.required
            )
        )

    owner_id = owner_status = None
    if obj.owner is not None and owners is not None:
        source_user = next((str(v) for f in obj.owner.from_ if (v := get_path(record, f))), None)
        owner_id, owner_status = owners.resolve(source_user)
    return TargetRow(
        source_id=sid,
        table=obj.table,
        entity_set=obj.entity_set,
        id=payload[obj.primary_id],
        payload=payload,
        lookups=lookups,
        owner_id=owner_id,
        owner_status=owner_status,
    )
