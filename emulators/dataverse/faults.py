"""Seeded fault injection (`--faults "429:0.05,503:0.02,drop:0.01"`) to exercise client retries.

Kinds: `429` (a service-protection error with Retry-After), `503`, `drop` (close the connection
before handling) and `drop-after` (handle the request, then close without answering — the write
happened but the client cannot know).
"""

from __future__ import annotations

import random
import threading
from collections import Counter

KINDS = ("429", "503", "drop", "drop-after")


def parse_spec(spec: str | None) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    for part in (spec or "").split(","):
        part = part.strip()
        if not part:
            continue
        kind, _, rate = part.partition(":")
        kind = kind.strip().lower()
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(KINDS)}")
        value = float(rate)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"fault rate for {kind} must be within 0..1, got {value}")
        out.append((kind, value))
    if sum(r for _, r in out) > 1.0:
        raise ValueError("fault rates add up to more than 1")
    return out


class FaultInjector:
    def __init__(self, spec: str | None = None, seed: int | None = None) -> None:
        self.rates = parse_spec(spec)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()

    @property
    def active(self) -> bool:
        return bool(self.rates)

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
