"""Table storage keys: reversible escaping of characters Azure Tables refuses in keys."""

from __future__ import annotations

import pytest

from shared.storage._keys import safe_key, unsafe_key

IDS = [
    "lead_abc123",
    "a/b",
    "a\\b",
    "#1",
    "what?",
    "bang!",
    "100%",
    "!25",
    "%21",
    "!!%%",
    "path/with\\all#the?bad!chars%",
    "Müller",
    "日本語",
    "emoji 😀",
    "tab\there",
    "line\nbreak",
    "\x00nul",
    "del\x7f",
    "c1\x85control",
    "",
    " leading and trailing ",
]
FORBIDDEN = set("/\\#?")


@pytest.mark.parametrize("value", IDS)
def test_round_trip(value: str) -> None:
    assert unsafe_key(safe_key(value)) == value


@pytest.mark.parametrize("value", IDS)
def test_safe_key_has_no_forbidden_or_control_characters(value: str) -> None:
    key = safe_key(value)
    assert not FORBIDDEN & set(key)
    assert all(0x20 <= ord(ch) < 0x7F for ch in key), repr(key)


def test_distinct_ids_give_distinct_keys() -> None:
    keys = [safe_key(v) for v in IDS]
    assert len(set(keys)) == len(IDS)


def test_plain_ids_stay_readable() -> None:
    assert safe_key("lead_abc-123.x") == "lead_abc-123.x"
