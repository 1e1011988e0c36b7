"""Registry steps: register a run, close it (opening the delta window), read the target's limits."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from shared.dataverse import Capabilities, DataverseClient
from shared.migration.models import RunRef
from shared.storage import MigrationRecord, MigrationsRegistry, StorageSettings


def register_run(run: RunRef, settings: StorageSettings) -> None:
    registry = MigrationsRegistry(settings)
    existing = registry.get(run.migration_id)
    spec = run.spec.model_dump(mode="json")
    if existing is None:
        registry.put(MigrationRecord(run.migration_id, spec, last_run_id=run.run_id, status="running"))
    else:
        registry.put(replace(existing, spec=spec, last_run_id=run.run_id, status=f"running:{run.kind}"))


def finish_run(
    run: RunRef, settings: StorageSettings, *, now_iso: str, max_cursor: str | None
) -> MigrationRecord:
    """Mark the run done; the watermark advances only here, after the run reconciled."""
    registry = MigrationsRegistry(settings)
    record = registry.get(run.migration_id) or MigrationRecord(
        run.migration_id, run.spec.model_dump(mode="json")
    )
    watermark = max(filter(None, [record.watermark, max_cursor or ""]), default="")
    delta_until = record.delta_until
    if run.kind == "full":
        hours = run.spec.options.delta_window_hours
        delta_until = (datetime.fromisoformat(now_iso) + timedelta(hours=hours)).isoformat() if hours else ""
    updated = replace(
        record, status="completed", last_run_id=run.run_id, watermark=watermark, delta_until=delta_until
    )
    registry.put(updated)
    return updated


def open_delta_windows(settings: StorageSettings, now_iso: str) -> list[MigrationRecord]:
    now = datetime.fromisoformat(now_iso)
    return [
        r
        for r in MigrationsRegistry(settings).all()
        if r.delta_until and r.status == "completed" and datetime.fromisoformat(r.delta_until) > now
    ]


def probe_target(clients: list[DataverseClient], tables: list[str] | None = None) -> Capabilities:
    """Ask the target as every application user (a bad credential fails here, before any write),
    and once for the whole run which of `tables` take the bulk messages."""
    whoami = [dv.whoami() for dv in clients]
    bulk = {t: sorted(clients[0].bulk_support(t)) for t in tables or []}
    hints = [dv.dop_hint for dv in clients if dv.dop_hint]
    return Capabilities(
        dop_hint=min(hints) if hints else 4,
        app_users=len(clients),
        user_id=whoami[0].get("UserId"),
        organization_id=whoami[0].get("OrganizationId"),
        bulk=bulk,
    )
