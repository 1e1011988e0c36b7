"""The run's schema plan as a document people read (COM-09, SD-12): every custom table, column and
option set the mapping needs — its logical name, type, the source field it carries (the seed's name)
and why — written before anything is provisioned. A customer who pre-creates the columns from it
makes provisioning a no-op."""

from __future__ import annotations

from shared.mapping.schema_plan import SchemaPlan
from shared.storage import StagingStore


def schema_plan_markdown(plan: SchemaPlan, prefix: str, option_prefix: int) -> str:
    lines = ["# Schema plan", "", "What the mapping needs in Dataverse beyond its standard tables.", ""]
    if plan.tables:
        lines += [
            "## Tables",
            "",
            "| logical name | display name | activity | source |",
            "|---|---|:---:|---|",
        ]
        for t in plan.tables:
            activity = "yes" if t.is_activity else ""
            logical = plan.table_logical_name(t.name, prefix)
            lines.append(f"| {logical} | {t.display_name} | {activity} | {t.seed_name or ''} |")
        lines.append("")
    if plan.columns:
        lines += [
            "## Columns",
            "",
            "| table | column | type | options | source | description |",
            "|---|---|---|---|---|---|",
        ]
        for c in plan.columns:
            options = ", ".join(f"{label} = {value}" for label, value in c.resolved_options(option_prefix))
            lines.append(
                f"| {plan.table_logical_name(c.table, prefix)} | {plan.column_logical_name(c.name, prefix)} "
                f"| {c.type} | {options or c.global_option_set or ''} | {c.seed_name or ''} "
                f"| {(c.description or '').replace('|', '/')} |"
            )
        lines.append("")
    if plan.option_sets:
        lines += ["## Option sets", "", "| name | options |", "|---|---|"]
        lines += [
            f"| {plan.option_set_name(o.name, prefix)} | "
            + ", ".join(f"{label} = {value}" for label, value in o.resolved_options(option_prefix))
            + " |"
            for o in plan.option_sets
        ]
        lines.append("")
    return "\n".join(lines) + "\n"


def write_schema_plan(
    plan: SchemaPlan, run_prefix: str, store: StagingStore, prefix: str, option_prefix: int
) -> str:
    path = f"{run_prefix}/reports/schema-plan.md"
    store.put_bytes(path, schema_plan_markdown(plan, prefix, option_prefix).encode("utf-8"))
    return path


__all__ = ["schema_plan_markdown", "write_schema_plan"]
