from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.sources.x2crm.values import (
    parse_assignment,
    parse_bool,
    parse_name_id,
    parse_number,
    parse_unix,
)


@pytest.mark.parametrize("raw", [1600000000, "1600000000", 1600000000.0, " 1600000000 "])
def test_X2_10_unix_timestamps_as_numbers_or_strings_become_utc(raw: object) -> None:
    assert parse_unix(raw) == datetime(2020, 9, 13, 12, 26, 40, tzinfo=UTC)


@pytest.mark.parametrize("raw", [None, "", 0, "0"])
def test_unset_timestamps_are_none(raw: object) -> None:
    assert parse_unix(raw) is None


@pytest.mark.parametrize("raw", ["yesterday", True, [1]])
def test_a_timestamp_that_is_not_one_is_refused(raw: object) -> None:
    with pytest.raises(ValueError):
        parse_unix(raw)


def test_numbers_as_strings_are_accepted() -> None:
    assert parse_number("1250.00") == 1250.0
    assert parse_number("42") == 42
    assert parse_number(7.5) == 7.5
    assert parse_number("12", integer=True) == 12
    assert parse_number("") is None
    with pytest.raises(ValueError):
        parse_number("12 EUR")


def test_booleans_from_tinyint_strings() -> None:
    assert parse_bool("1") is True
    assert parse_bool(0) is False
    assert parse_bool(None) is None


def test_X2_03_name_id_link_fields_split_into_reference_and_name() -> None:
    assert parse_name_id("Pierre Office Supplies_25") == {"id": "25", "name": "Pierre Office Supplies"}
    assert parse_name_id("Deal 3: Acme_Ltd_1_17") == {"id": "17", "name": "Deal 3: Acme_Ltd_1"}
    assert parse_name_id("25") == {"id": "25", "name": None}
    assert parse_name_id("Freelance (no account)") == {"id": None, "name": "Freelance (no account)"}
    assert parse_name_id("") is None


def test_X2_16_assigned_to_username_list_or_anyone() -> None:
    assert parse_assignment("jane") == ["jane"]
    assert parse_assignment("jane, bob") == ["jane", "bob"]
    assert parse_assignment("Anyone") == []
    assert parse_assignment(None) == []
