"""HTTPS on loopback (`--tls` / `start_server(tls=True)`): a CA made at start that clients can trust."""

from __future__ import annotations

import signal
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from emulators.dataverse import start_server

ROOT = Path(__file__).resolve().parents[4]
AUTH = {"Authorization": "Bearer tls"}


def test_start_server_tls_is_trusted_through_its_ca_only(tmp_path: Path) -> None:
    with start_server(tls=True, limits=False, cert_dir=str(tmp_path)) as dv:
        assert dv.base_url.startswith("https://127.0.0.1:")
        assert dv.cert_path == str(tmp_path / "emulator-ca.pem")
        strict = ssl.create_default_context(cafile=dv.cert_path)
        strict.verify_flags |= ssl.VERIFY_X509_STRICT
        with httpx.Client(verify=strict, headers=AUTH) as client:
            assert client.get(f"{dv.api_url}WhoAmI").status_code == 200
            local = dv.api_url.replace("127.0.0.1", "localhost")
            assert client.get(f"{local}WhoAmI").status_code == 200  # keep-alive and SAN localhost
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{dv.api_url}WhoAmI", headers=AUTH)  # the system store does not know our CA
        with httpx.Client(verify=ssl.create_default_context(cafile=dv.cert_path), headers=AUTH) as client:
            assert client.get(f"{dv.api_url}WhoAmI").status_code == 200  # still serving after a refusal


def test_tls_temp_directory_is_removed_on_close() -> None:
    dv = start_server(tls=True, limits=False)
    assert dv.cert_path is not None
    ca = Path(dv.cert_path)
    assert ca.read_text().startswith("-----BEGIN CERTIFICATE-----")
    dv.close()
    assert not ca.parent.exists()


def test_cli_tls_prints_https_url_then_ca_path() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulators.dataverse", "--port", "0", "--tls", "--no-limits"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip()
        ca = proc.stdout.readline().strip().removeprefix("CA certificate: ")
        assert base.startswith("https://127.0.0.1:")
        trust = ssl.create_default_context(cafile=ca)
        r = httpx.get(f"{base}/api/data/v9.2/WhoAmI", headers=AUTH, verify=trust)
        assert r.status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert not Path(ca).exists()
