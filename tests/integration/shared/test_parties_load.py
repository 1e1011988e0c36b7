"""The loader's writer sends an activity's party collection as it is (INT-12): through `$batch` upserts
for a table without bulk messages (email), and through UpsertMultiple — and, after one bad row fails
the atomic request, through the `$batch` isolation — for a custom activity table."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from emulators.dataverse import ServerHandle, start_server
from shared.dataverse import DataverseClient, RowWrite, StaticToken, write_rows
from tests.integration.custom_tables import table_body


@pytest.fixture(scope="module")
def server() -> Iterator[ServerHandle]:
    with start_server(port=0, limits=False) as handle:
        yield handle


@pytest.fixture(scope="module")
def dv(server: ServerHandle) -> Iterator[DataverseClient]:
    with DataverseClient(server.base_url, StaticToken("t")) as client:
        yield client


def _parties(server: ServerHandle, activity_id: str) -> set[tuple[int, str]]:
    r = httpx.get(
        f"{server.api_url}activityparties",
        params={
            "$filter": f"_activityid_value eq {activity_id}",
            "$select": "participationtypemask,addressused",
        },
        headers={"Authorization": "Bearer t"},
    )
    return {(p["participationtypemask"], p["addressused"]) for p in r.json()["value"]}


def _row(primary_id: str, table: str, activity_id: str, mask: int) -> RowWrite:
    parties = [
        {"participationtypemask": 1, "addressused": "me@x.example"},
        {"participationtypemask": mask, "addressused": "you@y.example"},
    ]
    return RowWrite(
        activity_id, {primary_id: activity_id, "subject": "S", f"{table}_activity_parties": parties}
    )


def test_INT_12_email_parties_go_through_batch_upserts(server: ServerHandle, dv: DataverseClient) -> None:
    good, bad = str(uuid.uuid4()), str(uuid.uuid4())
    rows = [_row("activityid", "email", good, 2), _row("activityid", "email", bad, 5)]  # 5: not an email type
    result = write_rows(
        dv, "emails", "email", rows, batch_size=100, clock=time.monotonic, primary_id="activityid"
    )
    assert [r["kind"] for r in result.requests] == ["$batch"]  # email takes no UpsertMultiple
    outcome = {o.source_id: o for o in result.outcomes}
    assert outcome[good].outcome == "loaded" and outcome[bad].error_code == "0x80094006"
    assert _parties(server, good) == {(1, "me@x.example"), (2, "you@y.example")}


def test_INT_12_custom_activity_parties_go_through_upsertmultiple_and_isolation(server: ServerHandle) -> None:
    body = table_body("new_Call", "Call", "Calls", activity=True)
    with DataverseClient(server.base_url, StaticToken("t")) as admin:
        admin.request("POST", "EntityDefinitions", json=body)
    # a new client asks for bulk support once the table exists
    with DataverseClient(server.base_url, StaticToken("t")) as dv:
        first, second, bad = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
        ok = write_rows(
            dv,
            "new_calls",
            "new_call",
            [_row("activityid", "new_call", first, 5)],
            batch_size=100,
            clock=time.monotonic,
            primary_id="activityid",
        )
        assert [r["kind"] for r in ok.requests] == ["UpsertMultiple"]
        assert _parties(server, first) == {(1, "me@x.example"), (5, "you@y.example")}
        bad_row = RowWrite(
            bad,
            {"activityid": bad, "subject": "S", "new_call_activity_parties": [{"participationtypemask": 2}]},
        )
        mixed = write_rows(
            dv,
            "new_calls",
            "new_call",
            [_row("activityid", "new_call", second, 11), bad_row],
            batch_size=100,
            clock=time.monotonic,
            primary_id="activityid",
        )
        assert [r["kind"] for r in mixed.requests] == ["UpsertMultiple", "$batch"]
        assert {o.source_id: o.outcome for o in mixed.outcomes} == {second: "loaded", bad: "rejected"}
        assert _parties(server, second) == {(1, "me@x.example"), (11, "you@y.example")}
