"""The schema plan: validated on load with paths in the errors, prefix-free names, option values."""

from __future__ import annotations

from typing import Any

import pytest

from shared.errors import ConfigError
from shared.mapping.schema_plan import (
    SchemaPlan,
    describe,
    logical_name,
    parse_schema_plan,
    resolve_option_values,
    schema_name,
)

TABLE = {
    "name": "ProgramEnrollment",
    "display_name": "Program enrollment",
    "plural_name": "Program enrollments",
}


def _col(**kw: Any) -> dict[str, Any]:
    return {"table": "account", "name": "Code", "display_name": "Code", "type": "string", **kw}


def _error(data: Any) -> str:
    with pytest.raises(ConfigError) as err:
        parse_schema_plan(data, where="profiles/close.yaml: schema")
    return str(err.value)


def test_INT_01_names_are_prefix_plus_name_never_salesforce_style() -> None:
    assert logical_name("new", "ProgramEnrollment") == "new_programenrollment"
    assert schema_name("cr5a1", "ProgramEnrollment") == "cr5a1_ProgramEnrollment"
    assert "__c" not in schema_name("new", "ClientLifecycleStage")
    assert "should match pattern" in _error({"tables": [{**TABLE, "name": "Program_Enrollment__c"}]})
    assert "tables.0.name" in _error({"tables": [{**TABLE, "name": "new_Program"}]})


def test_seed_name_is_recorded_in_the_description() -> None:
    assert describe(None, "Program_Enrollment__c") == "Seed name: Program_Enrollment__c."
    assert describe("Enrollments.", "X__c") == "Enrollments. Seed name: X__c."


def test_option_values_default_to_prefix_times_10000_plus_position() -> None:
    plan = parse_schema_plan(
        {
            "columns": [
                _col(type="choice", options=[{"label": "A"}, {"label": "B", "value": 5}, {"label": "C"}])
            ]
        }
    )
    assert plan.columns[0].resolved_options(10000) == [("A", 100000000), ("B", 5), ("C", 100000002)]
    assert plan.columns[0].resolved_options(54321)[0] == ("A", 543210000)


def test_explicit_value_colliding_with_a_default_is_refused() -> None:
    plan = parse_schema_plan(
        {"columns": [_col(type="choice", options=[{"label": "A"}, {"label": "B", "value": 100000000}])]}
    )
    with pytest.raises(ConfigError, match="collide"):
        resolve_option_values(plan.columns[0].options, 10000)


@pytest.mark.parametrize(
    ("column", "message"),
    [
        (_col(type="choice"), "exactly one of options or global_option_set"),
        (_col(type="lookup"), "needs target"),
        (_col(type="string", target="account"), "target applies to lookup"),
        (_col(type="integer", max_length=5), "max_length applies to string/memo"),
        (_col(type="string", max_length=5000), "1..4000"),
        (_col(type="decimal", precision=11), "0..10"),
        (_col(type="integer", min=5, max=1), "min is greater than max"),
        (_col(field_security_profile="HR"), "needs secured: true"),
        (_col(type="colour"), "columns.0.type"),
        (_col(extra=1), "Extra inputs are not permitted"),
    ],
)
def test_column_rules_name_the_path(column: dict[str, Any], message: str) -> None:
    text = _error({"columns": [column]})
    assert "profiles/close.yaml: schema" in text and "columns.0" in text and message in text


def test_references_resolve_within_the_plan() -> None:
    text = _error(
        {
            "tables": [TABLE],
            "columns": [
                _col(table="Missing"),
                _col(table="ProgramEnrollment", name="Parent", type="lookup", target="Nowhere"),
                _col(table="ProgramEnrollment", name="Stage", type="choice", global_option_set="Unknown"),
                _col(table="ProgramEnrollment", name="Name"),
            ],
            "keys": [{"table": "ProgramEnrollment", "name": "K", "columns": ["Stage", "Absent"]}],
        }
    )
    for path in ("columns.0.table", "columns.1.target", "columns.2.global_option_set", "columns.3.name"):
        assert path in text
    assert "keys.0.columns.0: a choice column cannot be in a key" in text
    assert "keys.0.columns.1" in text


def test_duplicates_are_refused_case_insensitively() -> None:
    text = _error({"tables": [TABLE, {**TABLE, "name": "PROGRAMENROLLMENT"}]})
    assert "declared twice" in text


def test_standard_tables_and_existing_columns_are_referenced_by_logical_name() -> None:
    plan = parse_schema_plan(
        {
            "tables": [TABLE],
            "columns": [
                _col(table="contact", name="Enrollment", type="lookup", target="ProgramEnrollment"),
                _col(table="ProgramEnrollment", name="SourceId"),
            ],
            "keys": [{"table": "ProgramEnrollment", "name": "BySource", "columns": ["SourceId", "new_name"]}],
        }
    )
    assert plan.table_logical_name("ProgramEnrollment", "new") == "new_programenrollment"
    assert plan.table_logical_name("contact", "new") == "contact"
    assert plan.column_logical_name("new_name", "new") == "new_name"
    assert isinstance(plan, SchemaPlan) and not plan.is_empty()
    assert parse_schema_plan(None).is_empty()


def test_plan_is_frozen() -> None:
    plan = parse_schema_plan({"tables": [TABLE]})
    with pytest.raises(Exception, match="frozen"):
        plan.tables[0].name = "Other"  # type: ignore[misc]


def test_activity_tables_are_user_owned() -> None:
    assert "user-owned" in _error({"tables": [{**TABLE, "is_activity": True, "ownership": "organization"}]})
