"""The one place where Close API responses and transport failures become Intact errors.

    401/403                     → AuthError          (the API key is wrong or lacks access)
    429 (+ rate_reset)          → Throttled          retry_after from the body's rate_reset, else the
                                                     `RateLimit: …, reset=S` header, else Retry-After
    400 with "max_skip = N"     → MaxSkipExceeded    (paging switches to date windows; never leaves it)
    other 400, 404, 405, 422    → SourceRequestRefused (a FatalError: a filter or path Close refuses)
    500/502/503/504             → ServiceUnavailable
    timeouts, dropped sockets   → TransientNetworkError

Messages never carry the response body (it can hold personal data), except Close's max_skip
sentence, which holds none.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import httpx

from shared.errors import (
    AuthError,
    FatalError,
    IntactError,
    ServiceUnavailable,
    Throttled,
    TransientNetworkError,
)

MAX_SKIP = re.compile(r"max_skip\s*=\s*(\d+)")
_RATELIMIT_RESET = re.compile(r"reset\s*=\s*([0-9.]+)")


class MaxSkipExceeded(FatalError):
    """`_skip` passed the resource's ceiling; the pager slices by date instead."""

    code = "MaxSkipExceeded"

    def __init__(self, message: str, *, max_skip: int) -> None:
        super().__init__(message)
        self.max_skip = max_skip


class SourceRequestRefused(FatalError):
    """Close refused a request no retry can fix (bad filter, unknown path)."""

    code = "SourceRequestRefused"

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


def _body(content: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(content or b"{}")
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def retry_after(body: Mapping[str, Any], headers: Mapping[str, str]) -> float:
    """Seconds to wait after a 429: rate_reset, then RateLimit reset=, then Retry-After, then 1."""
    err = body.get("error")
    if isinstance(err, dict) and isinstance(err.get("rate_reset"), int | float):
        return max(float(err["rate_reset"]), 0.0)
    m = _RATELIMIT_RESET.search(headers.get("ratelimit", "") or headers.get("RateLimit", ""))
    if m:
        return float(m.group(1))
    value = headers.get("retry-after") or headers.get("Retry-After")
    try:
        return max(float(value), 0.0) if value else 1.0
    except ValueError:
        return 1.0


def error_for(status: int, content: bytes, headers: Mapping[str, str], what: str) -> IntactError:
    """The Intact error for a non-2xx Close response to request `what` (e.g. "GET lead/")."""
    body = _body(content)
    if status in (401, 403):
        return AuthError(
            f"Close refused the API key for {what} ({status}): check source.api_key "
            "(HTTP Basic, the key as username, empty password)"
        )
    if status == 429:
        wait = retry_after(body, headers)
        return Throttled(f"Close rate limit for {what}; retry in {wait:.2f} s", retry_after=wait)
    if status == 400:
        text = body.get("error") if isinstance(body.get("error"), str) else content.decode("utf-8", "replace")
        m = MAX_SKIP.search(text or "")
        if m:
            return MaxSkipExceeded(f"{what}: past max_skip = {m.group(1)}", max_skip=int(m.group(1)))
    if status >= 500:
        return ServiceUnavailable(f"Close answered {status} to {what}")
    return SourceRequestRefused(f"Close refused {what} ({status})", status=status)


def error_for_transport(exc: httpx.TransportError, what: str) -> TransientNetworkError:
    return TransientNetworkError(f"{type(exc).__name__} talking to Close ({what})")
