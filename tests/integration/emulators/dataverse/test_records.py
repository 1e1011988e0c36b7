"""Create / retrieve / upsert / delete over HTTP.

Sources (MicrosoftDocs/powerapps-docs, developer/data-platform/webapi/):
- create-entity-web-api.md: POST → 204 + OData-EntityId; `Prefer: return=representation` → 201 + body.
- update-delete-entities-using-web-api.md: PATCH upserts; DELETE → 204.
- perform-conditional-operations-using-web-api.md: `If-Match: *` prevents create (404),
  `If-None-Match: *` prevents update (412 "A record with matching key values already exists.").
- compose-http-requests-handle-errors.md: 412 for DuplicateRecord / ConcurrencyVersionMismatch.
"""

from __future__ import annotations

import uuid

import httpx

from .conftest import ACTIVE_USER_ID, DISABLED_USER_ID, entity_id, error_of


def test_create_returns_204_and_entity_id(client: httpx.Client) -> None:
    r = client.post("accounts", json={"name": "Create 204"})
    assert r.status_code == 204
    assert r.content == b""
    assert r.headers["OData-EntityId"].startswith(str(client.base_url) + "accounts(")
    got = client.get(f"accounts({entity_id(r)})").json()
    assert got["name"] == "Create 204"
    assert got["statecode"] == 0 and got["statuscode"] == 1
    assert got["@odata.etag"] == f'W/"{got["versionnumber"]}"'
    assert got["createdon"].endswith("Z")


def test_create_with_representation_and_select(client: httpx.Client) -> None:
    r = client.post(
        "accounts?$select=name,revenue",
        json={"name": "Rep", "revenue": 12.5},
        headers={"Prefer": "return=representation"},
    )
    assert r.status_code == 201
    body = r.json()
    assert body["@odata.context"].endswith("$metadata#accounts(name,revenue)/$entity")
    assert set(body) == {"@odata.context", "@odata.etag", "name", "revenue", "accountid"}


def test_supplied_primary_key_and_duplicate(client: httpx.Client) -> None:
    key = str(uuid.uuid4())
    assert (
        client.post("accounts", json={"accountid": key, "name": "Keyed"})
        .headers["OData-EntityId"]
        .endswith(f"({key})")
    )
    dup = client.post("accounts", json={"accountid": key, "name": "Again"})
    assert error_of(dup) == (412, "0x80040237", "A record with matching key values already exists.")


def test_retrieve_missing_is_404(client: httpx.Client) -> None:
    missing = str(uuid.uuid4())
    assert error_of(client.get(f"accounts({missing})")) == (
        404,
        "0x80040217",
        f"account With Id = {missing} Does Not Exist",
    )


def test_unknown_entity_set_is_404(client: httpx.Client) -> None:
    # Troubleshoot Dataverse Web API client errors: "Resource not found for the segment 'Account'."
    assert error_of(client.get("Account")) == (
        404,
        "0x8006088a",
        "Resource not found for the segment 'Account'.",
    )


def test_patch_upserts_and_conditional_headers(client: httpx.Client) -> None:
    key = str(uuid.uuid4())
    r = client.patch(f"accounts({key})", json={"name": "Upserted"})
    assert r.status_code == 204
    assert client.get(f"accounts({key})").json()["name"] == "Upserted"
    r = client.patch(f"accounts({key})", json={"name": "Updated"}, headers={"If-Match": "*"})
    assert r.status_code == 204
    assert client.get(f"accounts({key})").json()["name"] == "Updated"
    other = str(uuid.uuid4())
    assert error_of(client.patch(f"accounts({other})", json={"name": "x"}, headers={"If-Match": "*"}))[
        :2
    ] == (404, "0x80040217")
    assert client.get(f"accounts({other})").status_code == 404
    status, code, message = error_of(
        client.patch(f"accounts({key})", json={"name": "No"}, headers={"If-None-Match": "*"})
    )
    assert (status, code, message) == (412, "0x80040237", "A record with matching key values already exists.")
    created = client.patch(f"accounts({other})", json={"name": "New"}, headers={"If-None-Match": "*"})
    assert created.status_code == 204


def test_update_bumps_version_and_modifiedon_and_etag_concurrency(client: httpx.Client) -> None:
    key = entity_id(client.post("accounts", json={"name": "Versioned"}))
    before = client.get(f"accounts({key})").json()
    r = client.patch(f"accounts({key})", json={"name": "V2"}, headers={"Prefer": "return=representation"})
    assert r.status_code == 200
    after = r.json()
    assert after["versionnumber"] > before["versionnumber"]
    assert after["modifiedon"] >= before["modifiedon"]
    stale = client.patch(f"accounts({key})", json={"name": "V3"}, headers={"If-Match": before["@odata.etag"]})
    assert error_of(stale)[:2] == (412, "0x80060882")
    fresh = client.patch(f"accounts({key})", json={"name": "V3"}, headers={"If-Match": after["@odata.etag"]})
    assert fresh.status_code == 204


def test_state_change_sets_default_status(client: httpx.Client) -> None:
    key = entity_id(client.post("accounts", json={"name": "Stateful"}))
    client.patch(f"accounts({key})", json={"statecode": 1})
    got = client.get(f"accounts({key})?$select=statecode,statuscode").json()
    assert (got["statecode"], got["statuscode"]) == (1, 2)


def test_overriddencreatedon_sets_createdon(client: httpx.Client) -> None:
    key = entity_id(
        client.post("accounts", json={"name": "Old", "overriddencreatedon": "2015-03-04T05:06:07Z"})
    )
    got = client.get(f"accounts({key})?$select=createdon,overriddencreatedon").json()
    assert got["createdon"] == "2015-03-04T05:06:07Z"


def test_delete(client: httpx.Client) -> None:
    key = entity_id(client.post("accounts", json={"name": "Doomed"}))
    assert client.delete(f"accounts({key})").status_code == 204
    assert client.get(f"accounts({key})").status_code == 404
    assert error_of(client.delete(f"accounts({key})"))[:2] == (404, "0x80040217")


def test_lookups_bind_and_read_back(client: httpx.Client) -> None:
    account = entity_id(client.post("accounts", json={"name": "Parent"}))
    r = client.post(
        "contacts",
        json={
            "lastname": "Child",
            "parentcustomerid_account@odata.bind": f"/accounts({account})",
            "ownerid@odata.bind": f"/systemusers({ACTIVE_USER_ID})",
        },
        headers={"Prefer": 'return=representation,odata.include-annotations="*"'},
    )
    assert r.status_code == 201
    body = r.json()
    assert body["_parentcustomerid_value"] == account
    assert body["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"
    assert body["_parentcustomerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"] == (
        "parentcustomerid_account"
    )
    assert body["_ownerid_value"] == ACTIVE_USER_ID
    assert body["statuscode@OData.Community.Display.V1.FormattedValue"] == "Active"


def test_lookup_to_missing_row(client: httpx.Client) -> None:
    missing = str(uuid.uuid4())
    r = client.post(
        "contacts",
        json={"lastname": "Orphan", "parentcustomerid_account@odata.bind": f"/accounts({missing})"},
    )
    assert error_of(r) == (404, "0x80040217", f"account With Id = {missing} Does Not Exist")


def test_owner_must_not_be_disabled(client: httpx.Client) -> None:
    r = client.post(
        "accounts", json={"name": "Owned", "ownerid@odata.bind": f"/systemusers({DISABLED_USER_ID})"}
    )
    status, code, message = error_of(r)
    assert (status, code) == (400, "0x80040225")
    assert DISABLED_USER_ID in message


def test_default_owner_is_the_caller(client: httpx.Client) -> None:
    me = client.get("WhoAmI").json()["UserId"]
    key = entity_id(client.post("accounts", json={"name": "Mine"}))
    got = client.get(f"accounts({key})?$select=_ownerid_value,_createdby_value").json()
    assert got["_ownerid_value"] == me and got["_createdby_value"] == me


def test_seeded_rows_are_present(client: httpx.Client) -> None:
    users = client.get(
        "systemusers",
        params={
            "$select": "systemuserid,fullname,internalemailaddress,domainname,isdisabled,accessmode",
            "$filter": "internalemailaddress eq 'gone@contoso.test'",
        },
    ).json()["value"]
    assert [(u["systemuserid"], u["isdisabled"]) for u in users] == [(DISABLED_USER_ID, True)]
    assert client.get("accounts(0a2b7c1e-0000-4000-8000-00000000acc1)").json()["name"] == "Seeded Account"
