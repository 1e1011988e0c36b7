"""Platform rules the engine applies after payload validation: state/status, closed records, notes.

Generic (driven by metadata) except for the few tables Dataverse itself special-cases:

- **Columns not valid for create/update** (`statecode` on create, `createdon`, `versionnumber`,
  `fullname`…) are ignored, not rejected: "If the entity instance includes properties where
  IsValidForCreate is false, the values are ignored" (CreateRequest.Target, Microsoft SDK reference).
  `validation.py` already drops them, so a `statecode` sent on create leaves the row in its initial state.
- **Status must belong to the state**: a `statuscode` whose state differs from the row's (initial, on
  create; requested or current, on update) → 400 0x80048408 "`<status>` is not a valid status code for
  state code `<Schema>State.<Label>` on `<table>` with Id `<id>`." (captured from a live org on
  Stack Overflow "Create inactive account"; the wording matches the platform's format string).
- **Opportunities close only through WinOpportunity/LoseOpportunity**: an update to statecode Won/Lost
  → 0x80100005 CannotUseOpportunitySetStateMessage "This message can not be used to set the state of
  opportunity to won. In order to set state of opportunity to won, use the won message instead."
  (powerapps-docs `reference/web-service-error-codes.md`; lower-case wording as seen live).
- **Closed activities and opportunities** accept no update other than a state change (reopen).
  The code/wording of that error is the emulator's (not captured from a live org).
- **Notes**: `documentbody` must be Base64; its Base64 length may not exceed
  `organization.maxuploadfilesize` → 0x80044a02 "Attachment file size is too big." (powerapps-docs
  `attachment-annotation-files.md`, "File size limits"); `filesize` is computed, `isdocument` set.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import contextvars
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from . import errors
from .metadata import TableMeta
from .validation import Changes

if TYPE_CHECKING:
    from .engine import Engine

DEFAULT_MAX_UPLOAD = 5_242_880
# Tables whose closed states only a dedicated message may set: {table: {state: wording}}.
CLOSE_MESSAGES = {"opportunity": {1: "won", 2: "lost"}}
# Non-activity tables that are read-only once closed (activities always are).
CLOSABLE = frozenset({"opportunity"})

_closing: contextvars.ContextVar[bool] = contextvars.ContextVar("closing", default=False)


@contextlib.contextmanager
def closing_message() -> Iterator[None]:
    """WinOpportunity/LoseOpportunity run their state change inside this."""
    token = _closing.set(True)
    try:
        yield
    finally:
        _closing.reset(token)


# --- errors -------------------------------------------------------------------------------------


def invalid_status(table: TableMeta, status: int, state: int, record_id: str) -> errors.DataverseError:
    state_attr = table.state_attribute
    label = (state_attr.options.get(state) if state_attr else None) or str(state)
    return errors.DataverseError(
        400,
        "0x80048408",
        f"{status} is not a valid status code for state code {table.schema_name}State."
        f"{label.replace(' ', '')} on {table.logical_name} with Id {record_id}.",
    )


def use_close_message(table: str, wording: str) -> errors.DataverseError:
    return errors.DataverseError(
        400,
        "0x80100005",
        f"This message can not be used to set the state of {table} to {wording}. In order to set state "
        f"of {table} to {wording}, use the {wording} message instead.",
    )


def closed_record(table: TableMeta, record_id: str) -> errors.DataverseError:
    return errors.DataverseError(
        400,
        "0x80040203",
        f"The {table.logical_name} with Id {record_id} is closed and cannot be edited; reopen it "
        "(statecode 0) first.",
    )


def attachment_too_big() -> errors.DataverseError:
    return errors.DataverseError(400, "0x80044a02", "Attachment file size is too big.")


def invalid_base64(attr: str) -> errors.DataverseError:
    return errors.DataverseError(
        400,
        "0x80040203",
        f"The value of '{attr}' is not a valid Base-64 string: it contains a non-base 64 character, "
        "more than two padding characters, or an illegal character among the padding characters.",
    )


# --- hooks called by Engine ---------------------------------------------------------------------


def _initial_state(table: TableMeta) -> int:
    state = table.state_attribute
    if state is None or not state.options:
        return 0
    return 0 if 0 in state.options else min(state.options)


def on_create(engine: Engine, table: TableMeta, changes: Changes, record_id: str) -> None:
    state, status = table.state_attribute, table.status_attribute
    if state is not None and status is not None:
        value = changes.values.get(status.name)
        target = changes.values.get(state.name, _initial_state(table))
        if value is not None and status.state_of and status.state_of.get(value) != target:
            raise invalid_status(table, value, target, record_id)
    _note_body(engine, table, changes)


def on_update(
    engine: Engine, table: TableMeta, existing: dict[str, Any], changes: Changes, record_id: str
) -> None:
    state, status = table.state_attribute, table.status_attribute
    if state is None:
        _note_body(engine, table, changes)
        return
    current = existing.get(state.name) or 0
    target = changes.values.get(state.name, current)
    if target is None:
        target = current
    closable = table.is_activity or table.logical_name in CLOSABLE
    if closable and current != 0:
        touched = (set(changes.values) | set(changes.lookups)) - {state.name}
        if changes.parties is not None:
            touched.add(f"{table.logical_name}_activity_parties")
        if status is not None:
            touched.discard(status.name)
        if touched and target != 0:
            raise closed_record(table, record_id)
    closes = CLOSE_MESSAGES.get(table.logical_name, {})
    if target != current and target in closes and not _closing.get():
        raise use_close_message(table.logical_name, closes[target])
    if status is not None:
        value = changes.values.get(status.name)
        if value is not None and status.state_of and status.state_of.get(value) != target:
            raise invalid_status(table, value, target, record_id)
    _note_body(engine, table, changes)


def max_upload_bytes(engine: Engine) -> int:
    rows = engine.store.query("organization", "1", [], "id", 1)
    value = rows[0].get("maxuploadfilesize") if rows else None
    return int(value) if isinstance(value, int) and value > 0 else DEFAULT_MAX_UPLOAD


def _note_body(engine: Engine, table: TableMeta, changes: Changes) -> None:
    if table.logical_name != "annotation" or "documentbody" not in changes.values:
        return
    body = changes.values["documentbody"]
    if body is None or body == "":
        changes.values["filesize"] = 0
        changes.values["isdocument"] = False
        return
    check_upload_size(engine, len(body))
    try:
        data = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise invalid_base64("documentbody") from None
    changes.values["filesize"] = len(data)
    changes.values["isdocument"] = True


def check_upload_size(engine: Engine, base64_length: int) -> None:
    if base64_length > max_upload_bytes(engine):
        raise attachment_too_big()
