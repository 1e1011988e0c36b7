"""Seeded fault injection (`--faults "429:0.05,503:0.02,drop:0.01"`) to exercise client retries.

Kinds: `429` (a service-protection error with Retry-After), `500`, `503`, `drop` (close the connection
before handling) and `drop-after` (handle the request, then close without answering — the write
happened but the client cannot know). `latency:50ms` (every request) or `latency:20-80ms` (uniform,
seeded) delays each Web API request before it is handled.
"""

from __future__ import annotations

import random
import threading
from collections import Counter

KINDS = ("429", "500", "503", "drop", "drop-after")


def parse_latency(spec: str | None) -> tuple[float, float] | None:
    """`latency:50ms` → (0.05, 0.05); `latency:20-80ms` → (0.02, 0.08); None when absent."""
    for part in (spec or "").split(","):
        kind, _, value = part.strip().partition(":")
        if kind.strip().lower() != "latency":
            continue
        text = value.strip().lower()
        scale = 1.0
        if text.endswith("ms"):
            text, scale = text[:-2], 0.001
        elif text.endswith("s"):
            text = text[:-1]
        low, _, high = text.partition("-")
        try:
            lo, hi = float(low) * scale, float(high or low) * scale
        except ValueError:
            raise ValueError(f"bad latency {value!r}; expected latency:50ms or latency:20-80ms") from None
        if lo < 0 or hi < lo:
            raise ValueError(f"bad latency range {value!r}")
        return lo, hi
    return None


def parse_spec(spec: str | None) -> list[tuple[str, float]]:
    parse_latency(spec)  # raises on a malformed latency
    out: list[tuple[str, float]] = []
    for part in (spec or "").split(","):
        part = part.strip()
        if not part:
            continue
        kind, _, rate = part.partition(":")
        kind = kind.strip().lower()
        if kind == "latency":
            continue  # parse_latency
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
        self.latency = parse_latency(spec)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()

    @property
    def active(self) -> bool:
        return bool(self.rates) or self.latency is not None

    def delay(self) -> float:
        """Seconds to wait before handling this request (0 without a latency fault)."""
        if self.latency is None:
            return 0.0
        lo, hi = self.latency
        if lo == hi:
            return lo
        with self._lock:
            return self._rng.uniform(lo, hi)

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
