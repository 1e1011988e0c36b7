"""The CLI as a user runs it: `python -m intact migrate SPEC --json`, `status ID --json`,
`rollback ID --json`, in separate processes sharing one state directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from intact.demo import DEMO_TOKEN_VAR, SAMPLE, STORAGE_VAR, demo_spec
from shared.ids import target_id
from shared.spec import MigrationSpec
from shared.storage import StagingStore, StorageSettings

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


def _intact(*args: str, env: dict[str, str]) -> tuple[int, Any, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "intact", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    try:
        body = json.loads(proc.stdout)
    except json.JSONDecodeError:
        body = None
    return proc.returncode, body, proc.stderr


def test_cli_migrate_status_rollback_json(
    azurite: Any, dataverse: Any, scope_id: str, tmp_path: Path
) -> None:
    env = {**os.environ, STORAGE_VAR: azurite.connection_string, DEMO_TOKEN_VAR: "cli-token"}
    spec = demo_spec(dataverse.url, migration_id=scope_id).model_dump(mode="json")
    # a spec file with relative paths: they resolve against the spec file's folder
    (tmp_path / "data").mkdir()
    for name in ("export.json", "users.json"):
        (tmp_path / "data" / name).write_bytes((SAMPLE / name).read_bytes())
    spec["source"].update({"path": "data/export.json", "users_path": "data/users.json"})
    spec_file = tmp_path / "migration.yaml"
    spec_file.write_text(yaml.safe_dump(spec), encoding="utf-8")
    state = ["--state-dir", str(tmp_path / "state")]

    code, migrated, err = _intact("migrate", str(spec_file), "--json", *state, env=env)
    assert code == 0, err
    assert migrated["runtime_status"] == "Completed"
    assert set(migrated["objects"]) == {"leads", "contacts", "opportunities", "tasks", "activities"}
    for name, c in migrated["objects"].items():
        assert set(c) == {"source", "loaded", "quarantined", "skipped"}
        assert c["source"] == c["loaded"] + c["quarantined"] + c["skipped"], name
    assert migrated["objects"]["leads"]["source"] == len(json.loads((SAMPLE / "export.json").read_text()))

    code, status, err = _intact("status", scope_id, "--json", *state, env=env)
    assert code == 0, err
    assert status["objects"] == migrated["objects"]

    code, rolled, err = _intact("rollback", scope_id, "--json", *state, env=env)
    assert code == 0, err
    loaded = sum(c["loaded"] for c in migrated["objects"].values())
    assert sum(t["deleted"] for t in rolled["tables"].values()) == loaded + 1  # + the placeholder
    assert rolled["tables"]["contact"]["deleted"] == migrated["objects"]["contacts"]["loaded"]

    code, _, err = _intact("status", "no-such-migration", *state, env=env)
    assert code == 2 and "no instance" in err


def test_cli_refuses_a_spec_with_a_literal_secret(tmp_path: Path) -> None:
    spec_file = tmp_path / "bad.yaml"
    spec_file.write_text(
        yaml.safe_dump(
            {
                "migration": {"id": "x-1"},
                "source": {"kind": "close", "path": "e.json"},
                "target": {
                    "url": "https://x",
                    "auth": {
                        "kind": "client_secret",
                        "tenant_id": "t",
                        "client_id": "c",
                        "client_secret": "hunter2",
                    },
                },
                "storage": {"connection_string": "UseDevelopmentStorage=true"},
            }
        ),
        encoding="utf-8",
    )
    code, _, err = _intact(
        "migrate", str(spec_file), "--state-dir", str(tmp_path / "s"), env=dict(os.environ)
    )
    assert code == 2
    assert "target.auth.client_secret" in err and "hunter2" not in err


def test_COM_02_cli_waits_for_approval_then_approve_resumes_it(
    azurite: Any, dataverse: Any, scope_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`migrate` stops before any write and says how to approve, with the mapping proposal beside the
    preflight report; `approve --mapping` — another process — applies the person's edits (a proposed
    new column accepted), resumes the waiting run from the state directory and completes it."""
    env = {**os.environ, STORAGE_VAR: azurite.connection_string, DEMO_TOKEN_VAR: "cli-token"}
    spec = demo_spec(dataverse.url, migration_id=scope_id, approval="required").model_dump(mode="json")
    spec_file = tmp_path / "migration.yaml"
    spec_file.write_text(yaml.safe_dump(spec), encoding="utf-8")
    state = ["--state-dir", str(tmp_path / "state")]

    code, waiting, err = _intact("migrate", str(spec_file), "--json", *state, env=env)
    assert code == 3, err
    assert waiting["awaiting_approval"] is True
    assert any(r.endswith("preflight.md") for r in waiting["reports"])
    assert all(c["loaded"] == 0 for c in waiting["objects"].values())

    # the person reads the proposal, accepts the new column proposed for opportunities.value_period
    monkeypatch.setenv(STORAGE_VAR, azurite.connection_string)
    store = StagingStore(StorageSettings.from_spec(MigrationSpec.model_validate(spec).storage))
    [path] = [r for r in waiting["reports"] if r.endswith("mapping-proposal.yaml")]
    proposal = yaml.safe_load(store.get_bytes(path))
    [entry] = [
        e for e in proposal["entries"] if (e["object"], e["field"]) == ("opportunities", "value_period")
    ]
    assert entry["target"].startswith("new:") and entry["status"] == "proposed"
    entry["status"] = "approved"
    edited = tmp_path / "mapping.yaml"
    edited.write_text(yaml.safe_dump(proposal), encoding="utf-8")

    code, done, err = _intact(
        "approve", scope_id, "--by", "Ops Lead", "--mapping", str(edited), "--json", *state, env=env
    )
    assert code == 0, err
    assert done["runtime_status"] == "Completed"
    assert done["objects"]["contacts"]["loaded"] > 0
    # the accepted column was provisioned and every loaded opportunity carries its source value
    column = f"new_{entry['target'][4:].lower()}"
    periods = {
        o["id"]: o["value_period"]
        for lead in json.loads(SAMPLE.joinpath("export.json").read_text())
        for o in lead["opportunities"]
    }
    resp = httpx.get(
        f"{dataverse.url}/api/data/v9.2/opportunities",
        params={"$select": f"opportunityid,{column}"},
        headers={"Authorization": "Bearer cli-token"},
        timeout=30,
    )
    resp.raise_for_status()
    written = {r["opportunityid"]: r[column] for r in resp.json()["value"]}
    for oid, period in periods.items():
        tid = target_id(scope_id, "close", "opportunities", oid)
        if tid in written:
            assert written[tid] == period
    assert (
        sum(target_id(scope_id, "close", "opportunities", o) in written for o in periods)
        == done["objects"]["opportunities"]["loaded"]
    )

    code, _, err = _intact("approve", scope_id, "--by", "Ops Lead", *state, env=env)
    assert code == 2 and "not awaiting approval" in err
