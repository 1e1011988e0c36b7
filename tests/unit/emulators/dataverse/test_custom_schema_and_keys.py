"""Pure parts of the metadata API and alternate keys: key segments, MetadataIds, labels, prefixes,
the licence cap and persistence of custom schema in the SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulators.dataverse import errors
from emulators.dataverse.custom_schema import CustomSchema, merge_labels, metadata_id, normalize_label
from emulators.dataverse.keys import parse_key_segment, split_reference
from emulators.dataverse.metadata import MetadataRegistry
from emulators.dataverse.store import Store

PRIMARY = {
    "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
    "SchemaName": "new_Name",
    "IsPrimaryName": True,
    "MaxLength": 100,
}


def _table(schema: str) -> dict:
    return {"SchemaName": schema, "OwnershipType": "UserOwned", "Attributes": [dict(PRIMARY)]}


def _schema(db: str | None = None, licence: str = "enterprise") -> CustomSchema:
    return CustomSchema(MetadataRegistry.load(), Store(db), licence)


def test_key_segment_parses_strings_numbers_and_escaped_quotes() -> None:
    # use-alternate-key-reference-record.md: accounts(accountnumber='ABC',name='O''Neil')
    assert parse_key_segment("accountnumber='A1',x_no=2,x_amount=1.5") == {
        "accountnumber": "A1",
        "x_no": 2,
        "x_amount": pytest.approx(1.5),
    }
    assert parse_key_segment("name='O''Neil'") == {"name": "O'Neil"}


@pytest.mark.parametrize("value", ["a/b", "a&b", "a:b", "50%", "a+b", "a?b", "a*b", "a<b"])
def test_key_values_with_url_breaking_characters_are_refused(value: str) -> None:
    # notes/dataverse.md (define-alternate-keys-entity.md): / < > * % & : \ ? + break key URLs.
    with pytest.raises(errors.DataverseError) as exc:
        parse_key_segment(f"accountnumber='{value}'")
    assert exc.value.status == 400


def test_key_segment_syntax_error() -> None:
    with pytest.raises(errors.DataverseError) as exc:
        parse_key_segment("accountnumber=")
    assert exc.value.code == "0x80060888"


def test_split_reference_only_for_key_references() -> None:
    assert split_reference("/accounts(accountnumber='A1')") == ("accounts", "accountnumber='A1'")
    assert split_reference("https://x/api/data/v9.2/accounts(accountnumber='A1')") == (
        "accounts",
        "accountnumber='A1'",
    )
    assert split_reference("/accounts(0a2b7c1e-0000-4000-8000-00000000acc1)") is None


def test_metadata_ids_are_stable_uuid5_of_logical_names() -> None:
    assert metadata_id("entity", "account") == metadata_id("entity", "ACCOUNT")
    assert metadata_id("entity", "account") != metadata_id("entity", "contact")
    assert metadata_id("attribute", "account", "name") != metadata_id("entity", "account")


def test_merge_labels_true_keeps_other_languages_false_replaces() -> None:
    # create-update-entity-definitions-using-web-api.md: MSCRM.MergeLabels
    old = normalize_label(
        {
            "LocalizedLabels": [
                {"Label": "Bank", "LanguageCode": 1033},
                {"Label": "Banque", "LanguageCode": 1036},
            ]
        }
    )
    new = normalize_label({"LocalizedLabels": [{"Label": "Bank Business", "LanguageCode": 1033}]})
    merged = merge_labels(old, new, merge=True)
    assert {x["Label"] for x in merged["LocalizedLabels"]} == {"Bank Business", "Banque"}
    assert merged["UserLocalizedLabel"]["Label"] == "Bank Business"
    assert [x["Label"] for x in merge_labels(old, new, merge=False)["LocalizedLabels"]] == ["Bank Business"]


def test_schema_name_needs_the_publisher_prefix() -> None:
    # create-update-entity-definitions-using-web-api.md: SchemaName includes the publisher's prefix.
    schema = _schema()
    with pytest.raises(errors.DataverseError) as exc:
        schema.create_entity(_table("BankAccount"), None)
    assert exc.value.code == "0x80040203"
    schema.create_entity(_table("new_BankAccount"), None)
    assert schema.registry.by_set("new_bankaccounts") is not None


def test_professional_licence_caps_custom_tables_at_15() -> None:
    # notes/dataverse.md: Sales Professional allows at most 15 custom tables.
    schema = _schema(licence="professional")
    for i in range(15):
        schema.create_entity(_table(f"new_T{i}"), None)
    with pytest.raises(errors.DataverseError) as exc:
        schema.create_entity(_table("new_T15"), None)
    assert "15" in exc.value.message
    assert schema.licence_info() == {"tier": "professional", "custom_table_cap": 15, "custom_tables": 15}


def test_custom_schema_survives_a_restart_on_the_same_db(tmp_path: Path) -> None:
    db = str(tmp_path / "dv.sqlite")
    first = _schema(db)
    first.add_solution("intact", "int")
    first.create_entity(
        {**_table("int_Project"), "Attributes": [{**PRIMARY, "SchemaName": "int_Name"}]}, "intact"
    )
    first.store.close()
    second = _schema(db)
    table = second.registry.by_logical("int_project")
    assert table is not None and table.primary_name == "int_name"
    assert second.components()[0]["solution"] == "intact"


def test_failed_create_entity_leaves_no_ghost_table() -> None:
    # The table row is written before its primary column; a refused column must take the table with it.
    schema = _schema()
    body = _table("new_Ghost")
    body["Attributes"][0]["SchemaName"] = "other_Name"  # not the Default publisher's prefix
    with pytest.raises(errors.DataverseError):
        schema.create_entity(body, None)
    assert "new_ghost" not in schema.entities and schema.registry.by_logical("new_ghost") is None
    assert schema.create_entity(_table("new_Ghost"), None)["LogicalName"] == "new_ghost"


def test_create_entities_takes_complex_types_and_rolls_back_as_one() -> None:
    schema = _schema()

    def complex_table(name: str, column: str) -> dict:
        primary = {**PRIMARY, "@odata.type": "Microsoft.Dynamics.CRM.ComplexStringAttributeMetadata"}
        col = {"@odata.type": "Microsoft.Dynamics.CRM.ComplexIntegerAttributeMetadata", "SchemaName": column}
        return {
            "@odata.type": "Microsoft.Dynamics.CRM.ComplexEntityMetadata",
            **_table(name),
            "Attributes": [primary, col],
        }

    docs = schema.create_entities([complex_table("new_One", "new_Count")], None)
    assert [d["LogicalName"] for d in docs] == ["new_one"]
    assert schema.attribute_meta("new_one", "new_count").type == "Integer"
    with pytest.raises(errors.DataverseError) as exc:
        schema.create_entities(
            [complex_table("new_Two", "new_Count"), complex_table("new_Three", "x_Bad")], None
        )
    assert exc.value.code == "0x80040203"
    assert schema.registry.by_logical("new_two") is None and "new_two" not in schema.entities
    with pytest.raises(errors.DataverseError) as exc:  # EntityMetadata types are not ComplexEntityMetadata
        schema.create_entities(
            [{**_table("new_Four"), "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata"}], None
        )
    assert exc.value.code == "0x80048d19"


def test_relationship_schema_name_without_prefix_is_accepted() -> None:
    schema = _schema()
    rel = schema.create_relationship(
        {
            "@odata.type": "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
            "SchemaName": "account_contact_new_Sponsor",
            "ReferencedEntity": "account",
            "ReferencingEntity": "contact",
            "Lookup": {"SchemaName": "new_Sponsor"},
        },
        None,
    )
    assert rel["SchemaName"] == "account_contact_new_Sponsor"
    with pytest.raises(errors.DataverseError):  # the lookup column keeps the prefix rule
        schema.create_relationship(
            {
                "@odata.type": "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
                "SchemaName": "account_contact_Sponsor2",
                "ReferencedEntity": "account",
                "ReferencingEntity": "contact",
                "Lookup": {"SchemaName": "Sponsor2"},
            },
            None,
        )
