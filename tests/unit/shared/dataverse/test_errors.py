"""The one place Dataverse responses become Intact errors: every status the client can see maps."""

from __future__ import annotations

import httpx
import pytest

from shared.dataverse import error_for_response
from shared.errors import (
    AuthError,
    FatalError,
    IntactError,
    RetryableError,
    ServiceUnavailable,
    TargetRequestFailed,
    Throttled,
)
from tests.unit.shared.dataverse.helpers import error_body


def _resp(
    status: int, code: str | None = None, message: str = "", headers: dict[str, str] | None = None
) -> httpx.Response:
    body = error_body(code, message) if code is not None else None
    return httpx.Response(status, json=body, headers=headers)


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (429, "0x80072322", Throttled),
        (429, None, Throttled),
        (400, "0x80072321", Throttled),  # execution-time limit
        (503, "-2147015898", Throttled),  # concurrency limit
        (401, "0x80040220", AuthError),
        (403, "0x80040220", AuthError),
        (500, "0x80040216", ServiceUnavailable),
        (502, None, ServiceUnavailable),
        (503, None, ServiceUnavailable),
        (504, None, ServiceUnavailable),
        (400, "0x80044331", TargetRequestFailed),
        (404, "0x80060888", TargetRequestFailed),
        (412, "0x80060882", TargetRequestFailed),
        (413, None, TargetRequestFailed),
    ],
)
def test_status_and_code_map_to_a_class(status: int, code: str | None, expected: type[IntactError]) -> None:
    err = error_for_response(_resp(status, code, "details"))
    assert type(err) is expected
    assert isinstance(err, RetryableError | FatalError)


def test_throttled_carries_retry_after() -> None:
    err = error_for_response(_resp(429, "0x80072322", headers={"Retry-After": "7"}))
    assert isinstance(err, Throttled)
    assert err.retry_after == 7.0


@pytest.mark.parametrize("value", ["soon", "Wed, 21 Oct 2015 07:28:00 GMT"])
def test_unparseable_retry_after_is_none(value: str) -> None:
    err = error_for_response(_resp(429, headers={"Retry-After": value}))
    assert isinstance(err, Throttled)
    assert err.retry_after is None


def test_target_request_failed_keeps_status_code_and_message() -> None:
    err = error_for_response(_resp(400, "0x80044331", "The length of the 'name' attribute exceeded"))
    assert isinstance(err, TargetRequestFailed)
    assert (err.status, err.error_code) == (400, "0x80044331")
    assert "The length of the 'name' attribute exceeded" in str(err)
    assert str(err).startswith("[TargetRequestFailed]")


def test_non_json_body_tolerated() -> None:
    err = error_for_response(httpx.Response(400, text="<html>Bad Request</html>"))
    assert isinstance(err, TargetRequestFailed)
    assert err.error_code is None
    assert "<html>" not in str(err)


def test_throttled_message_does_not_echo_the_body() -> None:
    err = error_for_response(_resp(429, "0x80072322", "contact jane@private.example hit the limit"))
    assert "jane@private.example" not in str(err)
