"""Mapping generated from the source's own definitions (generators.py), on the Close API dataset:
custom activity tables (CLOSE-14/15) and pipeline/stage choice columns (CLOSE-07/08)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from samples.close.generate import CUSTOM_TYPE, OPPORTUNITY_STATUSES, PIPELINES, make_api_dataset
from shared.errors import InvalidField, UnmappedValue
from shared.mapping import load_profile
from shared.mapping.generators import GENERATORS
from shared.mapping.profile import merge_overrides, raw_profile
from shared.mapping.transform import TargetRow, transform_record

DATA = make_api_dataset()
OPTION_PREFIX = 10_000  # options start at prefix * 10,000


def _rows(name: str) -> Iterable[dict[str, Any]]:
    return list(DATA.get(name, []))


def _generate(existing: dict[str, Any] | None = None) -> dict[str, Any]:
    overrides = dict(existing or {})
    for gen in load_profile("close", overrides or None).generate:
        out, _ = GENERATORS[gen.kind](
            gen, merge_overrides(raw_profile("close"), overrides), _rows, OPTION_PREFIX
        )
        if out:
            overrides = merge_overrides(overrides, out)
    return overrides


def _activities(kind: str) -> list[dict[str, Any]]:
    return [a for lead in DATA["leads"] for a in lead["activities"] if a["_type"] == kind]


def test_CLOSE_14_a_custom_activity_table_per_type_with_its_fields() -> None:
    profile = load_profile("close", _generate())
    plan = profile.schema_
    assert plan is not None
    [table] = [t for t in plan.tables if t.seed_name == CUSTOM_TYPE]
    assert table.name == "MeetingOutcome" and table.is_activity
    cols = {c.name: c for c in plan.columns if c.table == "MeetingOutcome"}
    assert cols["Outcome"].type == "choice" and [o.label for o in cols["Outcome"].options] == [
        "Won",
        "Follow-up",
        "Lost",
    ]
    assert cols["Attendees"].type == "decimal"
    activities = profile.object("activities")
    assert activities is not None
    instance = next(a for a in _activities("CustomActivity") if "custom.cf_mood" not in a)
    row = transform_record(activities, instance, source="close", scope="s", owners=None, custom_columns=True)
    assert isinstance(row, TargetRow)
    assert row.table == "new_meetingoutcome" and row.entity_set == "new_meetingoutcomes"
    assert row.payload["subject"] == "Meeting outcome"
    outcome = ["Won", "Follow-up", "Lost"].index(instance["custom.cf_outcome"])
    assert row.payload["new_outcome"] == OPTION_PREFIX * 10_000 + outcome
    assert row.payload["new_attendees"] == instance["custom.cf_attendees"]
    assert row.payload["actualstart"].startswith(instance["activity_at"][:19])
    [regarding] = row.lookups
    assert regarding.bind == "regardingobjectid_{table}_new_meetingoutcome"
    assert regarding.candidates[0] == ("contacts", instance["contact_id"])


def test_CLOSE_15_an_instance_with_an_undefined_field_waits_naming_it() -> None:
    profile = load_profile("close", _generate())
    activities = profile.object("activities")
    assert activities is not None
    [odd] = [a for a in _activities("CustomActivity") if "custom.cf_mood" in a]
    with pytest.raises(InvalidField) as err:
        transform_record(activities, odd, source="close", scope="s", owners=None, custom_columns=True)
    assert err.value.attrs()["field"] == "custom.cf_mood"
    assert "Meeting outcome" in str(err.value) and "CLOSE-15" in str(err.value)


def test_CLOSE_14_generating_twice_changes_nothing() -> None:
    once = _generate()
    assert _generate(once) == once


def test_CLOSE_07_08_pipelines_and_stages_become_choice_columns_in_pipeline_order() -> None:
    profile = load_profile("close", _generate())
    assert profile.schema_ is not None
    cols = {c.name: c for c in profile.schema_.columns if c.table == "opportunity"}
    assert [o.label for o in cols["Pipeline"].options] == [n for _, n in PIPELINES]
    assert [o.label for o in cols["Stage"].options] == [label for _, label, _, _ in OPPORTUNITY_STATUSES]
    opps = profile.object("opportunities")
    assert opps is not None
    for opp in [o for lead in DATA["leads"] for o in lead["opportunities"]]:
        row = transform_record(opps, opp, source="close", scope="s", owners=None, custom_columns=True)
        assert isinstance(row, TargetRow)
        n = [s for s, *_ in OPPORTUNITY_STATUSES].index(opp["status_id"])
        pipe = [p for p, _ in PIPELINES].index(opp["pipeline_id"])
        assert row.payload["new_stage"] == OPTION_PREFIX * 10_000 + n
        assert row.payload["new_pipeline"] == OPTION_PREFIX * 10_000 + pipe
        assert row.payload["stepname"] == opp["status_label"]  # the label, in the standard column too
    stray = {**opp, "status_id": "stat_from_another_org"}
    with pytest.raises(UnmappedValue):  # COM-16: never written as some other stage
        transform_record(opps, stray, source="close", scope="s", owners=None, custom_columns=True)


def test_without_definitions_nothing_is_generated_and_custom_activities_stay_skipped() -> None:
    def nothing(_: str) -> list[dict[str, Any]]:
        return []

    for gen in load_profile("close").generate:
        out, _ = GENERATORS[gen.kind](gen, raw_profile("close"), nothing, OPTION_PREFIX)
        assert out == {}
