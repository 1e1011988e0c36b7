"""Paging strategies for Close lists. Each page comes with the checkpoint that resumes after it;
each strategy refuses a repeated token (a server that loops would otherwise loop us too).

`OffsetPaging` walks `_skip/_limit` inside a date window ordered by a date field (`date_created`
for full reads, `date_updated` for deltas). Close refuses a `_skip` past the resource's ceiling
with a 400 whose text has `max_skip = N`. Then (and, once N is known, before reaching it) the pager
opens a new window: a closed lower bound `field >= last date seen`, `_skip` back to 0, and the ids
already read at exactly that date skipped — date-window slicing, not the cursor endpoints. Records
must come in ascending date order (we ask with `_order_by`); an unsorted response is refused rather
than silently losing records.

`CursorPaging` follows `cursor_next` on `event/` (the event log, used for activity edits).

Checkpoints are small JSON: `{"gte", "skip", "bound_ids", "last", "last_ids"}` or `{"cursor"}`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from shared.errors import SourceFormatRefused
from shared.sources.close.client import CloseClient
from shared.sources.close.dates import parse_close_datetime
from shared.sources.close.errors import MaxSkipExceeded

# how a window's lower bound becomes request parameters: (field, iso) -> params
WindowFilter = Callable[[str, str | None], dict[str, Any]]


def param_filter(field: str, gte: str | None) -> dict[str, Any]:
    return {f"{field}__gte": gte} if gte else {}


@dataclass
class OffsetPaging:
    client: CloseClient
    path: str
    order_field: str = "date_created"
    params: dict[str, Any] = field(default_factory=dict)
    limit: int = 100
    window_filter: WindowFilter = param_filter
    max_skip: int | None = None  # learnt from the first max_skip 400 (or given)

    def pages(self, checkpoint: dict[str, Any] | None = None) -> Iterator[tuple[list[dict[str, Any]], dict]]:
        cp = dict(checkpoint or {})
        gte: str | None = cp.get("gte")
        skip: int = int(cp.get("skip", 0))
        bound_ids: set[str] = set(cp.get("bound_ids", []))
        last: str | None = cp.get("last")
        last_ids: set[str] = set(cp.get("last_ids", []))
        if cp.get("done"):
            return
        asked: set[tuple[str | None, int]] = set()
        while True:
            if (gte, skip) in asked:
                raise SourceFormatRefused(f"Close paging of {self.path} repeated a position")
            asked.add((gte, skip))
            if self.max_skip is not None and skip > 0 and skip + self.limit > self.max_skip:
                gte, skip, bound_ids = self._next_window(gte, last, last_ids)
                continue
            params = {
                **self.params,
                **self.window_filter(self.order_field, gte),
                "_order_by": self.order_field,
                "_skip": skip,
                "_limit": self.limit,
            }
            try:
                body = self.client.get(self.path, params)
            except MaxSkipExceeded as exc:
                self.max_skip = exc.max_skip
                gte, skip, bound_ids = self._next_window(gte, last, last_ids)
                continue
            data = [r for r in body.get("data", []) if isinstance(r, dict)]
            skip += len(data)
            fresh: list[dict[str, Any]] = []
            for rec in data:
                value = rec.get(self.order_field)
                if value is not None and gte is not None and value == gte and rec.get("id") in bound_ids:
                    continue  # read in the previous window, at its closing date
                if value is not None:
                    if last is not None and _after(last, value):
                        raise SourceFormatRefused(
                            f"Close returned {self.path} out of {self.order_field} order; "
                            "the pager cannot slice it safely"
                        )
                    if value != last:
                        last, last_ids = value, set()
                    last_ids.add(str(rec.get("id")))
                fresh.append(rec)
            more = bool(body.get("has_more")) and bool(data)
            yield (
                fresh,
                {
                    "gte": gte,
                    "skip": skip,
                    "bound_ids": sorted(bound_ids),
                    "last": last,
                    "last_ids": sorted(last_ids),
                    **({} if more else {"done": True}),
                },
            )
            if not more:
                return

    def _next_window(
        self, gte: str | None, last: str | None, last_ids: set[str]
    ) -> tuple[str | None, int, set[str]]:
        if last is None or last == gte:
            raise SourceFormatRefused(
                f"more than max_skip = {self.max_skip} records of {self.path} share one {self.order_field}; "
                "they cannot be paged"
            )
        return last, 0, set(last_ids)


def _after(a: str, b: str) -> bool:
    """True when date `a` is strictly after date `b` (ISO texts; parsed when offsets differ)."""
    da, db = parse_close_datetime(a), parse_close_datetime(b)
    if da is None or db is None:
        return a > b
    return da > db


@dataclass
class CursorPaging:
    client: CloseClient
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    limit: int = 100

    def pages(self, checkpoint: dict[str, Any] | None = None) -> Iterator[tuple[list[dict[str, Any]], dict]]:
        cp = checkpoint or {}
        if cp.get("done"):
            return
        cursor: str | None = cp.get("cursor")
        seen: set[str | None] = set()
        while True:
            if cursor in seen:
                raise SourceFormatRefused(f"Close paging of {self.path} repeated a cursor")
            seen.add(cursor)
            params = {**self.params, "_limit": self.limit, **({"_cursor": cursor} if cursor else {})}
            body = self.client.get(self.path, params)
            data = [r for r in body.get("data", []) if isinstance(r, dict)]
            cursor = body.get("cursor_next") or None
            yield data, ({"cursor": cursor} if cursor else {"done": True})
            if not cursor:
                return
