"""Alternate keys over real HTTP: defining keys (EntityKeyMetadata, index status) and using them in the
data API (retrieve, upsert, delete, @odata.bind, UpsertMultiple @odata.id, duplicate values)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from emulators.dataverse import ServerHandle, start_server

from .conftest import entity_id, error_of

KEYS = "EntityDefinitions(LogicalName='account')/Keys"


def _key(client: httpx.Client, table: str, schema: str, attrs: list[str]) -> httpx.Response:
    body = {
        "SchemaName": schema,
        "DisplayName": {"LocalizedLabels": [{"Label": schema, "LanguageCode": 1033}]},
        "KeyAttributes": attrs,
    }
    return client.post(f"EntityDefinitions(LogicalName='{table}')/Keys", json=body)


@pytest.fixture(scope="module")
def server() -> Iterator[ServerHandle]:
    with start_server(port=0, limits=False) as handle:
        yield handle


@pytest.fixture(scope="module")
def client(server: ServerHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.api_url, headers={"Authorization": "Bearer t"}, timeout=10) as c:
        assert _key(c, "account", "new_AccountNumberKey", ["accountnumber"]).status_code == 204
        yield c


def test_key_metadata_reads_back_active(client: httpx.Client) -> None:
    # define-alternate-keys-entity.md / EntityKeyMetadata: KeyAttributes, EntityKeyIndexStatus
    [key] = client.get(KEYS).json()["value"]
    assert key["@odata.type"] == "#Microsoft.Dynamics.CRM.EntityKeyMetadata"
    assert key["KeyAttributes"] == ["accountnumber"] and key["EntityKeyIndexStatus"] == "Active"
    one = client.get(f"{KEYS}(LogicalName='new_accountnumberkey')").json()
    assert one["MetadataId"] == key["MetadataId"]


def test_retrieve_by_alternate_key(client: httpx.Client) -> None:
    # use-alternate-key-reference-record.md: GET accounts(accountnumber='ABC123')
    rid = entity_id(client.post("accounts", json={"name": "Keyed", "accountnumber": "K-1"}))
    r = client.get("accounts(accountnumber='K-1')", params={"$select": "name"})
    assert r.status_code == 200 and r.json()["accountid"] == rid


def test_missing_key_value_is_404_0x80060891(client: httpx.Client) -> None:
    # data-service-errors: RecordNotFoundByEntityKey
    r = client.get("accounts(accountnumber='none')")
    assert error_of(r)[:2] == (404, "0x80060891")


def test_undefined_key_is_0x80060890(client: httpx.Client) -> None:
    # data-service-errors: EntityKeyNotDefined
    r = client.get("accounts(name='x')")
    assert error_of(r)[:2] == (400, "0x80060890")


def test_patch_by_key_creates_then_updates(client: httpx.Client) -> None:
    # use-alternate-key-reference-record.md + perform-conditional-operations: upsert by key
    r = client.patch("accounts(accountnumber='UP-1')", json={"name": "First"})
    assert r.status_code == 204
    r = client.patch(
        "accounts(accountnumber='UP-1')", json={"name": "Second"}, headers={"Prefer": "return=representation"}
    )
    assert r.status_code == 200 and r.json()["name"] == "Second" and r.json()["accountnumber"] == "UP-1"
    miss = client.patch("accounts(accountnumber='UP-404')", json={"name": "x"}, headers={"If-Match": "*"})
    assert miss.status_code == 404


def test_delete_by_key(client: httpx.Client) -> None:
    # use-alternate-key-reference-record.md: a key can be used wherever the primary key is.
    client.post("accounts", json={"name": "Doomed", "accountnumber": "DEL-1"})
    assert client.delete("accounts(accountnumber='DEL-1')").status_code == 204
    assert client.get("accounts(accountnumber='DEL-1')").status_code == 404


def test_duplicate_key_value_on_create_is_412(client: httpx.Client) -> None:
    # data-service-errors: DuplicateRecordEntityKey 0x80060892 (412, as live orgs answer); values compare
    # case-insensitively like the SQL Server collation.
    client.post("accounts", json={"name": "One", "accountnumber": "DUP-1"})
    status, code, message = error_of(client.post("accounts", json={"name": "Two", "accountnumber": "dup-1"}))
    assert (status, code) == (412, "0x80060892") and "accountnumber" in message


def test_duplicate_key_value_on_update_is_412(client: httpx.Client) -> None:
    # data-service-errors: DuplicateRecordEntityKey
    client.post("accounts", json={"name": "A", "accountnumber": "U-A"})
    b = entity_id(client.post("accounts", json={"name": "B", "accountnumber": "U-B"}))
    assert error_of(client.patch(f"accounts({b})", json={"accountnumber": "U-A"}, headers={"If-Match": "*"}))[
        :2
    ] == (
        412,
        "0x80060892",
    )


def test_bind_lookup_by_alternate_key(client: httpx.Client) -> None:
    # use-alternate-key-reference-record.md: lookups bound by key, "/accounts(accountnumber='…')"
    parent = entity_id(client.post("accounts", json={"name": "Parent", "accountnumber": "P-1"}))
    r = client.post(
        "contacts",
        json={"lastname": "Kid", "parentcustomerid_account@odata.bind": "/accounts(accountnumber='P-1')"},
    )
    assert r.status_code == 204, r.text
    got = client.get(f"contacts({entity_id(r)})", params={"$select": "_parentcustomerid_value"}).json()
    assert got["_parentcustomerid_value"] == parent
    missing = client.post(
        "contacts",
        json={
            "lastname": "Orphan",
            "parentcustomerid_account@odata.bind": "/accounts(accountnumber='P-404')",
        },
    )
    assert error_of(missing)[:2] == (404, "0x80060891")


def test_upsert_multiple_by_odata_id_key(client: httpx.Client) -> None:
    # bulk-operations.md: UpsertMultiple items identified by "@odata.id": "accounts(accountnumber='…')"
    existing = entity_id(client.post("accounts", json={"name": "Old", "accountnumber": "UM-1"}))
    targets = [
        {
            "@odata.type": "Microsoft.Dynamics.CRM.account",
            "@odata.id": "accounts(accountnumber='UM-1')",
            "name": "New",
        },
        {
            "@odata.type": "Microsoft.Dynamics.CRM.account",
            "@odata.id": "accounts(accountnumber='UM-2')",
            "name": "Fresh",
        },
    ]
    r = client.post("accounts/Microsoft.Dynamics.CRM.UpsertMultiple", json={"Targets": targets})
    assert r.status_code == 204, r.text
    assert client.get(f"accounts({existing})").json()["name"] == "New"
    assert client.get("accounts(accountnumber='UM-2')").json()["name"] == "Fresh"


def test_upsert_multiple_create_with_key_column_in_body_is_400(client: httpx.Client) -> None:
    # notes/dataverse.md: known pitfall — 400 on the create path when the key column is also in the body.
    target = {
        "@odata.type": "Microsoft.Dynamics.CRM.account",
        "@odata.id": "accounts(accountnumber='UM-9')",
        "name": "x",
        "accountnumber": "UM-9",
    }
    r = client.post("accounts/Microsoft.Dynamics.CRM.UpsertMultiple", json={"Targets": [target]})
    status, code, _ = error_of(r)
    assert (status, code) == (400, "0x80040203") and r.json()["error"]["@emulator.TargetIndex"] == 0


def test_key_value_with_url_breaking_characters(client: httpx.Client) -> None:
    # notes/dataverse.md (define-alternate-keys-entity.md): / < > * % & : \ ? + in key values break key URLs.
    r = client.get("accounts(accountnumber='A%26B')")
    assert r.status_code == 400


def test_key_name_and_attribute_set_must_be_unique(client: httpx.Client) -> None:
    # data-service-errors: EntityKeyNameExists 0x80060893, EntityKeyWithSelectedAttributesExists 0x80060894
    assert error_of(_key(client, "account", "new_AccountNumberKey", ["name"]))[1] == "0x80060893"
    assert error_of(_key(client, "account", "new_Other", ["accountnumber"]))[1] == "0x80060894"


def test_at_most_ten_keys_per_table(client: httpx.Client) -> None:
    # define-alternate-keys-entity.md: a table can have at most 10 alternate keys.
    for i in range(10):
        body = {"@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", "SchemaName": f"new_K{i}"}
        assert (
            client.post("EntityDefinitions(LogicalName='contact')/Attributes", json=body).status_code == 204
        )
        assert _key(client, "contact", f"new_Key{i}", [f"new_k{i}"]).status_code == 204
    body = {"@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", "SchemaName": "new_K10"}
    client.post("EntityDefinitions(LogicalName='contact')/Attributes", json=body)
    assert error_of(_key(client, "contact", "new_Key10", ["new_k10"]))[:2] == (400, "0x80040203")


def test_key_on_existing_duplicates_fails() -> None:
    # define-alternate-keys-entity.md: index creation fails when existing rows have duplicate values.
    with (
        start_server(port=0, limits=False) as dv,
        httpx.Client(base_url=dv.api_url, headers={"Authorization": "Bearer t"}) as c,
    ):
        c.post("accounts", json={"name": "a", "accountnumber": "SAME"})
        c.post("accounts", json={"name": "b", "accountnumber": "same"})
        assert _key(c, "account", "new_AccountNumberKey", ["accountnumber"]).status_code == 204
        [key] = c.get(KEYS).json()["value"]
        assert key["EntityKeyIndexStatus"] == "Failed"
        assert error_of(c.get("accounts(accountnumber='SAME')"))[1] == "0x80060890"


def test_key_is_pending_then_active_after_delay() -> None:
    # define-alternate-keys-entity.md: the index is built asynchronously; keys are usable once Active.
    with (
        start_server(port=0, limits=False, key_activation_delay=0.3) as dv,
        httpx.Client(base_url=dv.api_url, headers={"Authorization": "Bearer t"}) as c,
    ):
        c.post("accounts", json={"name": "a", "accountnumber": "PEND-1"})
        assert _key(c, "account", "new_AccountNumberKey", ["accountnumber"]).status_code == 204
        assert c.get(KEYS).json()["value"][0]["EntityKeyIndexStatus"] == "Pending"
        assert error_of(c.get("accounts(accountnumber='PEND-1')"))[1] == "0x80060890"
        time.sleep(0.35)
        assert c.get(KEYS).json()["value"][0]["EntityKeyIndexStatus"] == "Active"
        assert c.get("accounts(accountnumber='PEND-1')").status_code == 200


def test_delete_key(client: httpx.Client) -> None:
    # define-alternate-keys-entity.md: keys can be deleted.
    assert _key(client, "account", "new_NameKey", ["name"]).status_code == 204
    assert client.delete(f"{KEYS}(LogicalName='new_namekey')").status_code == 204
    assert client.get(f"{KEYS}(LogicalName='new_namekey')").status_code == 404
