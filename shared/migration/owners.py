"""Owner matching step: source users → enabled systemusers, with records affected per user.

Unmatched and disabled owners go to the fallback owner, or block the run (spec: unmatched_owner).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from shared.dataverse import DataverseClient
from shared.errors import PreflightBlocked
from shared.mapping import OwnerMap, SystemUser, load_profile, match_users
from shared.mapping.paths import get_path
from shared.migration.models import ExtractOutput, OwnerReport, RunRef
from shared.sources import SourceUser, open_source
from shared.storage import StagingStore


def match_owners(
    run: RunRef,
    extract: ExtractOutput,
    store: StagingStore,
    dv: DataverseClient,
    base_dir: Path | None = None,
) -> OwnerReport:
    spec = run.spec
    profile = load_profile(spec.source.kind)
    users = open_source(spec.source, base_dir).users()
    rows = dv.list_all(
        "systemusers", select=["systemuserid", "internalemailaddress", "domainname", "isdisabled"]
    )
    system_users = [SystemUser.model_validate(r) for r in rows]
    matches = match_users(users, system_users)

    fallback_id: str | None = None
    if spec.options.fallback_owner:
        fallback = SourceUser("__fallback__", spec.options.fallback_owner.strip().lower())
        fb = match_users([fallback], system_users)["__fallback__"]
        if fb.status != "matched":
            raise PreflightBlocked(
                f"the fallback owner is {fb.status} in the target org; name an enabled user"
            )
        fallback_id = fb.systemuserid

    # how many records each source user owns, over the objects the profile maps
    owned: Counter[str] = Counter()
    for obj in profile.objects:
        if obj.owner is None or obj.name not in extract.objects:
            continue
        for path in extract.objects[obj.name].chunks:
            for rec in store.get_records(path):
                owner = next((str(v) for f in obj.owner.from_ if (v := get_path(rec, f))), "")
                owned[owner] += 1

    report_users: dict[str, dict[str, int | str | None]] = {}
    to_fallback = 0
    blocking: list[str] = []
    for source_user, n in sorted(owned.items()):
        status = (
            "no_owner"
            if not source_user
            else (matches[source_user].status if source_user in matches else "unmatched")
        )
        report_users[source_user or "(none)"] = {"status": status, "records": n}
        if status != "matched":
            to_fallback += n
            if spec.options.unmatched_owner == "block" or fallback_id is None:
                blocking.append(source_user or "(no owner)")
    owner_map = OwnerMap(matches=matches, fallback_owner_id=fallback_id)
    path = f"{run.prefix}/owners/owner_map.json"
    store.put_json(path, owner_map.model_dump(mode="json"))
    report = OwnerReport(
        owner_map_path=path,
        fallback_owner_id=fallback_id,
        users=report_users,
        records_to_fallback=to_fallback,
        blocking=blocking,
    )
    store.put_json(f"{run.prefix}/reports/owners.json", report.model_dump(mode="json"))
    if blocking:
        why = (
            "unmatched_owner is 'block'"
            if spec.options.unmatched_owner == "block"
            else "no fallback_owner is set in the spec options"
        )
        raise PreflightBlocked(
            f"{len(blocking)} source owner(s) have no enabled Dataverse user ({', '.join(blocking[:10])}) "
            f"and {why}: provision the users or set options.fallback_owner"
        )
    return report
