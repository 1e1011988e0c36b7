"""Extraction activities: plan the objects, stage one object (resumably), join the manifests."""

from __future__ import annotations

from typing import Any

from activities._io import staging
from activities.blueprint import bp
from shared.migration import extract as step
from shared.migration.models import RunRef


@bp.activity_trigger(input_name="inp")
def plan_extract(inp: dict[str, Any]) -> dict[str, Any]:
    """The source's objects in declared order: one extract_object each."""
    return {"objects": step.object_names(RunRef.model_validate(inp))}


@bp.activity_trigger(input_name="inp")
def extract_object(inp: dict[str, Any]) -> dict[str, Any]:
    args = step.ExtractObjectInput.model_validate(inp)
    store, _ = staging(args.run.spec)
    return step.extract_object(args.run, args.object, store).model_dump(mode="json")


@bp.activity_trigger(input_name="inp")
def finish_extract(inp: dict[str, Any]) -> dict[str, Any]:
    args = step.FinishExtractInput.model_validate(inp)
    store, _ = staging(args.run.spec)
    return step.finish_extract(args.run, args.objects, store).model_dump(mode="json")
