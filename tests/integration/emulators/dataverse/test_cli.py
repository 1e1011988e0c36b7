"""`python -m emulators.dataverse`: base URL on the first stdout line, SQLite persistence, clean SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[4]


def launch(*args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulators.dataverse", "--port", "0", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err


def test_cli_serves_and_persists(tmp_path: Path) -> None:
    db = tmp_path / "dv.sqlite"
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps(
            {"accounts": [{"accountid": "0a2b7c1e-0000-4000-8000-0000000c1100", "name": "From seed"}]}
        ),
        encoding="utf-8",
    )
    proc, base = launch("--db", str(db), "--seed", str(seed), "--no-limits")
    try:
        assert base.startswith("http://127.0.0.1:")
        auth = {"Authorization": "Bearer cli"}
        r = httpx.post(f"{base}/api/data/v9.2/accounts", json={"name": "Persisted"}, headers=auth)
        assert r.status_code == 204
        key = r.headers["OData-EntityId"].rsplit("(", 1)[1][:-1]
    finally:
        stop(proc)
    proc, base = launch("--db", str(db), "--seed", str(seed))
    try:
        auth = {"Authorization": "Bearer cli"}
        assert httpx.get(f"{base}/api/data/v9.2/accounts({key})", headers=auth).json()["name"] == "Persisted"
        r = httpx.get(
            f"{base}/api/data/v9.2/accounts", params={"$count": "true", "$select": "name"}, headers=auth
        )
        assert r.json()["@odata.count"] == 2  # the seed row is not duplicated on restart
    finally:
        stop(proc)
