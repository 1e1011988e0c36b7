"""load_chunk and probe_target: write one chunk; read the target's limits."""

from __future__ import annotations

from typing import Any

from activities._io import staging, target
from activities.blueprint import bp
from shared.mapping.profile import profile_for
from shared.migration.context import dataverse_client
from shared.migration.lifecycle import probe_target as probe_step
from shared.migration.load import load_chunk as load_step
from shared.migration.models import LoadInput
from shared.spec import MigrationSpec


@bp.activity_trigger(input_name="inp")
def probe_target(inp: dict[str, Any]) -> dict[str, Any]:
    spec = MigrationSpec.model_validate(inp)
    clients = [dataverse_client(spec, n) for n in range(len(spec.target.user_auths))]
    try:
        tables = sorted({t for o in profile_for(spec).objects for t in o.tables})
        return probe_step(clients, tables).model_dump(mode="json")
    finally:
        for dv in clients:
            dv.close()


@bp.activity_trigger(input_name="inp")
def load_chunk(inp: dict[str, Any]) -> dict[str, Any]:
    load = LoadInput.model_validate(inp)
    store, settings = staging(load.run.spec)
    with target(load.run.spec, load.user_index) as dv:
        return load_step(load, store, settings, dv).model_dump(mode="json")
