"""Schema provisioning against a fresh Dataverse emulator per test (metadata API, then the data API).

Request shapes: create-update-entity-definitions-using-web-api.md, create-update-column-definitions-using-
web-api.md, create-update-entity-relationships-using-web-api.md, create-update-optionsets.md,
define-alternate-keys-entity.md (Microsoft Learn, Dataverse developer guide).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from emulators.dataverse import start_server
from shared.dataverse import DataverseClient, StaticToken
from shared.dataverse.schema import provision
from shared.errors import PreflightBlocked, SchemaConflict
from shared.mapping.schema_plan import SchemaPlan, parse_schema_plan

SOLUTION = "IntactMigration"
PLAN: dict[str, Any] = {
    "tables": [
        {
            "name": "ProgramEnrollment",
            "seed_name": "Program_Enrollment__c",
            "display_name": "Program enrollment",
            "plural_name": "Program enrollments",
            "has_notes": True,
        }
    ],
    "option_sets": [
        {
            "name": "LifecycleStage",
            "display_name": "Lifecycle stage",
            "options": [{"label": "Lead"}, {"label": "Client"}],
        }
    ],
    "columns": [
        {"table": "account", "name": "Tier", "display_name": "Tier", "type": "string", "max_length": 50},
        {
            "table": "account",
            "name": "LifecycleStage",
            "seed_name": "Client_Lifecycle_Stage__c",
            "display_name": "Lifecycle stage",
            "type": "choice",
            "global_option_set": "LifecycleStage",
        },
        {"table": "contact", "name": "ClientSince", "display_name": "Client since", "type": "date"},
        {"table": "ProgramEnrollment", "name": "SourceId", "display_name": "Source id", "type": "string"},
        {
            "table": "ProgramEnrollment",
            "name": "Status",
            "display_name": "Status",
            "type": "choice",
            "options": [{"label": "Active"}, {"label": "Paused"}, {"label": "Done", "value": 7}],
        },
        {"table": "ProgramEnrollment", "name": "Fee", "display_name": "Fee", "type": "money"},
        {"table": "ProgramEnrollment", "name": "Hours", "display_name": "Hours", "type": "decimal", "min": 0},
        {"table": "ProgramEnrollment", "name": "StartDate", "display_name": "Start", "type": "date"},
        {
            "table": "ProgramEnrollment",
            "name": "Contact",
            "display_name": "Contact",
            "type": "lookup",
            "target": "contact",
        },
        {
            "table": "contact",
            "name": "CurrentEnrollment",
            "display_name": "Current enrollment",
            "type": "lookup",
            "target": "ProgramEnrollment",
        },
    ],
    "keys": [{"table": "ProgramEnrollment", "name": "SourceKey", "columns": ["SourceId"]}],
}


class _Emulator:
    def __init__(self, **kw: Any) -> None:
        self.handle = start_server(port=0, limits=False, solutions=(f"{SOLUTION}:new",), **kw)
        self.url = self.handle.base_url

    def client(self, transport: httpx.BaseTransport | None = None) -> DataverseClient:
        return DataverseClient(self.url, StaticToken("t"), transport=transport)

    def schema(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/_emulator/schema").json())


@pytest.fixture
def emulator() -> Iterator[_Emulator]:
    emu = _Emulator()
    yield emu
    emu.handle.close()


def _provision(client: DataverseClient, plan: SchemaPlan, **kw: Any) -> Any:
    return provision(client, plan, prefix="new", option_prefix=10000, solution=SOLUTION, **kw)


def test_INT_01_plan_is_provisioned_in_the_solution_and_the_data_api_takes_every_column(
    emulator: _Emulator,
) -> None:
    plan = parse_schema_plan(PLAN)
    with emulator.client() as dv:
        result = _provision(dv, plan)
        assert result.counts == {"created": 13, "present": 0, "changed": 0}
        assert result.entity_sets == {"new_programenrollment": "new_programenrollments"}
        assert "table new_programenrollment" in result.created
        assert "lookup contact.new_currentenrollment" in result.created
        assert set(result.published) >= {"account", "contact", "new_programenrollment", "new_lifecyclestage"}

        components = emulator.schema()["solutioncomponents"]
        assert {c["solution"] for c in components} == {SOLUTION}
        assert all(c["published"] for c in components)
        table = dv.request(
            "GET",
            "EntityDefinitions(LogicalName='new_programenrollment')",
            params={"$select": "SchemaName,Description,HasNotes"},
        ).json()
        assert table["SchemaName"] == "new_ProgramEnrollment"  # prefix + name, never __c
        assert "Program_Enrollment__c" in table["Description"]["UserLocalizedLabel"]["Label"]
        assert table["HasNotes"] is True
        status = dv.request(
            "GET",
            "EntityDefinitions(LogicalName='new_programenrollment')/Attributes(LogicalName='new_status')"
            "/Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
            params={"$select": "LogicalName", "$expand": "OptionSet($select=Options)"},
        ).json()
        assert [o["Value"] for o in status["OptionSet"]["Options"]] == [100000000, 100000001, 7]

        # the data API accepts a row using every column
        contact = "00000000-0000-0000-0000-00000000c001"
        dv.request(
            "POST",
            "contacts",
            json={"contactid": contact, "lastname": "Row", "new_clientsince": "2024-03-01"},
        )
        enrollment = "00000000-0000-0000-0000-00000000e001"
        dv.request(
            "POST",
            "new_programenrollments",
            json={
                "new_programenrollmentid": enrollment,
                "new_name": "Spring cohort",
                "new_sourceid": "PE-1",
                "new_status": 100000001,
                "new_fee": 120.5,
                "new_hours": 12.25,
                "new_startdate": "2024-04-01",
                "new_Contact@odata.bind": f"/contacts({contact})",
            },
        )
        dv.request(
            "PATCH",
            f"contacts({contact})",
            json={"new_CurrentEnrollment@odata.bind": f"/new_programenrollments({enrollment})"},
        )
        dv.request(
            "POST", "accounts", json={"name": "Acme", "new_tier": "Gold", "new_lifecyclestage": 100000001}
        )
        dv.request(
            "POST",
            "annotations",
            json={
                "subject": "note",
                "objectid_new_programenrollment@odata.bind": f"/new_programenrollments({enrollment})",
            },
        )
        by_key = dv.request("GET", "new_programenrollments(new_sourceid='PE-1')").json()
        assert by_key["_new_contact_value"] == contact
        assert by_key["new_status"] == 100000001
        assert dv.request("GET", f"contacts({contact})").json()["_new_currentenrollment_value"] == enrollment


def test_INT_01_second_provision_is_a_no_op(emulator: _Emulator) -> None:
    plan = parse_schema_plan(PLAN)
    with emulator.client() as dv:
        _provision(dv, plan)
        before = emulator.schema()
        writes: list[str] = []
        transport = _Recording(writes)
    with emulator.client(transport) as dv:
        again = _provision(dv, plan)
    assert again.noop and again.counts == {"created": 0, "present": 13, "changed": 0}
    assert again.published == []
    assert writes == []  # only reads: no create, no PUT, no publish
    assert emulator.schema() == before
    assert again.summary().startswith("schema already provisioned")


def test_SD_12_verify_mode_writes_nothing_and_names_what_the_customer_must_create(
    emulator: _Emulator,
) -> None:
    from shared.dataverse.schema import verify
    from shared.errors import SchemaNotReady

    plan = parse_schema_plan(PLAN)
    writes: list[str] = []
    with emulator.client(_Recording(writes)) as dv:
        before = emulator.schema()
        with pytest.raises(SchemaNotReady) as err:
            verify(dv, plan, prefix="new", option_prefix=10000)
    assert writes == [] and emulator.schema() == before  # verify never creates
    assert "table new_programenrollment" in str(err.value) and "schema-plan.md" in str(err.value)
    with emulator.client() as dv:  # the customer creates it (here: provisioning does, the same way)
        _provision(dv, plan)
        checked = verify(dv, plan, prefix="new", option_prefix=10000)
    assert checked.created == [] and len(checked.present) == 13


def test_existing_column_of_another_type_is_a_conflict_and_nothing_is_written(emulator: _Emulator) -> None:
    earlier = parse_schema_plan(
        {"columns": [{"table": "account", "name": "Tier", "display_name": "Tier", "type": "integer"}]}
    )
    with emulator.client() as dv:
        _provision(dv, earlier)
        before = emulator.schema()
        with pytest.raises(SchemaConflict) as err:
            _provision(dv, parse_schema_plan(PLAN))
    assert "account.new_tier exists as IntegerType; the plan needs string" in str(err.value)
    assert emulator.schema() == before


def test_failure_mid_table_leaves_no_table_behind(emulator: _Emulator) -> None:
    def refuse_fee(request: httpx.Request) -> httpx.Response | None:
        if request.method == "POST" and b'"new_Fee"' in request.content:
            return httpx.Response(
                400, json={"error": {"code": "0x80040203", "message": "refused for the test"}}
            )
        return None

    with emulator.client(_Recording([], refuse_fee)) as dv:
        with pytest.raises(SchemaConflict) as err:
            _provision(dv, parse_schema_plan(PLAN))
        message = str(err.value)
        assert "column new_programenrollment.new_fee" in message
        assert "deleted the incomplete table new_programenrollment" in message
        tables = dv.request(
            "GET", "EntityDefinitions", params={"$select": "LogicalName", "$filter": "IsCustomEntity eq true"}
        ).json()["value"]
    assert tables == []
    assert not any(
        c["name"].startswith("new_programenrollment") for c in emulator.schema()["solutioncomponents"]
    )


def _tables(n: int) -> SchemaPlan:
    return parse_schema_plan(
        {
            "tables": [
                {"name": f"T{i:02d}", "display_name": f"T{i}", "plural_name": f"T{i}s"}
                for i in range(1, n + 1)
            ]
        }
    )


def test_16th_custom_table_on_professional_is_refused_naming_the_surplus() -> None:
    emu = _Emulator(licence="professional")
    try:
        with emu.client() as dv:
            with pytest.raises(PreflightBlocked) as upfront:
                _provision(dv, _tables(16), custom_table_cap=15)
            assert "surplus new_t16" in str(upfront.value) and "nothing was created" in str(upfront.value)
            assert emu.schema()["licence"]["custom_tables"] == 0
            # without a known cap the target's refusal is surfaced the same way
            with pytest.raises(PreflightBlocked) as refused:
                _provision(dv, _tables(16))
            assert "new_t16" in str(refused.value)
            assert emu.schema()["licence"]["custom_tables"] == 15
    finally:
        emu.handle.close()


class _Recording(httpx.HTTPTransport):
    """A real transport that records write requests and can answer some itself."""

    def __init__(self, writes: list[str], intercept: Any = None) -> None:
        super().__init__()
        self.writes, self.intercept = writes, intercept

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.intercept is not None:
            request.read()
            canned = self.intercept(request)
            if canned is not None:
                return canned
        if request.method != "GET":
            self.writes.append(f"{request.method} {request.url.path} {json.loads(request.content or b'{}')}")
        return super().handle_request(request)
