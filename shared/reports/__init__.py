"""Reports people and machines read after a run: reconciliation, owners, quarantine."""

from shared.reports._reconciliation import reconciliation_markdown, reconciliation_rows
from shared.reports._run import write_run_reports
from shared.reports._schema import schema_plan_markdown, write_schema_plan

__all__ = [
    "reconciliation_markdown",
    "reconciliation_rows",
    "schema_plan_markdown",
    "write_run_reports",
    "write_schema_plan",
]
