"""The human gate before any record moves (COM-02): the orchestration waits for a person to
approve the mapping — raced against a deadline, like the human-interaction sample — unless the
spec says `approval: auto`."""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from shared.api import APPROVAL_EVENT


class ApprovalTimedOut(Exception):
    """Nobody approved the mapping before the deadline; nothing was written."""


def await_approval(
    context: df.DurableOrchestrationContext, hours: int
) -> Generator[Any, Any, dict[str, Any]]:
    """Wait for the MappingApproved event; the approval (who, when, note) is returned for the report."""
    deadline = context.current_utc_datetime + timedelta(hours=hours)
    timer = context.create_timer(deadline)
    approval = context.wait_for_external_event(APPROVAL_EVENT)
    winner = yield context.task_any([approval, timer])
    if winner is timer:
        raise ApprovalTimedOut(
            f"[ApprovalTimedOut] the mapping was not approved within {hours} h; nothing was written. "
            "Review the reports and start the migration again."
        )
    timer.cancel()
    result = approval.result
    return result if isinstance(result, dict) else {"approved": True}
