"""Pacing decisions for loading, as pure functions of orchestration state (deterministic under
replay, unit-testable): how many chunks may be in flight, and whether the daily request
entitlement forces a pause before the next one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

DAY = timedelta(hours=24)


def next_width(max_width: int, users: int, dop_hints: Sequence[int | None]) -> int:
    """x-ms-dop-hint x application users, as the target reports it now, never above `max_width`."""
    hints = [h for h in dop_hints if h]
    if not hints:
        return max_width
    return max(1, min(max_width, min(hints) * users))


def used_in_window(consumed: Sequence[tuple[str, int]], now: datetime) -> int:
    return sum(items for at, items in consumed if datetime.fromisoformat(at) > now - DAY)


def entitlement_pause(
    consumed: Sequence[tuple[str, int]], now: datetime, cap: int | None, next_items: int
) -> datetime | None:
    """When the next wave may start, if sending it now would pass the 24-hour cap; else None.

    A wave bigger than the whole cap is let through once the window is empty (it cannot be split
    further here), so a too-small cap slows a migration down but never wedges it.
    """
    if cap is None:
        return None
    window = sorted(
        (datetime.fromisoformat(at), items)
        for at, items in consumed
        if datetime.fromisoformat(at) > now - DAY
    )
    used = sum(items for _, items in window)
    if used + next_items <= cap or not window:
        return None
    # wait until enough of the oldest consumption has left the window
    for at, items in window:
        used -= items
        if used + next_items <= cap or used == 0:
            return at + DAY
    return window[-1][0] + DAY
