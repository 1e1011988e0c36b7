"""COM-17..20: the owner match (reused from the owners step, never matched again) judged against the
spec: who is matched, unmatched or disabled, how many records each owns, and whether the fallback
owner takes them or the run is blocked."""

from __future__ import annotations

from collections.abc import Mapping

from shared.migration.models import OwnerReport
from shared.preflight._model import Finding, Outcome, capped
from shared.spec import OptionsSpec

_REQUIREMENT = {"disabled": "COM-20", "unmatched": "COM-19", "no_email": "COM-19", "no_owner": "COM-19"}
_WHY = {
    "disabled": "is disabled in the target org (nothing is written owned by an inactive user)",
    "unmatched": "has no systemuser with that email or UPN in the target org",
    "no_email": "has no email in the source, so cannot be matched",
    "no_owner": "records have no owner in the source",
}
NO_OWNER = "(none)"


def check_owners(
    report: OwnerReport,
    options: OptionsSpec,
    owned_ids: Mapping[str, list[str]] | None = None,
) -> tuple[list[Outcome], dict[str, object]]:
    """Each unmatched, disabled or missing owner is a warning when a usable fallback owner takes their
    records, and blocking when the spec says block or no fallback is set. `owned_ids` lists, per
    source user id, some of the records they own (for the report); counts come from `report`."""
    out: list[Outcome] = []
    fallback_ok = report.fallback_owner_id is not None
    if options.fallback_owner and not fallback_ok:
        status = report.fallback_status or "unmatched"
        out.append(
            (
                "blocking",
                Finding(
                    check="owners",
                    requirement="COM-19",
                    code="fallback_owner_unusable",
                    message=f"the fallback owner (options.fallback_owner) is {status} in the target org; "
                    "name an enabled user",
                    details={"status": status},
                ),
            )
        )
    block = options.unmatched_owner == "block" or not fallback_ok
    statuses = {"matched": 0, "unmatched": 0, "disabled": 0, "no_email": 0, "no_owner": 0}
    records = dict.fromkeys(statuses, 0)
    for user, info in sorted(report.users.items()):
        status = str(info.get("status"))
        n = int(info.get("records") or 0)
        statuses[status] = statuses.get(status, 0) + 1
        records[status] = records.get(status, 0) + n
        if status == "matched":
            continue
        who = "source records" if status == "no_owner" else f"source user {user}"
        if block:
            why = (
                "options.unmatched_owner is 'block'"
                if options.unmatched_owner == "block"
                else "no usable options.fallback_owner is set"
            )
            message = (
                f"{who} {_WHY.get(status, status)}; {n} record(s) affected and {why}: provision or "
                "enable the user, or set options.fallback_owner"
            )
        else:
            message = f"{who} {_WHY.get(status, status)}; {n} record(s) go to the fallback owner"
        out.append(
            (
                "blocking" if block else "warning",
                Finding(
                    check="owners",
                    requirement=_REQUIREMENT.get(status, "COM-19"),
                    code=f"owner_{status}",
                    message=message,
                    field="owner",
                    records=n,
                    source_ids=capped(list((owned_ids or {}).get(user, []))),
                    details={
                        "source_user_id": None if user == NO_OWNER else user,
                        "status": status,
                        "fallback_applied": not block,
                    },
                ),
            )
        )
    summary: dict[str, object] = {
        "users": statuses,
        "records": records,
        "records_to_fallback": 0 if block else sum(n for s, n in records.items() if s != "matched"),
        "fallback_owner": "set" if fallback_ok else ("unusable" if options.fallback_owner else "not set"),
        "unmatched_owner": options.unmatched_owner,
    }
    return out, summary


def blocking_owners(report: OwnerReport, options: OptionsSpec) -> list[str]:
    """Source user ids whose records cannot be owned (the legacy `OwnerReport.blocking` list)."""
    block = options.unmatched_owner == "block" or report.fallback_owner_id is None
    if not block:
        return []
    return [
        "(no owner)" if u == NO_OWNER else u
        for u, info in sorted(report.users.items())
        if info.get("status") != "matched"
    ]


def owner_block_message(report: OwnerReport, options: OptionsSpec) -> str | None:
    """Why the owners alone block the run (the PreflightBlocked message), or None."""
    if options.fallback_owner and report.fallback_owner_id is None:
        return (
            f"the fallback owner is {report.fallback_status or 'unmatched'} in the target org; "
            "name an enabled user"
        )
    blocking = blocking_owners(report, options)
    if not blocking:
        return None
    why = (
        "unmatched_owner is 'block'"
        if options.unmatched_owner == "block"
        else "no fallback_owner is set in the spec options"
    )
    return (
        f"{len(blocking)} source owner(s) have no enabled Dataverse user ({', '.join(blocking[:10])}) "
        f"and {why}: provision the users or set options.fallback_owner"
    )
