"""The Close mock over real HTTP: started like the Dataverse emulator (base URL first on stdout),
and the API connector against it — auth from a ${ENV} reference, the async export, rate limits."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from emulators.close import start_server
from shared.errors import AuthError
from shared.sources import open_source
from shared.sources.close.api import CloseApi
from shared.sources.close.client import CloseClient
from shared.sources.close.export import CloseExport
from shared.spec import SourceSpec

REPO = Path(__file__).resolve().parents[4]


def test_started_from_the_command_line_prints_its_base_url_first() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulators.close", "--port", "0", "--rate-limit", "50"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        resp = httpx.get(f"{url}/api/v1/lead/?_limit=5", auth=("test-key", ""))
        assert resp.status_code == 200 and resp.json()["total_results"] == 40
        assert resp.headers["RateLimit"].startswith("limit=50, remaining=49")
        assert httpx.get(f"{url}/api/v1/lead/").status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_api_connector_over_http_with_the_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with start_server(rate_limit=20, faults="503:0.05", fault_seed=3) as mock:
        monkeypatch.setenv("CLOSE_API_KEY", "test-key")
        spec = SourceSpec(kind="close", api_url=mock.api_url, api_key="${CLOSE_API_KEY}")
        source = open_source(spec)
        try:
            assert isinstance(source, CloseApi)
            leads = [r for p in source.read("leads") for r in p.records]
            assert len(leads) == 40
            assert {u.source_id: u.active for u in source.users()}["user_erin"] is False
        finally:
            source.close()
        monkeypatch.setenv("CLOSE_API_KEY", "wrong")
        refused = open_source(spec)
        try:
            with pytest.raises(AuthError):
                list(refused.read("leads"))
        finally:
            refused.close()


def test_async_export_downloads_a_gzip_json_export_the_reader_takes(tmp_path: Path) -> None:
    with start_server(export_polls=2) as mock:
        api = CloseApi(CloseClient(mock.api_url, "test-key", sleep=lambda s: None))
        path = api.export_leads(tmp_path / "export.json.gz", poll_s=0)
        api.close()
    assert gzip.decompress(path.read_bytes())[:1] == b"["
    export = CloseExport(path)
    assert sum(len(p.records) for p in export.read("activities")) == 94
    assert json.loads(gzip.decompress(path.read_bytes()))[0]["contacts"]
