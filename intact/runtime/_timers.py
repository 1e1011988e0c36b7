"""The durable-timer thread: fires due timers on the runtime clock.

With a `RealClock` it sleeps until the next timer is due. With a `VirtualClock` it sleeps until
poked (time moved, work finished) and, if the clock auto-advances, jumps time to the next timer
whenever the runtime is idle.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from intact.runtime._clock import Clock

# Upper bound on one sleep, so a missed poke costs at most this much latency.
_MAX_SLEEP = 0.25


@dataclass(order=True)
class _Entry:
    fire_at: datetime
    seq: int
    key: tuple[str, str, int] = field(compare=False)  # (instance id, execution, timer id)


class TimerQueue:
    """A heap of pending timers served by one thread. All methods expect `cond`'s lock held,
    except `start` and `close`; `fire` is called with the lock held."""

    def __init__(
        self,
        clock: Clock,
        cond: threading.Condition,
        is_idle: Callable[[], bool],
        fire: Callable[[tuple[str, str, int], datetime], None],
    ) -> None:
        self._clock = clock
        self._cond = cond
        self._is_idle = is_idle
        self._fire = fire
        self._heap: list[_Entry] = []
        self._seq = itertools.count()
        self._closed = False
        self._thread: threading.Thread | None = None

    def add(self, fire_at: datetime, key: tuple[str, str, int]) -> None:
        heapq.heappush(self._heap, _Entry(fire_at, next(self._seq), key))
        self._cond.notify_all()

    def __len__(self) -> int:
        return len(self._heap)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="intact-durable-timers", daemon=True)
        self._thread.start()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        with self._cond:
            while not self._closed:
                if self._heap and self._heap[0].fire_at <= self._clock.now():
                    entry = heapq.heappop(self._heap)
                    self._fire(entry.key, entry.fire_at)
                    continue
                if self._heap and self._is_idle() and self._clock.advance_when_idle(self._heap[0].fire_at):
                    continue
                timeout = self._clock.seconds_until(self._heap[0].fire_at) if self._heap else None
                self._cond.wait(_MAX_SLEEP if timeout is None else min(timeout, _MAX_SLEEP))
