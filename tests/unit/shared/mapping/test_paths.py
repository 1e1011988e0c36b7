"""Profile paths into nested source records."""

from __future__ import annotations

from typing import Any

import pytest

from shared.mapping.paths import get_path

LEAD: dict[str, Any] = {
    "display_name": "Acme",
    "custom.Lead Owner": "user_flat",
    "custom": {"Lead Owner": "user_nested", "Tier": {"level": 2}},
    "addresses": [{"city": "Springfield", "zip": "62701"}, {"city": "Shelbyville"}],
    "emails": [],
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("display_name", "Acme"),
        ("custom.Lead Owner", "user_flat"),  # a literal dotted key wins over descending
        ("custom.Tier.level", 2),
        ("addresses[0].city", "Springfield"),
        ("addresses[1].city", "Shelbyville"),
        ("addresses[1].zip", None),
        ("addresses[2].city", None),
        ("emails[0].email", None),
        ("display_name.first", None),
        ("display_name[0]", None),
        ("missing", None),
        ("missing.deeper[3]", None),
    ],
)
def test_get_path(path: str, expected: Any) -> None:
    assert get_path(LEAD, path) == expected


def test_dotted_key_descends_into_nested_custom_dict() -> None:
    """Close's API nests custom fields; the export may flatten them. Both read the same."""
    assert get_path({"custom": {"Lead Owner": "user_x"}}, "custom.Lead Owner") == "user_x"


def test_list_index_on_non_list_is_none() -> None:
    assert get_path({"addresses": {"0": {"city": "x"}}}, "addresses[0].city") is None
