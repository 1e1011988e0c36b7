"""`sdkmessages` / `sdkmessagefilters` over real HTTP, the refusal of a bulk message on a table without
it, and Intact's writer falling back to `$batch` on such a table.

Source: Microsoft's "Use bulk operation messages" page, section "Availability with standard tables"
(the query `sdkmessagefilters?$select=sdkmessagefilterid&$filter=sdkmessageid/name eq @message and
primaryobjecttypecode eq @table&@message='CreateMultiple'&@table='sample_example'`; custom tables
support CreateMultiple/UpdateMultiple; the query returns nothing for UpsertMultiple),
https://learn.microsoft.com/power-apps/developer/data-platform/bulk-operations#availability-with-standard-tables
and the SdkMessage / SdkMessageFilter table references (entity sets `sdkmessages`, `sdkmessagefilters`).
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from emulators.dataverse import ServerHandle, start_server
from shared.dataverse import DataverseClient, RowWrite, StaticToken, write_rows
from tests.integration.custom_tables import table_body

from .conftest import error_of

DOC_QUERY = "sdkmessageid/name eq @message and primaryobjecttypecode eq @table"


def _supports(client: httpx.Client, message: str, table: str) -> list[dict]:
    r = client.get(
        "sdkmessagefilters",
        params={
            "$select": "sdkmessagefilterid",
            "$filter": DOC_QUERY,
            "@message": f"'{message}'",
            "@table": f"'{table}'",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["@odata.context"].endswith("$metadata#sdkmessagefilters(sdkmessagefilterid)")
    return r.json()["value"]


@pytest.mark.parametrize(
    ("table", "supported"),
    [("account", True), ("contact", True), ("task", True), ("lead", True), ("phonecall", False)],
)
def test_documented_query_answers_per_table(client: httpx.Client, table: str, supported: bool) -> None:
    for message in ("CreateMultiple", "UpdateMultiple"):
        rows = _supports(client, message, table)
        assert len(rows) == (1 if supported else 0)
        if rows:
            assert set(rows[0]) == {"@odata.etag", "sdkmessagefilterid"}
    assert _supports(client, "UpsertMultiple", table) == []  # "will not return results for UpsertMultiple"
    assert _supports(client, "Create", table)  # every one of these tables takes Create


def test_two_step_query_by_message_id(client: httpx.Client) -> None:
    r = client.get("sdkmessages", params={"$select": "name", "$filter": "name eq 'CreateMultiple'"})
    [message] = r.json()["value"]
    assert message["name"] == "CreateMultiple"
    r = client.get(
        "sdkmessagefilters",
        params={
            "$select": "primaryobjecttypecode,_sdkmessageid_value,isvisible",
            "$filter": f"_sdkmessageid_value eq {message['sdkmessageid']}",
        },
    )
    rows = r.json()["value"]
    tables = {row["primaryobjecttypecode"] for row in rows}
    assert {"account", "contact", "task", "opportunity"} <= tables and "phonecall" not in tables
    assert all(row["_sdkmessageid_value"] == message["sdkmessageid"] and row["isvisible"] for row in rows)
    one = client.get(f"sdkmessages({message['sdkmessageid']})").json()
    assert one["name"] == "CreateMultiple"


def test_paging_and_count(client: httpx.Client) -> None:
    r = client.get(
        "sdkmessagefilters",
        params={"$select": "primaryobjecttypecode", "$count": "true"},
        headers={"Prefer": "odata.maxpagesize=50"},
    )
    body = r.json()
    assert len(body["value"]) == 50 and body["@odata.count"] > 50
    seen = len(body["value"])
    while "@odata.nextLink" in body:
        body = client.get(body["@odata.nextLink"], headers={"Prefer": "odata.maxpagesize=50"}).json()
        seen += len(body["value"])
    assert seen == r.json()["@odata.count"]


def test_read_only_and_unknown_properties(client: httpx.Client) -> None:
    status, code, message = error_of(client.post("sdkmessages", json={"name": "x"}))
    assert (status, code) == (400, "0x80040800") and "'Create' method does not support" in message
    status, code, _ = error_of(client.get("sdkmessagefilters", params={"$filter": "nosuch eq 1"}))
    assert (status, code) == (400, "0x80060888")
    r = client.get("sdkmessagefilters", params={"$filter": "sdkmessageid/name eq @missing"})
    assert error_of(r)[:2] == (400, "0x80060888")


@pytest.mark.parametrize("message", ["CreateMultiple", "UpdateMultiple", "UpsertMultiple"])
def test_bulk_message_on_a_table_without_it_is_refused(client: httpx.Client, message: str) -> None:
    target = {
        "@odata.type": "Microsoft.Dynamics.CRM.phonecall",
        "subject": "call",
        "activityid": str(uuid.uuid4()),
    }
    r = client.post(f"phonecalls/Microsoft.Dynamics.CRM.{message}", json={"Targets": [target]})
    assert error_of(r) == (
        400,
        "0x80040800",
        f"The '{message}' method does not support entities of type 'phonecall'. "
        "MessageProcessorCache returned MessageProcessor.Empty.",
    )


def test_custom_tables_support_bulk_messages() -> None:
    # bulk-operations.md: CreateMultiple/UpdateMultiple work "with custom standard tables".
    with (
        start_server(port=0, limits=False) as dv,
        httpx.Client(base_url=dv.api_url, headers={"Authorization": "Bearer t"}, timeout=10) as c,
    ):
        assert _supports(c, "CreateMultiple", "new_widget") == []
        r = c.post(
            "EntityDefinitions",
            json=table_body("new_Widget", "Widget", "Widget"),
        )
        assert r.status_code == 204, r.text
        assert len(_supports(c, "CreateMultiple", "new_widget")) == 1
        assert len(_supports(c, "UpdateMultiple", "new_widget")) == 1
        target = {"@odata.type": "Microsoft.Dynamics.CRM.new_widget", "new_name": "w"}
        r = c.post("new_widgets/Microsoft.Dynamics.CRM.UpsertMultiple", json={"Targets": [target]})
        assert r.status_code == 204, r.text


def test_write_rows_on_a_table_without_bulk_loads_every_row_by_batch(server: ServerHandle) -> None:
    ids = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"intact-test/phonecall/{i}")) for i in range(1203)]
    rows = [RowWrite(f"call_{i}", {"activityid": rid, "subject": f"Call {i}"}) for i, rid in enumerate(ids)]
    with DataverseClient(server.base_url, StaticToken("t")) as dv:
        assert dv.bulk_support("phonecall") == set()
        assert dv.bulk_support("account") == {"CreateMultiple", "UpdateMultiple", "UpsertMultiple"}
        result = write_rows(
            dv, "phonecalls", "phonecall", rows, batch_size=5000, clock=lambda: 0.0, primary_id="activityid"
        )
        assert result.loaded == 1203 and result.rejected == 0
        assert [(r["kind"], r["records"], r["loaded"]) for r in result.requests] == [
            ("$batch", 1000, 1000),
            ("$batch", 203, 203),
        ]
        stored = dv.get_by_ids("phonecalls", "activityid", ids, ["subject"])
    assert len(stored) == 1203 and stored[ids[7]]["subject"] == "Call 7"
