"""extract_source: stage the source's records in Blob storage."""

from __future__ import annotations

from typing import Any

from activities._io import staging
from activities.blueprint import bp
from shared.migration.extract import extract_source as extract_step
from shared.migration.models import RunRef


@bp.activity_trigger(input_name="inp")
def extract_source(inp: dict[str, Any]) -> dict[str, Any]:
    run = RunRef.model_validate(inp)
    store, _ = staging(run.spec)
    return extract_step(run, store).model_dump(mode="json")
