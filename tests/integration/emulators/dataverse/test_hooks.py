"""Test hooks under /_emulator/ (emulator-only, not Dataverse; see emulators/dataverse/README.md) and
the fault-injection additions (latency, 500) and `--limits off`. No Microsoft page describes these;
they exist for Intact's "re-run changes nothing" and "rollback leaves no trace" tests."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from emulators.dataverse import ServerHandle, start_server

from .conftest import entity_id


@pytest.fixture
def admin(server: ServerHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server.base_url}/_emulator/", timeout=10) as c:
        yield c


def test_snapshot_and_diff_report_added_changed_removed(admin: httpx.Client, client: httpx.Client) -> None:
    doomed = entity_id(client.post("accounts", json={"name": "doomed"}))
    kept = entity_id(client.post("accounts", json={"name": "kept"}))
    first = admin.post("snapshot").json()["id"]
    added = entity_id(client.post("accounts", json={"name": "new"}))
    client.patch(f"accounts({kept})", json={"name": "kept2"})
    client.delete(f"accounts({doomed})")
    second = admin.post("snapshot").json()["id"]
    diff = admin.get("diff", params={"from": first, "to": second}).json()["tables"]["account"]
    assert diff["added"] == [added] and diff["removed"] == [doomed]
    assert diff["changed"] == {kept: ["name"]}


def test_diff_of_an_idempotent_rerun_is_empty(admin: httpx.Client, client: httpx.Client) -> None:
    key = "0a2b7c1e-0000-4000-8000-00000000f00d"
    client.patch(f"accounts({key})", json={"name": "same"})
    before = admin.post("snapshot").json()["id"]
    client.patch(f"accounts({key})", json={"name": "same"})  # only versionnumber/modifiedon move
    assert admin.get("diff", params={"from": before}).json()["tables"] == {}


def test_unknown_snapshot_is_404(admin: httpx.Client) -> None:
    assert admin.get("diff", params={"from": "nope"}).status_code == 404


def test_reset_clears_rows() -> None:
    with (
        start_server(port=0) as dv,
        httpx.Client(base_url=dv.api_url, headers={"Authorization": "Bearer t"}) as c,
    ):
        c.post("accounts", json={"name": "gone"})
        assert httpx.post(f"{dv.base_url}/_emulator/reset").status_code == 204
        assert c.get("accounts").json()["value"] == []
        assert len(c.get("organizations").json()["value"]) == 1  # bootstrap rows come back


def test_latency_fault_delays_requests() -> None:
    with (
        start_server(port=0, faults="latency:60ms") as dv,
        httpx.Client(base_url=dv.api_url, headers={"Authorization": "Bearer t"}) as c,
    ):
        start = time.perf_counter()
        c.get("WhoAmI")
        assert time.perf_counter() - start >= 0.06


def test_random_500_fault() -> None:
    with start_server(port=0, faults="500:1.0", fault_seed=1) as dv:
        r = httpx.get(f"{dv.api_url}WhoAmI", headers={"Authorization": "Bearer t"})
        assert r.status_code == 500 and r.json()["error"]["code"] == "0x80040216"
