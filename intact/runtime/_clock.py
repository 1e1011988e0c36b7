"""Where the runtime gets "now" from, and how long its timer thread may sleep.

Durable timers fire on the runtime clock, and every orchestrator episode starts with an
OrchestratorStarted event stamped by it (that is what `context.current_utc_datetime` reads).
`RealClock` is wall-clock time. `VirtualClock` lets tests run day-long timers instantly.

Caveat of `VirtualClock(auto_advance=True)`: time jumps to the next due timer as soon as the
runtime is idle (no activity running, no episode queued). An orchestrator that races
`wait_for_external_event` against a timer is idle while it waits, so its timeout can fire before
a test thread gets to raise the event. For such tests use `VirtualClock(auto_advance=False)` and
move time yourself with `advance(seconds)`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """What the runtime needs from a clock."""

    def now(self) -> datetime:
        """The current UTC time (timezone-aware)."""
        ...

    def seconds_until(self, when: datetime) -> float | None:
        """How long the timer thread may sleep before `when` is due; None: until poked."""
        ...

    def advance_when_idle(self, next_due: datetime) -> bool:
        """Called when the runtime is idle and a timer is pending; True if time moved to it."""
        ...

    def subscribe(self, callback: Callable[[], None]) -> None:
        """Register a callback run whenever time moves by other means than passing."""
        ...


class RealClock:
    """Wall-clock time: timers fire when their time comes. The default."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def seconds_until(self, when: datetime) -> float | None:
        return max(0.0, (when - self.now()).total_seconds())

    def advance_when_idle(self, next_due: datetime) -> bool:
        return False

    def subscribe(self, callback: Callable[[], None]) -> None:
        """Real time never jumps, so there is nothing to tell."""


class VirtualClock:
    """Test time. Starts at `start` (default: now, UTC) and moves only when told, or, with
    `auto_advance`, straight to the next due timer whenever the runtime has nothing else to do.

        clock = VirtualClock(auto_advance=False)
        with LocalRuntime(app, clock=clock) as rt:
            iid = rt.start_new("approval")
            clock.advance(3600)          # the one-hour timeout fires now
    """

    def __init__(self, start: datetime | None = None, *, auto_advance: bool = True) -> None:
        base = start or datetime.now(UTC)
        if base.tzinfo is None:
            base = base.replace(tzinfo=UTC)
        self._now = base.astimezone(UTC)
        self.auto_advance = auto_advance
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def seconds_until(self, when: datetime) -> float | None:
        return 0.0 if when <= self.now() else None

    def advance_when_idle(self, next_due: datetime) -> bool:
        if not self.auto_advance:
            return False
        with self._lock:
            if next_due > self._now:
                self._now = next_due
        return True

    def advance(self, seconds: float) -> datetime:
        """Move time forward by `seconds`; due timers fire. Returns the new time."""
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        with self._lock:
            self._now += timedelta(seconds=seconds)
            now = self._now
        self._notify()
        return now

    def set(self, when: datetime) -> None:
        """Jump to an absolute time (not before the current one)."""
        with self._lock:
            if when < self._now:
                raise ValueError("a clock does not go backwards")
            self._now = when
        self._notify()

    def subscribe(self, callback: Callable[[], None]) -> None:
        with self._lock:
            self._listeners.append(callback)

    def _notify(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for cb in listeners:
            cb()
