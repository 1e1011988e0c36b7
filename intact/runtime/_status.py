"""The status of an orchestration instance, and its HTTP status-API JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

RuntimeStatus = Literal["Pending", "Running", "Completed", "Failed", "Terminated", "ContinuedAsNew"]
TERMINAL: frozenset[str] = frozenset({"Completed", "Failed", "Terminated"})
STATUS_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _status_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime(STATUS_TIME_FORMAT)


class InstanceStatus(BaseModel):
    """What `get_status` returns: a snapshot, not a live view."""

    model_config = ConfigDict(frozen=True)

    instance_id: str
    name: str
    runtime_status: RuntimeStatus
    input: Any = None
    custom_status: Any = None
    output: Any = None
    created_time: datetime
    last_updated_time: datetime
    history: list[dict[str, Any]] | None = None

    @property
    def is_terminal(self) -> bool:
        return self.runtime_status in TERMINAL

    def to_durable_json(self, *, show_input: bool = True) -> dict[str, Any]:
        """The body the Durable Functions HTTP status API returns for this instance."""
        body: dict[str, Any] = {
            "name": self.name,
            "instanceId": self.instance_id,
            "runtimeStatus": self.runtime_status,
            "input": self.input if show_input else None,
            "customStatus": self.custom_status,
            "output": self.output,
            "createdTime": _status_time(self.created_time),
            "lastUpdatedTime": _status_time(self.last_updated_time),
        }
        if self.history is not None:
            body["historyEvents"] = self.history
        return body
