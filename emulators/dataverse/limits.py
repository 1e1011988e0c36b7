"""Service protection API limits, per calling user (powerapps-docs `api-limits.md`).

Three facets: requests and combined execution time over a sliding 5-minute window, and concurrent
requests (which fail at once). Execution time follows a deterministic cost model (a fixed cost per
request plus a cost per record touched), so tests and benchmarks are reproducible. `time_scale`
shrinks the window (60 → 5 s) so tests reach and leave limits in seconds. The clock is injectable.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from . import errors

WINDOW_SECONDS = 300.0


@dataclass(frozen=True)
class LimitConfig:
    enabled: bool = True
    max_requests: int = 6000
    max_execution_ms: int = 1_200_000
    max_concurrent: int = 52
    time_scale: float = 1.0
    request_cost_ms: float = 10.0
    record_cost_ms: float = 5.0
    # Each request refused while a user is blocked extends the block by this many (unscaled) seconds,
    # modelling "keeps growing if the client keeps sending" (api-limits.md, "The Retry-After duration").
    escalation_s: float = 1.0

    @property
    def window_s(self) -> float:
        return WINDOW_SECONDS / self.time_scale


@dataclass
class _UserState:
    entries: deque[list[float]] = field(default_factory=deque)  # [time, cost ms] per admitted request
    requests: int = 0
    execution_ms: float = 0.0
    in_flight: int = 0
    blocked_until: float = 0.0
    blocked_error: str = ""


@dataclass(frozen=True)
class Budget:
    """What the `x-ms-ratelimit-*` response headers report."""

    burst_remaining: int
    time_remaining_s: float

    def headers(self) -> dict[str, str]:
        return {
            "x-ms-ratelimit-burst-remaining-xrm-requests": str(self.burst_remaining),
            "x-ms-ratelimit-time-remaining-xrm-requests": f"{self.time_remaining_s:,.2f}",
        }


class ServiceProtection:
    def __init__(self, config: LimitConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        self._lock = threading.Lock()
        self._users: dict[str, _UserState] = {}

    def cost(self, records: int) -> float:
        return self.config.request_cost_ms + self.config.record_cost_ms * max(records, 0)

    def _state(self, user: str) -> _UserState:
        return self._users.setdefault(user, _UserState())

    def _expire(self, st: _UserState, now: float) -> None:
        horizon = now - self.config.window_s
        while st.entries and st.entries[0][0] <= horizon:
            _, cost = st.entries.popleft()
            st.requests -= 1
            st.execution_ms -= cost
        if not st.entries:
            st.requests, st.execution_ms = 0, 0.0

    def _retry_after(self, seconds: float) -> int:
        return max(1, math.ceil(seconds))

    def admit(self, user: str) -> list[float] | None:
        """Count a request in and return its ticket; raise the Dataverse 429 error past a limit."""
        if not self.config.enabled:
            return None
        cfg = self.config
        with self._lock:
            now = self.clock()
            st = self._state(user)
            self._expire(st, now)
            if st.in_flight >= cfg.max_concurrent:
                raise errors.too_many_concurrent(cfg.max_concurrent, 1)
            if now < st.blocked_until:
                st.blocked_until += cfg.escalation_s / cfg.time_scale
                raise self._error(st.blocked_error, self._retry_after(st.blocked_until - now))
            kind = ""
            if st.requests >= cfg.max_requests:
                kind = "requests"
            elif st.execution_ms >= cfg.max_execution_ms:
                kind = "execution"
            if kind:
                until = self._until_capacity(st, kind, now)
                st.blocked_until, st.blocked_error = until, kind
                raise self._error(kind, self._retry_after(until - now))
            st.in_flight += 1
            st.requests += 1
            ticket = [now, 0.0]
            st.entries.append(ticket)
            return ticket

    def _until_capacity(self, st: _UserState, kind: str, now: float) -> float:
        """Earliest time the window again has room for one request."""
        window = self.config.window_s
        if kind == "requests":
            excess = st.requests - self.config.max_requests
            return st.entries[min(excess, len(st.entries) - 1)][0] + window
        need = st.execution_ms - self.config.max_execution_ms
        freed = 0.0
        for t, cost in st.entries:
            freed += cost
            if freed > need:
                return t + window
        return now + window

    def _error(self, kind: str, retry_after: int) -> errors.DataverseError:
        cfg = self.config
        if kind == "execution":
            return errors.execution_time_exceeded(cfg.max_execution_ms, WINDOW_SECONDS, retry_after)
        return errors.too_many_requests(cfg.max_requests, WINDOW_SECONDS, retry_after)

    def complete(self, user: str, ticket: list[float] | None, records: int = 0, subrequests: int = 0) -> None:
        """Release the concurrency slot and charge the request's modelled execution time.

        `subrequests` (the parts of a `$batch`) each add a request cost to the execution time only:
        a batch counts as one request (api-limits.md: a batch "will avoid the number of requests limit").
        """
        if ticket is None:
            return
        cost = self.cost(records) + self.config.request_cost_ms * max(subrequests, 0)
        with self._lock:
            st = self._state(user)
            st.in_flight = max(0, st.in_flight - 1)
            if st.entries and ticket[0] >= st.entries[0][0]:  # still inside the window
                ticket[1] = cost
                st.execution_ms += cost

    def budget(self, user: str) -> Budget:
        cfg = self.config
        with self._lock:
            st = self._state(user)
            self._expire(st, self.clock())
            return Budget(
                max(0, cfg.max_requests - st.requests),
                max(0.0, (cfg.max_execution_ms - st.execution_ms) / 1000.0),
            )

    def reset(self) -> None:
        with self._lock:
            self._users.clear()
