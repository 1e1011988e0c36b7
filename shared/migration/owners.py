"""Owner matching step: source users → enabled systemusers, with records affected per user.

Unmatched and disabled owners go to the fallback owner, or block the run (spec: unmatched_owner).
Whether they block is preflight's decision (`shared.preflight.owner_block_message`): with
`enforce=False` the step only matches and reports, and preflight judges the report with the rest.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from shared.dataverse import DataverseClient
from shared.errors import PreflightBlocked
from shared.mapping import OwnerMap, SystemUser, match_users
from shared.mapping.paths import get_path
from shared.mapping.profile import profile_for
from shared.migration.extract import staged_records
from shared.migration.models import ExtractOutput, OwnerReport, RunRef
from shared.preflight import blocking_owners, owner_block_message, owner_policy
from shared.sources import SourceUser, open_source
from shared.storage import StagingStore


def match_owners(
    run: RunRef,
    extract: ExtractOutput,
    store: StagingStore,
    dv: DataverseClient,
    base_dir: Path | None = None,
    *,
    enforce: bool = True,
) -> OwnerReport:
    """Match, count, save the owner map and the owner report; then, when `enforce`, raise
    PreflightBlocked if the owners alone block the run (the behaviour before preflight existed)."""
    spec = run.spec
    profile = profile_for(spec)
    source = open_source(spec.source, base_dir)
    try:
        users = source.users()
    finally:
        source.close()  # an API source holds a connection pool
    rows = dv.list_all(
        "systemusers", select=["systemuserid", "internalemailaddress", "domainname", "isdisabled"]
    )
    system_users = [SystemUser.model_validate(r) for r in rows]
    matches = match_users(users, system_users)

    fallback_id: str | None = None
    fallback_status: str | None = None
    if spec.options.fallback_owner:
        fallback = SourceUser("__fallback__", spec.options.fallback_owner.strip().lower())
        fb = match_users([fallback], system_users)["__fallback__"]
        fallback_status = fb.status
        fallback_id = fb.systemuserid if fb.status == "matched" else None

    # how many records each source user owns, over the objects the profile maps
    owned: Counter[str] = Counter()
    counted: set[str] = set()
    for obj in profile.objects:
        if obj.owner is None or obj.staged not in extract.objects or obj.staged in counted:
            continue  # two objects over one source object (PRAC-02): its records are owned once
        counted.add(obj.staged)
        for rec in staged_records(extract, store, obj.staged):
            owner = next((str(v) for f in obj.owner.from_ if (v := get_path(rec, f))), "")
            owned[owner] += 1

    report_users: dict[str, dict[str, int | str | None]] = {}
    to_fallback = 0
    for source_user, n in sorted(owned.items()):
        status = (
            "no_owner"
            if not source_user
            else (matches[source_user].status if source_user in matches else "unmatched")
        )
        report_users[source_user or "(none)"] = {"status": status, "records": n}
        if status != "matched":
            to_fallback += n
    owner_map = OwnerMap(matches=matches, fallback_owner_id=fallback_id)
    path = f"{run.prefix}/owners/owner_map.json"
    store.put_json(path, owner_map.model_dump(mode="json"))
    report = OwnerReport(
        owner_map_path=path,
        fallback_owner_id=fallback_id,
        users=report_users,
        records_to_fallback=to_fallback,
        fallback_status=fallback_status,
    )
    policy = owner_policy(spec.options, profile)
    report = report.model_copy(update={"blocking": blocking_owners(report, spec.options, policy)})
    store.put_json(f"{run.prefix}/reports/owners.json", report.model_dump(mode="json"))
    if enforce and (why := owner_block_message(report, spec.options, policy)) is not None:
        raise PreflightBlocked(why)
    return report
