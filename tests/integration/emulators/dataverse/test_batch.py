"""`$batch` over real HTTP.

Source unless stated: MicrosoftDocs/powerapps-docs developer/data-platform/webapi/
execute-batch-operations-using-web-api.md (batch format, change sets, Content-ID references,
"Handling errors", the 1000-request limit). Service-protection accounting: api-limits.md ("A batch can
contain up to 1000 operations and will avoid the number of requests limit. However, you will need to
be prepared for the execution time limit.").
"""

from __future__ import annotations

import uuid

import httpx

from emulators.dataverse import ServerHandle

from .batchkit import Op, parts, send
from .conftest import entity_id


def _name() -> str:
    return f"B{uuid.uuid4().hex[:8]}"


def _count(client: httpx.Client, prefix: str) -> int:
    r = client.get("accounts", params={"$filter": f"startswith(name,'{prefix}')", "$count": "true"})
    return r.json()["@odata.count"]


def test_requests_outside_change_sets_run_in_order_and_answer_in_order(client: httpx.Client) -> None:
    # execute-batch-operations-using-web-api.md, "Batch requests" / "Batch responses"
    name = _name()
    r = send(
        client,
        [
            Op("POST", "accounts", {"name": f"{name} 1"}),
            Op("POST", "accounts", {"name": f"{name} 2"}),
            Op("GET", f"accounts?$select=name&$filter=startswith(name,'{name}')"),
        ],
    )
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("multipart/mixed; boundary=batchresponse_")
    got = parts(r)
    assert [p.status for p in got] == [204, 204, 200]
    assert got[0].headers["OData-EntityId"].startswith("http") and "Location" in got[0].headers
    assert sorted(v["name"] for v in got[2].body["value"]) == [f"{name} 1", f"{name} 2"]


def test_change_set_answers_with_changesetresponse_and_content_ids(client: httpx.Client) -> None:
    # "Change sets": the response wraps the parts in --changesetresponse_ and echoes Content-ID
    name = _name()
    r = send(
        client,
        [[Op("POST", "accounts", {"name": name}, "1"), Op("POST", "contacts", {"lastname": name}, "2")]],
    )
    assert r.status_code == 200
    assert "changesetresponse_" in r.text
    got = parts(r)
    assert [(p.status, p.content_id, p.in_changeset) for p in got] == [(204, "1", True), (204, "2", True)]


def test_change_set_is_atomic(client: httpx.Client) -> None:
    # "if any one of the operations fails, any completed operations will be rolled back"
    name = _name()
    r = send(
        client,
        [
            [
                Op("POST", "accounts", {"name": f"{name} ok"}, "1"),
                Op("POST", "accounts", {"name": "x" * 161}, "2"),
            ]
        ],
    )
    assert r.status_code == 400
    got = parts(r)
    assert len(got) == 1 and got[0].status == 400 and got[0].body["error"]["code"] == "0x80044331"
    assert _count(client, name) == 0


def test_content_id_reference_in_body_and_url(client: httpx.Client) -> None:
    # "Reference URIs in request body" ($1 in @odata.bind) and "Reference URIs in URL ..." (PATCH $1)
    name = _name()
    r = send(
        client,
        [
            [
                Op("POST", "contacts", {"lastname": name}, "1"),
                Op("POST", "accounts", {"name": name, "primarycontactid@odata.bind": "$1"}, "2"),
                Op("PATCH", "$2", {"telephone1": "555"}, "3"),
            ]
        ],
    )
    assert r.status_code == 200, r.text
    got = parts(r)
    contact = got[0].headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")
    account = got[1].headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")
    row = client.get(f"accounts({account})", params={"$select": "telephone1,_primarycontactid_value"}).json()
    assert row["telephone1"] == "555" and row["_primarycontactid_value"] == contact


def test_reference_to_undeclared_content_id_is_400(client: httpx.Client) -> None:
    # NOTE in "Reference URIs ...": "Content-ID Reference: '$1' does not exist in the batch context."
    r = send(client, [[Op("POST", "accounts", {"name": _name(), "primarycontactid@odata.bind": "$1"}, "2")]])
    assert r.status_code == 400
    assert (
        parts(r)[0].body["error"]["message"]
        == "Content-ID Reference: '$1' does not exist in the batch context."
    )


def test_get_inside_change_set_is_rejected(client: httpx.Client) -> None:
    # "GET request are not allowed within change sets."
    r = send(client, [[Op("GET", "accounts?$top=1", None, "1")]])
    assert r.status_code == 400
    assert "not allowed within a change set" in parts(r)[0].body["error"]["message"]


def test_without_continue_on_error_the_batch_stops_at_the_first_failure(client: httpx.Client) -> None:
    # "Handling errors": the batch fails on the first failing request; its status is that error's
    name = _name()
    r = send(
        client,
        [Op("POST", "accounts", {"name": "x" * 161}), Op("POST", "accounts", {"name": f"{name} after"})],
    )
    assert r.status_code == 400
    assert "Preference-Applied" not in r.headers
    got = parts(r)
    assert len(got) == 1 and got[0].body["error"]["code"] == "0x80044331"
    assert _count(client, name) == 0


def test_continue_on_error_answers_200_with_every_failure_as_a_part(client: httpx.Client) -> None:
    # "Handling errors": Prefer: odata.continue-on-error → 200 OK, individual errors in the body
    name = _name()
    r = send(
        client,
        [
            Op("POST", "accounts", {"name": "x" * 161}),
            Op("POST", "accounts", {"name": f"{name} a"}),
            Op("POST", "accounts", {"accountcategorycode": 42}),
            Op("POST", "accounts", {"name": f"{name} b"}),
        ],
        prefer="odata.continue-on-error",
    )
    assert r.status_code == 200
    assert r.headers["Preference-Applied"] == "odata.continue-on-error"
    assert [p.status for p in parts(r)] == [400, 204, 400, 204]
    assert _count(client, name) == 2


def test_more_than_1000_requests_is_rejected(client: httpx.Client) -> None:
    # "Batch requests can contain up to 1000 individual requests"
    r = send(client, [Op("GET", "WhoAmI")] * 1001)
    assert r.status_code == 400
    assert "up to 1000 requests" in r.json()["error"]["message"]


def test_bulk_message_inside_a_batch(client: httpx.Client) -> None:
    # bulk-operations.md (UpsertMultiple) sent as a batch part
    name = _name()
    key = str(uuid.uuid4())
    target = {"@odata.type": "Microsoft.Dynamics.CRM.account", "accountid": key, "name": name}
    r = send(
        client, [[Op("POST", "accounts/Microsoft.Dynamics.CRM.UpsertMultiple", {"Targets": [target]}, "1")]]
    )
    assert r.status_code == 200 and parts(r)[0].status == 204
    assert client.get(f"accounts({key})").json()["name"] == name


def test_batch_counts_once_for_requests_but_charges_execution_time(
    server: ServerHandle, client: httpx.Client
) -> None:
    # api-limits.md: a batch avoids the number-of-requests limit, not the execution-time limit
    before = client.get("WhoAmI").headers
    r = send(client, [Op("GET", "WhoAmI")] * 20)
    after = r.headers
    used_requests = int(before["x-ms-ratelimit-burst-remaining-xrm-requests"]) - int(
        after["x-ms-ratelimit-burst-remaining-xrm-requests"]
    )
    used_seconds = float(before["x-ms-ratelimit-time-remaining-xrm-requests"].replace(",", "")) - float(
        after["x-ms-ratelimit-time-remaining-xrm-requests"].replace(",", "")
    )
    assert used_requests == 1  # the batch is one request (requests are counted on admission)
    assert used_seconds >= 0.2  # 20 inner requests x 10 ms


def test_inner_request_needs_no_token_of_its_own_but_runs_as_the_caller(client: httpx.Client) -> None:
    # Each part runs with the batch's identity (the outer bearer token)
    who = client.get("WhoAmI").json()["UserId"]
    r = send(client, [Op("POST", "accounts", {"name": _name()})])
    account = entity_id(
        httpx.Response(204, headers={"OData-EntityId": parts(r)[0].headers["OData-EntityId"]})
    )
    assert client.get(f"accounts({account})").json()["_createdby_value"] == who


def test_malformed_batch_body_is_400(client: httpx.Client) -> None:
    # OData v4.0 §11.7 (referenced by the page): a body without the closing delimiter is not a batch
    r = client.post(
        "$batch",
        content=b"--batch_x\r\nContent-Type: application/http\r\n\r\nGET /x HTTP/1.1\r\n",
        headers={"Content-Type": "multipart/mixed; boundary=batch_x"},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "0x80060888"
