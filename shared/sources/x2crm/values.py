"""X2CRM values as API v2 sends them, turned into plain typed values.

X2CRM reads MySQL through PDO, so numbers and unix timestamps often arrive as JSON strings
("1600000000", "25", "1250.00"); both forms are accepted. Link fields hold a `nameId`
(`"Pierre Office Supplies_25"`: name, `_`, record id); `assignedTo` holds a username, a
comma-separated list of them, or `Anyone`.

The conversion is a lookup table from the X2 field type (`x2_fields.type`) to a converter, like
dlt's type mappers, not an if-chain.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from shared.sources._base import FieldType

_NAME_ID = re.compile(r"^(?P<name>.*)_(?P<id>\d+)$", re.DOTALL)
_NUMBER = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")


def parse_unix(value: Any) -> datetime | None:
    """Unix seconds (int, float or numeric string) → aware UTC datetime. None, "" and 0 mean unset.

    Raises ValueError for anything else (the caller decides whether that is a malformed row).
    """
    if value is None or value == "" or isinstance(value, bool):
        if isinstance(value, bool):
            raise ValueError("a boolean is not a unix timestamp")
        return None
    if isinstance(value, str):
        if not _NUMBER.match(value):
            raise ValueError("not a unix timestamp")
        value = float(value)
    if not isinstance(value, int | float):
        raise ValueError("not a unix timestamp")
    if value == 0:
        return None  # X2CRM writes 0 for "never" (lastLogin, dueDate of undated actions)
    return datetime.fromtimestamp(value, tz=UTC)


def iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat().replace("+00:00", "Z")


def parse_number(value: Any, *, integer: bool = False) -> int | float | None:
    """A number or numeric string → int (when whole) or float. Raises ValueError otherwise."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        if not _NUMBER.match(value):
            raise ValueError("not a number")
        value = float(value) if any(c in value for c in ".eE") else int(value)
    if not isinstance(value, int | float):
        raise ValueError("not a number")
    return int(value) if integer else value


def parse_bool(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError("not a boolean")


def parse_name_id(value: Any) -> dict[str, str | None] | None:
    """`"Pierre Office Supplies_25"` → `{"id": "25", "name": "Pierre Office Supplies"}`.

    A bare id (`"25"`, 25) is a reference without a name; text with no `_<id>` suffix is a name that
    references nothing (X2CRM keeps typed-in company names that match no account that way).
    """
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return {"id": str(value), "name": None}
    text = str(value)
    if text.isdigit():
        return {"id": text, "name": None}
    m = _NAME_ID.match(text)
    if m is None:
        return {"id": None, "name": text}
    return {"id": m.group("id"), "name": m.group("name")}


def parse_assignment(value: Any) -> list[str]:
    """`assignedTo`: a username, `"a, b"`, or `Anyone` (nobody) → list of usernames/group ids."""
    if value is None:
        return []
    if isinstance(value, list):
        items = [str(v).strip() for v in value]
    else:
        items = [part.strip() for part in str(value).split(",")]
    return [v for v in items if v and v.lower() != "anyone"]


def _id(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _text(value: Any) -> Any:
    return value


Converter = Callable[[Any], Any]

# x2_fields.type → (Intact field type, converter to a JSON value). Types not listed are kept as sent.
X2_TYPES: dict[str, tuple[FieldType, Converter]] = {
    "varchar": ("string", _text),
    "text": ("text", _text),
    "int": ("integer", lambda v: parse_number(v, integer=True)),
    "float": ("decimal", parse_number),
    "currency": ("money", parse_number),
    "percentage": ("decimal", parse_number),
    "rating": ("integer", lambda v: parse_number(v, integer=True)),
    "visibility": ("integer", lambda v: parse_number(v, integer=True)),
    "boolean": ("boolean", parse_bool),
    "date": ("date", lambda v: iso(parse_unix(v))),
    "dateTime": ("datetime", lambda v: iso(parse_unix(v))),
    "email": ("email", _text),
    "phone": ("phone", _text),
    "url": ("url", _text),
    "dropdown": ("enum", _text),
    "link": ("reference", parse_name_id),
    "assignment": ("list", parse_assignment),
    "optionalAssignment": ("list", parse_assignment),
    "id": ("string", _id),
}

# Attributes every X2 record class has, typed even when a class's /fields answer omits them.
COMMON_FIELDS: dict[str, str] = {
    "id": "id",
    "createDate": "dateTime",
    "lastUpdated": "dateTime",
    "lastActivity": "dateTime",
    "assignedTo": "assignment",
    "visibility": "visibility",
}
