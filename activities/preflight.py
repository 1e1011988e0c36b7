"""run_preflight: every preflight check before any record moves; the report goes to Blob beside the
run's other reports, and blocking problems stop the run with PreflightBlocked."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from activities._io import staging, target
from activities.blueprint import bp
from shared.errors import PreflightBlocked
from shared.mapping.schema_plan import SchemaPlan
from shared.migration.models import ExtractOutput, OwnerReport, RunRef
from shared.preflight import run_preflight as preflight_step
from shared.preflight import write_preflight_reports


class PreflightInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run: RunRef
    extract: ExtractOutput
    owners: OwnerReport | None = None
    raise_on_blocking: bool = True
    plan: SchemaPlan | None = None
    """The run's schema plan (the profile's plus discovered property columns); None: the profile's."""


class PreflightOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ok: bool
    blocking: int
    warnings: int
    reports: list[str]
    summary: dict[str, dict[str, Any]]


@bp.activity_trigger(input_name="inp")
def run_preflight(inp: dict[str, Any]) -> dict[str, Any]:
    args = PreflightInput.model_validate(inp)
    store, _ = staging(args.run.spec)
    with target(args.run.spec) as dv:
        report = preflight_step(args.run, args.extract, args.owners, store, dv, plan=args.plan)
    paths = write_preflight_reports(report, args.run.prefix, store)
    if report.blocking and args.raise_on_blocking:
        raise PreflightBlocked(f"{report.blocked_message()}: {paths[1]}")
    return PreflightOutput(
        ok=report.ok,
        blocking=len(report.blocking),
        warnings=len(report.warnings),
        reports=paths,
        summary=report.summary,
    ).model_dump(mode="json")
