"""register_run, finish_run, get_migration: the migrations registry as activities."""

from __future__ import annotations

from typing import Any

from activities._io import staging
from activities.blueprint import bp
from shared.migration.lifecycle import finish_run as finish_step
from shared.migration.lifecycle import register_run as register_step
from shared.migration.models import RunRef
from shared.storage import MigrationsRegistry


@bp.activity_trigger(input_name="inp")
def register_run(inp: dict[str, Any]) -> None:
    run = RunRef.model_validate(inp)
    register_step(run, staging(run.spec)[1])


@bp.activity_trigger(input_name="inp")
def finish_run(inp: dict[str, Any]) -> dict[str, Any]:
    run = RunRef.model_validate(inp["run"])
    record = finish_step(run, staging(run.spec)[1], now_iso=inp["now"], max_cursor=inp.get("max_cursor"))
    return {"watermark": record.watermark, "delta_until": record.delta_until}


@bp.activity_trigger(input_name="inp")
def get_migration(inp: dict[str, Any]) -> dict[str, Any] | None:
    """The registry row of a migration (its spec holds only ${ENV} references, no secrets)."""
    from shared.spec import MigrationSpec

    spec = MigrationSpec.model_validate(inp["spec"])
    record = MigrationsRegistry(staging(spec)[1]).get(inp["migration_id"])
    if record is None:
        return None
    return {
        "migration_id": record.migration_id,
        "spec": record.spec,
        "status": record.status,
        "watermark": record.watermark,
        "delta_until": record.delta_until,
        "last_run_id": record.last_run_id,
    }
