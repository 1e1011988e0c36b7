"""build_joins: the profile's join indexes and the run's schema plan, once, after extraction."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from activities._io import staging
from activities.blueprint import bp
from shared.migration.joins import build_joins as build_step
from shared.migration.models import ExtractOutput, RunRef


class BuildJoinsInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    run: RunRef
    extract: ExtractOutput


@bp.activity_trigger(input_name="inp")
def build_joins(inp: dict[str, Any]) -> dict[str, Any]:
    args = BuildJoinsInput.model_validate(inp)
    store, _ = staging(args.run.spec)
    return build_step(args.run, args.extract, store).model_dump(mode="json")
