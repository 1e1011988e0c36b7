"""CreateMultiple / UpdateMultiple / UpsertMultiple.

Source: MicrosoftDocs/powerapps-docs developer/data-platform/bulk-operations.md — `@odata.type` required
on every Targets item; CreateMultiple → 200 {"Ids": [...]}; UpdateMultiple → 204; on standard tables
"any error ... causes the entire operation to roll back"; "Cannot insert duplicate key."; "<Table> With
Ids = <guid> Do Not Exist"; DeleteMultiple on standard tables: "DeleteMultiple has not yet been implemented."
The page sets no fixed count limit for standard tables; the emulator's 1000-item cap is its own.
"""

from __future__ import annotations

import uuid

import httpx

from .conftest import error_of

T = "Microsoft.Dynamics.CRM.account"


def count(client: httpx.Client, prefix: str) -> int:
    r = client.get(
        "accounts", params={"$filter": f"startswith(name,'{prefix}')", "$count": "true", "$select": "name"}
    )
    return r.json()["@odata.count"]


def test_create_multiple_returns_ids(client: httpx.Client) -> None:
    prefix = f"CM{uuid.uuid4().hex[:6]}"
    key = str(uuid.uuid4())
    r = client.post(
        "accounts/Microsoft.Dynamics.CRM.CreateMultiple",
        json={
            "Targets": [
                {"@odata.type": T, "name": f"{prefix} a", "accountid": key},
                {"@odata.type": T, "name": f"{prefix} b"},
            ]
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert body["@odata.context"].endswith("$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse")
    assert body["Ids"][0] == key and len(body["Ids"]) == 2
    assert count(client, prefix) == 2


def test_create_multiple_is_atomic_and_names_the_bad_item(client: httpx.Client) -> None:
    prefix = f"AT{uuid.uuid4().hex[:6]}"
    r = client.post(
        "accounts/Microsoft.Dynamics.CRM.CreateMultiple",
        json={
            "Targets": [
                {"@odata.type": T, "name": f"{prefix} ok"},
                {"@odata.type": T, "name": f"{prefix} bad", "accountcategorycode": 42},
            ]
        },
    )
    assert error_of(r)[:2] == (400, "0x8004431A")
    assert r.json()["error"]["@emulator.TargetIndex"] == 1
    assert count(client, prefix) == 0


def test_create_multiple_duplicate_key_rolls_back(client: httpx.Client) -> None:
    prefix = f"DK{uuid.uuid4().hex[:6]}"
    key = str(uuid.uuid4())
    r = client.post(
        "accounts/Microsoft.Dynamics.CRM.CreateMultiple",
        json={
            "Targets": [
                {"@odata.type": T, "name": f"{prefix} 1", "accountid": key},
                {"@odata.type": T, "name": f"{prefix} 2", "accountid": key},
            ]
        },
    )
    assert error_of(r) == (412, "0x80040237", "Cannot insert duplicate key.")
    assert count(client, prefix) == 0


def test_targets_need_odata_type_and_limit(client: httpx.Client) -> None:
    r = client.post("accounts/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": [{"name": "untyped"}]})
    assert error_of(r)[:2] == (400, "0x80048d19")
    too_many = {"Targets": [{"@odata.type": T, "name": "x"}] * 1001}
    status, code, message = error_of(
        client.post("accounts/Microsoft.Dynamics.CRM.CreateMultiple", json=too_many)
    )
    assert (status, code) == (400, "0x80040203") and "at most 1000" in message


def test_update_multiple(client: httpx.Client) -> None:
    prefix = f"UM{uuid.uuid4().hex[:6]}"
    ids = client.post(
        "accounts/Microsoft.Dynamics.CRM.CreateMultiple",
        json={"Targets": [{"@odata.type": T, "name": f"{prefix} {i}"} for i in range(3)]},
    ).json()["Ids"]
    r = client.post(
        "accounts/Microsoft.Dynamics.CRM.UpdateMultiple",
        json={"Targets": [{"@odata.type": T, "accountid": i, "numberofemployees": 7} for i in ids]},
    )
    assert r.status_code == 204
    assert all(client.get(f"accounts({i})").json()["numberofemployees"] == 7 for i in ids)
    missing = str(uuid.uuid4())
    r = client.post(
        "accounts/Microsoft.Dynamics.CRM.UpdateMultiple",
        json={
            "Targets": [
                {"@odata.type": T, "accountid": ids[0], "numberofemployees": 8},
                {"@odata.type": T, "accountid": missing, "numberofemployees": 8},
            ]
        },
    )
    assert error_of(r) == (404, "0x80040217", f"account With Ids = {missing} Do Not Exist")
    assert client.get(f"accounts({ids[0]})").json()["numberofemployees"] == 7
    r = client.post(
        "accounts/Microsoft.Dynamics.CRM.UpdateMultiple", json={"Targets": [{"@odata.type": T, "name": "x"}]}
    )
    assert error_of(r)[:2] == (400, "0x80040203")


def test_upsert_multiple_creates_and_updates(client: httpx.Client) -> None:
    existing = (
        client.post("accounts", json={"name": "UpsertMe"}).headers["OData-EntityId"].rsplit("(", 1)[1][:-1]
    )
    new = str(uuid.uuid4())
    r = client.post(
        "accounts/Microsoft.Dynamics.CRM.UpsertMultiple",
        json={
            "Targets": [
                {"@odata.type": T, "accountid": existing, "name": "Upserted existing"},
                {"@odata.type": T, "@odata.id": f"accounts({new})", "name": "Upserted new"},
            ]
        },
    )
    assert r.status_code == 204
    assert client.get(f"accounts({existing})").json()["name"] == "Upserted existing"
    assert client.get(f"accounts({new})").json()["name"] == "Upserted new"


def test_delete_multiple_not_on_standard_tables(client: httpx.Client) -> None:
    r = client.post("accounts/Microsoft.Dynamics.CRM.DeleteMultiple", json={"Targets": []})
    assert error_of(r)[2] == "DeleteMultiple has not yet been implemented."
