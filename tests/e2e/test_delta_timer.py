"""The delta timer on the local functions host: after a full run, each fire starts one delta
pickup per migration with an open window, with an instance id derived from migration + window
slot — so a double fire starts nothing twice (COM-36)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from intact import commands
from intact.demo import DEMO_TOKEN_VAR, STORAGE_VAR, demo_spec
from intact.host import LocalFunctionsHost
from shared.api import delta_instance_id

pytestmark = pytest.mark.e2e


def test_COM_36_timer_double_fire_starts_one_delta_per_window_slot(
    azurite: Any, dataverse: Any, scope_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = "t" + scope_id.replace("-", "")  # a registry of this test's own
    monkeypatch.setenv(STORAGE_VAR, azurite.connection_string)
    monkeypatch.setenv(DEMO_TOKEN_VAR, "timer-token")
    monkeypatch.setenv("INTACT_STORAGE_CONNECTION", azurite.connection_string)
    monkeypatch.setenv("INTACT_TABLE_PREFIX", prefix)
    spec = demo_spec(dataverse.url, migration_id=scope_id)
    spec = spec.model_copy(update={"storage": spec.storage.model_copy(update={"table_prefix": prefix})})

    rt = commands.open_runtime(tmp_path / "state")
    try:
        done = commands.follow(rt, commands.start_migration(rt, spec), None, 300)
        assert done["runtime_status"] == "Completed", done.get("output")

        with LocalFunctionsHost(commands.function_app_module().app, rt) as host:
            host.start()
            before = datetime.now(UTC)
            host.fire_timer("delta_timer")
            host.fire_timer("delta_timer")
            after = datetime.now(UTC)
        slots = {delta_instance_id(scope_id, t, spec.options.delta_interval_minutes) for t in (before, after)}
        deltas = [s for s in rt.list_instances() if s.name == "delta_pickup"]
        assert len(deltas) == 1
        assert deltas[0].instance_id in slots
        body = commands.follow(rt, deltas[0].instance_id, None, 300)
        assert body["runtime_status"] == "Completed", body.get("output")
        # nothing changed in the source since the full run: the pickup moves nothing
        assert all(c["source"] == 0 for c in body["objects"].values())
    finally:
        rt.close()
