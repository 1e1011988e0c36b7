"""Small value helpers shared by validation, storage and queries (GUIDs, UTC date-times)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_guid(value: object) -> str | None:
    """Lower-case canonical GUID, or None when `value` is not one."""
    if isinstance(value, str) and GUID_RE.match(value.strip("{}")):
        return value.strip("{}").lower()
    return None


def new_guid() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def parse_datetime(text: str) -> datetime:
    """ISO 8601 date or date-time; naive values are taken as UTC (Dataverse stores UTC)."""
    if _DATE_ONLY.match(text):
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_datetime(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_date_only_text(text: str) -> bool:
    return bool(_DATE_ONLY.match(text))
