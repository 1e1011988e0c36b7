"""reconcile_phase: counts must balance and loaded rows must read back."""

from __future__ import annotations

from typing import Any

from activities._io import staging, target
from activities.blueprint import bp
from shared.migration.models import ReconcileInput
from shared.migration.reconcile import reconcile as reconcile_step


@bp.activity_trigger(input_name="inp")
def reconcile_phase(inp: dict[str, Any]) -> dict[str, Any]:
    rec = ReconcileInput.model_validate(inp)
    store, settings = staging(rec.run.spec)
    with target(rec.run.spec) as dv:
        return reconcile_step(rec, store, settings, dv).model_dump(mode="json")
