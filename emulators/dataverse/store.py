"""SQLite persistence: one table per Dataverse table, each row a JSON document keyed by its GUID.

A document store keeps the engine generic (new columns need no ALTER TABLE) while `json_extract`
lets `$filter`/`$orderby` run inside SQLite. One connection guarded by a re-entrant lock keeps
bulk operations atomic and works for both `:memory:` and file databases (WAL on files).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class DuplicateKey(Exception):
    """A row with that primary key already exists."""


def column_sql(prop: str) -> str:
    """SQL expression reading one property out of the JSON document."""
    safe = prop.replace('"', "")
    return f"json_extract(doc, '$.\"{safe}\"')"


class Store:
    def __init__(self, path: str | None = None) -> None:
        self.path = path or ":memory:"
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        self._depth = 0
        self._known: set[str] = set()
        with self._lock:
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("CREATE TABLE IF NOT EXISTS _emulator_meta (key TEXT PRIMARY KEY, value TEXT)")
            row = self._conn.execute("SELECT value FROM _emulator_meta WHERE key='version'").fetchone()
            self._version = int(row[0]) if row else 1000

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @staticmethod
    def _table(logical: str) -> str:
        return f'"e_{logical}"'

    def _ensure(self, logical: str) -> str:
        name = self._table(logical)
        if logical not in self._known:
            self._conn.execute(f"CREATE TABLE IF NOT EXISTS {name} (id TEXT PRIMARY KEY, doc TEXT NOT NULL)")
            self._known.add(logical)
        return name

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Atomic unit of work; nested calls join the outer transaction."""
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outer:
                    self._conn.execute("ROLLBACK")
                    self._known.clear()  # a table created in this transaction is gone again
                    self._reload_version()
                raise
            self._depth -= 1
            if outer:
                self._conn.execute(
                    "INSERT OR REPLACE INTO _emulator_meta (key, value) VALUES ('version', ?)",
                    (str(self._version),),
                )
                self._conn.execute("COMMIT")

    def _reload_version(self) -> None:
        row = self._conn.execute("SELECT value FROM _emulator_meta WHERE key='version'").fetchone()
        self._version = int(row[0]) if row else 1000

    def next_version(self) -> int:
        with self._lock:
            self._version += 1
            return self._version

    def get(self, logical: str, record_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(
                f"SELECT doc FROM {self._ensure(logical)} WHERE id=?", (record_id,)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def exists(self, logical: str, record_id: str) -> bool:
        with self._lock:
            return (
                self._conn.execute(
                    f"SELECT 1 FROM {self._ensure(logical)} WHERE id=?", (record_id,)
                ).fetchone()
                is not None
            )

    def insert(self, logical: str, record_id: str, doc: dict[str, Any]) -> None:
        with self._lock:
            try:
                self._conn.execute(
                    f"INSERT INTO {self._ensure(logical)} (id, doc) VALUES (?, ?)",
                    (record_id, json.dumps(doc)),
                )
            except sqlite3.IntegrityError as exc:
                raise DuplicateKey(record_id) from exc

    def replace(self, logical: str, record_id: str, doc: dict[str, Any]) -> None:
        with self._lock:
            self._conn.execute(
                f"UPDATE {self._ensure(logical)} SET doc=? WHERE id=?", (json.dumps(doc), record_id)
            )

    def delete(self, logical: str, record_id: str) -> bool:
        with self._lock:
            cur = self._conn.execute(f"DELETE FROM {self._ensure(logical)} WHERE id=?", (record_id,))
            return cur.rowcount > 0

    def delete_where(self, logical: str, where: str, params: list[Any]) -> int:
        with self._lock:
            cur = self._conn.execute(f"DELETE FROM {self._ensure(logical)} WHERE {where}", params)
            return cur.rowcount

    def query(
        self,
        logical: str,
        where: str,
        params: list[Any],
        order: str,
        limit: int,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        sql = f"SELECT doc FROM {self._ensure(logical)} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?"
        with self._lock:
            rows = self._conn.execute(sql, [*params, limit, offset]).fetchall()
        return [json.loads(r[0]) for r in rows]

    def count(self, logical: str, where: str, params: list[Any]) -> int:
        with self._lock:
            return int(
                self._conn.execute(
                    f"SELECT COUNT(*) FROM {self._ensure(logical)} WHERE {where}", params
                ).fetchone()[0]
            )

    def counts(self) -> dict[str, int]:
        with self._lock:
            names = [
                r[0]
                for r in self._conn.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE 'e\\_%' ESCAPE '\\'"
                )
            ]
            return {
                n[2:]: int(self._conn.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0]) for n in names
            }

    # --- custom schema (metadata API) and alternate-key indexes ------------------------------------

    def _ensure_schema(self) -> None:
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS _emulator_schema "
            "(kind TEXT NOT NULL, name TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (kind, name))"
        )

    def schema_rows(self) -> list[tuple[str, str, dict[str, Any]]]:
        with self._lock:
            self._ensure_schema()
            sql = "SELECT kind, name, doc FROM _emulator_schema ORDER BY rowid"
            rows = self._conn.execute(sql).fetchall()
        return [(k, n, json.loads(d)) for k, n, d in rows]

    def schema_put(self, kind: str, name: str, doc: dict[str, Any]) -> None:
        with self._lock:
            self._ensure_schema()
            self._conn.execute(
                "INSERT INTO _emulator_schema (kind, name, doc) VALUES (?, ?, ?) "
                "ON CONFLICT (kind, name) DO UPDATE SET doc=excluded.doc",
                (kind, name, json.dumps(doc)),
            )

    def schema_delete(self, kind: str, name: str) -> None:
        with self._lock:
            self._ensure_schema()
            self._conn.execute("DELETE FROM _emulator_schema WHERE kind=? AND name=?", (kind, name))

    def create_index(self, logical: str, name: str, props: list[str]) -> None:
        """A case-insensitive expression index over document properties (alternate keys)."""
        cols = ", ".join(f"{column_sql(p)} COLLATE NOCASE" for p in props)
        safe = "".join(c for c in name if c.isalnum() or c == "_")
        with self._lock:
            table = self._ensure(logical)
            self._conn.execute(f'CREATE INDEX IF NOT EXISTS "ix_{logical}_{safe}" ON {table} ({cols})')

    def drop(self, logical: str) -> None:
        with self._lock:
            self._conn.execute(f"DROP TABLE IF EXISTS {self._table(logical)}")
            self._known.discard(logical)

    def clear(self) -> None:
        with self._lock:
            for logical in self.counts():
                self._conn.execute(f"DELETE FROM {self._table(logical)}")
