"""What the target allows, read once from the org and planned from (dlt's capabilities idea)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Capabilities(BaseModel):
    dop_hint: int = Field(
        default=4, ge=1, description="x-ms-dop-hint: recommended parallel requests per user"
    )
    app_users: int = Field(default=1, ge=1)
    bulk_batch_limit: int = 1000
    user_id: str | None = None
    organization_id: str | None = None
    bulk: dict[str, list[str]] = Field(
        default={}, description="Per table: the bulk messages it supports (asked once per run)"
    )

    @property
    def wave_width(self) -> int:
        """How many load activities may run at once across the whole app."""
        return self.dop_hint * self.app_users
