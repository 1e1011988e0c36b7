"""Collection queries over HTTP.

Source: MicrosoftDocs/powerapps-docs developer/data-platform/webapi/query-data-web-api.md — $select,
$filter, $orderby, $top, $count (@odata.count), `Prefer: odata.maxpagesize` with @odata.nextLink
(at most 5000 rows a page), and compose-http-requests-handle-errors.md for annotations.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from .conftest import error_of


@pytest.fixture(scope="module")
def tag(client: httpx.Client) -> str:
    """25 accounts whose names share a unique prefix, so queries ignore other tests' rows."""
    prefix = f"Q{uuid.uuid4().hex[:8]}"
    targets = [
        {
            "@odata.type": "Microsoft.Dynamics.CRM.account",
            "name": f"{prefix} {i:02d}",
            "numberofemployees": i,
            "accountcategorycode": 1 + i % 2,
        }
        for i in range(25)
    ]
    r = client.post("accounts/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": targets})
    assert r.status_code == 200
    return prefix


def test_select_filter_orderby_top_count(client: httpx.Client, tag: str) -> None:
    r = client.get(
        "accounts",
        params={
            "$select": "name,numberofemployees",
            "$filter": f"startswith(name,'{tag}') and numberofemployees ge 20",
            "$orderby": "numberofemployees desc",
            "$top": "3",
            "$count": "true",
        },
    )
    body = r.json()
    assert r.status_code == 200
    assert body["@odata.context"].endswith("$metadata#accounts(name,numberofemployees)")
    assert body["@odata.count"] == 5
    assert [v["numberofemployees"] for v in body["value"]] == [24, 23, 22]
    assert set(body["value"][0]) == {"@odata.etag", "name", "numberofemployees", "accountid"}
    assert "@odata.nextLink" not in body


def test_paging_with_maxpagesize(client: httpx.Client, tag: str) -> None:
    url: str | None = "accounts"
    params: dict[str, str] | None = {
        "$select": "name",
        "$filter": f"startswith(name,'{tag}')",
        "$orderby": "name",
    }
    seen: list[str] = []
    pages = 0
    while url:
        r = client.get(url, params=params, headers={"Prefer": "odata.maxpagesize=10"})
        assert r.status_code == 200
        assert r.headers["Preference-Applied"] == "odata.maxpagesize=10"
        body = r.json()
        seen += [v["name"] for v in body["value"]]
        url, params, pages = body.get("@odata.nextLink"), None, pages + 1
    assert pages == 3
    assert seen == sorted(seen) and len(seen) == 25 and len(set(seen)) == 25


def test_filter_by_lookup_value_and_guid(client: httpx.Client, tag: str) -> None:
    me = client.get("WhoAmI").json()["UserId"]
    r = client.get(
        "accounts",
        params={
            "$select": "name",
            "$count": "true",
            "$filter": f"_ownerid_value eq {me} and startswith(name,'{tag}')",
        },
    )
    assert r.json()["@odata.count"] == 25


def test_formatted_values_on_request(client: httpx.Client, tag: str) -> None:
    r = client.get(
        "accounts",
        params={"$select": "accountcategorycode", "$filter": f"name eq '{tag} 01'"},
        headers={"Prefer": 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"'},
    )
    row = r.json()["value"][0]
    assert row["accountcategorycode"] == 2
    assert row["accountcategorycode@OData.Community.Display.V1.FormattedValue"] == "Standard"


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        (
            {"$select": "Name"},
            "Could not find a property named 'Name' on type 'Microsoft.Dynamics.CRM.account'.",
        ),
        ({"$select": "parentaccountid"}, "Could not find a property named 'parentaccountid'"),
        ({"$filter": "name eq"}, "Syntax error"),
        ({"$filter": "numberofemployees eq 'x'"}, "incompatible types"),
        ({"$orderby": "nope"}, "Could not find a property named 'nope'"),
    ],
)
def test_query_errors(client: httpx.Client, params: dict[str, str], fragment: str) -> None:
    # Troubleshoot Dataverse Web API client errors: bad property names →
    # 400 "Could not find a property named …"
    status, code, message = error_of(client.get("accounts", params=params))
    assert (status, code) == (400, "0x80060888")
    assert fragment in message


def test_unsupported_query_option(client: httpx.Client) -> None:
    assert client.get("accounts", params={"$expand": "primarycontactid"}).status_code == 501
    assert client.get("accounts", params={"$bogus": "1"}).status_code == 400
