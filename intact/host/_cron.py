"""NCRONTAB schedules, as Azure Functions timer triggers write them.

Six fields: `second minute hour day month day-of-week`. Each field takes `*`, a number, a range
`a-b`, a step `*/n` or `a-b/n`, or a comma list of those. Day-of-week is 0-6 with 0 = Sunday (7
is accepted as Sunday too). Day and day-of-week must both match (NCrontab semantics).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

_BOUNDS = ((0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_NAMES = ("second", "minute", "hour", "day", "month", "day-of-week")
_HORIZON = timedelta(days=366 * 5)


class CronError(ValueError):
    """The schedule is not a six-field NCRONTAB expression this parser understands."""


def _field(text: str, low: int, high: int, name: str) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if body == "*":
                start, end = low, high
            elif "-" in body:
                first, last = body.split("-", 1)
                start, end = int(first), int(last)
            else:
                start = int(body)
                end = high if step_text else start
        except ValueError as exc:
            raise CronError(f"bad {name} field {text!r}") from exc
        if step < 1 or not low <= start <= end <= high:
            raise CronError(f"{name} field {text!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class CronSchedule:
    """A parsed schedule; `next_after(t)` gives the first matching second strictly after t."""

    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday

    @classmethod
    def parse(cls, expression: str) -> CronSchedule:
        parts = expression.split()
        if len(parts) != 6:
            raise CronError(f"NCRONTAB needs 6 fields (second minute hour day month weekday): {expression!r}")
        fields = [_field(p, lo, hi, n) for p, (lo, hi), n in zip(parts, _BOUNDS, _NAMES, strict=True)]
        weekdays = frozenset(d % 7 for d in fields[5])
        return cls(fields[0], fields[1], fields[2], fields[3], fields[4], weekdays)

    def next_after(self, after: datetime) -> datetime:
        t = after.replace(microsecond=0) + timedelta(seconds=1)
        limit = after + _HORIZON
        while t <= limit:
            if t.month not in self.months:
                t = (t.replace(day=1, hour=0, minute=0, second=0) + timedelta(days=32)).replace(day=1)
            elif t.day not in self.days or (t.isoweekday() % 7) not in self.weekdays:
                t = t.replace(hour=0, minute=0, second=0) + timedelta(days=1)
            elif t.hour not in self.hours:
                t = t.replace(minute=0, second=0) + timedelta(hours=1)
            elif t.minute not in self.minutes:
                t = t.replace(second=0) + timedelta(minutes=1)
            elif t.second not in self.seconds:
                t += timedelta(seconds=1)
            else:
                return t
        raise CronError("the schedule never fires")
