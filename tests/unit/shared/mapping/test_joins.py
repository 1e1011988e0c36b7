"""Joins (shared/mapping/joins.py): indexes built from related rows, typed property columns, and
lookups whose parent object is chosen by a type field."""

from __future__ import annotations

from typing import Any

import pytest

from shared.errors import InvalidField, UnresolvedLookup
from shared.mapping.joins import JoinSpec, build_index, column_name, convert_property, infer_type
from shared.mapping.profile import parse_profile
from shared.mapping.transform import TargetRow, transform_record

PROPS = [
    {"client_id": "c1", "key": "hourly_rate", "value": "107.00"},
    {"client_id": "c1", "key": "intake_date", "value": "2024-03-01"},
    {"client_id": "c1", "key": "goal", "value": "Run a marathon"},
    {"client_id": "c2", "key": "hourly_rate", "value": "97"},
    {"client_id": "c2", "key": "intake_date", "value": "2023-12-24"},
    {"client_id": "c2", "key": "goal", "value": "42"},
    {"client_id": "", "key": "goal", "value": "orphan"},
]


def test_PRAC_08_property_types_are_inferred_from_every_value() -> None:
    index = build_index(
        JoinSpec.model_validate(
            {
                "name": "p",
                "object": "props",
                "on": "client_id",
                "kind": "pivot",
                "key": "key",
                "value": "value",
            }
        ),
        PROPS,
    )
    # one non-numeric goal makes the whole column text; every rate a number; every date a date
    assert index.types == {"goal": "string", "hourly_rate": "decimal", "intake_date": "date"}
    assert index.value_for("c1") == {
        "hourly_rate": "107.00",
        "intake_date": "2024-03-01",
        "goal": "Run a marathon",
    }
    assert index.value_for("nobody") == {}
    assert index.orphans == 1


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["2024-01-02", "2024-01-03T10:00:00Z"], "date"),
        (["1", "2.5", "-3"], "decimal"),
        (["1", "two"], "string"),
        (["true", "false"], "string"),
        (["x" * 4001], "memo"),
    ],
)
def test_PRAC_08_infer_type(values: list[str], kind: str) -> None:
    assert infer_type(values) == kind


def test_PRAC_09_snake_case_keys_become_pascal_case_schema_names() -> None:
    assert column_name("hourly_rate") == "HourlyRate"
    assert column_name("2nd-contact") == "P2ndContact"
    assert convert_property("107.00", "decimal") == 107.0
    assert convert_property("2024-03-01T08:00:00Z", "date") == "2024-03-01"
    with pytest.raises(ValueError):
        convert_property("soon", "date")


def test_count_and_sum_joins_with_a_condition() -> None:
    rows = [
        {"client_id": "c1", "status": "completed", "amount": "120.00"},
        {"client_id": "c1", "status": "cancelled", "amount": "50"},
        {"client_id": "c1", "status": "completed", "amount": "30.5"},
    ]
    done = {"field": "status", "equals": "completed"}
    count = build_index(JoinSpec(name="n", object="s", on="client_id", where=done), rows)  # type: ignore[arg-type]
    total = build_index(
        JoinSpec.model_validate(
            {"name": "t", "object": "s", "on": "client_id", "kind": "sum", "value": "amount", "where": done}
        ),
        rows,
    )
    assert count.value_for("c1") == 2 and count.value_for("c9") == 0
    assert total.value_for("c1") == "150.50"


CONTACT = {"table": "contact", "entity_set": "contacts", "primary_id": "contactid"}


def _profile(objects: list[dict[str, Any]]) -> Any:
    return parse_profile({"source": "t", "version": 1, "objects": objects}, where="test")


def test_PRAC_09_each_property_is_written_to_its_own_typed_column() -> None:
    profile = _profile(
        [
            {
                "name": "clients",
                "id": "client_id",
                "phase": 1,
                **CONTACT,
                "fields": [{"to": "lastname", "from": "last_name"}],
                "properties": {"join": "props", "exclude": ["goal"]},
                "joins": [
                    {
                        "name": "props",
                        "object": "p",
                        "on": "client_id",
                        "kind": "pivot",
                        "key": "k",
                        "value": "v",
                    }
                ],
            }
        ]
    )
    obj = profile.objects[0]
    record = {
        "client_id": "c1",
        "last_name": "Ng",
        "_join": {"props": {"hourly_rate": "107.00", "goal": "x"}},
    }
    row = transform_record(
        obj,
        record,
        source="t",
        scope="s",
        owners=None,
        custom_columns=True,
        property_types={"props": {"hourly_rate": "decimal", "goal": "string"}},
    )
    assert isinstance(row, TargetRow)
    assert row.source_id == "c1"
    assert row.payload["new_hourlyrate"] == 107.0
    assert "new_goal" not in row.payload  # excluded by the profile
    bad = {**record, "_join": {"props": {"hourly_rate": "n/a"}}}
    with pytest.raises(InvalidField) as err:
        transform_record(
            obj, bad, source="t", scope="s", owners=None, custom_columns=True,
            property_types={"props": {"hourly_rate": "decimal"}},
        )  # fmt: skip
    assert err.value.attrs()["field"] == "props.hourly_rate"


def test_a_lookup_picks_its_parent_object_by_a_type_field() -> None:
    task = {
        "name": "actions",
        "phase": 2,
        "table": "task",
        "entity_set": "tasks",
        "primary_id": "activityid",
        "lookups": [
            {
                "to": "regardingobjectid",
                "bind": "regardingobjectid_{table}_task",
                "required": True,
                "sources": [
                    {
                        "from": "assoc_id",
                        "object": "contacts",
                        "when": {"field": "assoc_type", "equals": "contacts"},
                    },
                    {
                        "from": "assoc_id",
                        "object": "accounts",
                        "when": {"field": "assoc_type", "equals": "accounts"},
                    },
                ],
            }
        ],
    }
    profile = _profile(
        [
            {"name": "contacts", "phase": 1, **CONTACT},
            {
                "name": "accounts",
                "phase": 1,
                "table": "account",
                "entity_set": "accounts",
                "primary_id": "accountid",
            },
            task,
        ]
    )
    obj = profile.object("actions")
    on_account = transform_record(
        obj, {"id": "a1", "assoc_type": "accounts", "assoc_id": "7"}, source="t", scope="s", owners=None
    )
    assert isinstance(on_account, TargetRow)
    assert on_account.lookups[0].candidates == [("accounts", "7")]
    with pytest.raises(UnresolvedLookup):  # a type no source accepts: never an orphan activity
        transform_record(
            obj, {"id": "a2", "assoc_type": "quotes", "assoc_id": "7"}, source="t", scope="s", owners=None
        )


def test_has_children_needs_a_declared_count_join() -> None:
    with pytest.raises(Exception, match="needs a count join"):
        _profile(
            [
                {
                    "name": "clients",
                    "phase": 1,
                    "targets": {"contact": CONTACT, "lead": {**CONTACT, "table": "lead"}},
                    "split": [
                        {"when": {"has_children": "sessions"}, "table": "contact"},
                        {"otherwise": "lead"},
                    ],
                }
            ]
        )


def test_COM_14_declared_field_types_override_inference() -> None:
    from shared.mapping.joins import TypesFrom, declare_types

    values = [
        {"id": "c1", "key": "tier", "value": "gold"},
        {"id": "c1", "key": "newsletter", "value": "true"},
        {"id": "c1", "key": "score", "value": "9"},
        {"id": "c2", "key": "tier", "value": "bronze"},
    ]
    join = JoinSpec.model_validate(
        {"name": "f", "object": "values", "on": "id", "kind": "pivot", "key": "key", "value": "value"}
    )
    index = build_index(join, values)
    assert index.types["tier"] == "string"  # inferred: text
    definitions = [
        {
            "object": "contact",
            "field_key": "tier",
            "label": "Tier",
            "type": "dropdown",
            "options": "gold;silver",
        },
        {
            "object": "contact",
            "field_key": "newsletter",
            "label": "Newsletter",
            "type": "checkbox",
            "options": "",
        },
        {"object": "contact", "field_key": "odd", "label": "Odd", "type": "formula", "options": ""},
        {"object": "account", "field_key": "score", "label": "Score", "type": "text", "options": ""},
    ]
    spec = TypesFrom.model_validate(
        {
            "object": "defs",
            "key": "field_key",
            "type": "type",
            "options": "options",
            "label": "label",
            "where": {"field": "object", "equals": "contact"},
        }
    )
    notes = declare_types(index, spec, definitions, 10_000)
    assert index.types == {"newsletter": "boolean", "score": "decimal", "tier": "choice"}
    assert index.options["tier"] == {"gold": 100_000_000, "silver": 100_000_001}
    assert index.labels == {"tier": "Tier", "newsletter": "Newsletter"}
    assert notes and "formula" in notes[0]  # an unknown type keeps the inferred one, and says so
    assert convert_property("true", "boolean") is True
    assert convert_property("gold", "choice", index.options["tier"]) == 100_000_000
    with pytest.raises(ValueError):  # COM-16: a label without an option is never another option
        convert_property("bronze", "choice", index.options["tier"])


def test_a_bare_yaml_on_key_is_the_join_column() -> None:
    import yaml

    spec = yaml.safe_load("{name: sessions, object: sessions, on: client_id}")
    assert True in spec  # what YAML 1.1 makes of it
    assert JoinSpec.model_validate(spec).on == "client_id"
