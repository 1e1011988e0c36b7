"""`PagePaging`: X2CRM's `_page` (0-based) / `_limit` / `_order` paging, as a strategy.

X2CRM returns no total and no "more" flag, and its pager (Yii's CPagination, with
`validateCurrentPage` on) answers a page past the end with the *last page again*. So:

- a page shorter than `_limit` is the last one;
- a page whose ids equal the previous page's is that clamped repeat: it ends the read and none of
  its records are yielded again (the strategy refuses a repeated page);
- ids must keep rising under `_order=+id`; a page that goes backwards stops the read (PagingStalled).

Reads order by `+id`, which never changes, so an edit during the read cannot move a record
between pages. A resumed read does not trust page numbers (records deleted meanwhile would shift
them): it filters `id > last_id` and starts again at page 0 — the same comparison filter X2CRM
offers on every attribute.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from shared.sources.x2crm.errors import PagingStalled

MAX_LIMIT = 1000  # Api2Controller::MAX_PAGE_SIZE


def id_key(value: Any) -> int:
    """X2 ids arrive as numbers or numeric strings."""
    return int(str(value))


@dataclass
class PagePaging:
    limit: int = MAX_LIMIT
    page: int = 0
    after_id: int | None = None  # resume anchor: only ids greater than this
    _previous: tuple[int, ...] | None = None
    _last_id: int | None = None
    done: bool = False

    def __post_init__(self) -> None:
        self.limit = max(1, min(self.limit, MAX_LIMIT))

    @classmethod
    def resume(cls, checkpoint: dict[str, Any] | None, limit: int = MAX_LIMIT) -> PagePaging:
        if not checkpoint or checkpoint.get("last_id") is None:
            return cls(limit=limit)
        return cls(limit=limit, after_id=int(checkpoint["last_id"]), _last_id=int(checkpoint["last_id"]))

    def params(self) -> dict[str, str | int]:
        out: dict[str, str | int] = {"_page": self.page, "_limit": self.limit, "_order": "+id"}
        if self.after_id is not None:
            out["id"] = f">{self.after_id}"
        return out

    def accept(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Take one page's rows; return the ones to yield and advance (or finish)."""
        ids = tuple(id_key(r.get("id")) for r in rows)
        if not rows or ids == self._previous:
            self.done = True
            return []
        if any(b <= a for a, b in itertools.pairwise(ids)) or (
            self._last_id is not None and ids[0] <= self._last_id
        ):
            raise PagingStalled(
                f"X2CRM page {self.page} is not in ascending id order after id {self._last_id}; "
                "the server ignored _order=+id"
            )
        self._previous = ids
        self._last_id = ids[-1]
        self.page += 1
        if len(rows) < self.limit:
            self.done = True
        return rows

    def checkpoint(self) -> dict[str, Any]:
        return {"page": self.page, "last_id": self._last_id, "after_id": self.after_id}
