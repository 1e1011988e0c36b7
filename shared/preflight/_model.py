"""The preflight report: blocking problems and warnings, each a Finding that names what to fix.

Findings carry no personal data: records are named by source id, users by source user id, and the
only values quoted are pick-list labels (they are configuration, not people's data).
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

CheckId = Literal[
    "custom_tables", "picklists", "owners", "required_columns", "lookups", "attachments", "tables"
]
CHECKS: tuple[str, ...] = get_args(CheckId)
Severity = Literal["blocking", "warning"]

MAX_IDS = 20
"""Affected source ids listed per finding; `records` always has the full count."""


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Finding(_M):
    """One problem found before any record moves."""

    check: CheckId
    requirement: str = Field(description="The requirement it proves, e.g. COM-16")
    code: str = Field(description="Stable short code, e.g. unmapped_label, owner_disabled")
    message: str = Field(description="What is wrong and what to do; no personal data")
    object: str | None = Field(default=None, description="Source object")
    field: str | None = Field(default=None, description="Source field (or target column)")
    value: str | None = Field(default=None, description="Only ever a pick-list label")
    records: int = Field(default=0, description="Source records affected")
    source_ids: list[str] = Field(default=[], description=f"Affected source ids, at most {MAX_IDS}")
    details: dict[str, Any] = {}


class PreflightReport(_M):
    """The outcome of every check; the run may go on only when `blocking` is empty."""

    migration_id: str
    run_id: str
    blocking: list[Finding] = []
    warnings: list[Finding] = []
    summary: dict[str, dict[str, Any]] = Field(
        default={}, description="Per check: what was looked at (counts, limits), problems or not"
    )

    @property
    def ok(self) -> bool:
        return not self.blocking

    def add(self, severity: Severity, finding: Finding) -> None:
        (self.blocking if severity == "blocking" else self.warnings).append(finding)

    def blocked_message(self) -> str:
        """One line for PreflightBlocked: how many problems, of which checks, where the report is."""
        by_check: dict[str, int] = {}
        for f in self.blocking:
            by_check[f.check] = by_check.get(f.check, 0) + 1
        parts = ", ".join(f"{n} {c}" for c, n in by_check.items())
        return f"preflight found {len(self.blocking)} blocking problem(s) ({parts}); see the preflight report"


def capped(ids: list[str]) -> list[str]:
    return ids[:MAX_IDS]


Outcome = tuple[Severity, Finding]
"""What a check returns: each finding with its severity."""
