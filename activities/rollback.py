"""plan_rollback, rollback_chunk, finish_rollback: undo exactly what the audit log records."""

from __future__ import annotations

from typing import Any

from activities._io import staging, target
from activities.blueprint import bp
from shared.migration.models import RollbackChunk
from shared.migration.rollback import finish_rollback as finish_step
from shared.migration.rollback import plan_rollback as plan_step
from shared.migration.rollback import rollback_chunk as chunk_step
from shared.spec import MigrationSpec


@bp.activity_trigger(input_name="inp")
def plan_rollback(inp: dict[str, Any]) -> dict[str, Any]:
    spec = MigrationSpec.model_validate(inp["spec"])
    store, settings = staging(spec)
    return plan_step(inp["migration_id"], store, settings).model_dump(mode="json")


@bp.activity_trigger(input_name="inp")
def rollback_chunk(inp: dict[str, Any]) -> dict[str, Any]:
    chunk = RollbackChunk.model_validate(inp)
    store, _ = staging(chunk.spec)
    with target(chunk.spec) as dv:
        return chunk_step(chunk, store, dv).model_dump(mode="json")


@bp.activity_trigger(input_name="inp")
def finish_rollback(inp: dict[str, Any]) -> None:
    spec = MigrationSpec.model_validate(inp["spec"])
    finish_step(inp["migration_id"], spec, staging(spec)[1])
