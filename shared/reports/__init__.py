"""Reports people and machines read after a run: reconciliation, owners, quarantine."""

from shared.reports._reconciliation import reconciliation_markdown, reconciliation_rows
from shared.reports._run import write_run_reports

__all__ = ["reconciliation_markdown", "reconciliation_rows", "write_run_reports"]
