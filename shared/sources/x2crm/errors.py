"""The one place where X2CRM API v2 answers become Intact errors.

X2CRM answers an error with `{"message": …, "error": true, "status": N}` (ResponseUtil::sendHttp)
and these statuses (Api2Controller):

    401  bad/missing Basic credentials (WWW-Authenticate: Basic realm="X2Engine API v2") → AuthError
    403  no permission, IP blocked, locked out after failed logins                   → AuthError
    400  unknown class, bad _order column, bad by: condition                           → ConfigError
    404  record / field / user / associated record not found                           → RecordNotFound
    405  method not allowed for the action                                             → ConfigError
    415  a write without Content-Type: application/json                                → ConfigError
    422  model failed validation (X2-25: reported against its record)                  → InvalidField
    429  too many requests (Platinum rate limit), Retry-After seconds (X2-23)          → Throttled
    5xx  internal error, app locked / API disabled (503)                               → ServiceUnavailable
    transport errors (timeouts, refused or dropped connections)                        → TransientNetworkError

Messages never carry the response body or a record value: they name the request path and status.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx

from shared.errors import (
    AuthError,
    ConfigError,
    FatalError,
    IntactError,
    InvalidField,
    ServiceUnavailable,
    Throttled,
    TransientNetworkError,
)

SOURCE = "x2crm"


class RecordNotFound(FatalError):
    """404: the record (or field, user) does not exist. Readers that expect it (a record deleted
    between listing it and reading its tags) catch it; anywhere else it stops the run."""

    code = "RecordNotFound"


class PagingStalled(FatalError):
    """The API answered a page that breaks the paging contract (ids going backwards)."""

    code = "PagingStalled"


_BY_STATUS: dict[int, type[IntactError]] = {
    400: ConfigError,
    401: AuthError,
    403: AuthError,
    404: RecordNotFound,
    405: ConfigError,
    415: ConfigError,
    422: InvalidField,
    429: Throttled,
}

_HINTS: dict[int, str] = {
    400: "the request names an unknown class or attribute",
    401: "credentials refused: check source.username and the user's API key",
    403: "the API user lacks permission, or this address is blocked or locked out",
    404: "not found",
    405: "method not allowed",
    415: "writes must send Content-Type: application/json",
    422: "X2CRM refused the record: it failed validation",
    429: "rate limited by the X2CRM API",
}


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def error_for(response: httpx.Response, *, record_id: str = "", object: str = "") -> IntactError:
    """The Intact error for a non-2xx X2CRM response (the body is never put into the message)."""
    status = response.status_code
    where = f"{response.request.method} {response.request.url.path}"
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = ServiceUnavailable if status >= 500 else FatalError
    hint = _HINTS.get(status, "server error" if status >= 500 else "unexpected answer")
    message = f"X2CRM {status} on {where}: {hint}"
    if cls is Throttled or cls is ServiceUnavailable:
        return cls(message, retry_after=_retry_after(response))
    if cls is InvalidField:
        return InvalidField(
            message, source=SOURCE, object=object, source_id=record_id, field=_first_invalid(response)
        )
    return cls(message)


def _first_invalid(response: httpx.Response) -> str | None:
    """422 bodies carry `errors: {attribute: [messages]}`; name the first attribute (not its value)."""
    try:
        errors = response.json().get("errors")
    except (ValueError, AttributeError):
        return None
    if isinstance(errors, dict) and errors:
        return str(next(iter(errors)))
    return None


@contextlib.contextmanager
def translate_transport_errors() -> Iterator[None]:
    """Map httpx's transport failures to TransientNetworkError, chained with `from`."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise TransientNetworkError(f"X2CRM request timed out ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        raise TransientNetworkError(f"X2CRM connection failed ({type(exc).__name__})") from exc
