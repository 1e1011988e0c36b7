"""Write a run's reports into Blob storage beside its staged data."""

from __future__ import annotations

from collections import Counter
from typing import Any

from shared.migration.models import RunSummary
from shared.reports._reconciliation import reconciliation_markdown, reconciliation_rows
from shared.storage import StagingStore


def quarantine_summary(store: StagingStore, prefix: str) -> dict[str, Any]:
    """Counts of quarantined records by object, stage, error and field (no values)."""
    by_key: Counter[tuple[str, str, str, str]] = Counter()
    samples: list[dict[str, Any]] = []
    for path in store.list(f"{prefix}/quarantine/"):
        for row in store.get_records(path):
            key = (
                row.get("object", ""),
                row.get("stage", "extract"),
                row.get("error", ""),
                row.get("field") or "",
            )
            by_key[key] += 1
            if len(samples) < 50:
                samples.append(
                    {
                        k: row.get(k)
                        for k in (
                            "object",
                            "source_id",
                            "field",
                            "error",
                            "reason",
                            "dataverse_code",
                            "stage",
                        )
                    }
                )
    return {
        "groups": [
            {"object": o, "stage": s, "error": e, "field": f, "records": n}
            for (o, s, e, f), n in sorted(by_key.items())
        ],
        "first_records": samples,
    }


FLAG_ADVICE = {
    "no_company_placeholder": "linked to the placeholder account: link each to its real account, then "
    "delete the placeholder (CLOSE-04)",
    "dedupe_several_matches": "several existing rows matched; linked to the oldest — check the others "
    "are true duplicates",
    "state_not_applied": "loaded, but Dataverse refused the status change after the insert: set it by "
    "hand (the error code is in flags/)",
    "party_address_dropped": "loaded without a sender or recipient whose address is not an email address "
    "(INT-12): add the party by hand if it matters",
}
"""What the admin should do about each flagged rule (rows are in `flags/{object}/…`)."""


def flags_summary(store: StagingStore, prefix: str) -> dict[str, Any]:
    """Rows loaded but flagged for a person (placeholder links, several dedupe matches, refused
    status changes): counts by object and rule, and the first source ids — no values."""
    by_key: Counter[tuple[str, str]] = Counter()
    first: dict[tuple[str, str], list[str]] = {}
    for path in store.list(f"{prefix}/flags/"):
        obj = path.removeprefix(f"{prefix}/flags/").split("/", 1)[0]
        for row in store.get_records(path):
            key = (obj, str(row.get("rule", "")))
            by_key[key] += 1
            ids = first.setdefault(key, [])
            if len(ids) < 10:
                ids.append(str(row.get("source_id", "")))
    return {
        "groups": [
            {
                "object": o,
                "rule": r,
                "records": n,
                "first_source_ids": first[(o, r)],
                "what_to_do": FLAG_ADVICE.get(r, ""),
            }
            for (o, r), n in sorted(by_key.items())
        ]
    }


def write_run_reports(summary: RunSummary, prefix: str, store: StagingStore) -> list[str]:
    quarantine = quarantine_summary(store, prefix)
    flagged = flags_summary(store, prefix)
    doc = {
        "migration": summary.migration_id,
        "run": summary.run_id,
        "kind": summary.kind,
        "reconciliation": reconciliation_rows(summary.objects),
        "owners": summary.owners.model_dump(mode="json") if summary.owners else None,
        "quarantine": quarantine,
        "flagged": flagged,
        "requests": summary.requests,
        "throttled_429": summary.throttled_429,
        "traffic": summary.traffic,
    }
    json_path = f"{prefix}/reports/run.json"
    store.put_json(json_path, doc)
    md = [
        f"# Migration {summary.migration_id} — run {summary.run_id} ({summary.kind})",
        "",
        "## Reconciliation",
        "",
        reconciliation_markdown(summary.objects),
    ]
    if summary.owners:
        md += ["## Owners", "", "| source user | status | records |", "|---|---|---:|"]
        md += [f"| {u} | {v['status']} | {v['records']} |" for u, v in summary.owners.users.items()]
        md += ["", f"Records assigned to the fallback owner: {summary.owners.records_to_fallback}", ""]
    if summary.traffic:
        t = summary.traffic
        md += [
            "## Traffic",
            "",
            f"Requests {t.get('requests', 0)}, throttled (429) {t.get('throttled_429', 0)}, "
            f"waited {t.get('wait_s', 0)} s; request entitlement used {t.get('entitlement_used', 0)}"
            + (f" of {t['entitlement_cap_per_day']} a day" if t.get("entitlement_cap_per_day") else ""),
            "",
        ]
    if flagged["groups"]:
        md += [
            "## Flagged for the admin",
            "",
            "| object | rule | records | what to do |",
            "|---|---|---:|---|",
        ]
        md += [
            f"| {g['object']} | {g['rule']} | {g['records']} | {g['what_to_do']} |" for g in flagged["groups"]
        ]
        md += [""]
    md += ["## Quarantine", "", "| object | stage | error | field | records |", "|---|---|---|---|---:|"]
    md += [
        f"| {g['object']} | {g['stage']} | {g['error']} | {g['field']} | {g['records']} |"
        for g in quarantine["groups"]
    ]
    md_path = f"{prefix}/reports/run.md"
    store.put_bytes(md_path, ("\n".join(md) + "\n").encode("utf-8"))
    return [json_path, md_path]
