"""The Close client paces itself: 429s wait rate_reset, RateLimit remaining=0 holds that endpoint
group back, 5xx back off and retry, and the budget ends in the translated error."""

from __future__ import annotations

import base64

import httpx
import pytest

from shared.errors import AuthError, ServiceUnavailable
from shared.sources.close.client import CloseClient, endpoint_group


class Clock:
    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.t += s


def _client(handler, clock: Clock, **kw) -> CloseClient:  # type: ignore[no-untyped-def]
    return CloseClient(
        "http://close.test/api/v1/",
        "k1",
        transport=httpx.MockTransport(handler),
        sleep=clock.sleep,
        clock=clock.now,
        **kw,
    )


def test_basic_auth_is_the_key_with_an_empty_password() -> None:
    seen = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req.headers["Authorization"])
        return httpx.Response(200, json={"data": [], "has_more": False})

    _client(handler, Clock()).get("lead/")
    assert seen == ["Basic " + base64.b64encode(b"k1:").decode()]


def test_CLOSE_24_a_429_waits_exactly_rate_reset_then_retries() -> None:
    calls = []

    def handler(req: httpx.Request) -> httpx.Response:
        calls.append(req.url.path)
        if len(calls) == 1:
            body = {
                "error": {
                    "message": "API call count exceeded for this period",
                    "rate_reset": 0.87,
                    "rate_limit": 40,
                    "rate_window": 1,
                    "rate_limit_type": "key",
                }
            }
            return httpx.Response(429, json=body)
        return httpx.Response(200, json={"data": [1], "has_more": False})

    clock = Clock()
    client = _client(handler, clock)
    assert client.get("lead/")["data"] == [1]
    assert clock.sleeps == [pytest.approx(0.87)]
    assert client.traffic.throttled_429 == 1


def test_CLOSE_24_remaining_zero_holds_back_only_that_endpoint_group() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"data": []}, headers={"RateLimit": "limit=2, remaining=0, reset=1.5"}
        )

    clock = Clock()
    client = _client(handler, clock)
    client.get("lead/")
    client.get("opportunity/")
    assert clock.sleeps == []
    client.get("lead/lead_abc/")  # same group as lead/
    assert clock.sleeps == [pytest.approx(1.5)]
    assert endpoint_group("GET", "lead/lead_abc/") == endpoint_group("GET", "lead/") == "GET lead/"


@pytest.mark.parametrize("status", [502, 503, 504])
def test_5xx_retried_with_backoff(status: int) -> None:
    n = []

    def handler(req: httpx.Request) -> httpx.Response:
        n.append(1)
        return httpx.Response(status if len(n) < 3 else 200, json={"data": []})

    clock = Clock()
    client = _client(handler, clock)
    client.get("task/")
    assert len(n) == 3 and len(clock.sleeps) == 2 and client.traffic.retried_5xx == 2


def test_retry_budget_ends_in_the_translated_error() -> None:
    client = _client(lambda req: httpx.Response(503), Clock(), max_retries=2)
    with pytest.raises(ServiceUnavailable):
        client.get("task/")
    with pytest.raises(AuthError):
        _client(lambda req: httpx.Response(401, json={"error": "x"}), Clock()).get("lead/")


def test_dropped_connections_are_retried() -> None:
    n = []

    def handler(req: httpx.Request) -> httpx.Response:
        n.append(1)
        if len(n) == 1:
            raise httpx.RemoteProtocolError("dropped")
        return httpx.Response(200, json={"data": []})

    _client(handler, Clock()).get("lead/")
    assert len(n) == 2
