"""Where instances live: in memory, or in SQLite so that another process can read them and a
restarted runtime can resume what was running.

One row per instance. The columns that status queries filter on are real columns; everything
else (history, undelivered events, retry bookkeeping) is one JSON document, written whole after
every change. SQLite runs in WAL mode so readers in other processes never block the runtime.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from intact.runtime._history import Event


@dataclass
class Instance:
    """The whole durable state of one orchestration instance."""

    instance_id: str
    name: str
    status: str
    created: datetime
    updated: datetime
    input_json: str | None = None
    output_json: str | None = None
    custom_status_json: str | None = None
    parent_instance_id: str | None = None
    parent_task_id: int | None = None
    history: list[Event] = field(default_factory=list)
    # Events accepted but not yet replayed (completions, fired timers, delivered external events).
    inbox: list[Event] = field(default_factory=list)
    # External events raised before the orchestrator waits for them (buffered, like the extension).
    pending_events: list[Event] = field(default_factory=list)
    # Task id -> retry bookkeeping for call_*_with_retry (hidden retry timers and reschedules).
    retries: dict[str, dict[str, Any]] = field(default_factory=dict)
    hidden_ids: list[int] = field(default_factory=list)
    cancelled_timers: list[int] = field(default_factory=list)
    next_id: int = 0
    # External event names the orchestrator waits for and has not received (a multiset).
    waiting_for: list[str] = field(default_factory=list)
    # Changes on continue_as_new and on replacement, so late results of older work are dropped.
    execution: str = ""

    _DOC_FIELDS = (
        "history",
        "inbox",
        "pending_events",
        "retries",
        "hidden_ids",
        "cancelled_timers",
        "next_id",
        "waiting_for",
        "execution",
        "input_json",
        "output_json",
        "custom_status_json",
        "parent_task_id",
    )

    def to_row(self) -> dict[str, Any]:
        doc = {name: getattr(self, name) for name in self._DOC_FIELDS}
        return {
            "instance_id": self.instance_id,
            "name": self.name,
            "runtime_status": self.status,
            "created_time": self.created.isoformat(),
            "last_updated_time": self.updated.isoformat(),
            "parent_instance_id": self.parent_instance_id,
            "state": json.dumps(doc),
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Instance:
        doc = json.loads(row["state"])
        inst = cls(
            instance_id=row["instance_id"],
            name=row["name"],
            status=row["runtime_status"],
            created=datetime.fromisoformat(row["created_time"]),
            updated=datetime.fromisoformat(row["last_updated_time"]),
            parent_instance_id=row["parent_instance_id"],
        )
        for name in cls._DOC_FIELDS:
            setattr(inst, name, doc[name])
        return inst


class Store(Protocol):
    def save(self, instance: Instance) -> None: ...
    def load(self, instance_id: str) -> Instance | None: ...
    def load_all(self, statuses: list[str] | None = None) -> list[Instance]: ...
    def delete(self, instance_id: str) -> bool: ...


class MemoryStore:
    """Rows kept as serialized copies, so readers never see a half-applied episode."""

    def __init__(self) -> None:
        self._rows: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def save(self, instance: Instance) -> None:
        row = instance.to_row()
        with self._lock:
            self._rows[instance.instance_id] = row

    def load(self, instance_id: str) -> Instance | None:
        with self._lock:
            row = self._rows.get(instance_id)
        return Instance.from_row(row) if row else None

    def load_all(self, statuses: list[str] | None = None) -> list[Instance]:
        with self._lock:
            rows = list(self._rows.values())
        return [Instance.from_row(r) for r in rows if statuses is None or r["runtime_status"] in statuses]

    def delete(self, instance_id: str) -> bool:
        with self._lock:
            return self._rows.pop(instance_id, None) is not None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (
    instance_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    runtime_status TEXT NOT NULL,
    created_time TEXT NOT NULL,
    last_updated_time TEXT NOT NULL,
    parent_instance_id TEXT,
    state TEXT NOT NULL
)
"""
_COLUMNS = (
    "instance_id",
    "name",
    "runtime_status",
    "created_time",
    "last_updated_time",
    "parent_instance_id",
    "state",
)


class SqliteStore:
    """SQLite file store (stdlib sqlite3, WAL). A short-lived connection per call keeps it safe to
    use from any thread and from other processes at the same time."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        return db

    def save(self, instance: Instance) -> None:
        row = instance.to_row()
        marks = ", ".join("?" for _ in _COLUMNS)
        with closing(self._connect()) as db, db:
            db.execute(
                f"INSERT OR REPLACE INTO instances ({', '.join(_COLUMNS)}) VALUES ({marks})",
                [row[c] for c in _COLUMNS],
            )

    def load(self, instance_id: str) -> Instance | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT * FROM instances WHERE instance_id = ?", (instance_id,)).fetchone()
        return Instance.from_row(dict(row)) if row else None

    def load_all(self, statuses: list[str] | None = None) -> list[Instance]:
        query, args = "SELECT * FROM instances", []
        if statuses is not None:
            query += f" WHERE runtime_status IN ({', '.join('?' for _ in statuses)})"
            args = list(statuses)
        with closing(self._connect()) as db:
            rows = db.execute(query + " ORDER BY created_time", args).fetchall()
        return [Instance.from_row(dict(r)) for r in rows]

    def delete(self, instance_id: str) -> bool:
        with closing(self._connect()) as db, db:
            return db.execute("DELETE FROM instances WHERE instance_id = ?", (instance_id,)).rowcount > 0
