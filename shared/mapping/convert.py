"""Value converters named by profiles (`convert: email`): a lookup table, not an if-chain.

Each takes the source value and returns the target value, or raises ValueError with a reason that
names no value (the value may be personal data).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _text(v: Any) -> Any:
    return v.strip() if isinstance(v, str) else v


def _email(v: Any) -> Any:
    if v is None or v == "":
        return None
    if not isinstance(v, str) or not _EMAIL.match(v.strip()):
        raise ValueError("not a valid email address")
    return v.strip()


def _datetime(v: Any) -> Any:
    if v in (None, ""):
        return None
    if not isinstance(v, str):
        raise ValueError("not an ISO-8601 timestamp")
    try:
        dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("not an ISO-8601 timestamp") from None
    dt = dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _url(v: Any) -> Any:
    if v in (None, ""):
        return None
    if not isinstance(v, str):
        raise ValueError("not a URL")
    v = v.strip()
    return v if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", v) else f"https://{v}"


def _split(v: Any) -> tuple[str | None, str | None]:
    if not isinstance(v, str) or not v.strip():
        return None, None
    parts = v.strip().split()
    return (" ".join(parts[:-1]) or None, parts[-1]) if len(parts) > 1 else (None, parts[0])


CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "text": _text,
    "email": _email,
    "datetime": _datetime,
    "url": _url,
    "first_name": lambda v: _split(v)[0],
    "last_name": lambda v: _split(v)[1],
}
