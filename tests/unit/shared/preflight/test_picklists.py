from __future__ import annotations

from collections import Counter

from shared.preflight import PicklistTally, ValueMapRef, check_picklists
from tests.unit.shared.preflight.conftest import INDUSTRY

OPTIONS = {("account", "industrycode"): {1, 2, 3, 7}}


KEY = INDUSTRY.key


def _tally(labels: list[object]) -> PicklistTally:
    tally = PicklistTally()
    for n, label in enumerate(labels):
        tally.observe([INDUSTRY], f"lead_{n}", lambda _path, v=label: v)
    return tally


def test_COM_16_an_unmapped_label_blocks_with_its_count_and_records() -> None:
    tally = _tally(["Accounting", "Hot prospect", "Hot prospect", None, "Consulting"])
    out, summary = check_picklists([INDUSTRY], tally.counts, OPTIONS, tally.ids)
    [(severity, f)] = out
    assert severity == "blocking"
    assert (f.requirement, f.code, f.object, f.field) == (
        "COM-16",
        "unmapped_label",
        "leads",
        "custom.Industry",
    )
    assert f.value == "Hot prospect" and f.records == 2 and f.source_ids == ["lead_1", "lead_2"]
    assert summary == {"fields": 1, "labels_seen": 3, "unmapped_labels": 1, "unmapped_records": 2}


def test_COM_16_a_label_mapped_to_an_option_the_target_lacks_blocks() -> None:
    vm = ValueMapRef("leads", "custom.Industry", "account", "industrycode", {"Accounting": 1, "Mining": 99})
    out, _ = check_picklists([vm], {KEY: Counter({"Mining": 4})}, OPTIONS)
    [(severity, f)] = out
    assert severity == "blocking" and f.code == "option_missing" and f.records == 4
    assert f.details == {"option": 99}


def test_COM_16_a_choice_column_missing_from_target_and_plan_blocks() -> None:
    out, _ = check_picklists([INDUSTRY], {}, {("account", "industrycode"): None})
    assert [(s, f.code) for s, f in out] == [("blocking", "choice_column_missing")]


def test_COM_16_a_default_option_turns_unmapped_labels_into_warnings() -> None:
    vm = ValueMapRef("leads", "custom.Industry", "account", "industrycode", {"Accounting": 1}, default=3)
    out, _ = check_picklists([vm], {KEY: Counter({"Odd": 1})}, OPTIONS)
    assert [(s, f.code) for s, f in out] == [("warning", "unmapped_label")]


def test_COM_16_a_default_that_is_not_an_option_still_blocks() -> None:
    vm = ValueMapRef("leads", "custom.Industry", "account", "industrycode", {"Accounting": 1}, default=42)
    out, _ = check_picklists([vm], {KEY: Counter({"Odd": 1})}, OPTIONS)
    assert sorted((s, f.code) for s, f in out) == [
        ("blocking", "option_missing"),
        ("blocking", "unmapped_label"),
    ]


def test_COM_16_keeping_the_label_in_a_text_column_is_a_warning() -> None:
    vm = ValueMapRef(
        "leads", "custom.Industry", "account", "industrycode", {"Accounting": 1}, keeps_label=True
    )
    out, _ = check_picklists([vm], {KEY: Counter({"Odd": 1})}, OPTIONS)
    assert [(s, f.code) for s, f in out] == [("warning", "unmapped_label")]
    assert "text column" in out[0][1].message


def test_COM_16_labels_are_read_as_the_value_maps_read_them() -> None:
    tally = _tally([True, " Accounting ", "", 7])
    assert tally.counts[KEY] == Counter({"true": 1, "Accounting": 1, "7": 1})


def test_COM_16_multi_select_values_count_each_label() -> None:
    tally = _tally([["Accounting", "Other"], ["Other"]])
    assert tally.counts[KEY] == Counter({"Other": 2, "Accounting": 1})
    assert tally.ids[(KEY, "Other")] == ["lead_0", "lead_1"]


def test_COM_16_every_mapped_label_with_an_option_passes() -> None:
    tally = _tally(["Accounting", "Consulting"])
    assert check_picklists([INDUSTRY], tally.counts, OPTIONS, tally.ids)[0] == []
