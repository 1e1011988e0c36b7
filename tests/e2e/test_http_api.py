"""The HTTP API as a client meets it: `intact serve` serves the function app's own HTTP triggers
on loopback, with the local runtime answering the durable client. Start a migration, follow the
status URL it returns until it completes, then roll it back the same way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from intact.demo import DEMO_TOKEN_VAR, SAMPLE, STORAGE_VAR, demo_spec
from shared.ids import target_id

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
KEY = "test-function-key-0123456789"


@pytest.fixture
def server(azurite: Any, dataverse: Any, tmp_path: Path) -> Iterator[str]:
    env = {
        **os.environ,
        "INTACT_FUNCTION_KEY": KEY,
        STORAGE_VAR: azurite.connection_string,
        DEMO_TOKEN_VAR: "http-token",
        "PYTHONUNBUFFERED": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "intact", "serve", "--port", "0", "--state-dir", str(tmp_path / "state")],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    try:
        assert url.startswith("http://127.0.0.1:"), url + proc.stdout.read()
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        proc.stdout.close()


def _follow(client: httpx.Client, status_url: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        resp = client.get(status_url)
        body = resp.json()
        if body["runtimeStatus"] not in ("Pending", "Running"):
            assert resp.status_code == 200
            return dict(body)
        assert resp.status_code == 202
        time.sleep(0.3)
    raise AssertionError(f"{status_url} did not finish")


def test_http_start_follow_status_and_rollback(server: str, dataverse: Any, scope_id: str) -> None:
    spec = demo_spec(dataverse.url, migration_id=scope_id).model_dump(mode="json")
    with httpx.Client(base_url=server, timeout=30) as anon:
        assert anon.post("/api/migrations", json=spec).status_code == 401  # function-level auth
    with httpx.Client(base_url=server, timeout=30, headers={"x-functions-key": KEY}) as client:
        started = client.post("/api/migrations", json=spec)
        assert started.status_code == 202
        links = started.json()
        assert started.headers["Location"] == links["statusQueryGetUri"]
        done = _follow(client, links["statusQueryGetUri"])
        assert done["runtimeStatus"] == "Completed", done.get("output")

        status = client.get(f"/api/migrations/{scope_id}").json()
        assert status["runtime_status"] == "Completed"
        for name, c in status["objects"].items():
            assert c["source"] == c["loaded"] + c["quarantined"] + c["skipped"], name
        assert status["objects"]["contacts"]["loaded"] > 0

        rb = client.post(f"/api/migrations/{scope_id}/rollback")
        assert rb.status_code == 202
        assert _follow(client, rb.json()["statusQueryGetUri"])["runtimeStatus"] == "Completed"

    # nothing of this migration is left in the target
    rows = httpx.get(
        f"{dataverse.url}/api/data/v9.2/accounts",
        params={"$select": "accountid"},
        headers={"Authorization": "Bearer http-token"},
    ).json()["value"]
    exported = json.loads((SAMPLE / "export.json").read_text(encoding="utf-8"))
    leads = {target_id(scope_id, "close", "leads", lead["id"]) for lead in exported}
    assert len(leads) == len(exported) > 0
    assert not ({r["accountid"] for r in rows} & leads)


def test_http_rejects_bad_specs_with_the_field_named(server: str, dataverse: Any, scope_id: str) -> None:
    spec = demo_spec(dataverse.url, migration_id=scope_id).model_dump(mode="json")
    with httpx.Client(base_url=server, timeout=30, headers={"x-functions-key": KEY}) as client:
        literal = {**spec, "target": {**spec["target"], "auth": {"kind": "static_token", "token": "plain"}}}
        resp = client.post("/api/migrations", json=literal)
        assert resp.status_code == 400
        assert "target.auth" in resp.json()["message"] and "plain" not in resp.json()["message"]
        resp = client.post("/api/migrations", content=b"not json")
        assert resp.status_code == 400
        assert client.get("/api/migrations/no-such-migration").status_code == 404


def test_COM_02_http_approval_releases_a_waiting_migration(
    server: str, dataverse: Any, scope_id: str
) -> None:
    spec = demo_spec(dataverse.url, migration_id=scope_id, approval="required").model_dump(mode="json")
    with httpx.Client(base_url=server, timeout=30, headers={"x-functions-key": KEY}) as client:
        started = client.post("/api/migrations", json=spec)
        assert started.status_code == 202
        assert client.post(f"/api/migrations/{scope_id}/approve", json={"note": "no name"}).status_code == 400
        deadline = time.monotonic() + 120
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            status = client.get(f"/api/migrations/{scope_id}").json()
            if status["stage"] == "awaiting approval":
                break
            time.sleep(0.2)
        assert status["stage"] == "awaiting approval", status
        assert any(r.endswith("preflight.md") for r in status["reports"])
        assert all(c["loaded"] == 0 for c in status["objects"].values())  # nothing written yet
        with httpx.Client(base_url=server, timeout=30) as anon:
            assert (
                anon.post(f"/api/migrations/{scope_id}/approve", json={"approved_by": "x"}).status_code == 401
            )
        ok = client.post(f"/api/migrations/{scope_id}/approve", json={"approved_by": "Ops Lead"})
        assert ok.status_code == 202
        done = _follow(client, started.json()["statusQueryGetUri"])
        assert done["runtimeStatus"] == "Completed", done.get("output")
        again = client.post(f"/api/migrations/{scope_id}/approve", json={"approved_by": "Ops Lead"})
        assert again.status_code == 409
