"""The HTTP API's bodies and decisions, free of Azure Functions types (the triggers stay thin)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.errors import ConfigError
from shared.spec import MigrationSpec, parse_spec

ACTIVE = {"Running", "Pending", "ContinuedAsNew"}
APPROVAL_EVENT = "MappingApproved"  # the durable external event that releases a migration
AWAITING_APPROVAL = "awaiting approval"  # the custom-status stage while it waits


class ApprovalBody(BaseModel):
    """`POST /api/migrations/{id}/approve`: who approved the mapping (kept in the run report)."""

    model_config = ConfigDict(extra="forbid")
    approved_by: str = Field(min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=2000)
    mapping: dict[str, Any] | None = Field(
        default=None,
        description="The run's mapping proposal as the person edited it (entries with status: approved "
        "are applied to the run before anything is written); absent: the mapping as proposed by the profile",
    )

    @field_validator("mapping")
    @classmethod
    def _mapping_shape(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is not None:
            from shared.mapping.proposer import MappingProposal

            MappingProposal.model_validate(v)  # the shape now; the run checks it against its profile
        return v


def awaiting_approval(runtime_status: str | None, custom_status: Any) -> bool:
    return (
        runtime_status in ACTIVE
        and isinstance(custom_status, dict)
        and custom_status.get("stage") == AWAITING_APPROVAL
    )


class ApiError(BaseModel):
    error: str
    message: str


class MigrationStatusBody(BaseModel):
    """`GET /api/migrations/{id}`: durable status plus progress per object."""

    id: str
    runtime_status: str
    stage: str | None = None
    run_id: str | None = None
    objects: dict[str, dict[str, Any]] = {}
    traffic: dict[str, Any] = {}
    reports: list[str] = Field(default=[], description="What to read now: preflight before approval")
    phase: dict[str, Any] | None = Field(default=None, description="The running load phase's own progress")
    created_time: str | None = None
    last_updated_time: str | None = None
    output: Any = None


def parse_start_body(body: Any) -> MigrationSpec:
    """A start request is the spec itself, or {"spec": {...}}."""
    if isinstance(body, dict) and "spec" in body and "migration" not in body:
        body = body["spec"]
    return parse_spec(body)


def bad_request(exc: ConfigError) -> tuple[int, dict[str, Any]]:
    return 400, ApiError(error="invalid_spec", message=str(exc)).model_dump()


def status_body(
    instance_id: str,
    runtime_status: str,
    custom_status: Any,
    output: Any,
    created: datetime | str | None,
    updated: datetime | str | None,
    phase: Any = None,
) -> dict[str, Any]:
    """The status body; `phase` is the running load phase's own custom status, when looked up."""
    custom = custom_status if isinstance(custom_status, dict) else {}
    objects = (
        custom.get("objects") or (output or {}).get("objects", {})
        if isinstance(output, dict)
        else custom.get("objects", {})
    )
    return MigrationStatusBody(
        id=instance_id,
        runtime_status=runtime_status,
        stage=custom.get("stage"),
        run_id=custom.get("run_id"),
        objects=objects or {},
        traffic=custom.get("traffic") or {},
        reports=custom.get("reports") or [],
        phase=phase if isinstance(phase, dict) and runtime_status in ACTIVE else None,
        created_time=str(created) if created else None,
        last_updated_time=str(updated) if updated else None,
        output=output,
    ).model_dump()


def phase_instance_id(custom_status: Any) -> str | None:
    """The load phase sub-orchestration a running migration is waiting on, if any."""
    if isinstance(custom_status, dict) and isinstance(custom_status.get("phase_instance"), str):
        return str(custom_status["phase_instance"])
    return None


def delta_instance_id(migration_id: str, now: datetime, interval_minutes: int) -> str:
    """Same migration + same window slot → same id, so a double timer fire starts nothing twice."""
    slot = math.floor(now.timestamp() / (interval_minutes * 60))
    return f"{migration_id}-delta-{slot}"


def rollback_instance_id(migration_id: str) -> str:
    return f"{migration_id}-rollback"
