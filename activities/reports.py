"""write_reports: the run's reconciliation, owner and quarantine reports (JSON + Markdown)."""

from __future__ import annotations

from typing import Any

from activities._io import staging
from activities.blueprint import bp
from shared.migration.models import RunSummary
from shared.reports import write_run_reports


@bp.activity_trigger(input_name="inp")
def write_reports(inp: dict[str, Any]) -> list[str]:
    summary = RunSummary.model_validate(inp["summary"])
    from shared.spec import MigrationSpec

    spec = MigrationSpec.model_validate(inp["spec"])
    store, _ = staging(spec)
    return write_run_reports(summary, f"staging/{summary.migration_id}/{summary.run_id}", store)
