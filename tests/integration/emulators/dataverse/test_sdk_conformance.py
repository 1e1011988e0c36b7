"""Conformance with an independent client: Microsoft's Python SDK against the emulator over HTTPS.

`powerplatform-dataverse-client` 1.1.0 (a dev dependency, MIT) is Microsoft's own Web API client.
Its sync client refuses `http://`, so the emulator serves HTTPS with its loopback CA
(`start_server(tls=True)`), trusted through `REQUESTS_CA_BUNDLE` (the SDK uses `requests`). Each test
does what an SDK user would and checks the SDK gets what it expects; a
server-side request log checks which Web API requests the SDK actually sent.

Docs followed by the SDK (and so by these tests): powerapps-docs developer/data-platform/webapi/
create-entity-web-api.md, retrieve-entity-using-web-api.md, query/overview.md (paging with
`Prefer: odata.maxpagesize`), bulk-operations.md (CreateMultiple, UpsertMultiple),
use-upsert-insert-update-record.md (alternate keys), execute-batch-operations-using-web-api.md,
create-update-entity-definitions-using-web-api.md, create-update-column-definitions-using-web-api.md,
create-update-entity-relationships-using-web-api.md, define-alternate-keys-reference-records.md.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import uuid
from collections.abc import Iterator
from enum import IntEnum
from typing import Any
from urllib.parse import unquote_plus

import httpx
import pytest

from emulators.dataverse import ServerHandle, start_server

pytest.importorskip("PowerPlatform.Dataverse", reason="dev dependency powerplatform-dataverse-client")

from azure.core.credentials import AccessToken
from PowerPlatform.Dataverse.client import DataverseClient
from PowerPlatform.Dataverse.core.errors import HttpError
from PowerPlatform.Dataverse.models.labels import Label, LocalizedLabel
from PowerPlatform.Dataverse.models.relationship import LookupAttributeMetadata, OneToManyRelationshipMetadata

TOKEN = "sdk-conformance-token"


def entity_set_lookup(table: str) -> tuple[str, str]:
    """The request the SDK sends on first use of a table (data/_odata.py `_entity_set_from_schema_name`)."""
    return (
        "GET",
        "/api/data/v9.2/EntityDefinitions?$select=LogicalName,EntitySetName,PrimaryIdAttribute"
        f"&$filter=LogicalName eq '{table}'",
    )


class StaticCredential:
    """Anything with `get_token` is a TokenCredential to the SDK; the emulator accepts any token."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(TOKEN, 4_102_444_800)  # 2100-01-01


class RequestLog:
    """Wraps `Emulator.handle` to record the (method, path?query) of every request the SDK sends."""

    def __init__(self, handle: ServerHandle) -> None:
        self.lock = threading.Lock()
        self.entries: list[tuple[str, str]] = []
        self.authorizations: set[str] = set()
        inner = handle.emulator.handle

        def recording(method: str, raw_path: str, headers: Any, *args: Any, **kwargs: Any) -> Any:
            with self.lock:
                self.entries.append((method, raw_path))
                self.authorizations.add(str(headers.get("Authorization")))
            return inner(method, raw_path, headers, *args, **kwargs)

        handle.emulator.handle = recording  # type: ignore[method-assign]

    def mark(self) -> int:
        with self.lock:
            return len(self.entries)

    def since(self, mark: int) -> list[tuple[str, str]]:
        with self.lock:
            return [(m, unquote_plus(p)) for m, p in self.entries[mark:]]


@pytest.fixture(scope="module")
def dv() -> Iterator[ServerHandle]:
    with start_server(tls=True, limits=False) as handle:
        yield handle


@pytest.fixture(scope="module")
def log(dv: ServerHandle) -> RequestLog:
    return RequestLog(dv)


@pytest.fixture(scope="module")
def trusted(dv: ServerHandle) -> Iterator[None]:
    """`requests` (and so the SDK) trusts the emulator's CA."""
    assert dv.cert_path is not None
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REQUESTS_CA_BUNDLE", dv.cert_path)
        yield


@pytest.fixture(scope="module")
def sdk(dv: ServerHandle, log: RequestLog, trusted: None) -> Iterator[DataverseClient]:
    with DataverseClient(dv.base_url, StaticCredential()) as client:
        yield client


@pytest.fixture
def fresh_sdk(dv: ServerHandle, log: RequestLog, trusted: None) -> Iterator[DataverseClient]:
    """A new client with empty metadata caches, to see what the SDK sends on first use of a table."""
    with DataverseClient(dv.base_url, StaticCredential()) as client:
        yield client


def _names(n: int, prefix: str) -> list[str]:
    return [f"{prefix} {i}" for i in range(n)]


def test_sdk_talks_to_the_emulator_over_https_with_its_token(
    dv: ServerHandle, fresh_sdk: DataverseClient, log: RequestLog
) -> None:
    """Runs today: the HTTPS, CA trust and bearer-token plumbing the other tests stand on."""
    assert dv.base_url.startswith("https://127.0.0.1:")
    mark = log.mark()
    with contextlib.suppress(HttpError):  # whatever the metadata API answers, the request got there
        fresh_sdk.records.create("account", {"name": "SDK first contact"})
    assert log.since(mark)[0] == entity_set_lookup("account")
    assert log.authorizations == {f"Bearer {TOKEN}"}


# --- records ------------------------------------------------------------------------------------


def test_create_resolves_entity_set_then_posts(
    sdk: DataverseClient, fresh_sdk: DataverseClient, log: RequestLog
) -> None:
    mark = log.mark()
    account_id = fresh_sdk.records.create("account", {"name": "SDK Contoso", "telephone1": "555-0100"})
    assert uuid.UUID(account_id)
    sent = log.since(mark)
    assert sent[0] == entity_set_lookup("account")
    assert sent[-1] == ("POST", "/api/data/v9.2/accounts")
    record = sdk.records.retrieve("account", account_id, select=["name", "telephone1"])
    assert record is not None
    assert record.id == account_id
    assert (record["name"], record["telephone1"]) == ("SDK Contoso", "555-0100")


def test_create_converts_choice_labels_through_picklist_metadata(
    sdk: DataverseClient, fresh_sdk: DataverseClient, log: RequestLog
) -> None:
    mark = log.mark()
    account_id = fresh_sdk.records.create(
        "account", {"name": "SDK Labelled", "accountcategorycode": "Standard"}
    )
    assert any("PicklistAttributeMetadata" in path for _, path in log.since(mark))
    record = sdk.records.retrieve("account", account_id, select=["accountcategorycode"])
    assert record is not None and record["accountcategorycode"] == 2


def test_create_many_uses_create_multiple(sdk: DataverseClient, log: RequestLog) -> None:
    names = _names(3, "SDK Many")
    mark = log.mark()
    ids = sdk.records.create("account", [{"name": n} for n in names])
    assert len(ids) == 3 and len(set(ids)) == 3
    assert log.since(mark)[-1] == ("POST", "/api/data/v9.2/accounts/Microsoft.Dynamics.CRM.CreateMultiple")
    for record_id, name in zip(ids, names, strict=True):
        record = sdk.records.retrieve("account", record_id, select=["name"])
        assert record is not None and record["name"] == name


def test_query_filter_select_orderby_top_and_paging(sdk: DataverseClient) -> None:
    names = _names(5, "SDK Page")
    sdk.records.create("account", [{"name": n, "numberofemployees": i} for i, n in enumerate(names)])

    pages = list(
        sdk.records.list_pages(
            "account",
            filter="startswith(name,'SDK Page')",
            select=["name", "numberofemployees"],
            orderby=["name asc"],
            page_size=2,
        )
    )
    assert [len(p) for p in pages] == [2, 2, 1]  # followed @odata.nextLink twice
    assert [r["name"] for p in pages for r in p] == names
    assert all(set(r.data) >= {"name", "numberofemployees"} for p in pages for r in p)

    top = sdk.records.list(
        "account",
        filter="numberofemployees ge 2 and startswith(name,'SDK Page')",
        orderby=["name desc"],
        top=2,
    )
    assert [r["name"] for r in top] == ["SDK Page 4", "SDK Page 3"]


def test_update_and_delete(sdk: DataverseClient) -> None:
    account_id = sdk.records.create("account", {"name": "SDK Doomed"})
    sdk.records.update("account", account_id, {"telephone1": "555-0199"})
    record = sdk.records.retrieve("account", account_id, select=["name", "telephone1"])
    assert record is not None and record["telephone1"] == "555-0199"

    sdk.records.delete("account", account_id)
    assert sdk.records.retrieve("account", account_id) is None  # the SDK maps 404 to None
    with pytest.raises(HttpError) as exc:
        sdk.records.delete("account", account_id)
    assert exc.value.status_code == 404
    assert exc.value.details.get("service_error_code") == "0x80040217"


def test_validation_error_reaches_the_sdk_with_dataverse_code(sdk: DataverseClient) -> None:
    with pytest.raises(HttpError) as exc:
        sdk.records.create("account", {"name": "x" * 161})
    assert exc.value.status_code == 400
    assert exc.value.details.get("service_error_code") == "0x80044331"
    assert "exceeded the maximum allowed length of '160'" in str(exc.value)


# --- alternate keys and upsert (need the metadata API's Keys) -----------------------------------


def test_upsert_by_alternate_key(sdk: DataverseClient, log: RequestLog) -> None:
    key = sdk.tables.create_alternate_key("account", "new_accountnumber_key", ["accountnumber"])
    assert key.key_attributes == ["accountnumber"]

    mark = log.mark()
    sdk.records.upsert(
        "account", [{"alternate_key": {"accountnumber": "SDK-UP-1"}, "record": {"name": "Upserted once"}}]
    )
    assert log.since(mark)[-1] == ("PATCH", "/api/data/v9.2/accounts(accountnumber='SDK-UP-1')")
    sdk.records.upsert(
        "account", [{"alternate_key": {"accountnumber": "SDK-UP-1"}, "record": {"name": "Upserted twice"}}]
    )

    mark = log.mark()
    sdk.records.upsert(
        "account",
        [
            {"alternate_key": {"accountnumber": "SDK-UP-1"}, "record": {"name": "Upserted thrice"}},
            {"alternate_key": {"accountnumber": "SDK-UP-2"}, "record": {"name": "Upserted new"}},
        ],
    )
    assert log.since(mark)[-1] == ("POST", "/api/data/v9.2/accounts/Microsoft.Dynamics.CRM.UpsertMultiple")

    rows = sdk.records.list(
        "account", filter="startswith(accountnumber,'SDK-UP-')", select=["accountnumber", "name"]
    )
    assert sorted((r["accountnumber"], r["name"]) for r in rows) == [
        ("SDK-UP-1", "Upserted thrice"),
        ("SDK-UP-2", "Upserted new"),
    ]


# --- $batch -------------------------------------------------------------------------------------


def test_batch_with_changeset(sdk: DataverseClient) -> None:
    batch = sdk.batch.new()
    batch.records.create("account", {"name": "SDK Batch loose"})
    with batch.changeset() as cs:
        cs.records.create("account", {"name": "SDK Batch cs 1"})
        cs.records.create("account", {"name": "SDK Batch cs 2"})
    result = batch.execute()
    assert [r.status_code for r in result.responses] == [204, 204, 204]
    assert not result.failed
    rows = sdk.records.list("account", filter="startswith(name,'SDK Batch')", select=["name"])
    assert sorted(r["name"] for r in rows) == ["SDK Batch cs 1", "SDK Batch cs 2", "SDK Batch loose"]


# --- metadata: a custom table with columns, a choice, a lookup and an alternate key --------------


class ProjectStage(IntEnum):
    PLANNED = 100000000
    RUNNING = 100000001
    DONE = 100000002


def test_create_custom_table_with_columns(sdk: DataverseClient) -> None:
    info = sdk.tables.create(
        "new_SdkTask",
        {"new_Code": "string", "new_Hours": "decimal", "new_Stage": ProjectStage},
        primary_column="new_Name",
        display_name="SDK Task",
    )
    assert info.logical_name == "new_sdktask"
    assert info.entity_set_name and info.primary_name_attribute == "new_name"
    assert info.columns_created == ["new_Code", "new_Hours", "new_Stage"]
    task_id = sdk.records.create("new_SdkTask", {"new_name": "Write", "new_stage": "Done"})
    record = sdk.records.retrieve("new_SdkTask", task_id, select=["new_stage"])
    assert record is not None and record["new_stage"] == ProjectStage.DONE


def test_create_lookup_field_helper(sdk: DataverseClient) -> None:
    info = sdk.tables.create_lookup_field("contact", "new_SdkAccountId", "account")
    assert info.relationship_schema_name == "account_contact_new_SdkAccountId"


def _label(text: str) -> dict[str, Any]:
    return {
        "LocalizedLabels": [
            {"@odata.type": "Microsoft.Dynamics.CRM.LocalizedLabel", "Label": text, "LanguageCode": 1033}
        ]
    }


def test_custom_table_columns_choice_lookup_and_alternate_key(dv: ServerHandle, sdk: DataverseClient) -> None:
    # The table itself through the documented POST EntityDefinitions (the SDK's tables.create uses
    # CreateEntities, tested above); everything after it through the SDK.
    assert dv.cert_path is not None
    table_body = {
        "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata",
        "SchemaName": "new_SdkProject",
        "DisplayName": _label("SDK Project"),
        "DisplayCollectionName": _label("SDK Projects"),
        "OwnershipType": "UserOwned",
        "HasNotes": True,
        "HasActivities": False,
        "IsActivity": False,
        "Attributes": [
            {
                "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
                "SchemaName": "new_Name",
                "IsPrimaryName": True,
                "MaxLength": 100,
                "RequiredLevel": {"Value": "None"},
                "DisplayName": _label("Name"),
            }
        ],
    }
    r = httpx.post(
        f"{dv.api_url}EntityDefinitions",
        json=table_body,
        headers={"Authorization": f"Bearer {TOKEN}"},
        verify=ssl.create_default_context(cafile=dv.cert_path),
    )
    assert r.status_code == 204, r.text

    table = sdk.tables.get("new_SdkProject")
    assert table is not None
    assert (table.logical_name, table.primary_name_attribute) == ("new_sdkproject", "new_name")

    created = sdk.tables.add_columns(
        "new_SdkProject", {"new_Code": "string", "new_Budget": "decimal", "new_Stage": ProjectStage}
    )
    assert created == ["new_Code", "new_Budget", "new_Stage"]
    # A relationship named by the caller (create_lookup_field names it for you, tested above).
    lookup = sdk.tables.create_one_to_many_relationship(
        LookupAttributeMetadata(
            schema_name="new_AccountId",
            display_name=Label(localized_labels=[LocalizedLabel(label="Account", language_code=1033)]),
        ),
        OneToManyRelationshipMetadata(
            schema_name="new_account_new_sdkproject",
            referenced_entity="account",
            referencing_entity="new_sdkproject",
            referenced_attribute="accountid",
        ),
    )
    assert lookup.relationship_schema_name == "new_account_new_sdkproject"
    assert lookup.lookup_schema_name == "new_AccountId"
    key = sdk.tables.create_alternate_key("new_SdkProject", "new_code_key", ["new_code"])
    assert key.key_attributes == ["new_code"]
    assert [k.schema_name for k in sdk.tables.get_alternate_keys("new_SdkProject")] == ["new_code_key"]

    account_id = sdk.records.create("account", {"name": "SDK Project owner"})
    project_id = sdk.records.create(
        "new_SdkProject",
        {
            "new_name": "Apollo",
            "new_code": "P-1",
            "new_budget": 1250.5,
            "new_stage": "Running",  # the SDK turns the label into 100000001 via the picklist metadata
            # a custom lookup's navigation property is its SchemaName, case-sensitive (as the SDK notes)
            "new_AccountId@odata.bind": f"/accounts({account_id})",
        },
    )
    record = sdk.records.retrieve("new_SdkProject", project_id)
    assert record is not None
    assert (record["new_code"], record["new_stage"]) == ("P-1", ProjectStage.RUNNING)
    assert record["_new_accountid_value"] == account_id

    sdk.records.upsert(
        "new_SdkProject", [{"alternate_key": {"new_code": "P-1"}, "record": {"new_budget": 9}}]
    )
    record = sdk.records.retrieve("new_SdkProject", project_id, select=["new_budget"])
    assert record is not None and float(record["new_budget"]) == 9.0
