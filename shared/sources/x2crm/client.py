"""A small sync HTTP client for X2CRM API v2: Basic auth, JSON, and the retry policy.

    client = X2Client("https://crm.example.com", "admin", api_key)
    contacts = client.get("Contacts", {"_page": 0, "_limit": 1000, "_order": "+id"})

`api_url` may be the site root, `…/index.php` or `…/index.php/api2`; paths are relative to `api2/`.
429 waits its Retry-After (X2-23); 5xx and transport errors back off exponentially with jitter;
after `max_attempts` the last error is raised (the activity's durable retry is the outer net).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from shared.errors import RetryableError, ServiceUnavailable, Throttled
from shared.sources.x2crm.errors import error_for, translate_transport_errors

Params = Mapping[str, str | int]


def api_base(api_url: str) -> str:
    """Normalise a configured URL to `…/index.php/api2/`."""
    url = api_url.rstrip("/")
    if url.endswith("/api2"):
        return url + "/"
    if url.endswith("/index.php"):
        return url + "/api2/"
    return url + "/index.php/api2/"


@dataclass
class Traffic:
    """What the client did, for the run report: requests, 429s, retries and time spent waiting."""

    requests: int = 0
    throttled_429: int = 0
    retried_5xx: int = 0
    retried_network: int = 0
    waited_s: float = 0.0


class X2Client:
    def __init__(
        self,
        api_url: str,
        username: str,
        api_key: str,
        *,
        timeout: float = 60.0,
        max_attempts: int = 8,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        max_retry_after: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=api_base(api_url),
            auth=httpx.BasicAuth(username, api_key),
            timeout=timeout,
            headers={"Accept": "application/json"},
            transport=transport,
        )
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_retry_after = max_retry_after
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.traffic = Traffic()

    def get(self, path: str, params: Params | None = None) -> Any:
        """GET `api2/<path>` and return the decoded JSON (arrays come back bare)."""
        return self._send("GET", path, params=params)

    def post(self, path: str, body: Any) -> Any:
        """POST JSON (X2-24: every write carries Content-Type: application/json)."""
        return self._send("POST", path, json=body)

    def _send(self, method: str, path: str, **kw: Any) -> Any:
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._once(method, path, **kw)
            except RetryableError as exc:
                if attempt >= self.max_attempts:
                    raise
                wait = self._wait(exc, attempt)
                if isinstance(exc, ServiceUnavailable):
                    self.traffic.retried_5xx += 1
                elif not isinstance(exc, Throttled):
                    self.traffic.retried_network += 1
                self.traffic.waited_s += wait
                self._sleep(wait)

    def _once(self, method: str, path: str, **kw: Any) -> Any:
        self.traffic.requests += 1
        with translate_transport_errors():
            response = self._http.request(method, path.lstrip("/"), **kw)
        if response.status_code == 429:
            self.traffic.throttled_429 += 1
        if response.status_code >= 400:
            raise error_for(response)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            # PHP notices or a proxy error page instead of JSON: treat as a server fault, retried.
            raise ServiceUnavailable(
                f"X2CRM answered {method} {response.request.url.path} with a body that is not JSON"
            ) from None

    def _wait(self, exc: RetryableError, attempt: int) -> float:
        if exc.retry_after is not None:
            return min(exc.retry_after, self.max_retry_after)
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return self._rng.uniform(ceiling / 2, ceiling)

    def close(self) -> None:
        self._http.close()
