"""Test hooks under `/_emulator/` (not part of the Dataverse Web API; no bearer token needed).

`POST /_emulator/snapshot` → `{"id": "s1"}`: a copy of every row (kept in memory).
`GET /_emulator/diff?from=s1&to=s2` (either side may be `current`): per table, the ids of rows added,
removed and changed, plus the changed column names. Intact's tests use it to prove "a re-run changes
nothing" and "a rollback leaves no trace". `POST /_emulator/reset` clears data and limit state.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any
from urllib.parse import parse_qs

from .metadata import MetadataRegistry
from .store import Store

# Columns every write bumps; a diff of them alone is not a data change.
VOLATILE = frozenset({"versionnumber", "modifiedon", "_modifiedby_value"})


class Snapshots:
    def __init__(self, store: Store, registry: MetadataRegistry) -> None:
        self.store = store
        self.registry = registry
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._snapshots: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}

    def take(self) -> str:
        data = self._dump()
        with self._lock:
            sid = f"s{next(self._ids)}"
            self._snapshots[sid] = data
        return sid

    def clear(self) -> None:
        with self._lock:
            self._snapshots.clear()

    def _dump(self) -> dict[str, dict[str, dict[str, Any]]]:
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for logical in self.store.counts():
            table = self.registry.by_logical(logical)
            key = table.primary_id if table is not None else "id"
            rows = self.store.query(logical, "1", [], "id", -1)
            out[logical] = {str(row.get(key)): row for row in rows}
        return out

    def get(self, sid: str) -> dict[str, dict[str, dict[str, Any]]] | None:
        if sid == "current":
            return self._dump()
        with self._lock:
            return self._snapshots.get(sid)

    def diff(self, query_string: str) -> tuple[int, dict[str, Any]]:
        query = {k: v[0] for k, v in parse_qs(query_string).items()}
        older, newer = self.get(query.get("from", "")), self.get(query.get("to", "current"))
        if older is None or newer is None:
            return 404, {"error": {"code": "0x8006088a", "message": "Unknown snapshot id (from/to)."}}
        tables: dict[str, Any] = {}
        for logical in sorted(set(older) | set(newer)):
            a, b = older.get(logical, {}), newer.get(logical, {})
            added = sorted(set(b) - set(a))
            removed = sorted(set(a) - set(b))
            changed = {}
            for rid in sorted(set(a) & set(b)):
                columns = sorted(
                    k
                    for k in set(a[rid]) | set(b[rid])
                    if k not in VOLATILE and a[rid].get(k) != b[rid].get(k)
                )
                if columns:
                    changed[rid] = columns
            if added or removed or changed:
                tables[logical] = {"added": added, "removed": removed, "changed": changed}
        return 200, {"from": query.get("from"), "to": query.get("to", "current"), "tables": tables}
