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


def write_run_reports(summary: RunSummary, prefix: str, store: StagingStore) -> list[str]:
    quarantine = quarantine_summary(store, prefix)
    doc = {
        "migration": summary.migration_id,
        "run": summary.run_id,
        "kind": summary.kind,
        "reconciliation": reconciliation_rows(summary.objects),
        "owners": summary.owners.model_dump(mode="json") if summary.owners else None,
        "quarantine": quarantine,
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
    md += ["## Quarantine", "", "| object | stage | error | field | records |", "|---|---|---|---|---:|"]
    md += [
        f"| {g['object']} | {g['stage']} | {g['error']} | {g['field']} | {g['records']} |"
        for g in quarantine["groups"]
    ]
    md_path = f"{prefix}/reports/run.md"
    store.put_bytes(md_path, ("\n".join(md) + "\n").encode("utf-8"))
    return [json_path, md_path]
