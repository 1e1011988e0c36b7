"""Close timestamps: ISO-8601 with microseconds and an offset (`2023-05-01T10:00:00.123456+00:00`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def parse_close_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
