"""SQLite persistence: status readable from another runtime object without start(), and a
restarted runtime resumes Running instances, re-running activities that never reported back."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from intact.runtime import LocalRuntime, RealClock, VirtualClock
from tests.unit.intact.runtime.durable_app import build_app

TIMEOUT = 5


def _until(predicate: Callable[[], bool]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_status_is_readable_from_another_runtime_without_start(tmp_path: Path) -> None:
    store = tmp_path / "rt.sqlite"
    app, _ = build_app()
    with LocalRuntime(app, store_path=store, clock=VirtualClock()) as rt:
        iid = rt.start_new("hello_sequence", "persisted", ["Oslo"])
        rt.wait_for_completion(iid, TIMEOUT)
    reader = LocalRuntime(build_app()[0], store_path=store)
    status = reader.get_status("persisted", show_history=True)
    assert status is not None and status.runtime_status == "Completed"
    assert status.output == ["Hello Oslo!"]
    assert status.history and status.history[0]["EventType"] == "OrchestratorStarted"
    assert [s.instance_id for s in reader.list_instances(runtime_status=["Completed"])] == ["persisted"]
    with closing(sqlite3.connect(store)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_waiting_instance_resumes_in_a_new_runtime(tmp_path: Path) -> None:
    store = tmp_path / "rt.sqlite"
    with LocalRuntime(build_app()[0], store_path=store, clock=VirtualClock(auto_advance=False)) as rt:
        iid = rt.start_new("approval", "wait-1")
        _until(lambda: rt.get_status(iid).custom_status == "waiting for approval")  # type: ignore[union-attr]
    offline = LocalRuntime(build_app()[0], store_path=store)
    offline.raise_event("wait-1", "Approval", "yes")  # buffered in the store until a runtime runs it
    with LocalRuntime(build_app()[0], store_path=store, clock=VirtualClock(auto_advance=False)) as rt2:
        status = rt2.wait_for_completion("wait-1", TIMEOUT)
    assert status.output == {"approved": "yes"}


def test_activity_in_flight_when_the_process_died_is_run_again(tmp_path: Path) -> None:
    store, snapshot = tmp_path / "live.sqlite", tmp_path / "crashed.sqlite"
    app, knobs = build_app()
    knobs.gate.clear()  # the activity blocks until released
    with LocalRuntime(app, store_path=store, clock=RealClock()) as rt:
        iid = rt.start_new("slow", "crash-1", "payload")
        _until(lambda: any(e["EventType"] == 4 for e in rt._store.load(iid).history))  # type: ignore[union-attr]
        # The state on disk at the moment the process "died": scheduled, never completed.
        with closing(sqlite3.connect(store)) as src, closing(sqlite3.connect(snapshot)) as dst:
            src.backup(dst)
        knobs.gate.set()
        rt.wait_for_completion(iid, TIMEOUT)

    app2, _ = build_app()
    with LocalRuntime(app2, store_path=snapshot, clock=RealClock()) as rt2:
        assert rt2.get_status(iid).runtime_status == "Running"  # type: ignore[union-attr]
        status = rt2.wait_for_completion(iid, TIMEOUT)
    assert status.runtime_status == "Completed"
    assert status.output == "payload passed the gate"
