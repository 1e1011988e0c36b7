"""Seeded fault injection (`--faults "429:0.05,503:0.02,drop:0.01"`) to exercise client retries.

Kinds: `429` (a service-protection error with Retry-After), `500`, `503`, `drop` (close the connection
before handling) and `drop-after` (handle the request, then close without answering — the write
happened but the client cannot know). `latency:50ms` (every request) or `latency:20-80ms` (uniform,
seeded) delays each Web API request before it is handled.
"""

from __future__ import annotations

from emulators._common.faults import FaultDraw, parse_rates

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
    return parse_rates(spec, KINDS, skip=("latency",))  # latency: parse_latency


class FaultInjector(FaultDraw):
    def __init__(self, spec: str | None = None, seed: int | None = None) -> None:
        super().__init__(parse_spec(spec), seed)
        self.latency = parse_latency(spec)

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
