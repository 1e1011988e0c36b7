"""What the CLI commands do, on the local durable runtime over the function app's own functions.

The CLI (`intact/cli.py`) only parses arguments and prints; these functions start, follow and
report orchestrations exactly as the HTTP API does on Azure.
"""

from __future__ import annotations

import fcntl
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shared.api import (
    ACTIVE,
    APPROVAL_EVENT,
    AWAITING_APPROVAL,
    ApprovalBody,
    awaiting_approval,
    phase_instance_id,
    rollback_instance_id,
    status_body,
)
from shared.errors import ConfigError
from shared.spec import MigrationSpec, load_spec


def function_app_module() -> Any:
    import function_app

    return function_app


class StateDirBusy(ConfigError):
    """Another intact process runs orchestrations from this state directory."""


class _LockedRuntime:
    """A started runtime that holds the state directory's lock until it is closed: only one process
    may run (and, after a crash, resume) the orchestrations persisted there."""

    def __init__(self, runtime: Any, lock_file: Any) -> None:
        self._runtime = runtime
        self._lock_file = lock_file

    def __getattr__(self, name: str) -> Any:
        return getattr(self._runtime, name)

    def close(self) -> None:
        try:
            self._runtime.close()
        finally:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()


def open_runtime(state_dir: Path, *, start: bool = True) -> Any:
    """The local runtime over function_app.app, persisted under `state_dir` (status survives exits).

    Started, it takes the state directory's lock and resumes whatever a killed process left
    running there; not started, it only reads status (any number of readers).
    """
    from intact.runtime import LocalRuntime

    state_dir.mkdir(parents=True, exist_ok=True)
    rt = LocalRuntime(function_app_module().app, store_path=state_dir / "runtime.sqlite")
    if not start:
        return rt
    lock_file = (state_dir / "runtime.lock").open("a+")
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock_file.close()
        raise StateDirBusy(f"another intact process is running migrations from {state_dir}") from None
    rt.start()
    return _LockedRuntime(rt, lock_file)


def absolutize(spec: MigrationSpec, spec_file: Path) -> MigrationSpec:
    """Relative source paths in a spec file mean: relative to that file."""
    src = spec.source
    updates: dict[str, Any] = {}
    for field in ("path", "users_path"):
        value = getattr(src, field)
        if value and not Path(value).is_absolute():
            updates[field] = str((spec_file.parent / value).resolve())
    if not updates:
        return spec
    return spec.model_copy(update={"source": src.model_copy(update=updates)})


def read_spec(path: Path) -> MigrationSpec:
    return absolutize(load_spec(path), path)


def status_dict(rt: Any, instance_id: str) -> dict[str, Any] | None:
    st = rt.get_status(instance_id)
    if st is None:
        return None
    sub_id = phase_instance_id(st.custom_status) if st.runtime_status in ACTIVE else None
    sub = rt.get_status(sub_id) if sub_id else None
    return status_body(
        instance_id,
        st.runtime_status,
        st.custom_status,
        st.output,
        st.created_time,
        st.last_updated_time,
        sub.custom_status if sub is not None else None,
    )


def follow(
    rt: Any,
    instance_id: str,
    on_progress: Callable[[dict[str, Any]], None] | None,
    timeout: float,
    *,
    approve_as: str | None = None,
) -> dict[str, Any]:
    """Poll until the instance stops; report each change of stage.

    A migration waiting for mapping approval is approved as `approve_as` when given; otherwise
    following stops there and returns the waiting status (the caller says how to approve).
    """
    deadline = time.monotonic() + timeout
    last = None
    while True:
        body = status_dict(rt, instance_id)
        if body is None:
            raise ConfigError(f"no instance {instance_id}")
        key = (body["runtime_status"], body["stage"], json.dumps(body["objects"], sort_keys=True))
        if key != last and on_progress is not None:
            on_progress(body)
            last = key
        if body["runtime_status"] not in ACTIVE:
            return body
        if body["stage"] == AWAITING_APPROVAL:
            if approve_as is None:
                return body
            approve(rt, instance_id, approve_as, "approved on the command line")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{instance_id} still {body['runtime_status']} after {timeout:.0f}s")
        time.sleep(0.2)


def approve(
    rt: Any,
    migration_id: str,
    approved_by: str,
    note: str | None = None,
    mapping: dict[str, Any] | None = None,
) -> None:
    """Release a migration that waits for its mapping to be approved (COM-02), with the person's
    edited mapping proposal when they give one."""
    st = rt.get_status(migration_id)
    if st is None:
        raise ConfigError(f"no migration {migration_id} in this state directory")
    if not awaiting_approval(st.runtime_status, st.custom_status):
        raise ConfigError(f"migration {migration_id} is not awaiting approval ({st.runtime_status})")
    rt.raise_event(
        migration_id,
        APPROVAL_EVENT,
        ApprovalBody(approved_by=approved_by, note=note, mapping=mapping).model_dump(),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until the orchestration has taken the approval in
        st = rt.get_status(migration_id)
        if st is None or not awaiting_approval(st.runtime_status, st.custom_status):
            return
        time.sleep(0.05)


def start_migration(rt: Any, spec: MigrationSpec) -> str:
    """Start the migration — or, if a killed process left it running here, carry on with it (the
    runtime resumed it on start; deterministic ids make the repeated work harmless)."""
    instance_id = spec.migration.id
    current = rt.get_status(instance_id)
    if current is not None and current.runtime_status in ACTIVE:
        return instance_id
    rt.start_new("migration", instance_id, {"spec": spec.model_dump(mode="json")})
    return instance_id


def start_rollback(rt: Any, migration_id: str) -> str:
    current = rt.get_status(migration_id)
    if current is None:
        raise ConfigError(f"no migration {migration_id} in this state directory")
    if current.runtime_status in ACTIVE:
        raise ConfigError(f"migration {migration_id} is still running")
    spec_input = current.input if isinstance(current.input, dict) else json.loads(current.input)
    instance_id = rollback_instance_id(migration_id)
    rt.start_new("rollback", instance_id, {"spec": spec_input["spec"]})
    return instance_id


def result_json(body: dict[str, Any]) -> dict[str, Any]:
    """The `--json` shape: `objects` maps every source object to its four counts."""
    output = body.get("output") if isinstance(body.get("output"), dict) else {}
    objects = output.get("objects") or body.get("objects") or {}
    return {
        "id": body["id"],
        "runtime_status": body["runtime_status"],
        "run_id": output.get("run_id") or body.get("run_id"),
        "objects": {
            n: {k: c.get(k, 0) for k in ("source", "loaded", "quarantined", "skipped")}
            for n, c in objects.items()
        },
        "skip_rules": {n: c.get("skip_rule") for n, c in objects.items() if c.get("skip_rule")},
        "owners": output.get("owners"),
        "reports": output.get("reports", []),
        "tables": output.get("tables"),
        "requests": output.get("requests"),
        "traffic": output.get("traffic") or body.get("traffic") or {},
        "throttled_429": output.get("throttled_429"),
        "error": None if body["runtime_status"] == "Completed" else body.get("output"),
    }


def progress_printer(stream: Any = sys.stderr) -> Callable[[dict[str, Any]], None]:
    def show(body: dict[str, Any]) -> None:
        if not body.get("stage") and body["runtime_status"] in ACTIVE:
            return
        objs = ", ".join(f"{n} {c.get('loaded', 0)}/{c.get('source', 0)}" for n, c in body["objects"].items())
        phase = body.get("phase") or {}
        if phase.get("stage", "").startswith("paused"):
            objs += f"  ({phase['stage']} until {phase.get('resume_at')})"
        print(f"  [{body['runtime_status']}] {body.get('stage') or ''}  {objs}", file=stream, flush=True)

    return show
