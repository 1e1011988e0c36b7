"""Unbound actions: `WinOpportunity`, `LoseOpportunity`.

Source: Microsoft Web API reference, WinOpportunity / LoseOpportunity actions ("not bound to any entity
types", "does not return a value"; parameters `OpportunityClose` (opportunityclose EntityType) and
`Status` (Edm.Int32)). The action creates the `opportunityclose` activity (completed) and sets the
opportunity's statecode to Won (1) / Lost (2) with the given statuscode, which must belong to that
state (0x80048408 otherwise, see `rules.py`). The opportunity's `actualvalue`/`actualclosedate` take
the close's `actualrevenue`/`actualend` when given.
"""

from __future__ import annotations

import json
from typing import Any

from .. import errors, rules
from ..engine import Engine
from ..validation import parse_bind_path
from .base import Request, Response

STATES = {"WinOpportunity": 1, "LoseOpportunity": 2}


def _payload_error(message: str) -> errors.DataverseError:
    return errors.payload_error("opportunities", f"Microsoft.OData.ODataException: {message}")


def _body(req: Request) -> dict[str, Any]:
    try:
        data = json.loads(req.body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise _payload_error(f"Invalid JSON. {exc}") from None
    if not isinstance(data, dict):
        raise _payload_error("A JSON object was expected.")
    return data


def close_opportunity(req: Request, engine: Engine, action: str) -> Response:
    if req.method != "POST":
        raise errors.method_not_allowed(req.method, action)
    data = _body(req)
    status = data.get("Status")
    close = data.get("OpportunityClose")
    if isinstance(status, bool) or not isinstance(status, int):
        raise _payload_error(f"The parameter 'Status' of '{action}' is missing or is not an Edm.Int32.")
    if not isinstance(close, dict):
        raise _payload_error(
            f"The parameter 'OpportunityClose' of '{action}' is missing or is not an object."
        )
    bind = close.get("opportunityid@odata.bind")
    parsed = parse_bind_path(bind) if isinstance(bind, str) else None
    if parsed is None or parsed[0] != "opportunities":
        raise errors.invalid_argument(
            "OpportunityClose must reference the opportunity: "
            '"opportunityid@odata.bind": "/opportunities(<id>)".'
        )
    opportunity_id = parsed[1]
    opp_table = engine.registry.by_logical("opportunity")
    close_table = engine.registry.by_logical("opportunityclose")
    if opp_table is None or close_table is None:  # pragma: no cover - metadata always has both
        raise errors.not_implemented(action)
    state = STATES[action]
    with engine.store.transaction():
        opportunity = engine.get(opp_table, opportunity_id)
        if (opportunity.get("statecode") or 0) != 0:
            raise errors.invalid_argument(
                f"The opportunity with Id {opportunity_id} is already closed; "
                "reopen it before closing it again."
            )
        status_attr = opp_table.status_attribute
        if status_attr is not None and status_attr.state_of.get(status) != state:
            raise rules.invalid_status(opp_table, status, state, opportunity_id)
        fields = {k: v for k, v in close.items() if k != "@odata.type"}
        close_id = engine.create(close_table, fields, req.caller)
        engine.update(close_table, close_id, {"statecode": 1, "statuscode": 2}, req.caller)
        changes: dict[str, Any] = {"statecode": state, "statuscode": status}
        if close.get("actualrevenue") is not None and "actualvalue" in opp_table.attributes:
            changes["actualvalue"] = close["actualrevenue"]
        if close.get("actualend") is not None and "actualclosedate" in opp_table.attributes:
            changes["actualclosedate"] = close["actualend"]
        with rules.closing_message():
            engine.update(opp_table, opportunity_id, changes, req.caller, existing=opportunity)
    return Response(204, None, records=2)
