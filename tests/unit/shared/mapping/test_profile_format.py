"""The declarative profile format: validation errors that name file/object/field, split rules,
value maps and their unmapped policies, converters, and customer overrides."""

from __future__ import annotations

from typing import Any

import pytest

from shared.errors import ConfigError, UnmappedValue
from shared.mapping.convert import converter
from shared.mapping.profile import merge_overrides, parse_profile
from shared.mapping.transform import Skipped, TargetRow, transform_record

ACCOUNT = {"table": "account", "entity_set": "accounts", "primary_id": "accountid"}


def _profile(obj: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"source": "demo", "version": 2, "objects": [{"name": "companies", "phase": 1, **obj}], **extra}


def _fail(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as err:
        parse_profile(data, where="demo.yaml")
    return str(err.value)


def test_error_names_file_object_and_field() -> None:
    msg = _fail(_profile({**ACCOUNT, "fields": [{"to": "name", "from": "n", "convert": "nope"}]}))
    assert "mapping profile demo.yaml is invalid: objects[companies].targets.account.fields.0" in msg
    assert "unknown converter 'nope'" in msg


def test_split_must_end_with_otherwise_and_name_known_targets() -> None:
    targets = {"targets": {"account": ACCOUNT, "lead": {**ACCOUNT, "table": "lead"}}}
    assert "ends with exactly one `otherwise`" in _fail(
        _profile({**targets, "split": [{"when": {"field": "s", "in": ["a"]}, "table": "lead"}]})
    )
    assert "'contact' is not a target" in _fail(_profile({**targets, "split": [{"otherwise": "contact"}]}))
    assert "several targets but no split" in _fail(_profile(targets))
    assert "unknown skip rule" in _fail(
        _profile(
            {
                **ACCOUNT,
                "split": [
                    {"when": {"field": "s", "equals": "x"}, "skip": "because"},
                    {"otherwise": "account"},
                ],
            }
        )
    )


def test_predicate_needs_exactly_one_test() -> None:
    msg = _fail(
        _profile(
            {
                **ACCOUNT,
                "split": [
                    {"when": {"field": "s", "in": ["a"], "equals": "b"}, "table": "account"},
                    {"otherwise": "account"},
                ],
            }
        )
    )
    assert "exactly one of in, not_in, equals, empty, has_children" in msg


def test_value_map_policy_validated() -> None:
    vm = {"to": "industrycode", "from": "industry", "map": {"Software": 1}, "unmapped": "guess"}
    assert "unmapped policy 'guess'" in _fail(_profile({**ACCOUNT, "value_maps": [vm]}))


def _one(obj: dict[str, Any], record: dict[str, Any], **kw: Any) -> TargetRow | Skipped:
    profile = parse_profile(_profile(obj), where="demo.yaml")
    return transform_record(profile.objects[0], record, source="demo", scope="s", owners=None, **kw)


@pytest.mark.parametrize(
    ("policy", "label", "expected"),
    [
        ("quarantine", "Software", {"industrycode": 1}),
        ("default:99", "Mining", {"industrycode": 99}),
        ("keep_label_in:{prefix}_industrylabel", "Mining", {"new_industrylabel": "Mining"}),
    ],
)
def test_COM_16_value_map_policies(policy: str, label: str, expected: dict[str, Any]) -> None:
    vm = {"to": "industrycode", "from": "industry", "map": {"Software": 1}, "unmapped": policy}
    label_column = {"table": "account", "name": "IndustryLabel", "display_name": "Industry", "type": "string"}
    profile = parse_profile(
        _profile({**ACCOUNT, "value_maps": [vm]}, schema={"columns": [label_column]}), where="demo.yaml"
    )
    row = transform_record(
        profile.objects[0],
        {"id": "1", "industry": label},
        source="demo",
        scope="s",
        owners=None,
        custom_columns=True,
    )
    assert isinstance(row, TargetRow)
    assert {k: v for k, v in row.payload.items() if k != "accountid"} == expected


def test_COM_16_unmapped_label_quarantined_naming_object_and_field() -> None:
    vm = {"to": "industrycode", "from": "industry", "map": {"Software": 1}}
    with pytest.raises(UnmappedValue) as err:
        _one({**ACCOUNT, "value_maps": [vm]}, {"id": "7", "industry": "Mining"})
    assert (err.value.object, err.value.field, err.value.source_id) == ("companies", "industry", "7")
    assert "Mining" not in str(err.value)


def test_split_lands_each_record_exactly_once_or_skips_by_rule() -> None:
    obj = {
        "targets": {
            "account": ACCOUNT,
            "lead": {**ACCOUNT, "table": "lead", "entity_set": "leads", "primary_id": "leadid"},
        },
        "split": [
            {"when": {"field": "kind", "equals": "prospect"}, "table": "lead"},
            {"when": {"field": "name", "empty": True}, "skip": "object_not_in_profile"},
            {"otherwise": "account"},
        ],
    }
    lead, skipped, account = (
        _one(obj, {"id": "1", "kind": "prospect", "name": "A"}),
        _one(obj, {"id": "2", "kind": "customer", "name": ""}),
        _one(obj, {"id": "3", "kind": "customer", "name": "C"}),
    )
    assert isinstance(lead, TargetRow) and lead.table == "lead" and "leadid" in lead.payload
    assert skipped == Skipped(source_id="2", rule="object_not_in_profile")
    assert isinstance(account, TargetRow) and account.table == "account"


def test_has_children_predicate_asks_the_child_index() -> None:
    obj = {
        "targets": {"account": ACCOUNT, "lead": {**ACCOUNT, "table": "lead"}},
        "split": [{"when": {"has_children": "sessions"}, "table": "account"}, {"otherwise": "lead"}],
        "joins": [{"name": "sessions", "object": "sessions", "on": "client_id"}],
    }
    with_sessions = _one(obj, {"id": "1"}, children=lambda child, sid: sid == "1")
    without = _one(obj, {"id": "2"}, children=lambda child, sid: sid == "1")
    assert isinstance(with_sessions, TargetRow) and with_sessions.table == "account"
    assert isinstance(without, TargetRow) and without.table == "lead"


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        ("money_cents", 123456, 1234.56),
        ("money_cents", "500", 5.0),
        ("date_only", "2022-01-04T23:30:00-05:00", "2022-01-04"),
        ("date_only", "2022-02-28", "2022-02-28"),
        ("datetime_utc", "2022-01-04T23:30:00-05:00", "2022-01-05T04:30:00Z"),
        ("strip_html", "<p>Hi&nbsp;<b>there</b></p><p>Bye</p>", "Hi\xa0there\nBye"),
        ("bool", "yes", True),
        ("bool", 0, False),
        ("text_max:5", "abcdefgh", "abcde"),
        ("seconds_to_minutes", 61, 2),
        ("seconds_to_minutes", 0, 0),
    ],
)
def test_converters(spec: str, value: Any, expected: Any) -> None:
    assert converter(spec)(value) == expected


@pytest.mark.parametrize(
    ("spec", "value"), [("money_cents", "12.5"), ("bool", "maybe"), ("date_only", "2022-13-01")]
)
def test_converters_refuse_without_naming_the_value(spec: str, value: Any) -> None:
    with pytest.raises(ValueError) as err:
        converter(spec)(value)
    assert str(value) not in str(err.value)


def test_parametrised_converter_needs_its_argument() -> None:
    with pytest.raises(ValueError, match="needs an argument"):
        converter("text_max")


def test_overrides_change_only_what_they_set_and_null_clears() -> None:
    base = {"a": 1, "b": {"c": 2, "d": 3}, "objects": [{"name": "x", "phase": 1}, {"name": "y", "phase": 2}]}
    got = merge_overrides(base, {"b": {"d": None}, "objects": [{"name": "y", "phase": 3}, {"name": "z"}]})
    assert got == {
        "a": 1,
        "b": {"c": 2, "d": None},
        "objects": [{"name": "x", "phase": 1}, {"name": "y", "phase": 3}, {"name": "z"}],
    }
    assert base["b"] == {"c": 2, "d": 3}  # the profile itself is untouched


def test_overrides_are_validated_and_named_in_the_error() -> None:
    from shared.mapping.profile import load_profile

    with pytest.raises(ConfigError) as err:
        load_profile("close", {"objects": [{"name": "contacts", "phase": 0}]})
    assert "close.yaml with the spec's profile_overrides" in str(err.value)
    assert "objects[contacts].phase" in str(err.value)


def test_spec_profile_overrides_are_merged_and_validated_when_the_spec_is_read() -> None:
    from intact.demo import demo_spec
    from shared.mapping.profile import profile_for
    from shared.spec import parse_spec

    base = demo_spec("http://127.0.0.1:1", migration_id="ovr-1").model_dump(mode="json")
    base["options"]["profile_overrides"] = {"objects": [{"name": "leads", "split": [{"otherwise": "lead"}]}]}
    spec = parse_spec(base)
    leads = profile_for(spec).object("leads")
    assert leads is not None and [r.outcome() for r in leads.split] == [("target", "lead")]
    assert profile_for(spec).object("contacts") == profile_for(parse_spec({**base, "options": {}})).object(
        "contacts"
    )  # what the override does not set stays the profile's
    base["options"]["profile_overrides"] = {
        "objects": [{"name": "leads", "split": [{"otherwise": "nowhere"}]}]
    }
    with pytest.raises(
        ConfigError,
        match=r"profile_overrides is invalid: objects\[leads\].*split.0: 'nowhere' is not a target",
    ):
        parse_spec(base)
