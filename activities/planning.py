"""plan_run: the mapping generated from the staged data, the join indexes and the run's schema plan,
once, after extraction."""

from __future__ import annotations

from typing import Any

from activities._io import staging
from activities.blueprint import bp
from shared.migration.planning import PlanRunInput
from shared.migration.planning import plan_run as plan_step


@bp.activity_trigger(input_name="inp")
def plan_run(inp: dict[str, Any]) -> dict[str, Any]:
    args = PlanRunInput.model_validate(inp)
    store, _ = staging(args.run.spec)
    return plan_step(args.run, args.extract, store).model_dump(mode="json")
