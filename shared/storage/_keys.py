"""Table storage keys may not contain / \\ # ? or control characters: escape them reversibly."""

from __future__ import annotations

from urllib.parse import quote, unquote


def safe_key(value: str) -> str:
    return quote(value, safe=" -_.|:@$'()*+,;=~").replace("%", "!")


def unsafe_key(key: str) -> str:
    return unquote(key.replace("!", "%"))
