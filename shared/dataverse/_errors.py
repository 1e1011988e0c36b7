"""The one place where Dataverse HTTP responses become Intact errors (by meaning, not by status)."""

from __future__ import annotations

from typing import Any

import httpx

from shared.errors import (
    AuthError,
    IntactError,
    ServiceUnavailable,
    TargetRequestFailed,
    Throttled,
    TransientNetworkError,
)

# Service protection error codes (api-limits.md): requests, execution time, concurrency.
SERVICE_PROTECTION_CODES = {
    "0x80072322",
    "0x80072321",
    "0x80072326",
    "-2147015902",
    "-2147015903",
    "-2147015898",
}


def dataverse_error(response: httpx.Response) -> tuple[str | None, str]:
    """(error code, message) from a Dataverse error body; tolerant of non-JSON bodies."""
    try:
        body: Any = response.json()
    except ValueError:
        return None, f"HTTP {response.status_code}"
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        return None, f"HTTP {response.status_code}"
    return (str(err.get("code")) if err.get("code") is not None else None), str(err.get("message", ""))


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def error_for_response(response: httpx.Response) -> IntactError:
    """Classify a non-2xx response: retry it, give up on it, or (400s on writes) isolate records."""
    code, message = dataverse_error(response)
    status = response.status_code
    if status == 429 or code in SERVICE_PROTECTION_CODES:
        return Throttled(
            f"Dataverse throttled the request ({code})", retry_after=retry_after_seconds(response)
        )
    if status in (401, 403):
        return AuthError(
            f"Dataverse refused the credentials or privileges (HTTP {status}, {code}): {message}"
        )
    if status in (500, 502, 503, 504):
        return ServiceUnavailable(
            f"Dataverse is unavailable (HTTP {status}, {code})", retry_after=retry_after_seconds(response)
        )
    return TargetRequestFailed(
        f"Dataverse refused the request (HTTP {status}, {code}): {message}",
        status=status,
        error_code=code,
        dataverse_message=message,
    )


def error_for_transport(exc: httpx.TransportError) -> TransientNetworkError:
    return TransientNetworkError(f"network error talking to Dataverse: {type(exc).__name__}")
