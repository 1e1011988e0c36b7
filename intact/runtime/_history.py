"""History events in the shapes the Durable extension sends to the Python worker.

The SDK's `HistoryEvent` reads `EventType` (an int code), `EventId`, `IsPlayed` and a `Timestamp`
string, plus event-specific fields. Ids of scheduled work are the SDK's own task ids: the
TaskScheduled / TimerCreated / SubOrchestrationInstanceCreated event carries it as `EventId`,
and its completion points back with `TaskScheduledId` (or `TimerId` for timers).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

Event = dict[str, Any]


class EventType(IntEnum):
    """The extension's HistoryEventType codes (mirrors the SDK's enum)."""

    EXECUTION_STARTED = 0
    EXECUTION_COMPLETED = 1
    EXECUTION_FAILED = 2
    EXECUTION_TERMINATED = 3
    TASK_SCHEDULED = 4
    TASK_COMPLETED = 5
    TASK_FAILED = 6
    SUB_ORCHESTRATION_INSTANCE_CREATED = 7
    SUB_ORCHESTRATION_INSTANCE_COMPLETED = 8
    SUB_ORCHESTRATION_INSTANCE_FAILED = 9
    TIMER_CREATED = 10
    TIMER_FIRED = 11
    ORCHESTRATOR_STARTED = 12
    ORCHESTRATOR_COMPLETED = 13
    EVENT_SENT = 14
    EVENT_RAISED = 15
    CONTINUE_AS_NEW = 16


# Events that schedule work and consume one task id, in the order the SDK hands ids out.
SCHEDULING = frozenset(
    {EventType.TASK_SCHEDULED, EventType.TIMER_CREATED, EventType.SUB_ORCHESTRATION_INSTANCE_CREATED}
)


def format_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def parse_time(text: str) -> datetime:
    """Parse the extension's timestamps (and the SDK's fireAt, same format)."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _event(kind: EventType, when: datetime, event_id: int = -1, **fields: Any) -> Event:
    return {
        "EventType": int(kind),
        "EventId": event_id,
        "IsPlayed": False,
        "Timestamp": format_time(when),
        **fields,
    }


def orchestrator_started(when: datetime) -> Event:
    return _event(EventType.ORCHESTRATOR_STARTED, when)


def orchestrator_completed(when: datetime) -> Event:
    return _event(EventType.ORCHESTRATOR_COMPLETED, when)


def execution_started(
    when: datetime, name: str, input_json: str | None, parent_instance_id: str | None = None
) -> Event:
    # "Version" must be present: the SDK reads it from this event and fails without it.
    return _event(
        EventType.EXECUTION_STARTED,
        when,
        Name=name,
        Input=input_json,
        Version="",
        ParentInstance=parent_instance_id,
    )


def task_scheduled(when: datetime, task_id: int, name: str, input_json: str | None) -> Event:
    return _event(EventType.TASK_SCHEDULED, when, task_id, Name=name, Input=input_json)


def task_completed(when: datetime, task_id: int, result_json: str | None) -> Event:
    return _event(EventType.TASK_COMPLETED, when, TaskScheduledId=task_id, Result=result_json)


def task_failed(when: datetime, task_id: int, reason: str, details: str) -> Event:
    return _event(EventType.TASK_FAILED, when, TaskScheduledId=task_id, Reason=reason, Details=details)


def timer_created(when: datetime, timer_id: int, fire_at: datetime) -> Event:
    return _event(EventType.TIMER_CREATED, when, timer_id, FireAt=format_time(fire_at))


def timer_fired(when: datetime, timer_id: int, fire_at: datetime) -> Event:
    return _event(EventType.TIMER_FIRED, when, TimerId=timer_id, FireAt=format_time(fire_at))


def sub_orchestration_created(
    when: datetime, task_id: int, name: str, instance_id: str, input_json: str | None
) -> Event:
    return _event(
        EventType.SUB_ORCHESTRATION_INSTANCE_CREATED,
        when,
        task_id,
        Name=name,
        InstanceId=instance_id,
        Input=input_json,
    )


def sub_orchestration_completed(when: datetime, task_id: int, result_json: str | None) -> Event:
    return _event(
        EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED, when, TaskScheduledId=task_id, Result=result_json
    )


def sub_orchestration_failed(when: datetime, task_id: int, reason: str, details: str) -> Event:
    return _event(
        EventType.SUB_ORCHESTRATION_INSTANCE_FAILED,
        when,
        TaskScheduledId=task_id,
        Reason=reason,
        Details=details,
    )


def event_raised(when: datetime, name: str, input_json: str | None) -> Event:
    return _event(EventType.EVENT_RAISED, when, Name=name, Input=input_json)


def execution_completed(when: datetime, status: str, result_json: str | None) -> Event:
    kind = EventType.EXECUTION_COMPLETED
    return _event(kind, when, OrchestrationStatus=status, Result=result_json)


def execution_terminated(when: datetime, reason: str) -> Event:
    return _event(EventType.EXECUTION_TERMINATED, when, Input=reason)


def for_status_api(event: Event) -> Event:
    """One event as the HTTP status API lists it (`showHistory=true`): type names, no replay flags."""
    out: Event = {"EventType": _pascal(EventType(event["EventType"]).name), "Timestamp": event["Timestamp"]}
    for key, value in event.items():
        if key not in ("EventType", "EventId", "IsPlayed", "Timestamp") and value is not None:
            out["FunctionName" if key == "Name" else key] = value
    return out


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))
