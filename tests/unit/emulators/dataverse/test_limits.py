"""Service protection limits with a fake clock (powerapps-docs `developer/data-platform/api-limits.md`:
6000 requests / 20 min execution per 5-minute sliding window, 52 concurrent; codes -2147015902
(0x80072322), -2147015903 (0x80072321), -2147015898 (0x80072326); 429 + Retry-After seconds)."""

from __future__ import annotations

import pytest

from emulators.dataverse import errors
from emulators.dataverse.limits import LimitConfig, ServiceProtection


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def make(**kw) -> tuple[ServiceProtection, FakeClock]:
    clock = FakeClock()
    return ServiceProtection(LimitConfig(**kw), clock), clock


def test_request_limit_then_window_slides() -> None:
    sp, clock = make(max_requests=3, escalation_s=0)
    for _ in range(3):
        sp.complete("u", sp.admit("u"))
        clock.t += 10
    with pytest.raises(errors.DataverseError) as info:
        sp.admit("u")
    err = info.value
    assert (err.status, err.code) == (429, "0x80072322")
    assert err.message == "Number of requests exceeded the limit of 3 over time window of 300 seconds."
    # oldest request at t=1000 leaves the window at t=1300; now is 1030
    assert err.headers["Retry-After"] == "270"
    clock.t = 1300.5
    sp.complete("u", sp.admit("u"))


def test_users_are_limited_independently() -> None:
    sp, _ = make(max_requests=1)
    sp.complete("a", sp.admit("a"))
    with pytest.raises(errors.DataverseError):
        sp.admit("a")
    sp.complete("b", sp.admit("b"))


def test_execution_time_limit_uses_cost_model() -> None:
    sp, _ = make(max_execution_ms=1000, request_cost_ms=100, record_cost_ms=10)
    sp.complete("u", sp.admit("u"), records=90)  # 100 + 900 = 1000 ms
    assert sp.budget("u").time_remaining_s == 0
    with pytest.raises(errors.DataverseError) as info:
        sp.admit("u")
    assert info.value.code == "0x80072321"
    assert info.value.message.startswith(
        "Combined execution time of incoming requests exceeded limit of 1,000 "
    )


def test_concurrency_fails_immediately() -> None:
    sp, _ = make(max_concurrent=2)
    t1, t2 = sp.admit("u"), sp.admit("u")
    with pytest.raises(errors.DataverseError) as info:
        sp.admit("u")
    assert (info.value.code, info.value.message) == (
        "0x80072326",
        "Number of concurrent requests exceeded the limit of 2.",
    )
    sp.complete("u", t1)
    sp.complete("u", sp.admit("u"))
    sp.complete("u", t2)


def test_retry_after_grows_while_client_keeps_sending() -> None:
    sp, _ = make(max_requests=1, escalation_s=5)
    sp.complete("u", sp.admit("u"))
    retry = []
    for _ in range(3):
        with pytest.raises(errors.DataverseError) as info:
            sp.admit("u")
        retry.append(int(info.value.headers["Retry-After"]))
    assert retry[0] < retry[1] < retry[2]


def test_time_scale_shrinks_window() -> None:
    sp, clock = make(max_requests=1, time_scale=60, escalation_s=0)
    sp.complete("u", sp.admit("u"))
    with pytest.raises(errors.DataverseError) as info:
        sp.admit("u")
    assert info.value.headers["Retry-After"] == "5"
    clock.t += 5.01
    sp.complete("u", sp.admit("u"))


def test_budget_headers_format() -> None:
    sp, _ = make()
    sp.complete("u", sp.admit("u"))
    headers = sp.budget("u").headers()
    assert headers["x-ms-ratelimit-burst-remaining-xrm-requests"] == "5999"
    assert headers["x-ms-ratelimit-time-remaining-xrm-requests"] == "1,199.99"


def test_disabled_never_limits() -> None:
    sp, _ = make(enabled=False, max_requests=0)
    assert sp.admit("u") is None
