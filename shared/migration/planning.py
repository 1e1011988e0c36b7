"""Plan step, once per run after extraction: the mapping the profile generates from the staged data
(generators.py: Close custom activity types, pipelines and stages), then the join indexes and the
run's schema plan over the profile as generated.

    out = plan_run(run, extract, store)
    if out.overrides is not None: the run goes on with them as its spec's profile overrides

Generated mapping is merged over the spec's own overrides like a customer's, so it is validated on
load, shown in the plan the person approves, and the same data always gives the same mapping.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.mapping.generators import GENERATORS
from shared.mapping.profile import merge_overrides, profile_for, raw_profile
from shared.mapping.schema_plan import SchemaPlan
from shared.migration.extract import staged_records
from shared.migration.joins import JoinsOutput, build_joins
from shared.migration.models import ExtractOutput, RunRef
from shared.reports import write_schema_plan
from shared.storage import StagingStore


class RunPlan(JoinsOutput):
    model_config = ConfigDict(extra="forbid")
    overrides: dict[str, Any] | None = None
    """The spec's profile overrides with the generated mapping merged in (None: nothing generated)."""
    report: str | None = None
    """The schema plan as a document (reports/schema-plan.md), when there is a plan."""


def plan_run(run: RunRef, extract: ExtractOutput, store: StagingStore) -> RunPlan:
    spec = run.spec
    profile = profile_for(spec)

    def rows(name: str) -> Iterable[dict[str, Any]]:
        return staged_records(extract, store, name)

    overrides: dict[str, Any] = dict(spec.options.profile_overrides or {})
    notes: list[str] = []
    generated = False
    for gen in profile.generate:
        raw = merge_overrides(raw_profile(spec.source.kind), overrides)
        out, said = GENERATORS[gen.kind](gen, raw, rows, spec.options.option_value_prefix)
        notes += [f"{gen.kind}: {n}" for n in said]
        if out:
            overrides = merge_overrides(overrides, out)
            generated = True
    if generated:  # what was generated must load: the spec validates its profile
        run = run.model_copy(update={"spec": spec.with_profile_overrides(overrides)})
    joins = build_joins(run, extract, store)
    report = None
    if joins.plan is not None:
        opts = run.spec.options
        plan = SchemaPlan.model_validate(joins.plan)
        report = write_schema_plan(plan, run.prefix, store, opts.publisher_prefix, opts.option_value_prefix)
    return RunPlan(
        **{**joins.model_dump(), "notes": [*notes, *joins.notes]},
        overrides=overrides if generated else None,
        report=report,
    )


class PlanRunInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    run: RunRef
    extract: ExtractOutput


__all__ = ["PlanRunInput", "RunPlan", "plan_run"]
