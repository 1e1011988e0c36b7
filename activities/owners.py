"""match_owners: source users → systemusers, fallback or block.

Input `enforce` (default true): false leaves the decision to block to the run_preflight activity."""

from __future__ import annotations

from typing import Any

from activities._io import staging, target
from activities.blueprint import bp
from shared.migration.models import ExtractOutput, RunRef
from shared.migration.owners import match_owners as match_step


@bp.activity_trigger(input_name="inp")
def match_owners(inp: dict[str, Any]) -> dict[str, Any]:
    run = RunRef.model_validate(inp["run"])
    extract = ExtractOutput.model_validate(inp["extract"])
    store, _ = staging(run.spec)
    with target(run.spec) as dv:
        return match_step(run, extract, store, dv, enforce=inp.get("enforce", True)).model_dump(mode="json")
