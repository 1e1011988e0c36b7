"""Helpers the end-to-end tests share: a Dataverse emulator seeded with a sample's target org, Web API
reads as the tests check what landed, a migration started and followed to its end, and the quarantine
as the reports folder and the staging store hold it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from intact import commands
from intact.demo import DEMO_TOKEN_VAR, STORAGE_VAR, export_reports
from intact.services import DataverseEmulator
from shared.spec import MigrationSpec
from shared.storage import StagingStore, StorageSettings

API = "/api/data/v9.2"
TOKEN = "e2e-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def demo_env(monkeypatch: pytest.MonkeyPatch, azurite: Any) -> None:
    """The demo spec's storage and target token, as a user's shell would set them."""
    monkeypatch.setenv(STORAGE_VAR, azurite.connection_string)
    monkeypatch.setenv(DEMO_TOKEN_VAR, TOKEN)


def seeded_dataverse(seed: Path, db: Path, **start: Any) -> Iterator[DataverseEmulator]:
    """An emulator of its own, seeded with `seed` (a sample's target org): for a module fixture."""
    with DataverseEmulator() as dv:
        dv.start(seed=seed, db=db, **start)
        yield dv


def web_api(url: str, path: str, **params: str) -> Any:
    """One Web API GET, its JSON body."""
    resp = httpx.get(f"{url}{API}/{path}", params=params, headers=HEADERS, timeout=60)
    resp.raise_for_status()
    return resp.json()


def table_rows(url: str, entity_set: str, select: str, **params: str) -> list[dict[str, Any]]:
    """Every row of a table (following `@odata.nextLink`), with the `select`ed columns."""
    out: list[dict[str, Any]] = []
    body = web_api(url, entity_set, **{"$select": select, **params})
    while True:
        out += body["value"]
        link = body.get("@odata.nextLink")
        if not link:
            return out
        resp = httpx.get(link, headers=HEADERS, timeout=60)
        resp.raise_for_status()
        body = resp.json()


def rows_by_id(url: str, entity_set: str, select: str) -> dict[str, dict[str, Any]]:
    """Every row of a table, by id (the first column of `select`)."""
    key = select.split(",")[0]
    return {r[key]: r for r in table_rows(url, entity_set, select)}


def follow_migration(rt: Any, spec: MigrationSpec, seconds: int = 600) -> dict[str, Any]:
    """Start the migration and follow it to its end: the orchestration's final status."""
    return commands.follow(rt, commands.start_migration(rt, spec), None, seconds)


def completed(body: dict[str, Any]) -> dict[str, Any]:
    """The run's result, once it is asserted to have completed."""
    assert body["runtime_status"] == "Completed", body.get("output")
    return commands.result_json(body)


def report_quarantine(folder: Path) -> list[dict[str, Any]]:
    """The quarantine as the exported reports carry it (quarantine.jsonl)."""
    lines = (folder / "quarantine.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def staging(spec: MigrationSpec) -> StagingStore:
    return StagingStore(StorageSettings.from_spec(spec.storage))


def staged_quarantine(spec: MigrationSpec, run_id: str) -> list[dict[str, Any]]:
    """The quarantine as the run staged it."""
    store = staging(spec)
    prefix = f"staging/{spec.migration.id}/{run_id}/quarantine/"
    return [row for p in store.list(prefix) for row in store.get_records(p)]


def migration_result(rt: Any, spec: MigrationSpec) -> dict[str, Any]:
    """Start and follow the migration: its result, whether it completed or failed."""
    return commands.result_json(follow_migration(rt, spec))


def run_reports(spec: MigrationSpec, result: dict[str, Any], out: Path) -> Path:
    """The run's reports exported into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    export_reports(spec, result["run_id"], out)
    return out


def raise_upload_limit(url: str, limit: int) -> None:
    """The admin raises `organization.maxuploadfilesize` (COM-41 resolved with the admin)."""
    org = web_api(url, "organizations", **{"$select": "organizationid"})["value"][0]["organizationid"]
    httpx.patch(
        f"{url}{API}/organizations({org})",
        json={"maxuploadfilesize": limit},
        headers={**HEADERS, "If-Match": "*"},
        timeout=30,
    ).raise_for_status()
