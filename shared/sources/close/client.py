"""A small sync HTTP client for Close's REST API v1 that paces itself.

HTTP Basic with the API key as username and an empty password. Per endpoint group (method + path
with ids stripped, as Close groups its limits) it honours the `RateLimit: limit=N, remaining=R,
reset=S` header: at `remaining=0` the next call to that group waits `reset` seconds first. A 429 is
waited out for its `rate_reset` (CLOSE-24); 502/503/504/500 and dropped connections back off
exponentially with jitter. Beyond `max_retries` the translated error is raised (the durable retry
is the outer net).

    client = CloseClient("https://api.close.com/api/v1/", api_key)
    body = client.get("lead/", {"_limit": 100})
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from shared.errors import IntactError, RetryableError, Throttled
from shared.sources.close.errors import error_for, error_for_transport

_ID_SEGMENT = re.compile(r"^[a-z]+_[A-Za-z0-9]+$")
_RATELIMIT = re.compile(r"(\w+)\s*=\s*([0-9.]+)")


def endpoint_group(method: str, path: str) -> str:
    """`GET lead/lead_abc/` and `GET lead/` share a group key with ids stripped."""
    parts = [p for p in path.split("?")[0].strip("/").split("/") if p and not _ID_SEGMENT.match(p)]
    return f"{method} {'/'.join(parts)}/"


@dataclass
class Traffic:
    requests: int = 0
    throttled_429: int = 0
    retried_5xx: int = 0
    wait_s: float = 0.0


class CloseClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        transport: httpx.BaseTransport | None = None,
        max_retries: int = 8,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        timeout_s: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self._http = httpx.Client(
            base_url=self.base_url,
            auth=httpx.BasicAuth(api_key, ""),
            transport=transport,
            timeout=timeout_s,
            headers={"Accept": "application/json"},
        )
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._sleep = sleep
        self._clock = clock
        self._not_before: dict[str, float] = {}
        self._lock = threading.Lock()
        self._rnd = random.Random()
        self.traffic = Traffic()

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", path, json=body)

    def download(self, url: str) -> httpx.Response:
        """GET an absolute URL (an export's download_url) without the API key."""
        resp = httpx.get(url, timeout=self._http.timeout)
        if resp.status_code >= 400:
            raise error_for(resp.status_code, b"", resp.headers, "GET export download")
        return resp

    def request(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        group = endpoint_group(method, path)
        what = f"{method} {path.split('?')[0]}"
        attempt = 0
        while True:
            self._wait_for(group)
            self.traffic.requests += 1
            try:
                resp = self._http.request(method, path, **kw)
            except httpx.TransportError as exc:
                err: IntactError = error_for_transport(exc, what)
            else:
                self._note_headers(group, resp.headers)
                if resp.status_code < 400:
                    doc = resp.json()
                    return doc if isinstance(doc, dict) else {"data": doc}
                err = error_for(resp.status_code, resp.content, resp.headers, what)
            if not isinstance(err, RetryableError) or attempt >= self.max_retries:
                raise err
            attempt += 1
            if isinstance(err, Throttled):
                self.traffic.throttled_429 += 1
                wait = err.retry_after or 1.0
                self._block(group, wait)
            else:
                self.traffic.retried_5xx += 1
                ceiling = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
                wait = ceiling / 2 + self._rnd.uniform(0, ceiling / 2)
                self._sleep_for(wait)

    def close(self) -> None:
        self._http.close()

    def _note_headers(self, group: str, headers: httpx.Headers) -> None:
        values = dict(_RATELIMIT.findall(headers.get("ratelimit", "")))
        if values.get("remaining") in ("0", "0.0") and "reset" in values:
            self._block(group, float(values["reset"]))

    def _block(self, group: str, seconds: float) -> None:
        with self._lock:
            self._not_before[group] = max(self._not_before.get(group, 0.0), self._clock() + seconds)

    def _wait_for(self, group: str) -> None:
        with self._lock:
            until = self._not_before.get(group, 0.0)
        delay = until - self._clock()
        if delay > 0:
            self._sleep_for(delay)

    def _sleep_for(self, seconds: float) -> None:
        self.traffic.wait_s += seconds
        self._sleep(seconds)
