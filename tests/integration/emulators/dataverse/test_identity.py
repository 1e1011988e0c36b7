"""Authentication and WhoAmI.

Sources: powerapps-docs webapi/compose-http-requests-handle-errors.md (401 for missing/invalid auth),
web-service-error-codes (AccessTokenExpired 0x8005F101 "The requested resource requires authentication."),
and the WhoAmI function (BusinessUnitId, UserId, OrganizationId).
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from emulators.dataverse import start_server

from .conftest import error_of


def test_requests_without_bearer_token_get_401(server) -> None:
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer"}):
        r = httpx.get(server.api_url + "WhoAmI", headers=headers)
        assert error_of(r) == (401, "0x8005F101", "The requested resource requires authentication.")
        assert r.headers["WWW-Authenticate"].startswith("Bearer ")


def test_who_am_i(client: httpx.Client) -> None:
    body = client.get("WhoAmI").json()
    assert body["@odata.context"].endswith("$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse")
    assert set(body) == {"@odata.context", "BusinessUnitId", "UserId", "OrganizationId"}
    user = client.get(f"systemusers({body['UserId']})?$select=fullname,_businessunitid_value").json()
    assert user["_businessunitid_value"] == body["BusinessUnitId"]


def test_users_file_maps_tokens_to_application_users(tmp_path: Path) -> None:
    users = {
        "token-a": {"systemuserid": "0a2b7c1e-0000-4000-8000-00000000aaaa", "fullname": "App A"},
        "token-b": {"systemuserid": "0a2b7c1e-0000-4000-8000-00000000bbbb", "fullname": "App B"},
    }
    path = tmp_path / "users.json"
    path.write_text(json.dumps(users), encoding="utf-8")
    with start_server(users_file=str(path)) as handle:

        def who(token: str) -> httpx.Response:
            return httpx.get(handle.api_url + "WhoAmI", headers={"Authorization": f"Bearer {token}"})

        assert who("token-a").json()["UserId"].endswith("aaaa")
        assert who("token-b").json()["UserId"].endswith("bbbb")
        assert who("unknown").status_code == 401
        r = httpx.post(
            handle.api_url + "accounts", json={"name": "B's"}, headers={"Authorization": "Bearer token-b"}
        )
        key = r.headers["OData-EntityId"].rsplit("(", 1)[1][:-1]
        owner = httpx.get(
            handle.api_url + f"accounts({key})?$select=_ownerid_value",
            headers={"Authorization": "Bearer token-a"},
        ).json()["_ownerid_value"]
        assert owner.endswith("bbbb")
