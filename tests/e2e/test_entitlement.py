"""The daily request entitlement (options.daily_request_cap): the load pauses on a durable timer
when the next wave would pass the cap, and the status says until when (issue #4 'Pacing')."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from intact import commands
from intact.demo import DEMO_TOKEN_VAR, STORAGE_VAR, demo_spec
from shared.spec import MigrationSpec

pytestmark = pytest.mark.e2e


def test_load_pauses_at_the_daily_cap_and_reports_when_it_resumes(
    azurite: Any, dataverse: Any, scope_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STORAGE_VAR, azurite.connection_string)
    monkeypatch.setenv(DEMO_TOKEN_VAR, "cap-token")
    spec = demo_spec(dataverse.url, migration_id=scope_id).model_dump(mode="json")
    # 40 leads in 4 chunks of 10: a cap of 25 lets two chunks through, then the load must wait a day
    spec["options"].update({"daily_request_cap": 25, "extract_chunk_size": 10, "load_batch_size": 10})
    rt = commands.open_runtime(tmp_path / "state")
    try:
        iid = commands.start_migration(rt, MigrationSpec.model_validate(spec))
        deadline = time.monotonic() + 120
        body = commands.status_dict(rt, iid)
        while time.monotonic() < deadline:
            body = commands.status_dict(rt, iid)
            assert body is not None and body["runtime_status"] in ("Pending", "Running"), body
            if (body.get("phase") or {}).get("stage", "").startswith("paused"):
                break
            time.sleep(0.2)
        assert body is not None and body["phase"], body
        resume_at = datetime.fromisoformat(body["phase"]["resume_at"])
        started = datetime.fromisoformat(body["created_time"])
        assert resume_at - started >= timedelta(hours=23, minutes=59)
        assert body["traffic"]["entitlement_cap_per_day"] == 25
        assert body["traffic"]["entitlement_planned"] >= 39
        assert body["phase"]["loaded_chunks"] == 2
        rt.terminate(iid, "test over")
    finally:
        rt.close()
