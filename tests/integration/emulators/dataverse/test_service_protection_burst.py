"""A burst past the request limit under time-scaled limits: 429s, then a polite client loses nothing.

Source: MicrosoftDocs/powerapps-docs developer/data-platform/api-limits.md — past the limit of
requests in the 5-minute sliding window Dataverse answers 429 Too Many Requests with error code
0x80072322 and a `Retry-After` header (seconds); a client that waits that long and retries
completes. The window is scaled (300 s / 300 = 1 s) and the limit lowered so the test takes seconds.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from emulators.dataverse import start_server

from .conftest import error_of

AUTH = {"Authorization": "Bearer burst", "Accept": "application/json"}
TIME_SCALE = 300  # window 1 s
MAX_REQUESTS = 25
WRITES = 100
CLIENTS = 4


def test_burst_past_the_request_limit_gets_429_with_retry_after() -> None:
    with (
        start_server(time_scale=TIME_SCALE, max_requests=MAX_REQUESTS) as dv,
        httpx.Client(base_url=dv.api_url, headers=AUTH) as c,
    ):
        statuses = [c.get("WhoAmI") for _ in range(MAX_REQUESTS + 10)]
        assert [r.status_code for r in statuses[:MAX_REQUESTS]] == [200] * MAX_REQUESTS
        throttled = statuses[MAX_REQUESTS:]
        assert {r.status_code for r in throttled} == {429}
        for r in throttled:
            _status, code, message = error_of(r)
            assert code == "0x80072322"
            assert message == (
                f"Number of requests exceeded the limit of {MAX_REQUESTS} over time window of 300 seconds."
            )
            assert int(r.headers["Retry-After"]) >= 1
        stats = httpx.get(f"{dv.base_url}/_emulator/stats").json()
        assert stats["throttled_by_code"] == {"0x80072322": 10}


class PoliteClient:
    """Creates records with client-chosen ids; on 429 waits `Retry-After` seconds and sends again."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.lock = threading.Lock()
        self.throttled = 0
        self.waited_s = 0.0

    def create(self, body: dict[str, object]) -> None:
        while True:
            r = self.client.post("accounts", json=body)
            if r.status_code != 429:
                assert r.status_code == 204, r.text
                return
            assert r.json()["error"]["code"] == "0x80072322"
            wait = float(r.headers["Retry-After"])
            with self.lock:
                self.throttled += 1
                self.waited_s += wait
            time.sleep(wait)


def test_client_honouring_retry_after_completes_every_write_once() -> None:
    ids = [str(uuid.UUID(int=(0xB0257 << 100) | i, version=4)) for i in range(WRITES)]
    with (
        start_server(time_scale=TIME_SCALE, max_requests=MAX_REQUESTS) as dv,
        httpx.Client(base_url=dv.api_url, headers=AUTH, timeout=30) as c,
    ):
        polite = PoliteClient(c)
        started = time.monotonic()
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(
                pool.map(lambda i: polite.create({"accountid": ids[i], "name": f"Burst {i}"}), range(WRITES))
            )
        elapsed = time.monotonic() - started

        assert polite.throttled > 0, "the burst never reached the limit"
        # Not all at once: the limit held, so the writes needed several windows.
        assert elapsed >= (WRITES // MAX_REQUESTS - 1) * 300 / TIME_SCALE
        stats = httpx.get(f"{dv.base_url}/_emulator/stats").json()
        assert stats["throttled_by_code"]["0x80072322"] == polite.throttled
        assert stats["status_counts"]["204"] == WRITES  # each write ran exactly once

        rows: list[dict[str, str]] = []
        url: str | None = "accounts?$select=accountid,name&$filter=startswith(name,'Burst ')"
        while url:
            r = c.get(url, headers={"Prefer": "odata.maxpagesize=40"})
            if r.status_code == 429:
                time.sleep(float(r.headers["Retry-After"]))
                continue
            page = r.json()
            rows.extend(page["value"])
            url = page.get("@odata.nextLink")
        assert sorted(row["accountid"] for row in rows) == sorted(ids)  # nothing lost, nothing doubled
        assert len({row["name"] for row in rows}) == WRITES
