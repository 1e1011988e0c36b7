"""The rollback orchestration: delete, children first, what the audit log says was written."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import azure.durable_functions as df

from activities.rollback import finish_rollback, plan_rollback, rollback_chunk
from orchestrators._fanout import ACTIVITY_RETRY, in_waves
from orchestrators.blueprint import bp
from shared.migration.models import RollbackChunk, RollbackOutput, RollbackPlan
from shared.spec import MigrationSpec

ROLLBACK_WIDTH = 4


@bp.orchestration_trigger(context_name="context")
def rollback(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    spec = MigrationSpec.model_validate(context.get_input()["spec"])
    mid = spec.migration.id
    spec_json = spec.model_dump(mode="json")
    plan = RollbackPlan.model_validate(
        (
            yield context.call_activity_with_retry(
                plan_rollback, ACTIVITY_RETRY, {"migration_id": mid, "spec": spec_json}
            )
        )
    )
    tables: dict[str, dict[str, int]] = {}
    for group in plan.groups:  # reverse load order: children before parents
        context.set_custom_status({"stage": f"rolling back {group.table}", "tables": tables})
        chunks = [
            RollbackChunk(migration_id=mid, spec=spec, entity_set=group.entity_set, path=p).model_dump(
                mode="json"
            )
            for p in group.chunks
        ]
        outs = [
            RollbackOutput.model_validate(x)
            for x in (yield from in_waves(context, rollback_chunk, chunks, ROLLBACK_WIDTH))
        ]
        done = tables.setdefault(group.table, {"planned": 0, "deleted": 0, "already_gone": 0})
        done["planned"] += group.rows  # a table written in several phases (a split) adds up
        done["deleted"] += sum(o.deleted for o in outs)
        done["already_gone"] += sum(o.already_gone for o in outs)
    for table, n in plan.kept.items():  # rows that were in Dynamics before: linked to, left in place
        tables.setdefault(table, {"planned": 0, "deleted": 0, "already_gone": 0})["kept_linked"] = n
    yield context.call_activity(finish_rollback, {"migration_id": mid, "spec": spec_json})
    context.set_custom_status({"stage": "rolled back", "tables": tables})
    return {"migration_id": mid, "tables": tables}
