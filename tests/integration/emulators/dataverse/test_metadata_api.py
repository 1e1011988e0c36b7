"""Metadata Web API over real HTTP: reads as Dataverse returns them, creates honouring
MSCRM.SolutionUniqueName, custom tables usable by the data API at once."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from emulators.dataverse import ServerHandle, start_server

from .conftest import entity_id, error_of

SOL = {"MSCRM.SolutionUniqueName": "intact"}


def lbl(text: str) -> dict:
    return {"LocalizedLabels": [{"Label": text, "LanguageCode": 1033}]}


def table_body(schema: str, **extra: object) -> dict:
    return {
        "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata",
        "SchemaName": schema,
        "DisplayName": lbl(schema),
        "DisplayCollectionName": lbl(schema + "s"),
        "OwnershipType": "UserOwned",
        "HasNotes": True,
        "HasActivities": False,
        "IsActivity": False,
        "Attributes": [
            {
                "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
                "SchemaName": "int_Name",
                "IsPrimaryName": True,
                "MaxLength": 100,
                "RequiredLevel": {"Value": "None"},
                "DisplayName": lbl("Name"),
            }
        ],
        **extra,
    }


@pytest.fixture(scope="module")
def server() -> Iterator[ServerHandle]:
    with start_server(port=0, limits=False, solutions=("intact:int",)) as handle:
        yield handle


@pytest.fixture(scope="module")
def client(server: ServerHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.api_url, headers={"Authorization": "Bearer t"}, timeout=10) as c:
        yield c


@pytest.fixture(scope="module")
def project(client: httpx.Client) -> str:
    r = client.post("EntityDefinitions", json=table_body("int_Project"), headers=SOL)
    assert r.status_code == 204, r.text
    return "int_project"


def test_entity_definitions_filter_and_select(client: httpx.Client) -> None:
    # query-metadata-web-api.md: $select/$filter on EntityDefinitions (what the Python SDK sends first).
    r = client.get(
        "EntityDefinitions",
        params={
            "$select": "LogicalName,EntitySetName,PrimaryIdAttribute",
            "$filter": "LogicalName eq 'account'",
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert body["@odata.context"].endswith(
        "$metadata#EntityDefinitions(LogicalName,EntitySetName,PrimaryIdAttribute)"
    )
    [account] = body["value"]
    assert account["EntitySetName"] == "accounts" and account["PrimaryIdAttribute"] == "accountid"
    assert set(account) == {"@odata.type", "MetadataId", "LogicalName", "EntitySetName", "PrimaryIdAttribute"}


def test_entity_by_logical_name_and_by_metadata_id(client: httpx.Client) -> None:
    # retrieve-metadata-name-metadataid.md: EntityDefinitions(LogicalName='x') and (MetadataId).
    by_name = client.get("EntityDefinitions(LogicalName='contact')").json()
    assert by_name["SchemaName"] == "Contact" and by_name["IsCustomEntity"] is False
    assert by_name["DisplayName"]["UserLocalizedLabel"]["LanguageCode"] == 1033
    by_id = client.get(
        f"EntityDefinitions({by_name['MetadataId']})", params={"$select": "LogicalName"}
    ).json()
    assert by_id["LogicalName"] == "contact"


def test_unknown_entity_is_404(client: httpx.Client) -> None:
    # retrieve-metadata-name-metadataid.md
    r = client.get("EntityDefinitions(LogicalName='nosuchtable')")
    assert r.status_code == 404 and error_of(r)[1] == "0x80040217"


def test_unknown_select_property_is_0x80060888(client: httpx.Client) -> None:
    # query-metadata-web-api.md; troubleshoot Web API client errors (property not found)
    r = client.get("EntityDefinitions", params={"$select": "LogicalName,Nope"})
    assert error_of(r)[:2] == (400, "0x80060888")


def test_attribute_shapes(client: httpx.Client) -> None:
    # query-metadata-web-api.md: Attributes carry @odata.type, AttributeType, RequiredLevel, IsValidFor*.
    a = client.get("EntityDefinitions(LogicalName='account')/Attributes(LogicalName='name')").json()
    assert a["@odata.type"] == "#Microsoft.Dynamics.CRM.StringAttributeMetadata"
    assert a["AttributeType"] == "String" and a["MaxLength"] == 160
    assert a["RequiredLevel"]["Value"] in ("None", "ApplicationRequired", "SystemRequired")
    assert a["IsValidForCreate"] and a["IsValidForUpdate"] and a["IsValidForRead"]


def test_picklist_cast_with_expanded_option_set(client: httpx.Client) -> None:
    # query-metadata-web-api.md: …/Attributes(LogicalName='x')/Microsoft.Dynamics.CRM.Picklist…
    r = client.get(
        "EntityDefinitions(LogicalName='account')/Attributes(LogicalName='accountcategorycode')"
        "/Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
        params={"$select": "LogicalName", "$expand": "OptionSet,GlobalOptionSet"},
    )
    assert r.status_code == 200, r.text
    options = {
        o["Value"]: o["Label"]["UserLocalizedLabel"]["Label"] for o in r.json()["OptionSet"]["Options"]
    }
    assert options == {1: "Preferred Customer", 2: "Standard"}


def test_create_table_returns_204_and_entity_id(client: httpx.Client, project: str) -> None:
    # create-update-entity-definitions-using-web-api.md: 204 + OData-EntityId EntityDefinitions(<id>)
    t = client.get(f"EntityDefinitions(LogicalName='{project}')").json()
    assert t["IsCustomEntity"] is True and t["EntitySetName"] == "int_projects"
    assert t["PrimaryIdAttribute"] == "int_projectid" and t["PrimaryNameAttribute"] == "int_name"
    custom = client.get(
        "EntityDefinitions", params={"$filter": "IsCustomEntity eq true", "$select": "LogicalName"}
    )
    assert [e["LogicalName"] for e in custom.json()["value"]] == [project]


def test_custom_table_is_usable_by_the_data_api(client: httpx.Client, project: str) -> None:
    # create-update-entity-definitions-using-web-api.md: the table can be used once created.
    r = client.post("int_projects", json={"int_name": "Apollo"})
    assert r.status_code == 204
    got = client.get(f"int_projects({entity_id(r)})", params={"$select": "int_name"}).json()
    assert got["int_name"] == "Apollo"


def test_unknown_solution_is_refused(client: httpx.Client) -> None:
    # create-update-entity-definitions-using-web-api.md: MSCRM.SolutionUniqueName names an existing solution.
    r = client.post(
        "EntityDefinitions", json=table_body("int_Other"), headers={"MSCRM.SolutionUniqueName": "nope"}
    )
    assert r.status_code == 404 and error_of(r)[1] == "0x80040217"


def test_missing_prefix_is_refused(client: httpx.Client) -> None:
    # create-update-entity-definitions-using-web-api.md: SchemaName carries the publisher prefix.
    r = client.post("EntityDefinitions", json=table_body("Project2"), headers=SOL)
    assert error_of(r)[:2] == (400, "0x80040203")


def test_duplicate_table_name_is_refused(client: httpx.Client, project: str) -> None:
    # data-service-errors: DuplicateName 0x80047010
    r = client.post("EntityDefinitions", json=table_body("int_Project"), headers=SOL)
    assert error_of(r)[:2] == (400, "0x80047010")


def test_missing_primary_name_attribute_is_refused(client: httpx.Client) -> None:
    # create-update-entity-definitions-using-web-api.md: the entity must include the primary name attribute.
    r = client.post("EntityDefinitions", json=table_body("int_NoName", Attributes=[]), headers=SOL)
    assert error_of(r)[:2] == (400, "0x80040203")


def _add_column(client: httpx.Client, table: str, body: dict) -> httpx.Response:
    return client.post(f"EntityDefinitions(LogicalName='{table}')/Attributes", json=body, headers=SOL)


@pytest.mark.parametrize(
    ("odata", "extra", "value"),
    [
        ("StringAttributeMetadata", {"MaxLength": 20}, "abc"),
        ("MemoAttributeMetadata", {"MaxLength": 2000}, "long text"),
        ("IntegerAttributeMetadata", {"MinValue": 0, "MaxValue": 10}, 7),
        ("DecimalAttributeMetadata", {"Precision": 2}, 1.25),
        ("MoneyAttributeMetadata", {"Precision": 2}, 99.5),
        ("BooleanAttributeMetadata", {}, True),
        (
            "DateTimeAttributeMetadata",
            {"Format": "DateOnly", "DateTimeBehavior": {"Value": "DateOnly"}},
            "2024-05-01",
        ),
    ],
)
def test_create_columns_of_each_type(
    client: httpx.Client, project: str, odata: str, extra: dict, value: object
) -> None:
    # create-update-column-definitions-using-web-api.md: one example per column type.
    schema = f"int_{odata[:6]}Col"
    r = _add_column(
        client, project, {"@odata.type": f"Microsoft.Dynamics.CRM.{odata}", "SchemaName": schema, **extra}
    )
    assert r.status_code == 204, r.text
    meta = client.get(
        f"EntityDefinitions(LogicalName='{project}')/Attributes(LogicalName='{schema.lower()}')"
    ).json()
    assert meta["@odata.type"] == f"#Microsoft.Dynamics.CRM.{odata}" and meta["IsCustomAttribute"] is True
    rec = client.post("int_projects", json={"int_name": "x", schema.lower(): value})
    assert rec.status_code == 204, rec.text


def test_integer_column_range_is_enforced(client: httpx.Client, project: str) -> None:
    # create-update-column-definitions-using-web-api.md (MinValue/MaxValue) + validation 0x80044331
    _add_column(
        client,
        project,
        {
            "@odata.type": "Microsoft.Dynamics.CRM.IntegerAttributeMetadata",
            "SchemaName": "int_Score",
            "MinValue": 0,
            "MaxValue": 5,
        },
    )
    r = client.post("int_projects", json={"int_name": "x", "int_score": 9})
    assert error_of(r)[:2] == (400, "0x80044331")


def test_invalid_column_type_is_refused(client: httpx.Client, project: str) -> None:
    # create-update-column-definitions-using-web-api.md: the @odata.type names the column type.
    r = _add_column(
        client, project, {"@odata.type": "Microsoft.Dynamics.CRM.FooAttributeMetadata", "SchemaName": "int_X"}
    )
    assert error_of(r)[:2] == (400, "0x80048d19")


def test_duplicate_column_is_refused(client: httpx.Client, project: str) -> None:
    # data-service-errors: DuplicateAttributeSchemaName 0x80047013
    body = {"@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", "SchemaName": "int_Dup"}
    assert _add_column(client, project, body).status_code == 204
    assert error_of(_add_column(client, project, body))[:2] == (400, "0x80047013")


def test_local_choice_column_values_from_publisher_prefix(client: httpx.Client, project: str) -> None:
    # create-update-optionsets.md: option values default to prefix * 10,000 + n (notes/dataverse.md)
    body = {
        "@odata.type": "Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
        "SchemaName": "int_Stage",
        "OptionSet": {
            "IsGlobal": False,
            "OptionSetType": "Picklist",
            "Options": [{"Label": lbl("Open")}, {"Label": lbl("Closed")}],
        },
    }
    assert _add_column(client, project, body).status_code == 204
    r = client.get(
        f"EntityDefinitions(LogicalName='{project}')/Attributes(LogicalName='int_stage')"
        "/Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
        params={"$select": "LogicalName", "$expand": "OptionSet"},
    )
    assert [o["Value"] for o in r.json()["OptionSet"]["Options"]] == [100000000, 100000001]
    bad = client.post("int_projects", json={"int_name": "x", "int_stage": 3})
    assert error_of(bad)[:2] == (400, "0x8004431A")


def test_global_option_set_and_bound_choice_column(client: httpx.Client, project: str) -> None:
    # create-update-optionsets.md: POST GlobalOptionSetDefinitions; GlobalOptionSet@odata.bind
    r = client.post(
        "GlobalOptionSetDefinitions",
        json={
            "@odata.type": "Microsoft.Dynamics.CRM.OptionSetMetadata",
            "Name": "int_colors",
            "IsGlobal": True,
            "OptionSetType": "Picklist",
            "Options": [
                {"Value": 100000000, "Label": lbl("Red")},
                {"Value": 100000001, "Label": lbl("Blue")},
            ],
        },
        headers=SOL,
    )
    assert r.status_code == 204
    os_id = entity_id(r)
    assert client.get("GlobalOptionSetDefinitions(Name='int_colors')").json()["MetadataId"] == os_id
    col = {
        "@odata.type": "Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
        "SchemaName": "int_Color",
        "GlobalOptionSet@odata.bind": f"/GlobalOptionSetDefinitions({os_id})",
    }
    assert _add_column(client, project, col).status_code == 204
    meta = client.get(
        f"EntityDefinitions(LogicalName='{project}')/Attributes(LogicalName='int_color')"
        "/Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
        params={"$select": "LogicalName", "$expand": "GlobalOptionSet"},
    ).json()
    assert meta["GlobalOptionSet"]["Name"] == "int_colors"
    assert client.post("int_projects", json={"int_name": "x", "int_color": 100000001}).status_code == 204


def test_multiselect_choice_column(client: httpx.Client, project: str) -> None:
    # create-update-column-definitions-using-web-api.md: MultiSelectPicklistAttributeMetadata; values "a,b"
    body = {
        "@odata.type": "Microsoft.Dynamics.CRM.MultiSelectPicklistAttributeMetadata",
        "SchemaName": "int_Tags",
        "OptionSet": {"Options": [{"Value": 1, "Label": lbl("A")}, {"Value": 2, "Label": lbl("B")}]},
    }
    assert _add_column(client, project, body).status_code == 204
    assert client.post("int_projects", json={"int_name": "x", "int_tags": "1,2"}).status_code == 204
    assert error_of(client.post("int_projects", json={"int_name": "x", "int_tags": "1,9"}))[1] == "0x8004431A"


def test_relationship_creates_a_bindable_lookup(client: httpx.Client, project: str) -> None:
    # create-update-entity-relationships-using-web-api.md: OneToManyRelationshipMetadata with Lookup
    r = client.post(
        "RelationshipDefinitions",
        json={
            "@odata.type": "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
            "SchemaName": "int_account_int_project",
            "ReferencedEntity": "account",
            "ReferencedAttribute": "accountid",
            "ReferencingEntity": project,
            "Lookup": {
                "@odata.type": "Microsoft.Dynamics.CRM.LookupAttributeMetadata",
                "AttributeType": "Lookup",
                "SchemaName": "int_AccountId",
                "DisplayName": lbl("Account"),
            },
        },
        headers=SOL,
    )
    assert r.status_code == 204, r.text
    assert "RelationshipDefinitions(" in r.headers["OData-EntityId"]
    acc = entity_id(client.post("accounts", json={"name": "Parent"}))
    rec = client.post("int_projects", json={"int_name": "x", "int_AccountId@odata.bind": f"/accounts({acc})"})
    assert rec.status_code == 204, rec.text
    got = client.get(f"int_projects({entity_id(rec)})", params={"$select": "_int_accountid_value"}).json()
    assert got["_int_accountid_value"] == acc
    many = client.get(f"EntityDefinitions(LogicalName='{project}')/ManyToOneRelationships").json()["value"]
    assert any(m["SchemaName"] == "int_account_int_project" for m in many)
    one = client.get("EntityDefinitions(LogicalName='account')/OneToManyRelationships").json()["value"]
    assert any(m["ReferencingEntity"] == project for m in one)
    dup = client.post(
        "RelationshipDefinitions",
        json={
            "@odata.type": "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
            "SchemaName": "int_account_int_project",
            "ReferencedEntity": "account",
            "ReferencingEntity": project,
            "Lookup": {"SchemaName": "int_AccountId2"},
        },
        headers=SOL,
    )
    assert error_of(dup)[:2] == (400, "0x8004432B")


def test_put_attribute_with_merge_labels_and_publish(
    client: httpx.Client, server: ServerHandle, project: str
) -> None:
    # create-update-entity-definitions-using-web-api.md: PUT + MSCRM.MergeLabels, then PublishXml
    path = f"EntityDefinitions(LogicalName='{project}')/Attributes(LogicalName='int_name')"
    r = client.put(path, json={"DisplayName": lbl("Project name")}, headers={"MSCRM.MergeLabels": "true"})
    assert r.status_code == 204
    assert client.get(path).json()["DisplayName"]["UserLocalizedLabel"]["Label"] == "Project name"
    comps = httpx.get(server.base_url + "/_emulator/schema").json()["solutioncomponents"]
    assert any(c["name"] == f"{project}.int_name" and c["published"] is False for c in comps)
    xml = f"<importexportxml><entities><entity>{project}</entity></entities></importexportxml>"
    assert client.post("PublishXml", json={"ParameterXml": xml}).status_code == 204
    comps = httpx.get(server.base_url + "/_emulator/schema").json()["solutioncomponents"]
    assert all(c["published"] for c in comps)
    assert client.post("PublishAllXml").status_code == 204


def test_solution_membership_is_readable(client: httpx.Client, server: ServerHandle, project: str) -> None:
    # create-update-entity-definitions-using-web-api.md: components made with the header join that solution
    comps = httpx.get(server.base_url + "/_emulator/schema").json()["solutioncomponents"]
    assert {"componenttype": "Entity", "name": project, "solution": "intact"}.items() <= next(
        c for c in comps if c["componenttype"] == "Entity"
    ).items()


def test_delete_custom_column_and_table(client: httpx.Client) -> None:
    # create-update-entity-definitions-using-web-api.md / column definitions: DELETE removes them.
    assert client.post("EntityDefinitions", json=table_body("int_Temp"), headers=SOL).status_code == 204
    col = {"@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", "SchemaName": "int_Gone"}
    assert _add_column(client, "int_temp", col).status_code == 204
    assert (
        client.delete(
            "EntityDefinitions(LogicalName='int_temp')/Attributes(LogicalName='int_gone')"
        ).status_code
        == 204
    )
    assert client.post("int_temps", json={"int_name": "x", "int_gone": "y"}).status_code == 400
    assert client.delete("EntityDefinitions(LogicalName='int_temp')").status_code == 204
    assert client.get("int_temps").status_code == 404
    assert client.delete("EntityDefinitions(LogicalName='account')").status_code == 400


def test_custom_activity_table(client: httpx.Client) -> None:
    # create-update-entity-definitions-using-web-api.md: IsActivity true makes an activity table.
    body = table_body("int_Visit", IsActivity=True, HasNotes=False)
    assert client.post("EntityDefinitions", json=body, headers=SOL).status_code == 204
    t = client.get("EntityDefinitions(LogicalName='int_visit')").json()
    assert t["IsActivity"] is True and t["PrimaryIdAttribute"] == "activityid"
    acc = entity_id(client.post("accounts", json={"name": "Visited"}))
    r = client.post(
        "int_visits",
        json={"subject": "Hi", "regardingobjectid_account_int_visit@odata.bind": f"/accounts({acc})"},
    )
    assert r.status_code == 204, r.text


def test_licence_is_exposed_for_preflight(server: ServerHandle) -> None:
    # emulator-only endpoint (README): GET /_emulator/licence
    body = httpx.get(server.base_url + "/_emulator/licence").json()
    assert body["tier"] == "enterprise" and body["custom_table_cap"] == 500


def test_professional_licence_cap_over_http() -> None:
    # notes/dataverse.md: Sales Professional — at most 15 custom tables.
    with (
        start_server(port=0, limits=False, licence="professional") as dv,
        httpx.Client(base_url=dv.api_url, headers={"Authorization": "Bearer t"}) as c,
    ):
        for i in range(15):
            body = table_body(f"new_T{i}")
            body["Attributes"][0]["SchemaName"] = "new_Name"
            assert c.post("EntityDefinitions", json=body).status_code == 204
        body = table_body("new_T15")
        body["Attributes"][0]["SchemaName"] = "new_Name"
        r = c.post("EntityDefinitions", json=body)
        assert error_of(r)[:2] == (400, "0x80040203") and "15" in error_of(r)[2]


def test_custom_schema_persists_with_db(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # issue #3: a restart with --db keeps custom metadata.
    db = str(tmp_path / "dv.sqlite")
    auth = {"Authorization": "Bearer t"}
    with (
        start_server(port=0, db_path=db, limits=False, solutions=("intact:int",)) as dv,
        httpx.Client(base_url=dv.api_url, headers=auth) as c,
    ):
        assert c.post("EntityDefinitions", json=table_body("int_Kept"), headers=SOL).status_code == 204
        assert c.post("int_kepts", json={"int_name": "still here"}).status_code == 204
    with (
        start_server(port=0, db_path=db, limits=False) as dv,
        httpx.Client(base_url=dv.api_url, headers=auth) as c,
    ):
        rows = c.get("int_kepts", params={"$select": "int_name"}).json()["value"]
        assert [r["int_name"] for r in rows] == ["still here"]


# --- nested query options inside $expand (query-metadata-web-api.md, retrieve-metadata-name-metadataid.md)


def test_nested_select_inside_expand_on_a_single_attribute(client: httpx.Client) -> None:
    # retrieve-metadata-name-metadataid.md: `$expand=OptionSet($select=Options),GlobalOptionSet(…)`
    # returns OptionSet with just Options and MetadataId, GlobalOptionSet null for a local choice.
    r = client.get(
        "EntityDefinitions(LogicalName='account')/Attributes(LogicalName='accountcategorycode')"
        "/Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
        params={
            "$select": "LogicalName",
            "$expand": "OptionSet($select=Options),GlobalOptionSet($select=Options)",
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["@odata.context"].endswith(
        "/Microsoft.Dynamics.CRM.PicklistAttributeMetadata"
        "(LogicalName,OptionSet,GlobalOptionSet,OptionSet(Options),GlobalOptionSet(Options))/$entity"
    )
    assert set(body["OptionSet"]) == {"Options", "MetadataId"}
    assert [o["Value"] for o in body["OptionSet"]["Options"]] == [1, 2]
    assert body["GlobalOptionSet"] is None


def test_nested_select_inside_expand_on_the_cast_collection(client: httpx.Client) -> None:
    # What Microsoft's Python SDK sends before writing string values (labels → choice values).
    r = client.get(
        "EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
        params={"$select": "LogicalName", "$expand": "OptionSet($select=Options)"},
    )
    assert r.status_code == 200, r.text
    rows = {row["LogicalName"]: row for row in r.json()["value"]}
    assert "accountcategorycode" in rows and "name" not in rows
    assert all(set(row["OptionSet"]) == {"Options", "MetadataId"} for row in rows.values())


def test_nested_select_and_filter_inside_expand_attributes(client: httpx.Client) -> None:
    # query-metadata-web-api.md: EntityDefinitions with Attributes expanded, narrowed by nested options.
    r = client.get(
        "EntityDefinitions",
        params={
            "$select": "LogicalName",
            "$filter": "LogicalName eq 'account'",
            "$expand": "Attributes($select=LogicalName,MaxLength;$filter=LogicalName eq 'name')",
        },
    )
    assert r.status_code == 200, r.text
    [account] = r.json()["value"]
    assert [{k: v for k, v in a.items() if k != "MetadataId"} for a in account["Attributes"]] == [
        {"LogicalName": "name", "MaxLength": 160}
    ]


@pytest.mark.parametrize(
    ("expand", "why"),
    [
        ("OptionSet($select=Nope)", "unknown property in the nested $select"),
        ("OptionSet($filter=Name eq 'x')", "$filter on a single-valued navigation property"),
        ("OptionSet($top=1)", "query option not supported inside $expand"),
        ("OptionSet($select=Options", "unbalanced parentheses"),
        ("Nope($select=Options)", "unknown navigation property"),
    ],
)
def test_bad_nested_expand_is_0x80060888(client: httpx.Client, expand: str, why: str) -> None:
    r = client.get(
        "EntityDefinitions(LogicalName='account')/Attributes(LogicalName='accountcategorycode')"
        "/Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
        params={"$select": "LogicalName", "$expand": expand},
    )
    assert error_of(r)[:2] == (400, "0x80060888"), why


# --- CreateEntities (the action Microsoft's Python SDK uses for tables.create) ---------------------


def complex_table(schema: str, *columns: dict) -> dict:
    body = table_body(schema, **{"@odata.type": "Microsoft.Dynamics.CRM.ComplexEntityMetadata"})
    primary = {
        **body["Attributes"][0],
        "@odata.type": "Microsoft.Dynamics.CRM.ComplexStringAttributeMetadata",
    }
    body["Attributes"] = [primary, *columns]
    return body


def complex_column(kind: str, schema: str, **extra: object) -> dict:
    return {
        "@odata.type": f"Microsoft.Dynamics.CRM.Complex{kind}AttributeMetadata",
        "SchemaName": schema,
        "DisplayName": lbl(schema),
        "RequiredLevel": {"Value": "None"},
        **extra,
    }


def test_create_entities_makes_tables_with_all_their_columns(
    client: httpx.Client, server: ServerHandle
) -> None:
    stage = complex_column(
        "Picklist",
        "int_Stage",
        OptionSet={
            "@odata.type": "Microsoft.Dynamics.CRM.ComplexOptionSetMetadata",
            "IsGlobal": False,
            "Options": [{"Value": 1, "Label": lbl("Open")}, {"Value": 2, "Label": lbl("Done")}],
        },
    )
    r = client.post(
        "CreateEntities",
        json={
            "Entities": [
                complex_table("int_Batch1", complex_column("String", "int_Code", MaxLength=20), stage),
                complex_table("int_Batch2", complex_column("Decimal", "int_Hours", Precision=2)),
            ]
        },
        headers=SOL,
    )
    assert r.status_code == 204, r.text
    attrs = client.get(
        "EntityDefinitions(LogicalName='int_batch1')/Attributes",
        params={"$filter": "IsCustomAttribute eq true"},
    ).json()["value"]
    assert {a["LogicalName"]: a["@odata.type"] for a in attrs} == {
        "int_name": "#Microsoft.Dynamics.CRM.StringAttributeMetadata",
        "int_code": "#Microsoft.Dynamics.CRM.StringAttributeMetadata",
        "int_stage": "#Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
    }
    assert (
        client.post("int_batch1s", json={"int_name": "a", "int_code": "C", "int_stage": 2}).status_code == 204
    )
    assert error_of(client.post("int_batch1s", json={"int_code": "x" * 21}))[1] == "0x80044331"
    assert client.post("int_batch2s", json={"int_name": "b", "int_hours": 1.5}).status_code == 204
    components = {
        c["name"]: c["solution"]
        for c in httpx.get(server.base_url + "/_emulator/schema").json()["solutioncomponents"]
    }
    assert components["int_batch2"] == components["int_batch2.int_hours"] == "intact"


def test_create_entities_is_atomic(client: httpx.Client) -> None:
    good = complex_table("int_Atomic1", complex_column("String", "int_Code"))
    bad = complex_table("int_Atomic2", complex_column("String", "new_Code"))  # wrong publisher prefix
    r = client.post("CreateEntities", json={"Entities": [good, bad]}, headers=SOL)
    assert error_of(r)[:2] == (400, "0x80040203")
    for logical in ("int_atomic1", "int_atomic2"):
        assert client.get(f"EntityDefinitions(LogicalName='{logical}')").status_code == 404


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "0x80048d19"),
        ({"Entities": []}, "0x80048d19"),
        ({"Entities": [{"SchemaName": "int_X"}], "Bogus": 1}, "0x80048d19"),
        # a plain StringAttributeMetadata is not a ComplexAttributeMetadata
        ({"Entities": [table_body("int_Plain")]}, "0x80048d19"),
        (
            {
                "Entities": [
                    complex_table(
                        "int_Dup", complex_column("String", "int_A"), complex_column("Integer", "int_A")
                    )
                ]
            },
            "0x80047013",
        ),
    ],
)
def test_create_entities_refuses_bad_payloads(client: httpx.Client, body: dict, code: str) -> None:
    r = client.post("CreateEntities", json=body, headers=SOL)
    assert error_of(r)[:2] == (400, code), r.text


def test_create_entities_is_post_only(client: httpx.Client) -> None:
    assert client.get("CreateEntities").status_code == 405


# --- relationship SchemaName: no prefix rule in the docs ------------------------------------------


def test_relationship_schema_name_needs_no_prefix_but_its_lookup_does(
    client: httpx.Client, project: str
) -> None:
    # create-update-entity-relationships-using-web-api.md and RelationshipMetadataBase.SchemaName set no
    # prefix rule for the relationship's name (Microsoft's SDK sends `<referenced>_<referencing>_<lookup>`);
    # the lookup is a column, and columns carry the publisher prefix.
    def rel(schema: str, lookup: str) -> httpx.Response:
        return client.post(
            "RelationshipDefinitions",
            json={
                "@odata.type": "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
                "SchemaName": schema,
                "ReferencedEntity": "contact",
                "ReferencedAttribute": "contactid",
                "ReferencingEntity": project,
                "Lookup": {
                    "@odata.type": "Microsoft.Dynamics.CRM.LookupAttributeMetadata",
                    "SchemaName": lookup,
                },
            },
            headers=SOL,
        )

    assert rel(f"contact_{project}_int_ContactId", "int_ContactId").status_code == 204
    assert error_of(rel(f"contact_{project}_ContactId2", "ContactId2"))[:2] == (400, "0x80040203")
