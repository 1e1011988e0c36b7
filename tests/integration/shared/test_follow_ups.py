"""The load step's follow-ups against the Dataverse emulator: state after insert (INT-07), won/lost
opportunities closed through their messages (INT-06), and a closed row reopened by a re-run."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest

from intact.demo import DEMO_TOKEN_VAR, demo_spec
from shared.mapping.state import FollowUp
from shared.mapping.transform import TargetRow
from shared.migration.context import dataverse_client
from shared.migration.load import _run_follow_ups


@pytest.fixture
def dv(dataverse: Any, scope_id: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv(DEMO_TOKEN_VAR, "follow-token")
    client = dataverse_client(demo_spec(dataverse.url, migration_id=scope_id))
    yield client
    client.close()


def _row(table: str, entity_set: str, rid: str, fu: FollowUp) -> TargetRow:
    return TargetRow(source_id=rid, table=table, entity_set=entity_set, id=rid, payload={}, follow_up=fu)


def _get(dv: Any, entity_set: str, key: str, rid: str, cols: str) -> dict[str, Any]:
    return dict(dv.request("GET", f"{entity_set}({rid})", params={"$select": cols}).json())


def test_INT_06_won_and_lost_opportunities_closed_by_win_and_lose(dv: Any) -> None:
    won, lost = str(uuid.uuid4()), str(uuid.uuid4())
    for rid in (won, lost):
        dv.request("PATCH", f"opportunities({rid})", json={"name": "Deal", "statuscode": 1})
    flags: Counter[str] = Counter()
    rows = [
        _row("opportunity", "opportunities", won, FollowUp(kind="win_opportunity", state=1, status=3,
             close={"subject": "Won", "actualrevenue": 12.5, "actualend": "2022-05-01"})),
        _row("opportunity", "opportunities", lost, FollowUp(kind="lose_opportunity", state=2, status=5,
             close={"subject": "Lost"})),
    ]  # fmt: skip
    assert _run_follow_ups(dv, rows, flags, []) == 2
    assert flags == {"win_opportunity": 1, "lose_opportunity": 1}
    got = _get(dv, "opportunities", "opportunityid", won, "statecode,statuscode,actualvalue")
    assert (got["statecode"], got["statuscode"], got["actualvalue"]) == (1, 3, 12.5)
    assert _get(dv, "opportunities", "opportunityid", lost, "statecode,statuscode")["statecode"] == 2
    closes = dv.list_all("opportunitycloses", select=["_opportunityid_value"])
    assert {won, lost} <= {c["_opportunityid_value"] for c in closes}


def test_INT_07_lead_state_set_after_insert_and_refusal_is_flagged(dv: Any) -> None:
    lead = str(uuid.uuid4())
    dv.request("PATCH", f"leads({lead})", json={"subject": "Prospect", "statecode": 1, "statuscode": 1})
    assert _get(dv, "leads", "leadid", lead, "statecode")["statecode"] == 0  # state ignored on create
    flags: Counter[str] = Counter()
    flagged: list[dict[str, Any]] = []
    good = _row("lead", "leads", lead, FollowUp(kind="set_state", state=1, status=3))
    bad = _row(
        "lead", "leads", str(uuid.uuid4()), FollowUp(kind="set_state", state=1, status=3)
    )  # never created
    _run_follow_ups(dv, [good, bad], flags, flagged)
    got = _get(dv, "leads", "leadid", lead, "statecode,statuscode")
    assert (got["statecode"], got["statuscode"]) == (1, 3)
    assert flags == {"set_state": 1, "state_not_applied": 1}
    assert flagged[0]["source_id"] == bad.source_id and flagged[0]["follow_up"] == "set_state"


def test_closed_activity_reopened_by_the_rerun_upsert_then_closed_again(dv: Any) -> None:
    call = str(uuid.uuid4())
    dv.request("PATCH", f"phonecalls({call})", json={"subject": "Call", "statuscode": 1})
    fu = FollowUp(kind="set_state", state=1, status=2)
    _run_follow_ups(dv, [_row("phonecall", "phonecalls", call, fu)], Counter(), [])
    # a re-run sends the row again with its open state (TargetRow.reopen): the closed call accepts it
    dv.request(
        "PATCH", f"phonecalls({call})", json={"subject": "Call again", "statecode": 0, "statuscode": 1}
    )
    _run_follow_ups(dv, [_row("phonecall", "phonecalls", call, fu)], Counter(), [])
    got = _get(dv, "phonecalls", "activityid", call, "subject,statecode,statuscode")
    assert (got["subject"], got["statecode"], got["statuscode"]) == ("Call again", 1, 2)
