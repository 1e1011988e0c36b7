"""Bulk messages bound to an entity set: CreateMultiple, UpdateMultiple, UpsertMultiple.

powerapps-docs `bulk-operations.md`: on standard tables "any error ... causes the entire operation to
roll back"; every `Targets` item needs `@odata.type`; CreateMultiple answers 200 `{"Ids": [...]}`,
UpdateMultiple 204. Error bodies keep Dataverse's code/message and add `@emulator.TargetIndex` (an
emulator-only annotation) naming the failing item.
"""

from __future__ import annotations

from typing import Any

from .. import errors
from ..engine import Engine
from ..metadata import TableMeta
from ..validation import parse_bind_path
from ..values import parse_guid
from .base import Request, Response, context_url

SUPPORTED = ("CreateMultiple", "UpdateMultiple", "UpsertMultiple")


def handle(req: Request, engine: Engine, table: TableMeta, action: str, max_targets: int) -> Response:
    if action == "DeleteMultiple":
        raise errors.DataverseError(400, "0x80040216", "DeleteMultiple has not yet been implemented.")
    if action not in SUPPORTED:
        raise errors.resource_not_found(f"Microsoft.Dynamics.CRM.{action}")
    if req.method != "POST":
        raise errors.method_not_allowed(req.method, f"{table.entity_set}/Microsoft.Dynamics.CRM.{action}")
    targets = _targets(req, table, max_targets)
    with engine.store.transaction():
        if action == "CreateMultiple":
            ids = [
                _at(i, lambda t=t: engine.create(table, _strip(t), req.caller, bulk=True))
                for i, t in enumerate(targets)
            ]
            body = {
                "@odata.context": context_url(req, "Microsoft.Dynamics.CRM.CreateMultipleResponse"),
                "Ids": ids,
            }
            return Response(200, body, records=len(targets))
        if action == "UpdateMultiple":
            _update_multiple(req, engine, table, targets)
        else:
            _upsert_multiple(req, engine, table, targets)
    return Response(204, None, records=len(targets))


def _targets(req: Request, table: TableMeta, max_targets: int) -> list[dict[str, Any]]:
    body = req.json_body(table)
    targets = body.get("Targets")
    if not isinstance(targets, list):
        raise errors.payload_error(
            table.entity_set,
            "Microsoft.OData.ODataException: The parameter 'Targets' in the request payload is "
            "missing or is not a collection.",
        )
    if not targets:
        raise errors.invalid_argument("The Targets collection must contain at least one entity.")
    if len(targets) > max_targets:
        raise errors.invalid_argument(
            f"The Targets collection contains {len(targets)} entities; this emulator accepts at most "
            f"{max_targets} per request (Dataverse sets no fixed count for standard tables; requests fail "
            "on payload size or time instead)."
        )
    expected = f"Microsoft.Dynamics.CRM.{table.logical_name}"
    for i, target in enumerate(targets):
        if not isinstance(target, dict):
            raise _indexed(
                errors.payload_error(
                    table.entity_set,
                    "Microsoft.OData.ODataException: Each item in 'Targets' must be a JSON object.",
                ),
                i,
            )
        odata_type = str(target.get("@odata.type", "")).removeprefix("#")
        if odata_type != expected:
            raise _indexed(
                errors.payload_error(
                    table.entity_set,
                    f"Microsoft.OData.ODataException: Each item in 'Targets' must carry \"@odata.type\": "
                    f"\"{expected}\" (found '{target.get('@odata.type')}').",
                ),
                i,
            )
    return targets


def _strip(target: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in target.items() if k not in ("@odata.type", "@odata.id")}


def _indexed(err: errors.DataverseError, index: int) -> errors.DataverseError:
    err.extra.setdefault("@emulator.TargetIndex", index)
    return err


def _at(index: int, fn: Any) -> Any:
    try:
        return fn()
    except errors.DataverseError as err:
        raise _indexed(err, index) from None


def _key_of(table: TableMeta, target: dict[str, Any], index: int) -> str | None:
    raw = target.get(table.primary_id)
    if raw is not None:
        guid = parse_guid(raw)
        if guid is None:
            raise _indexed(errors.wrong_type(table.entity_set, raw, "Edm.Guid"), index)
        return guid
    odata_id = target.get("@odata.id")
    if odata_id:
        parsed = parse_bind_path(str(odata_id))
        if parsed is None:
            raise _indexed(errors.not_implemented("Alternate key addressing in '@odata.id'"), index)
        return parsed[1]
    return None


def _update_multiple(req: Request, engine: Engine, table: TableMeta, targets: list[dict[str, Any]]) -> None:
    keys: list[str] = []
    for i, target in enumerate(targets):
        key = _key_of(table, target, i)
        if key is None:
            raise _indexed(errors.invalid_argument("Entity Id must be specified for Update"), i)
        keys.append(key)
    missing = [k for k in keys if not engine.store.exists(table.logical_name, k)]
    if missing:
        raise _indexed(errors.records_not_found(table.logical_name, missing), keys.index(missing[0]))
    for i, (key, target) in enumerate(zip(keys, targets, strict=True)):
        _at(i, lambda key=key, target=target: engine.update(table, key, _strip(target), req.caller))


def _upsert_multiple(req: Request, engine: Engine, table: TableMeta, targets: list[dict[str, Any]]) -> None:
    alt_keys = engine.alternate_keys
    for i, target in enumerate(targets):
        # "@odata.id": "<set>(key='v')" addresses the row by alternate key (keys.py).
        alt = _at(i, lambda t=target: alt_keys.upsert_target(table, t)) if alt_keys is not None else None
        key, body = alt if alt is not None else (_key_of(table, target, i), _strip(target))

        def one(key: str | None = key, body: dict[str, Any] = body) -> None:
            if key is not None and engine.store.exists(table.logical_name, key):
                engine.update(table, key, body, req.caller)
            else:
                engine.create(table, body, req.caller, record_id=key, bulk=True)

        _at(i, one)
