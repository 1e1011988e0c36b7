"""Validation over HTTP: each rejection with Dataverse's status, code and message shape.

Sources: learn.microsoft.com "Troubleshoot Dataverse Web API client errors" (0x80048d19 "Error identified
in Payload provided by the user for Entity" + InnerException ODataException for unknown properties and
unconvertible literals); notes/dataverse.md and web-service-error-codes for 0x80044331 (validation),
0x8004431A (choice value out of range), 0x80040217 (ObjectDoesNotExist), 0x80040237 (DuplicateRecord).
"""

from __future__ import annotations

import httpx
import pytest

from .conftest import error_of


@pytest.mark.parametrize(
    ("body", "status", "code", "fragment"),
    [
        (
            {"name": "x", "nonexistent": 1},
            400,
            "0x80048d19",
            "The property 'nonexistent' does not exist on type 'Microsoft.Dynamics.CRM.account'. "
            "Make sure to only use "
            "property names that are defined by the type or mark the type as open type.",
        ),
        (
            {"numberofemployees": "many"},
            400,
            "0x80048d19",
            "Cannot convert the literal 'many' to the expected type 'Edm.Int32'.",
        ),
        (
            {"name": "n" * 161},
            400,
            "0x80044331",
            "A validation error occurred. The length of the 'name' attribute of the 'account' entity "
            "exceeded the "
            "maximum allowed length of '160'.",
        ),
        (
            {"accountcategorycode": 7},
            400,
            "0x8004431A",
            "A validation error occurred. The value 7 of 'accountcategorycode' on record of type "
            "'account' is "
            "outside the valid range.",
        ),
        (
            {"primarycontactid@odata.bind": "/contacts(00000000-0000-0000-0000-000000000001)"},
            404,
            "0x80040217",
            "contact With Id = 00000000-0000-0000-0000-000000000001 Does Not Exist",
        ),
    ],
)
def test_create_rejections(client: httpx.Client, body: dict, status: int, code: str, fragment: str) -> None:
    got_status, got_code, message = error_of(client.post("accounts", json=body))
    assert (got_status, got_code) == (status, code)
    assert fragment in message
    if code == "0x80048d19":
        assert message.startswith("Error identified in Payload provided by the user for Entity :'accounts'")


def test_update_rejects_like_create(client: httpx.Client) -> None:
    key = client.post("accounts", json={"name": "To update"}).headers["OData-EntityId"].rsplit("(", 1)[1][:-1]
    assert error_of(client.patch(f"accounts({key})", json={"bogus": 1}))[:2] == (400, "0x80048d19")
    assert error_of(client.patch(f"accounts({key})", json={"name": "n" * 200}))[:2] == (400, "0x80044331")
    assert client.get(f"accounts({key})").json()["name"] == "To update"


def test_invalid_json_body(client: httpx.Client) -> None:
    r = client.post("accounts", content=b'{"name": ', headers={"Content-Type": "application/json"})
    assert error_of(r)[:2] == (400, "0x80048d19")


def test_error_response_headers(client: httpx.Client) -> None:
    r = client.post("accounts", json={"bogus": 1})
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.headers["OData-Version"] == "4.0"
