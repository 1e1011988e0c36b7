"""COM-17..20: the owner match (reused from the owners step, never matched again) judged against the
spec: who is matched, unmatched or disabled, how many records each owns, and whether the fallback
owner takes them or the run is blocked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class OwnerPolicy:
    """How records of an owner with no enabled Dataverse user are treated in this run (COM-19)."""

    mode: str  # "fallback" | "block"
    objects: tuple[str, ...] = ()  # with block: only these objects' records block (empty: all)
    why: str = ""

    def blocks(self, records: int, in_scope: int | None) -> bool:
        if self.mode != "block":
            return False
        return (in_scope if self.objects and in_scope is not None else records) > 0


def owner_policy(options: OptionsSpec, profile: Any = None) -> OwnerPolicy:
    """The spec's `unmatched_owner` when set; else the source's rule (its profile's `owners`, e.g.
    SmartDesk blocks deals and activities, SD-13); else fallback."""
    if options.unmatched_owner is not None:
        return OwnerPolicy(
            options.unmatched_owner, why=f"options.unmatched_owner is '{options.unmatched_owner}'"
        )
    rule = getattr(profile, "owners", None)
    if rule is not None and rule.unmatched == "block":
        scope = tuple(rule.objects)
        where = f" for {', '.join(scope)}" if scope else ""
        return OwnerPolicy("block", scope, rule.why or f"the source's rule blocks{where}")
    return OwnerPolicy("fallback")


def check_owners(
    report: OwnerReport,
    options: OptionsSpec,
    owned_ids: Mapping[str, list[str]] | None = None,
    policy: OwnerPolicy | None = None,
    in_scope: Mapping[str, int] | None = None,
) -> tuple[list[Outcome], dict[str, object]]:
    """Each unmatched, disabled or missing owner is a warning when a usable fallback owner takes their
    records, and blocking when the policy blocks them (`in_scope`: per source user, their records of
    the objects the policy blocks) or no fallback is set. `owned_ids` lists some of each user's
    records (for the report); counts come from `report`."""
    policy = policy or owner_policy(options)
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
    statuses = {"matched": 0, "unmatched": 0, "disabled": 0, "no_email": 0, "no_owner": 0}
    records = dict.fromkeys(statuses, 0)
    to_fallback = 0
    for user, info in sorted(report.users.items()):
        status = str(info.get("status"))
        n = int(info.get("records") or 0)
        statuses[status] = statuses.get(status, 0) + 1
        records[status] = records.get(status, 0) + n
        if status == "matched":
            continue
        who = "source records" if status == "no_owner" else f"source user {user}"
        scoped = (in_scope or {}).get(user, 0) if in_scope is not None else None
        by_policy = policy.blocks(n, scoped)
        block = by_policy or not fallback_ok
        if block:
            why = policy.why if by_policy else "no usable options.fallback_owner is set"
            message = (
                f"{who} {_WHY.get(status, status)}; {n} record(s) affected and {why}: provision or "
                "enable the user, or set options.fallback_owner"
            )
        else:
            to_fallback += n
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
        "records_to_fallback": to_fallback,
        "fallback_owner": "set" if fallback_ok else ("unusable" if options.fallback_owner else "not set"),
        "unmatched_owner": policy.mode,
        "blocking_objects": list(policy.objects),
    }
    return out, summary


def blocking_owners(
    report: OwnerReport, options: OptionsSpec, policy: OwnerPolicy | None = None
) -> list[str]:
    """Source user ids whose records cannot be owned (the legacy `OwnerReport.blocking` list; without
    per-object counts a scoped block counts every record)."""
    policy = policy or owner_policy(options)
    return [
        "(no owner)" if u == NO_OWNER else u
        for u, info in sorted(report.users.items())
        if info.get("status") != "matched"
        and (policy.blocks(int(info.get("records") or 0), None) or report.fallback_owner_id is None)
    ]


def owner_block_message(
    report: OwnerReport, options: OptionsSpec, policy: OwnerPolicy | None = None
) -> str | None:
    """Why the owners alone block the run (the PreflightBlocked message), or None."""
    policy = policy or owner_policy(options)
    if options.fallback_owner and report.fallback_owner_id is None:
        return (
            f"the fallback owner is {report.fallback_status or 'unmatched'} in the target org; "
            "name an enabled user"
        )
    blocking = blocking_owners(report, options, policy)
    if not blocking:
        return None
    why = policy.why if policy.mode == "block" else "no fallback_owner is set in the spec options"
    return (
        f"{len(blocking)} source owner(s) have no enabled Dataverse user ({', '.join(blocking[:10])}) "
        f"and {why}: provision the users or set options.fallback_owner"
    )
