"""run_preflight: every check over one read of the extracted chunks, before any record moves.

Usage::

    report = run_preflight(run, extract, owner_report, store, dv)
    write_preflight_reports(report, run.prefix, store)
    if not report.ok:
        raise PreflightBlocked(report.blocked_message())
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from shared.dataverse import DataverseClient
from shared.mapping import Profile
from shared.mapping.paths import get_path
from shared.mapping.profile import profile_for
from shared.mapping.schema_plan import SchemaPlan, parse_schema_plan
from shared.migration.extract import staged_records
from shared.migration.models import ExtractOutput, OwnerReport, RunRef
from shared.preflight._attachments import AttachmentTally, check_attachments
from shared.preflight._custom_tables import check_custom_tables
from shared.preflight._lookups import LookupTally, check_lookups, count_lookups
from shared.preflight._model import MAX_IDS, Outcome, PreflightReport
from shared.preflight._owners import NO_OWNER, check_owners, owner_policy
from shared.preflight._picklists import PicklistTally, ValueMapRef, check_picklists
from shared.preflight._plan import PlannedSchema, planned_schema
from shared.preflight._profile_view import profile_views
from shared.preflight._required import RequiredTally, check_required
from shared.preflight._tables import check_tables
from shared.preflight._target import TargetFacts, read_target
from shared.spec import OptionsSpec
from shared.storage import StagingStore

Records = Callable[[str], Iterable[dict[str, Any]]]


def run_preflight(
    run: RunRef,
    extract: ExtractOutput,
    owners: OwnerReport | None,
    store: StagingStore,
    dv: DataverseClient,
    *,
    profile: Profile | None = None,
    plan: SchemaPlan | None = None,
    value_maps: list[ValueMapRef] | None = None,
) -> PreflightReport:
    """Read the target's metadata, stream the extracted chunks once, and judge everything.

    `owners` is the owners step's report (matching is never redone here). `profile` defaults to the
    source's, `plan` to the profile's schema plan, `value_maps` to the profile's value maps."""
    options = run.spec.options
    profile = profile or profile_for(run.spec)
    if plan is None:
        raw = getattr(profile, "schema_", None)  # the profile's `schema:` block, when it has one
        plan = raw if isinstance(raw, SchemaPlan) else parse_schema_plan(raw) if raw else None
    planned = planned_schema(plan, options.publisher_prefix, options.option_value_prefix)
    views = profile_views(profile, options.publisher_prefix)
    maps = (
        value_maps if value_maps is not None else [m for o in views for t in o.targets for m in t.value_maps]
    )
    target = read_target(
        dv,
        tables={t.table for o in views for t in o.targets} - set(planned.tables),
        choice_columns={(m.table, m.column) for m in maps} - set(planned.options),
    )

    def records(name: str) -> Iterable[dict[str, Any]]:
        return staged_records(extract, store, name)

    return assess(
        migration_id=run.migration_id,
        run_id=run.run_id,
        profile=profile,
        records=records,
        owners=owners,
        options=options,
        target=target,
        planned=planned,
        value_maps=maps,
        check_parents=run.kind != "delta",
    )


def assess(
    *,
    migration_id: str,
    run_id: str,
    profile: Profile,
    records: Records,
    owners: OwnerReport | None,
    options: OptionsSpec,
    target: TargetFacts,
    planned: PlannedSchema | None = None,
    value_maps: list[ValueMapRef] | None = None,
    check_parents: bool = True,
) -> PreflightReport:
    """Every check, without I/O: `records(object)` yields that object's extracted records.
    `value_maps` replaces the profile's own (None: the profile's)."""
    planned = planned or PlannedSchema()
    views = profile_views(profile, options.publisher_prefix)
    maps = (
        value_maps if value_maps is not None else [m for o in views for t in o.targets for m in t.value_maps]
    )
    maps_of: dict[tuple[str, str], list[ValueMapRef]] = defaultdict(list)
    for m in maps:
        maps_of[(m.object, m.table)].append(m)
    required = {t: set(cols) for t, cols in target.required.items()}
    picks = PicklistTally()
    req = RequiredTally(required)
    links = LookupTally(views, check_parents=check_parents)
    files = AttachmentTally(target.max_upload_bytes)
    unmatched = {u for u, i in (owners.users if owners else {}).items() if i.get("status") != "matched"}
    owned_ids: dict[str, list[str]] = defaultdict(list)
    policy = owner_policy(options, profile)
    in_scope: Counter[str] = Counter()  # per unmatched user: records of the objects the policy blocks

    for obj in views:  # load order: parents before children
        for rec in records(obj.staged or obj.name):
            sid = obj.source_id(rec)
            links.observe_id(obj.name, sid)
            targets = obj.targets_for(rec)
            if any(t.has_file for t in targets):  # only files that would be written (COM-41)
                files.observe(obj.name, sid, rec)
            for t in targets:
                picks.observe(maps_of[(obj.name, t.table)], sid, lambda path, r=rec: get_path(r, path))
                req.observe(t, sid, rec)
                links.observe(t, sid, rec)
                if t.owner_from and unmatched:
                    user = next((str(v) for f in t.owner_from if (v := get_path(rec, f))), "") or NO_OWNER
                    if user in unmatched and len(owned_ids[user]) < MAX_IDS:
                        owned_ids[user].append(sid)
                    if user in unmatched and obj.name in policy.objects:
                        in_scope[user] += 1

    options_now: dict[tuple[str, str], set[int] | None] = dict(target.option_values())
    for key, values in planned.options.items():
        options_now[key] = (options_now.get(key) or set()) | values

    targets = [t for o in views for t in o.targets if t.table not in planned.tables]
    report = PreflightReport(migration_id=migration_id, run_id=run_id)
    results: dict[str, tuple[list[Outcome], dict[str, object]]] = {
        "custom_tables": check_custom_tables(planned.tables, target.custom_tables, options.licence),
        "picklists": check_picklists(maps, picks.counts, options_now, picks.ids),
        "owners": check_owners(owners, options, owned_ids, policy, in_scope if policy.objects else None)
        if owners
        else ([], {"checked": False}),
        "required_columns": check_required(targets, required, req.empty, req.ids),
        "lookups": check_lookups(links.dangling, links.ids, lookups=count_lookups(views)),
        "attachments": check_attachments(files),
        "tables": check_tables(views, target.missing_tables),
    }
    for check, (outcomes, summary) in results.items():
        for severity, finding in outcomes:
            report.add(severity, finding)
        report.summary[check] = {
            **summary,
            "blocking": sum(1 for s, _ in outcomes if s == "blocking"),
            "warnings": sum(1 for s, _ in outcomes if s == "warning"),
        }
    return report
