"""Load pacing: waves as wide as the target allows, spread across application users, and the
daily request entitlement honoured with a durable timer (issue #4 'Pacing' / 'Across workers')."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from orchestrators._pacing import entitlement_pause, next_width
from orchestrators.migration import load_phase
from tests.unit.orchestrators.fake_context import FakeContext, user_function
from tests.unit.orchestrators.test_migration import SPEC

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_width_follows_the_dop_hint_times_users_capped() -> None:
    assert next_width(16, users=3, dop_hints=[4, 5, None]) == 12
    assert next_width(8, users=3, dop_hints=[4]) == 8
    assert next_width(8, users=1, dop_hints=[]) == 8
    assert next_width(8, users=1, dop_hints=[1]) == 1


def test_entitlement_pause_waits_for_the_oldest_use_to_leave_the_window() -> None:
    used = [((T0 - timedelta(hours=20)).isoformat(), 600), ((T0 - timedelta(hours=2)).isoformat(), 300)]
    assert entitlement_pause(used, T0, cap=1000, next_items=100) is None
    assert entitlement_pause(used, T0, cap=1000, next_items=200) == T0 + timedelta(hours=4)
    assert entitlement_pause(used, T0, cap=None, next_items=10**9) is None
    # an old use outside the window does not count
    assert entitlement_pause([((T0 - timedelta(hours=25)).isoformat(), 10**6)], T0, 1000, 999) is None
    # a wave bigger than the cap goes once the window is empty: slowed, never wedged
    assert entitlement_pause([], T0, cap=10, next_items=500) is None


def _phase(loads: int, **extra: Any) -> dict[str, Any]:
    run = {"migration_id": "acme", "run_id": "r1", "spec": SPEC}
    return {
        "loads": [
            {
                "run": run,
                "object": "leads",
                "phase": 1,
                "chunk_no": n,
                "target_path": f"t/{n}",
                "records": 1000,
            }
            for n in range(loads)
        ],
        **extra,
    }


def _load(dop: int | None = None) -> Any:
    def load(inp: dict[str, Any]) -> dict[str, Any]:
        return {
            "object": "leads",
            "chunk_no": inp["chunk_no"],
            "loaded": 1000,
            "quarantined": 0,
            "requests": 1,
            "throttled_429": 0,
            "wait_s": 0.0,
            "items": 1000,
            "dop_hint": dop,
        }

    return load


def test_COM_25_chunks_are_spread_across_application_users() -> None:
    ctx = FakeContext(_phase(9, max_width=6, users=3), {"load_chunk": _load()})
    ctx.run(user_function(load_phase))
    users = [inp["user_index"] for name, inp in ctx.calls if name == "load_chunk"]
    assert users == [0, 1, 2] * 3


def test_in_flight_width_adapts_to_the_dop_hint_the_target_sends() -> None:
    ctx = FakeContext(_phase(10, max_width=8, users=1), {"load_chunk": _load(dop=2)})
    ctx.run(user_function(load_phase))
    in_flight = [n for _, n in ctx.waves]
    assert in_flight[0] == 8  # what the probe allowed, until the target says otherwise
    after = in_flight[in_flight.index(2) :]  # once the hint (2) is heard, never more than 2 in flight
    assert after and max(after) == 2
    assert len([1 for name, _ in ctx.calls if name == "load_chunk"]) == 10


def test_a_slot_is_refilled_as_soon_as_a_chunk_finishes() -> None:
    ctx = FakeContext(_phase(7, max_width=3, users=1), {"load_chunk": _load()})
    ctx.run(user_function(load_phase))
    # rolling window: 3 in flight until the tail, then it drains (no wave waits for its slowest)
    assert [n for _, n in ctx.waves] == [3, 3, 3, 3, 3, 2, 1]


def test_daily_entitlement_pauses_on_a_durable_timer_and_nothing_is_dropped() -> None:
    ctx = FakeContext(_phase(5, max_width=5, users=1, daily_cap=2000), {"load_chunk": _load()})
    out = ctx.run(user_function(load_phase))
    assert max(n for _, n in ctx.waves) == 2  # never more in flight than the cap leaves room for
    assert len(ctx.timers) == 2
    assert ctx.timers[0] >= T0 + timedelta(hours=24)
    assert sorted(r["chunk_no"] for r in out["results"]) == [0, 1, 2, 3, 4]
    assert out["paused_s"] >= 2 * 24 * 3600 - 1
    assert any(s["stage"].startswith("paused") for s in ctx.statuses)
