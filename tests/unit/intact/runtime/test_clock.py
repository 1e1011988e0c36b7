from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from intact.runtime import Clock, LocalRuntime, RealClock, VirtualClock
from tests.unit.intact.runtime.durable_app import build_app


def test_virtual_clock_moves_only_forward_and_tells_listeners() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    clock = VirtualClock(start, auto_advance=False)
    calls: list[int] = []
    clock.subscribe(lambda: calls.append(1))
    assert clock.advance(90) == start + timedelta(seconds=90)
    assert calls == [1]
    with pytest.raises(ValueError):
        clock.advance(-1)
    assert not clock.advance_when_idle(start + timedelta(days=1))
    assert isinstance(clock, Clock) and isinstance(RealClock(), Clock)


def test_orchestration_time_comes_from_the_runtime_clock() -> None:
    start = datetime(2030, 5, 17, 8, 0, tzinfo=UTC)
    with LocalRuntime(build_app()[0], clock=VirtualClock(start)) as rt:
        status = rt.wait_for_completion(rt.start_new("sleeper", input=1), 5)
        assert status.created_time == start
        assert status.last_updated_time == start + timedelta(hours=1)


def test_real_clock_timer_fires_at_wall_clock_time() -> None:
    with LocalRuntime(build_app()[0]) as rt:
        status = rt.wait_for_completion(rt.start_new("sleeper", input=0.0001), 5)  # 0.36 s
    assert status.output["slept_s"] >= 0.36
