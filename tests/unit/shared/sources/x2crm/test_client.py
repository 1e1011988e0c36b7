from __future__ import annotations

import httpx
import pytest

from emulators.x2crm.app import MockConfig, X2Mock
from shared.errors import AuthError, ServiceUnavailable
from shared.sources.x2crm.client import X2Client, api_base

from .conftest import client_for


@pytest.mark.parametrize(
    "url",
    [
        "https://crm.example.com",
        "https://crm.example.com/index.php",
        "https://crm.example.com/index.php/api2/",
    ],
)
def test_api_url_forms_normalise_to_api2(url: str) -> None:
    assert api_base(url) == "https://crm.example.com/index.php/api2/"


def test_bad_api_key_is_an_auth_error_and_is_not_retried(mock: X2Mock) -> None:
    client = client_for(mock, key="wrong")
    with pytest.raises(AuthError):
        client.get("Contacts")
    assert client.traffic.requests == 1


def test_a_user_with_api_access_disabled_is_refused(mock: X2Mock) -> None:
    with pytest.raises(AuthError):
        client_for(mock, user="bob", key="").get("Contacts")


def test_X2_23_429_waits_exactly_retry_after(mock: X2Mock) -> None:
    waits: list[float] = []
    limited = X2Mock(mock.store, MockConfig(rate_limit=2, rate_interval=7))
    client = client_for(limited, sleep=waits.append, max_attempts=3)
    client.get("Contacts/count")
    client.get("Contacts/count")
    with pytest.raises(Exception):  # noqa: B017 - the mock's window never expires without real time
        client.get("Contacts/count")
    assert waits == [7.0, 7.0]
    assert client.traffic.throttled_429 == 3


def test_5xx_is_retried_with_backoff_then_succeeds() -> None:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] < 3:
            return httpx.Response(503, json={"message": "", "error": True, "status": 503})
        return httpx.Response(200, json=[{"id": "1"}])

    waits: list[float] = []
    client = X2Client("http://x2.test", "a", "k", transport=httpx.MockTransport(handler), sleep=waits.append)
    assert client.get("Contacts") == [{"id": "1"}]
    assert len(waits) == 2 and waits[1] > 0 and client.traffic.retried_5xx == 2


def test_retries_end_after_max_attempts() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"message": "", "error": True, "status": 500})

    client = X2Client(
        "http://x2.test",
        "a",
        "k",
        transport=httpx.MockTransport(handler),
        sleep=lambda s: None,
        max_attempts=3,
    )
    with pytest.raises(ServiceUnavailable):
        client.get("Contacts")
    assert client.traffic.requests == 3


def test_X2_24_writes_carry_json_content_type() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Content-Type", ""))
        return httpx.Response(201, json={"id": 5})

    X2Client("http://x2.test", "a", "k", transport=httpx.MockTransport(handler)).post("Contacts", {"a": 1})
    assert seen == ["application/json"]
