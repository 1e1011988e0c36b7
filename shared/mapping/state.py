"""State and status: a source status → a valid (statecode, statuscode) pair of the target table,
and how Dataverse lets that state be reached.

A row is always created open: `statecode` is not valid on create (INT-07), and opportunities close
only through WinOpportunity/LoseOpportunity (INT-06). So when the mapped state is not the open one,
the row is written with the open pair and the engine emits a follow-up the load step performs after
the upsert: `set_state`, or the closing message the table requires (`CLOSE_MESSAGES`).

    state:
      from: status_type
      map: {active: {state: 0, status: 1}, won: {state: 1, status: 3}, lost: {state: 2, status: 4}}
      open_status: 1                      # the status a row is created (and reopened) with
      close:                              # the opportunityclose of Win/LoseOpportunity
        - {to: actualrevenue, from: value, convert: money_cents}
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.mapping.valuemaps import label_of

FollowUpKind = Literal["set_state", "win_opportunity", "lose_opportunity"]
FOLLOW_UP_KINDS: tuple[str, ...] = get_args(FollowUpKind)
OPEN_STATE = 0
CLOSE_MESSAGES: dict[tuple[str, int], FollowUpKind] = {
    ("opportunity", 1): "win_opportunity",
    ("opportunity", 2): "lose_opportunity",
}
"""Tables whose closed states only a dedicated message may set (INT-06)."""


class StatePair(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    state: int = Field(ge=0)
    status: int = Field(ge=0)


class FollowUp(BaseModel):
    """What the load step does to a row after its upsert succeeded."""

    model_config = ConfigDict(extra="forbid")

    kind: FollowUpKind
    state: int
    status: int
    close: dict[str, Any] = Field(default={}, description="opportunityclose columns (Win/Lose)")


def follow_up_kind(table: str, state: int) -> FollowUpKind:
    return CLOSE_MESSAGES.get((table, state), "set_state")


class StateRule(BaseModel):
    """Parsed from a profile's `state:` block; the close field maps are validated by the profile."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: str = Field(alias="from")
    map: dict[str, StatePair] = Field(min_length=1)
    unmapped: str = Field(default="quarantine", pattern=r"^(quarantine|default:.+)$")
    open_status: int | None = Field(
        default=None, description="statuscode of the open state a closed-to-be row is created with"
    )

    @field_validator("map", mode="before")
    @classmethod
    def _keys_as_labels(cls, v: Any) -> Any:
        return {label_of(k): p for k, p in v.items()} if isinstance(v, dict) else v

    def pair_for(self, value: Any) -> StatePair | None:
        """The pair for a source value; None when unmapped under the quarantine policy."""
        label = "" if value is None else label_of(value)
        if label in self.map:
            return self.map[label]
        if self.unmapped.startswith("default:"):
            return self.map.get(self.unmapped.removeprefix("default:"))
        return None


__all__ = [
    "CLOSE_MESSAGES",
    "FOLLOW_UP_KINDS",
    "OPEN_STATE",
    "FollowUp",
    "FollowUpKind",
    "StatePair",
    "StateRule",
    "follow_up_kind",
]
