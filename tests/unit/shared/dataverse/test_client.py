"""The paced client: waits exactly Retry-After on 429, backs off on 5xx and dropped connections."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from shared.dataverse import RetryPolicy
from shared.errors import AuthError, ServiceUnavailable, TargetRequestFailed, Throttled, TransientNetworkError
from tests.unit.shared.dataverse.helpers import BASE, error_body, make_client


def _sequence(
    responses: list[httpx.Response],
) -> tuple[list[httpx.Request], Callable[[httpx.Request], httpx.Response]]:
    seen: list[httpx.Request] = []
    it: Iterator[httpx.Response] = iter(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return next(it)

    return seen, handler


def test_COM_27_429_retried_after_exactly_retry_after_and_counted() -> None:
    seen, handler = _sequence(
        [
            httpx.Response(429, headers={"Retry-After": "7"}, json=error_body("0x80072322", "limit")),
            httpx.Response(200, json={"UserId": "u1"}),
        ]
    )
    sleeps: list[float] = []
    with make_client(handler, sleeps) as dv:
        assert dv.whoami() == {"UserId": "u1"}
        assert sleeps == [7.0]
        assert dv.stats.as_dict() == {
            "requests": 2,
            "throttled_429": 1,
            "retried_5xx": 0,
            "transport_errors": 0,
            "wait_s": 7.0,
        }
    assert len(seen) == 2


def test_COM_27_service_protection_code_throttles_even_without_429() -> None:
    _, handler = _sequence(
        [
            httpx.Response(503, headers={"Retry-After": "3"}, json=error_body("-2147015902", "limit")),
            httpx.Response(200, json={}),
        ]
    )
    sleeps: list[float] = []
    with make_client(handler, sleeps) as dv:
        dv.whoami()
        assert sleeps == [3.0]
        assert dv.stats.throttled_429 == 1


def test_COM_27_throttle_wait_budget_exhausted_raises_throttled() -> None:
    _, handler = _sequence([httpx.Response(429, headers={"Retry-After": "7"})] * 3)
    sleeps: list[float] = []
    policy = RetryPolicy(max_throttle_wait_s=10)
    with make_client(handler, sleeps, policy) as dv, pytest.raises(Throttled) as info:
        dv.whoami()
    assert sleeps == [7.0]
    assert info.value.retry_after == 7.0


def test_503_storm_then_success_backs_off_with_growing_waits() -> None:
    seen, handler = _sequence([httpx.Response(503)] * 4 + [httpx.Response(200, json={})])
    sleeps: list[float] = []
    policy = RetryPolicy(base_backoff_s=1.0, max_backoff_s=60.0)
    with make_client(handler, sleeps, policy) as dv:
        dv.whoami()
        assert dv.stats.retried_5xx == 4
    assert len(seen) == 5
    assert len(sleeps) == 4
    for attempt, wait in enumerate(sleeps, start=1):
        cap = 2 ** (attempt - 1)
        assert cap / 2 <= wait <= cap
    assert sleeps == sorted(sleeps) and sleeps[-1] > sleeps[0]


def test_backoff_capped_at_max_backoff() -> None:
    _, handler = _sequence([httpx.Response(502)] * 5 + [httpx.Response(200, json={})])
    sleeps: list[float] = []
    policy = RetryPolicy(base_backoff_s=1.0, max_backoff_s=2.0, max_transient_attempts=10)
    with make_client(handler, sleeps, policy) as dv:
        dv.whoami()
    assert all(w <= 2.0 for w in sleeps)


def test_5xx_retry_after_honoured() -> None:
    _, handler = _sequence([httpx.Response(503, headers={"Retry-After": "11"}), httpx.Response(200, json={})])
    sleeps: list[float] = []
    with make_client(handler, sleeps) as dv:
        dv.whoami()
    assert sleeps == [11.0]


def test_5xx_gives_up_after_max_attempts() -> None:
    seen, handler = _sequence([httpx.Response(500)] * 10)
    sleeps: list[float] = []
    with (
        make_client(handler, sleeps, RetryPolicy(max_transient_attempts=3)) as dv,
        pytest.raises(ServiceUnavailable),
    ):
        dv.whoami()
    assert len(seen) == 3
    assert len(sleeps) == 2


def test_connect_error_retried_then_succeeds() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json={"UserId": "u"})

    sleeps: list[float] = []
    with make_client(handler, sleeps) as dv:
        assert dv.whoami() == {"UserId": "u"}
        assert dv.stats.transport_errors == 2
    assert len(sleeps) == 2


def test_connect_error_raised_as_transient_network_error_after_max_attempts() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("connection refused", request=request)

    sleeps: list[float] = []
    with (
        make_client(handler, sleeps, RetryPolicy(max_transient_attempts=4)) as dv,
        pytest.raises(TransientNetworkError) as info,
    ):
        dv.whoami()
    assert calls == 4
    assert len(sleeps) == 3
    assert isinstance(info.value.__cause__, httpx.ConnectError)


def test_401_is_auth_error_immediately() -> None:
    seen, handler = _sequence([httpx.Response(401, json=error_body("0x80040220", "no"))] * 3)
    sleeps: list[float] = []
    with make_client(handler, sleeps) as dv, pytest.raises(AuthError):
        dv.whoami()
    assert len(seen) == 1
    assert sleeps == []


def test_400_is_target_request_failed_with_dataverse_code() -> None:
    seen, handler = _sequence([httpx.Response(400, json=error_body("0x80048d19", "Invalid property 'x'"))])
    sleeps: list[float] = []
    with make_client(handler, sleeps) as dv, pytest.raises(TargetRequestFailed) as info:
        dv.upsert_multiple("accounts", "account", [{"x": 1}])
    assert info.value.status == 400
    assert info.value.error_code == "0x80048d19"
    assert len(seen) == 1
    assert sleeps == []


def test_requests_carry_bearer_token_and_odata_headers() -> None:
    seen, handler = _sequence([httpx.Response(200, json={})])
    with make_client(handler, []) as dv:
        dv.whoami()
    (request,) = seen
    assert str(request.url) == f"{BASE}WhoAmI"
    assert request.headers["Authorization"] == "Bearer test-token"
    assert request.headers["OData-Version"] == "4.0"


def test_list_all_follows_next_link() -> None:
    next_link = f"{BASE}systemusers?$select=systemuserid&$skiptoken=abc"
    seen, handler = _sequence(
        [
            httpx.Response(
                200,
                json={"value": [{"systemuserid": "1"}, {"systemuserid": "2"}], "@odata.nextLink": next_link},
            ),
            httpx.Response(200, json={"value": [{"systemuserid": "3"}]}),
        ]
    )
    with make_client(handler, []) as dv:
        rows = dv.list_all("systemusers", select=["systemuserid"], filter="isdisabled eq false", page_size=2)
    assert [r["systemuserid"] for r in rows] == ["1", "2", "3"]
    first, second = seen
    assert first.url.params["$select"] == "systemuserid"
    assert first.url.params["$filter"] == "isdisabled eq false"
    assert first.headers["Prefer"] == "odata.maxpagesize=2"
    assert str(second.url) == next_link
    assert second.headers["Prefer"] == "odata.maxpagesize=2"


def test_dop_hint_captured() -> None:
    _, handler = _sequence([httpx.Response(200, headers={"x-ms-dop-hint": "8"}, json={})])
    with make_client(handler, []) as dv:
        assert dv.dop_hint is None
        dv.whoami()
        assert dv.dop_hint == 8


def test_dop_hint_captured_from_throttled_response_too() -> None:
    _, handler = _sequence(
        [
            httpx.Response(429, headers={"Retry-After": "1", "x-ms-dop-hint": "3"}),
            httpx.Response(200, json={}),
        ]
    )
    with make_client(handler, []) as dv:
        dv.whoami()
        assert dv.dop_hint == 3


def test_delete_tolerates_404() -> None:
    _, handler = _sequence([httpx.Response(204), httpx.Response(404, json=error_body("0x80040217", "gone"))])
    with make_client(handler, []) as dv:
        assert dv.delete("accounts", "11111111-1111-1111-1111-111111111111") is True
        assert dv.delete("accounts", "11111111-1111-1111-1111-111111111111") is False


def test_COM_27_clients_of_one_application_user_share_the_throttle() -> None:
    """When one worker of a user is told to wait, the user's other workers wait too rather than
    each collecting a 429 of its own (api-limits.md: the Retry-After keeps growing if they don't)."""
    import threading
    import time as _time

    import httpx as _httpx

    from shared.dataverse import DataverseClient, StaticToken

    seen: list[int] = []
    first = threading.Event()

    def handler(request: _httpx.Request) -> _httpx.Response:
        if not seen:
            seen.append(429)
            first.set()
            return _httpx.Response(
                429,
                headers={"Retry-After": "1"},
                json={"error": {"code": "0x80072322", "message": "Number of requests exceeded"}},
            )
        seen.append(200)
        return _httpx.Response(200, json={"UserId": "u"})

    def client() -> DataverseClient:
        return DataverseClient(
            "https://org.example",
            StaticToken("t"),
            transport=_httpx.MockTransport(handler),
            throttle_key="https://org.example#user0",
        )

    a, b = client(), client()
    other = client()
    other_gate_key = DataverseClient(
        "https://org.example",
        StaticToken("t"),
        transport=_httpx.MockTransport(handler),
        throttle_key="elsewhere#user1",
    )
    t = threading.Thread(target=a.whoami)
    t.start()
    first.wait(5)
    _time.sleep(0.1)
    b.whoami()  # sent while user0 is held: waits, then goes through
    t.join(5)
    assert seen == [429, 200, 200] or seen == [429, 200, 200][: len(seen)]
    assert seen.count(429) == 1
    assert b.stats.throttled_429 == 0 and b.stats.wait_s > 0.5
    other_gate_key.whoami()  # another user is not held
    assert other_gate_key.stats.wait_s == 0
    for c in (a, b, other, other_gate_key):
        c.close()
