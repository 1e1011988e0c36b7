"""Seeded fault injection: `"503:0.05,500:0.02,drop:0.01"` (kind:rate, rates adding up to at most 1),
one draw per request from a seeded generator, so a seed replays the same faults."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Collection


def parse_rates(
    spec: str | None, kinds: Collection[str], *, skip: Collection[str] = ()
) -> list[tuple[str, float]]:
    """`kind:rate` pairs in order; a kind in `skip` is left to its own parser."""
    out: list[tuple[str, float]] = []
    for part in (spec or "").split(","):
        part = part.strip()
        if not part:
            continue
        kind, _, rate = part.partition(":")
        kind = kind.strip().lower()
        if kind in skip:
            continue
        if kind not in kinds:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(kinds)}")
        value = float(rate)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"fault rate for {kind} must be within 0..1, got {value}")
        out.append((kind, value))
    if sum(r for _, r in out) > 1.0:
        raise ValueError("fault rates add up to more than 1")
    return out


class FaultDraw:
    """Draws at most one fault per request: kind k with probability rates[k]; counts what it injected."""

    def __init__(self, rates: list[tuple[str, float]], seed: int | None = None) -> None:
        self.rates = rates
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()

    def draw(self) -> str | None:
        if not self.rates:
            return None
        with self._lock:
            x = self._rng.random()
            acc = 0.0
            for kind, rate in self.rates:
                acc += rate
                if x < acc:
                    self.injected[kind] += 1
                    return kind
        return None
