"""propose_mapping / apply_mapping: the mapping proposal a person approves, and their edits applied."""

from __future__ import annotations

from typing import Any

from activities._io import staging, target
from activities.blueprint import bp
from shared.migration.models import RunRef
from shared.migration.proposal import apply_mapping as apply_step
from shared.migration.proposal import propose_for_run
from shared.spec import MigrationSpec


@bp.activity_trigger(input_name="inp")
def propose_mapping(inp: dict[str, Any]) -> dict[str, Any]:
    run = RunRef.model_validate(inp)
    store, _ = staging(run.spec)
    with target(run.spec) as dv:
        return propose_for_run(run, store, dv).model_dump(mode="json")


@bp.activity_trigger(input_name="inp")
def apply_mapping(inp: dict[str, Any]) -> dict[str, Any]:
    """Input `{"spec", "mapping"}`: the spec with the approved mapping as its profile overrides."""
    spec = MigrationSpec.model_validate(inp["spec"])
    return apply_step(spec, inp["mapping"]).model_dump(mode="json")
