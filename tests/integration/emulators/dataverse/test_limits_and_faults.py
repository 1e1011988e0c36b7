"""Service protection limits and fault injection over HTTP.

Source: MicrosoftDocs/powerapps-docs developer/data-platform/api-limits.md — 429 Too Many Requests with
Retry-After (seconds); error codes 0x80072322 / 0x80072321 / 0x80072326; informational headers
x-ms-ratelimit-burst-remaining-xrm-requests and x-ms-ratelimit-time-remaining-xrm-requests;
send-parallel-requests.md for x-ms-dop-hint.
"""

from __future__ import annotations

import time

import httpx
import pytest

from emulators.dataverse import start_server

from .conftest import error_of

AUTH = {"Authorization": "Bearer t"}


def test_headers_on_every_response(client: httpx.Client) -> None:
    r = client.get("WhoAmI")
    assert r.headers["x-ms-dop-hint"] == "4"
    assert int(r.headers["x-ms-ratelimit-burst-remaining-xrm-requests"]) < 6000
    assert (
        "," in r.headers["x-ms-ratelimit-time-remaining-xrm-requests"]
        or "." in r.headers["x-ms-ratelimit-time-remaining-xrm-requests"]
    )


def test_request_limit_429_then_recovers() -> None:
    with (
        start_server(time_scale=600, max_requests=5, dop_hint=8) as handle,
        httpx.Client(base_url=handle.api_url, headers=AUTH) as c,
    ):
        assert [c.get("WhoAmI").status_code for _ in range(5)] == [200] * 5
        r = c.get("WhoAmI")
        status, code, message = error_of(r)
        assert (status, code) == (429, "0x80072322")
        assert message == "Number of requests exceeded the limit of 5 over time window of 300 seconds."
        assert int(r.headers["Retry-After"]) >= 1
        assert r.headers["x-ms-dop-hint"] == "8"
        stats = httpx.get(handle.base_url + "/_emulator/stats").json()
        assert stats["throttled_total"] == 1 and stats["throttled_by_code"] == {"0x80072322": 1}
        time.sleep(0.7)  # window is 300 s / 600 = 0.5 s
        assert c.get("WhoAmI").status_code == 200


def test_execution_time_limit_counts_records() -> None:
    with (
        start_server(max_execution_ms=100, request_cost_ms=1, record_cost_ms=10) as handle,
        httpx.Client(base_url=handle.api_url, headers=AUTH) as c,
    ):
        targets = [{"@odata.type": "Microsoft.Dynamics.CRM.account", "name": f"n{i}"} for i in range(10)]
        assert (
            c.post("accounts/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": targets}).status_code
            == 200
        )
        assert error_of(c.get("WhoAmI"))[:2] == (429, "0x80072321")


def test_no_limits() -> None:
    with (
        start_server(limits=False, max_requests=1) as handle,
        httpx.Client(base_url=handle.api_url, headers=AUTH) as c,
    ):
        assert [c.get("WhoAmI").status_code for _ in range(3)] == [200] * 3
        assert "x-ms-ratelimit-burst-remaining-xrm-requests" not in c.get("WhoAmI").headers


@pytest.mark.parametrize(
    ("spec", "status", "code"), [("429:1", 429, "0x80072322"), ("503:1", 503, "0x80040216")]
)
def test_injected_error_faults(spec: str, status: int, code: str) -> None:
    with start_server(faults=spec, fault_seed=1) as handle:
        r = httpx.get(handle.api_url + "WhoAmI", headers=AUTH)
        assert error_of(r)[:2] == (status, code)
        assert "Retry-After" in r.headers


def test_drop_closes_without_response() -> None:
    with start_server(faults="drop:1") as handle:
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(handle.api_url + "WhoAmI", headers=AUTH)
        assert httpx.get(handle.base_url + "/_emulator/stats").json()["faults_injected"] == {"drop": 1}


def test_drop_after_applies_the_write() -> None:
    with start_server(faults="drop-after:1") as handle:
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.post(handle.api_url + "accounts", json={"name": "Lost answer"}, headers=AUTH)
        assert handle.emulator.store.counts()["account"] == 1


def test_seeded_faults_are_reproducible() -> None:
    def run() -> list[int]:
        with (
            start_server(faults="503:0.5", fault_seed=42) as handle,
            httpx.Client(base_url=handle.api_url, headers=AUTH) as c,
        ):
            return [c.get("WhoAmI").status_code for _ in range(20)]

    first = run()
    assert first == run()
    assert {200, 503} == set(first)
