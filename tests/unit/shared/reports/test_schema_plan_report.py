"""The schema plan as a document (COM-09, SD-12): every custom column the mapping needs, with its
logical name, type, options and the source field it carries, before anything is provisioned."""

from __future__ import annotations

from shared.mapping import load_profile
from shared.reports import schema_plan_markdown


def test_SD_12_COM_09_the_plan_document_names_every_column_its_type_and_source() -> None:
    plan = load_profile("smartdesk").schema_
    assert plan is not None and plan.columns
    text = schema_plan_markdown(plan, "contoso", 10_000)
    for c in plan.columns:
        table, column = (
            plan.table_logical_name(c.table, "contoso"),
            plan.column_logical_name(c.name, "contoso"),
        )
        row = next(line for line in text.splitlines() if line.startswith(f"| {table} | {column} |"))
        assert f"| {c.type} |" in row
        if c.seed_name:
            assert c.seed_name in row
        for label, value in c.resolved_options(10_000):
            assert f"{label} = {value}" in row
    assert "new_" not in text  # the configured publisher prefix, not the default
