"""The mock's data and X2CRM's search semantics (Api2Controller::getDataProvider, Yii's
CDbCriteria::compare and CPagination), over records held in memory.

Data file (what `samples/x2crm/generate.py` writes):
`{"appInfo": {...}, "users": [...], "records": {"Contacts": [...], ...}, "fields": [...],
"dropdowns": [...], "tags": [...], "relationships": [...]}`. Records are kept exactly as the file
holds them (numbers as strings or numbers), and answered that way.
"""

from __future__ import annotations

import bisect
import json
import re
import threading
import time
from pathlib import Path
from typing import Any

CLASSES = (
    "Contacts",
    "Accounts",
    "Opportunity",
    "Actions",
    "Product",
    "Services",
    "Campaign",
    "X2Leads",
    "Quote",
    "Docs",
    "Media",
)
# X2Model::$associationModels: the association type (module) each class is linked under.
MODULE_OF = {
    "Contacts": "contacts",
    "Accounts": "accounts",
    "Opportunity": "opportunities",
    "X2Leads": "x2Leads",
    "Services": "services",
    "Product": "products",
    "Campaign": "marketing",
    "Quote": "quotes",
    "Actions": "actions",
    "Docs": "docs",
    "Media": "media",
}
MAX_PAGE_SIZE = 1000  # Api2Controller::MAX_PAGE_SIZE
DEFAULT_PAGE_SIZE = 10  # CPagination::DEFAULT_PAGE_SIZE, used for _limit=0
SEARCH_PARAMS = ("_escape", "_limit", "_or", "_order", "_page", "_partial", "_tagOr", "_tags")
_COMPARE = re.compile(r"^(?:\s*(<>|<=|>=|<|>|=))?(.*)$", re.DOTALL)
_ORDER = re.compile(r"^(?P<asc>[\+\-\s])?(?P<col>[^\+\-\s]+)$")
_NUM = re.compile(r"^\s*-?\d+(\.\d+)?\s*$")


class SearchError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _num(v: Any) -> float | None:
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str) and _NUM.match(v):
        return float(v)
    return None


def _key(v: Any) -> tuple[int, float, str]:
    """MySQL-ish ordering: NULL first, numbers numerically, text case-insensitively."""
    if v is None:
        return (0, 0.0, "")
    n = _num(v)
    if n is not None:
        return (1, n, "")
    return (2, 0.0, str(v).casefold())


def compare(stored: Any, op: str, operand: str, partial: bool) -> bool:
    """One CDbCriteria::compare condition on one stored value (NULL compares false)."""
    if stored is None:
        return False
    if partial and op in ("", "<>"):
        hit = operand.casefold() in str(stored).casefold()
        return hit if op == "" else not hit
    a, b = _num(stored), _num(operand)
    left: Any
    right: Any
    if a is not None and b is not None:
        left, right = a, b
    else:
        left, right = str(stored).casefold().rstrip(" "), operand.casefold().rstrip(" ")
    op = op or "="
    return {
        "=": left == right,
        "<>": left != right,
        "<": left < right,
        ">": left > right,
        "<=": left <= right,
        ">=": left >= right,
    }[op]


def paginate(rows: list[Any], query: dict[str, str], max_page_size: int) -> list[Any]:
    """CPagination as Api2Controller sets it up: a page past the end answers the last page."""
    limit_text, page_text = query.get("_limit"), query.get("_page")
    size = max_page_size
    if limit_text is not None and limit_text.isdigit():
        size = min(int(limit_text), max_page_size)
    if size <= 0:
        size = DEFAULT_PAGE_SIZE
    page = int(page_text) if page_text is not None and page_text.isdigit() else 0
    page_count = (len(rows) + size - 1) // size
    page = max(0, min(page, page_count - 1))  # validateCurrentPage
    return rows[page * size : (page + 1) * size]


class Store:
    def __init__(self, data: dict[str, Any] | None = None, *, max_page_size: int = MAX_PAGE_SIZE) -> None:
        data = data or {}
        self.lock = threading.RLock()
        self.max_page_size = max_page_size
        self.app_info: dict[str, Any] = data.get("appInfo") or {
            "name": "X2Engine",
            "version": "6.9",
            "edition": "opensource",
            "buildDate": 1500000000,
        }
        self.users: list[dict[str, Any]] = list(data.get("users", []))
        self.fields: list[dict[str, Any]] = list(data.get("fields", []))
        self.dropdowns: list[dict[str, Any]] = list(data.get("dropdowns", []))
        self.tags: list[dict[str, Any]] = list(data.get("tags", []))
        self.relationships: list[dict[str, Any]] = list(data.get("relationships", []))
        self.records: dict[str, list[dict[str, Any]]] = {c: [] for c in CLASSES}
        for cls, rows in (data.get("records") or {}).items():
            self.records[cls] = sorted(rows, key=lambda r: int(str(r["id"])))
        self._ids: dict[str, list[int]] = {
            c: [int(str(r["id"])) for r in rs] for c, rs in self.records.items()
        }
        self._attrs: dict[str, set[str]] = {}
        for cls in self.records:
            self._refresh_attrs(cls)

    @classmethod
    def load(cls, path: str | Path, **kw: Any) -> Store:
        with open(path, encoding="utf-8") as fh:
            return cls(json.load(fh), **kw)

    # -- attributes and lookup -----------------------------------------------------------------

    def _refresh_attrs(self, cls: str) -> None:
        names = {str(f["fieldName"]) for f in self.fields if f.get("modelName") == cls and f.get("fieldName")}
        for r in self.records.get(cls, [])[:50]:
            names.update(r)
        names.add("id")
        names.discard("actionDescription")  # x2_action_text, not a column of x2_actions
        self._attrs[cls] = names

    def attributes(self, cls: str) -> set[str]:
        return self._attrs.get(cls, {"id"})

    def get(self, cls: str, rid: int) -> dict[str, Any] | None:
        ids = self._ids.get(cls, [])
        i = bisect.bisect_left(ids, rid)
        if i < len(ids) and ids[i] == rid:
            return self.records[cls][i]
        return None

    # -- search (getDataProvider) --------------------------------------------------------------

    def search(
        self,
        cls: str,
        rows: list[dict[str, Any]],
        query: dict[str, str],
        attributes: set[str],
    ) -> list[dict[str, Any]]:
        conditions = []
        for name, value in query.items():
            if name.startswith("_") or name not in attributes:
                continue
            m = _COMPARE.match(value)
            op, operand = (m.group(1) or "", m.group(2)) if m else ("", value)
            if operand == "":
                continue  # CDbCriteria::compare ignores an empty value
            conditions.append((name, op, operand))
        partial = query.get("_partial", "0").isdigit() and int(query.get("_partial", "0")) != 0
        use_or = query.get("_or", "0").isdigit() and int(query.get("_or", "0")) != 0
        order = query.get("_order")
        col, desc = "id", False
        if order is not None:
            m = _ORDER.match(order)
            if m is not None:
                col = m.group("col")
                if col not in attributes:
                    raise SearchError(
                        400,
                        f"Specified attribute to order results by ({col}) does not exist in active "
                        f'record class "{cls}".',
                    )
                desc = m.group("asc") == "-"
        ids = self._ids.get(cls) if rows is self.records.get(cls) else None
        if ids is not None and col == "id" and not desc and not use_or:
            lo, rest = 0, []
            for name, op, operand in conditions:
                bound = _num(operand)
                if name == "id" and op in (">", ">=") and bound is not None:
                    cut = bisect.bisect_right(ids, bound) if op == ">" else bisect.bisect_left(ids, bound)
                    lo = max(lo, cut)
                else:
                    rest.append((name, op, operand))
            view = rows[lo:]
            out = (
                [r for r in view if all(compare(r.get(n), o, v, partial) for n, o, v in rest)]
                if rest
                else view
            )
        else:

            def keep(r: dict[str, Any]) -> bool:
                if not conditions:
                    return True
                hits = (compare(r.get(n), o, v, partial) for n, o, v in conditions)
                return any(hits) if use_or else all(hits)

            out = [r for r in rows if keep(r)]
            out.sort(key=lambda r: (_key(r.get(col)), int(str(r.get("id") or 0))), reverse=desc)
        return out

    def page(self, rows: list[Any], query: dict[str, str]) -> list[Any]:
        return paginate(rows, query, self.max_page_size)

    # -- writes and the admin hooks ------------------------------------------------------------

    def insert(self, cls: str, record: dict[str, Any]) -> dict[str, Any]:
        ids = self._ids.setdefault(cls, [])
        rid = (ids[-1] + 1) if ids else 1
        now = int(time.time())
        record = {**record, "id": rid, "createDate": now, "lastUpdated": now}
        self.records.setdefault(cls, []).append(record)
        ids.append(rid)
        self._refresh_attrs(cls)
        return record

    def update(self, cls: str, rid: int, changes: dict[str, Any], at: int | None = None) -> dict[str, Any]:
        rec = self.get(cls, rid)
        if rec is None:
            raise KeyError(rid)
        rec.update({k: v for k, v in changes.items() if k != "id"})
        rec["lastUpdated"] = at if at is not None else int(time.time())
        return rec

    def delete(self, cls: str, rid: int) -> bool:
        ids = self._ids.get(cls, [])
        i = bisect.bisect_left(ids, rid)
        if i < len(ids) and ids[i] == rid:
            del ids[i]
            del self.records[cls][i]
            return True
        return False
