"""The migration orchestrations: a full run, one load phase, and the delta pickup.

Deterministic by construction: no I/O, no clock but `context.current_utc_datetime`, ids from
`context.new_uuid()`. Activities exchange references (blob paths) and counts, never records.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import azure.durable_functions as df

from activities.extract import extract_object, finish_extract, plan_extract
from activities.load import load_chunk, probe_target
from activities.migration_state import finish_run, get_migration, register_run
from activities.owners import match_owners
from activities.planning import plan_run
from activities.preflight import run_preflight
from activities.proposal import apply_mapping, propose_mapping
from activities.reconcile import reconcile_phase
from activities.reports import write_reports
from activities.schema import provision_schema
from activities.transform import transform_chunk
from orchestrators._approval import await_approval
from orchestrators._fanout import ACTIVITY_RETRY, in_waves
from orchestrators._pacing import entitlement_pause, next_width, used_in_window
from orchestrators.blueprint import bp
from shared.api import AWAITING_APPROVAL
from shared.dataverse import Capabilities
from shared.errors import PreflightBlocked
from shared.mapping.profile import profile_for
from shared.migration.models import (
    ChunkRef,
    ExtractOutput,
    LoadInput,
    LoadOutput,
    LoadPhaseInput,
    LoadPhaseOutput,
    ObjectCounts,
    OwnerReport,
    RunRef,
    RunSummary,
    TransformOutput,
)
from shared.preflight import LICENCE_CAPS
from shared.spec import MigrationSpec

TRANSFORM_WIDTH = 8


@bp.orchestration_trigger(context_name="context")
def migration(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """A full migration: register, run every stage, then open the delta window."""
    spec = MigrationSpec.model_validate(context.get_input()["spec"])
    run = RunRef(migration_id=spec.migration.id, run_id=str(context.new_uuid())[:8], spec=spec, kind="full")
    yield context.call_activity(register_run, run.model_dump(mode="json"))
    return (yield from run_and_finish(context, run))


@bp.orchestration_trigger(context_name="context")
def delta_pickup(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """Re-run extract → load for records changed since the watermark; advance it only on success."""
    inp = context.get_input()
    spec = MigrationSpec.model_validate(inp["spec"])
    record = yield context.call_activity(
        get_migration, {"migration_id": spec.migration.id, "spec": spec.model_dump(mode="json")}
    )
    if record is None or not record["watermark"]:
        return {"skipped": "the migration has no completed full run"}
    run = RunRef(
        migration_id=spec.migration.id,
        run_id=f"d{str(context.new_uuid())[:7]}",
        spec=MigrationSpec.model_validate(record["spec"]),
        since=record["watermark"],
        kind="delta",
    )
    return (yield from run_and_finish(context, run))


@bp.orchestration_trigger(context_name="context")
def load_phase(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """Load one phase's chunks with a rolling window: as many in flight as the target allows right
    now (x-ms-dop-hint x application users, re-read as each chunk finishes), the next chunk started
    the moment one ends (a throttled chunk never idles the other slots), chunks spread across the
    users, and a durable-timer pause when the next chunk would pass the daily request entitlement."""
    inp = LoadPhaseInput.model_validate(context.get_input())
    consumed = [tuple(c) for c in inp.consumed]
    results: list[LoadOutput] = []
    width = inp.max_width
    paused_s = 0.0
    in_flight: list[tuple[Any, LoadInput]] = []
    started = 0
    while started < len(inp.loads) or in_flight:
        while started < len(inp.loads) and len(in_flight) < width:
            nxt = inp.loads[started]
            now = context.current_utc_datetime
            reserved = sum(x.records for _, x in in_flight)  # in flight counts against the cap too
            if (
                inp.daily_cap is not None
                and used_in_window(consumed, now) + reserved + nxt.records > inp.daily_cap
            ):
                if in_flight:
                    break  # let a running chunk finish first: its real cost may leave room
                resume = entitlement_pause(consumed, now, inp.daily_cap, nxt.records)
                if resume is not None:
                    context.set_custom_status(
                        {
                            "stage": "paused: daily request entitlement",
                            "resume_at": resume.isoformat(),
                            "loaded_chunks": len(results),
                            "chunks": len(inp.loads),
                        }
                    )
                    paused_s += (resume - now).total_seconds()
                    yield context.create_timer(resume)
                    continue
            task = context.call_activity_with_retry(
                load_chunk,
                ACTIVITY_RETRY,
                nxt.model_copy(update={"user_index": started % inp.users}).model_dump(mode="json"),
            )
            in_flight.append((task, nxt))
            started += 1
        if not in_flight:
            continue
        done = yield context.task_any([t for t, _ in in_flight])
        in_flight = [(t, x) for t, x in in_flight if t is not done]
        if isinstance(done.result, BaseException):  # a failed task: its own error, not a parse error
            raise done.result
        out = LoadOutput.model_validate(done.result)
        results.append(out)
        now = context.current_utc_datetime
        consumed.append((now.isoformat(), out.items))
        width = next_width(inp.max_width, inp.users, [out.dop_hint])
        context.set_custom_status(
            {
                "stage": "loading",
                "loaded_chunks": len(results),
                "chunks": len(inp.loads),
                "in_flight": len(in_flight),
                "width": width,
                "entitlement_used_24h": used_in_window(consumed, now),
            }
        )
    return LoadPhaseOutput(results=results, consumed=consumed, paused_s=paused_s).model_dump(mode="json")


def run_and_finish(
    context: df.DurableOrchestrationContext, run: RunRef
) -> Generator[Any, Any, dict[str, Any]]:
    """Run the stages, then close the run: the watermark advances only after it reconciled."""
    summary = yield from run_stages(context, run)
    yield context.call_activity(
        finish_run,
        {
            "run": run.model_dump(mode="json"),
            "max_cursor": summary.max_cursor,
            "now": context.current_utc_datetime.isoformat(),
        },
    )
    _status(context, run, "completed", summary.objects, summary.traffic)
    return summary.model_dump(mode="json")


def gate_before_writes(
    context: df.DurableOrchestrationContext,
    run: RunRef,
    extract: ExtractOutput,
    owners: OwnerReport,
    counts: dict[str, ObjectCounts],
) -> Generator[Any, Any, tuple[RunRef, list[str]]]:
    """Nothing is written before these pass: preflight (blocking problems stop the run), a person's
    approval of the mapping unless the spec says auto (COM-02) — with the proposal for the fields the
    profile leaves out beside the preflight report, and the person's edits applied to the run's spec
    (then planned and checked again) — and the custom schema the mapping needs, provisioned and
    published (COM-13). Delta runs went through them with their full run.

    Returns the run as approved (its spec may carry the approved mapping) and the reports so far."""
    run, plan, manifest = yield from plan_schema(context, run, extract, counts)
    if run.kind != "full":
        return run, []
    reports = [*(yield from preflight(context, run, extract, owners, counts, plan)), *manifest]
    if run.spec.options.approval == "required":
        proposal = yield context.call_activity_with_retry(
            propose_mapping, ACTIVITY_RETRY, run.model_dump(mode="json")
        )
        reports = [*reports, proposal["path"]]
        _status(context, run, AWAITING_APPROVAL, counts, reports=reports)
        approval = yield from await_approval(context, run.spec.options.approval_timeout_hours)
        if approval.get("mapping"):
            applied = yield context.call_activity(
                apply_mapping, {"spec": run.spec.model_dump(mode="json"), "mapping": approval["mapping"]}
            )
            run = run.model_copy(update={"spec": MigrationSpec.model_validate(applied["spec"])})
            run, plan, manifest = yield from plan_schema(context, run, extract, counts)
            reports = [*(yield from preflight(context, run, extract, owners, counts, plan)), *manifest]
    if plan:
        _status(context, run, "provisioning schema", counts)
        yield context.call_activity_with_retry(
            provision_schema,
            ACTIVITY_RETRY,
            {
                "spec": run.spec.model_dump(mode="json"),
                "plan": plan,
                "custom_table_cap": LICENCE_CAPS[run.spec.options.licence or "enterprise"],
            },
        )
    return run, reports


def plan_schema(
    context: df.DurableOrchestrationContext,
    run: RunRef,
    extract: ExtractOutput,
    counts: dict[str, ObjectCounts],
) -> Generator[Any, Any, tuple[RunRef, dict[str, Any] | None, list[str]]]:
    """The run's schema plan: the profile's own, plus the mapping its generators derive from the
    staged data (CLOSE-14 custom activity tables, CLOSE-07 pipelines) and the property columns its
    joins discover (PRAC-08). Returns the run with the generated mapping in its spec, the plan, and
    the plan as a document to read (reports/schema-plan.md)."""
    profile = profile_for(run.spec)
    plain = profile.schema_ is None or profile.schema_.is_empty()
    if plain and not profile.generate and not any(o.joins for o in profile.objects):
        return run, None, []
    _status(context, run, "planning", counts)
    planned = yield context.call_activity_with_retry(
        plan_run,
        ACTIVITY_RETRY,
        {"run": run.model_dump(mode="json"), "extract": extract.model_dump(mode="json")},
    )
    if planned.get("overrides") is not None:
        run = run.model_copy(update={"spec": run.spec.with_profile_overrides(planned["overrides"])})
    return run, planned["plan"], [planned["report"]] if planned.get("report") else []


def preflight(
    context: df.DurableOrchestrationContext,
    run: RunRef,
    extract: ExtractOutput,
    owners: OwnerReport,
    counts: dict[str, ObjectCounts],
    plan: dict[str, Any] | None,
) -> Generator[Any, Any, list[str]]:
    _status(context, run, "preflight", counts)
    pre = yield context.call_activity_with_retry(
        run_preflight,
        ACTIVITY_RETRY,
        {
            "run": run.model_dump(mode="json"),
            "extract": extract.model_dump(mode="json"),
            "owners": owners.model_dump(mode="json"),
            "raise_on_blocking": False,
            "plan": plan,
        },
    )
    if not pre["ok"]:
        _status(context, run, "blocked by preflight", counts, reports=pre["reports"])
        raise PreflightBlocked(
            f"{pre['blocking']} blocking problem(s) before any record moved; the report: "
            f"{pre['reports'][-1]}. Fix them and run `intact migrate` again."
        )
    return list(pre["reports"])


def run_stages(context: df.DurableOrchestrationContext, run: RunRef) -> Generator[Any, Any, RunSummary]:
    """Extract → owners → transform → load phase by phase, reconciling after each phase."""
    profile = profile_for(run.spec)
    counts: dict[str, ObjectCounts] = {}
    run_json = run.model_dump(mode="json")

    _status(context, run, "probing target", counts)
    caps = Capabilities.model_validate(
        (
            yield context.call_activity_with_retry(
                probe_target, ACTIVITY_RETRY, run.spec.model_dump(mode="json")
            )
        )
    )
    width = min(caps.wave_width, run.spec.options.max_parallel_loads or caps.wave_width)

    _status(context, run, "extracting", counts)
    plan = yield context.call_activity_with_retry(plan_extract, ACTIVITY_RETRY, run_json)
    extracted = yield context.task_all(
        [
            context.call_activity_with_retry(
                extract_object, ACTIVITY_RETRY, {"run": run_json, "object": name}
            )
            for name in plan["objects"]
        ]
    )
    extract = ExtractOutput.model_validate(
        (
            yield context.call_activity_with_retry(
                finish_extract, ACTIVITY_RETRY, {"run": run_json, "objects": extracted}
            )
        )
    )
    staged_by = {o.staged for o in profile.objects}
    for name, info in extract.objects.items():
        rule = profile.skip_rule(name)
        mapped = name in staged_by
        counts[name] = ObjectCounts(
            source=info.records,
            quarantined=info.malformed,
            skipped=0 if mapped else info.records - info.malformed,
            skip_rule=rule.rule if rule else (None if mapped else "object_not_in_profile"),
        )
    for o in profile.objects:  # a second mapping of one source object (PRAC-02): its own count
        if o.staged != o.name and o.staged in extract.objects:
            info = extract.objects[o.staged]
            counts[o.name] = ObjectCounts(source=info.records - info.malformed)

    _status(context, run, "matching owners", counts)
    owners = OwnerReport.model_validate(
        (
            yield context.call_activity_with_retry(
                match_owners,
                ACTIVITY_RETRY,
                {"run": run_json, "extract": extract.model_dump(mode="json"), "enforce": False},
            )
        )
    )
    run, early_reports = yield from gate_before_writes(context, run, extract, owners, counts)
    profile = profile_for(run.spec)  # as approved
    run_json = run.model_dump(mode="json")

    _status(context, run, "transforming", counts)
    refs = [
        ChunkRef(run=run, object=o.name, chunk_no=n, path=p, owner_map_path=owners.owner_map_path)
        for o in profile.objects
        if o.staged in extract.objects
        for n, p in enumerate(extract.objects[o.staged].chunks)
    ]
    transformed = [
        TransformOutput.model_validate(x)
        for x in (
            yield from in_waves(
                context, transform_chunk, [r.model_dump(mode="json") for r in refs], TRANSFORM_WIDTH
            )
        )
    ]
    for t in transformed:
        counts[t.object].quarantined += t.quarantined
        counts[t.object].skipped += t.skipped  # records a named rule of the profile leaves out
        if t.skip_rules and counts[t.object].skip_rule is None:
            counts[t.object].skip_rule = ", ".join(sorted(t.skip_rules))

    consumed: list[tuple[str, int]] = []  # (when, records sent): the 24-hour request entitlement
    profile_tables = {o.name: o.table for o in profile.objects}
    cap = run.spec.options.daily_request_cap
    planned = sum(t.transformed for t in transformed)
    traffic: dict[str, Any] = {
        "requests": 0,
        "throttled_429": 0,
        "wait_s": 0.0,
        "entitlement_used": 0,
        # up front: what the load will cost against the daily request entitlement
        "entitlement_planned": planned,
        "entitlement_cap_per_day": cap,
        "entitlement_days_at_least": -(-planned // cap) if cap else None,
    }
    for phase_objects in profile.phases():
        phase = phase_objects[0].phase
        names = [o.name for o in phase_objects]
        phase_instance = f"{context.instance_id}:{run.run_id}:phase{phase}"
        _status(context, run, f"loading phase {phase} ({', '.join(names)})", counts, traffic, phase_instance)
        loads = [
            LoadInput(
                run=run,
                object=t.object,
                phase=phase,
                chunk_no=t.chunk_no,
                target_path=t.target_path,
                records=t.transformed,
                bulk_messages=caps.bulk.get(profile_tables[t.object]),
            )
            for t in transformed
            if t.object in names and t.target_path
        ]
        phase_in = LoadPhaseInput(
            loads=loads,
            max_width=width,
            users=caps.app_users,
            daily_cap=run.spec.options.daily_request_cap,
            consumed=consumed,
        )
        phase_out = LoadPhaseOutput.model_validate(
            (
                yield context.call_sub_orchestrator(
                    "load_phase",
                    phase_in.model_dump(mode="json"),
                    phase_instance,
                )
            )
        )
        consumed = phase_out.consumed
        for r in phase_out.results:
            counts[r.object].loaded += r.loaded
            counts[r.object].linked += r.linked  # of loaded: linked to existing rows (dedupe)
            counts[r.object].quarantined += r.quarantined
            traffic["requests"] += r.requests
            traffic["throttled_429"] += r.throttled_429
            traffic["wait_s"] = round(traffic["wait_s"] + r.wait_s, 3)
            traffic["entitlement_used"] += r.items
        _status(context, run, f"reconciling phase {phase}", counts, traffic)
        yield context.call_activity(
            reconcile_phase,
            {
                "run": run_json,
                "phase": phase,
                "objects": {n: counts[n].model_dump() for n in names if n in counts},
            },
        )
    yield context.call_activity(
        reconcile_phase,
        {"run": run_json, "phase": None, "objects": {n: c.model_dump() for n, c in counts.items()}},
    )
    summary = RunSummary(
        migration_id=run.migration_id,
        run_id=run.run_id,
        kind=run.kind,
        objects=counts,
        owners=owners,
        max_cursor=extract.max_cursor,
        requests=traffic["requests"],
        throttled_429=traffic["throttled_429"],
        traffic=traffic,
    )
    reports = yield context.call_activity(
        write_reports, {"summary": summary.model_dump(mode="json"), "spec": run.spec.model_dump(mode="json")}
    )
    return summary.model_copy(update={"reports": [*early_reports, *reports]})


def _status(
    context: df.DurableOrchestrationContext,
    run: RunRef,
    stage: str,
    counts: dict[str, ObjectCounts],
    traffic: dict[str, Any] | None = None,
    phase_instance: str | None = None,
    reports: list[str] | None = None,
) -> None:
    """Progress for `GET /api/migrations/{id}` and the CLI (small: well under 16 KB)."""
    status: dict[str, Any] = {
        "stage": stage,
        "run_id": run.run_id,
        "kind": run.kind,
        "objects": {n: c.model_dump(exclude={"skip_rule"}) for n, c in counts.items()},
    }
    if traffic is not None:
        status["traffic"] = traffic
    if phase_instance is not None:
        status["phase_instance"] = phase_instance  # its own status shows waves and pauses
    if reports is not None:
        status["reports"] = reports  # what a person reads before approving, or to fix a block
    context.set_custom_status(status)
