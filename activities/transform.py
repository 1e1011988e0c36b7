"""transform_chunk: one raw chunk → Dataverse rows + quarantine."""

from __future__ import annotations

from typing import Any

from activities._io import staging
from activities.blueprint import bp
from shared.migration.models import ChunkRef
from shared.migration.transform import transform_chunk as transform_step


@bp.activity_trigger(input_name="inp")
def transform_chunk(inp: dict[str, Any]) -> dict[str, Any]:
    ref = ChunkRef.model_validate(inp)
    store, _ = staging(ref.run.spec)
    return transform_step(ref, store).model_dump(mode="json")
