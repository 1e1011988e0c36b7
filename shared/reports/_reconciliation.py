"""The reconciliation table: per object, source = loaded + quarantined + skipped."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def reconciliation_rows(objects: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, c in objects.items():
        c = c if isinstance(c, dict) else c.model_dump()
        balanced = c["source"] == c["loaded"] + c["quarantined"] + c["skipped"]
        rows.append(
            {
                "object": name,
                **{k: c[k] for k in ("source", "loaded", "quarantined", "skipped")},
                "skip_rule": c.get("skip_rule") or "",
                "linked": int(c.get("linked") or 0),
                "balanced": balanced,
            }
        )
    return rows


def reconciliation_markdown(objects: Mapping[str, Any]) -> str:
    lines = [
        "| object | source | loaded (of which linked to existing rows) | quarantined | skipped | skip rule "
        "| balanced |",
        "|---|---:|---:|---:|---:|---|:---:|",
    ]
    for r in reconciliation_rows(objects):
        loaded = f"{r['loaded']} ({r['linked']} linked)" if r["linked"] else str(r["loaded"])
        lines.append(
            f"| {r['object']} | {r['source']} | {loaded} | {r['quarantined']} | {r['skipped']} | "
            f"{r['skip_rule']} | {'yes' if r['balanced'] else 'NO'} |"
        )
    return "\n".join(lines) + "\n"
