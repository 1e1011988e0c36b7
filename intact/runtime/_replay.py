"""One orchestrator episode through the real SDK, and the checks on what it asked for.

The runtime plays the Durable extension: it builds the JSON payload the extension would send
(whole history, input as a JSON string), calls the function the DFApp registered (the SDK's
`Orchestrator.create` handle, exactly as the Python worker does) and reads back the
OrchestratorState JSON. Actions come back cumulative since the start of the execution, so the
first N id-consuming actions must match the N scheduling events already in the history; that
comparison is the determinism check.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from azure.functions import OrchestrationContext

from intact.runtime._errors import NonDeterministicOrchestrationError
from intact.runtime._functions import FunctionInfo
from intact.runtime._history import Event, EventType

_ERROR_MARK = "\n\n$OutOfProcData$:"


class ActionType(IntEnum):
    """The SDK's ActionType codes."""

    CALL_ACTIVITY = 0
    CALL_ACTIVITY_WITH_RETRY = 1
    CALL_SUB_ORCHESTRATOR = 2
    CALL_SUB_ORCHESTRATOR_WITH_RETRY = 3
    CONTINUE_AS_NEW = 4
    CREATE_TIMER = 5
    WAIT_FOR_EXTERNAL_EVENT = 6
    CALL_ENTITY = 7
    CALL_HTTP = 8
    SIGNAL_ENTITY = 9
    WHEN_ANY = 11
    WHEN_ALL = 12


# Actions that get a task id (and a scheduling event), in the order the SDK numbers them.
ID_CONSUMING = frozenset(
    {
        ActionType.CALL_ACTIVITY,
        ActionType.CALL_ACTIVITY_WITH_RETRY,
        ActionType.CALL_SUB_ORCHESTRATOR,
        ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY,
        ActionType.CREATE_TIMER,
    }
)
_EXPECTED_EVENT = {
    ActionType.CALL_ACTIVITY: EventType.TASK_SCHEDULED,
    ActionType.CALL_ACTIVITY_WITH_RETRY: EventType.TASK_SCHEDULED,
    ActionType.CALL_SUB_ORCHESTRATOR: EventType.SUB_ORCHESTRATION_INSTANCE_CREATED,
    ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY: EventType.SUB_ORCHESTRATION_INSTANCE_CREATED,
    ActionType.CREATE_TIMER: EventType.TIMER_CREATED,
}


@dataclass
class EpisodeResult:
    """What one replay produced."""

    done: bool
    actions: list[dict[str, Any]] = field(default_factory=list)  # flattened, in task-id order
    output: Any = None
    custom_status: Any = None
    error: str | None = None

    @property
    def continue_as_new(self) -> dict[str, Any] | None:
        return next((a for a in self.actions if a["actionType"] == ActionType.CONTINUE_AS_NEW), None)

    @property
    def scheduling_actions(self) -> list[dict[str, Any]]:
        return [a for a in self.actions if a["actionType"] in ID_CONSUMING]


def flatten(actions: list[Any]) -> Iterator[dict[str, Any]]:
    """Depth-first over lists and WhenAll/WhenAny compounds: the order the SDK hands out ids."""
    for item in actions:
        if isinstance(item, list):
            yield from flatten(item)
        elif item.get("actionType") in (ActionType.WHEN_ALL, ActionType.WHEN_ANY):
            yield from flatten(item.get("compoundActions", []))
        else:
            yield item


def run_episode(
    orchestrator: FunctionInfo,
    instance_id: str,
    history: list[Event],
    input_json: str | None,
    parent_instance_id: str | None,
) -> EpisodeResult:
    """Replay the whole history through the orchestrator function, as the worker would."""
    payload = {
        "history": history,
        "instanceId": instance_id,
        "isReplaying": False,
        "parentInstanceId": parent_instance_id,
        "input": input_json,
        "upperSchemaVersion": 1,
    }
    try:
        state_json = orchestrator.func(OrchestrationContext(json.dumps(payload)))
    except Exception as exc:  # the SDK reports orchestrator failures this way
        text = str(exc)
        if _ERROR_MARK in text:
            message, _, data = text.partition(_ERROR_MARK)
            state = json.loads(data)
            return EpisodeResult(
                done=False,
                actions=list(flatten(state.get("actions", []))),
                custom_status=state.get("customStatus"),
                error=message,
            )
        return EpisodeResult(done=False, error=f"{type(exc).__name__}: {exc}")
    state = json.loads(state_json)
    return EpisodeResult(
        done=bool(state.get("isDone")),
        actions=list(flatten(state.get("actions", []))),
        output=state.get("output"),
        custom_status=state.get("customStatus"),
    )


def _describe_action(action: dict[str, Any]) -> str:
    kind = ActionType(action["actionType"]).name
    name = action.get("functionName")
    return f"{kind}({name!r})" if name else kind


def _describe_event(event: Event) -> str:
    kind = EventType(event["EventType"]).name
    name = event.get("Name")
    return f"{kind}({name!r})" if name else kind


def check_determinism(instance_id: str, recorded: list[Event], result: EpisodeResult) -> None:
    """Fail loudly when the replay schedules other work than the history recorded.

    `recorded` are the scheduling events of earlier episodes that came from user actions
    (retry bookkeeping excluded), in order. Kind and function name must match position by
    position, and a replay that has not finished must schedule at least as much as before.
    """
    actions = result.scheduling_actions
    for position, (event, action) in enumerate(zip(recorded, actions, strict=False)):
        kind = ActionType(action["actionType"])
        if _EXPECTED_EVENT[kind] != event["EventType"] or (
            kind != ActionType.CREATE_TIMER and action.get("functionName") != event.get("Name")
        ):
            raise NonDeterministicOrchestrationError(
                instance_id, position, _describe_event(event), _describe_action(action)
            )
    if len(actions) < len(recorded) and not result.done and result.error is None:
        position = len(actions)
        raise NonDeterministicOrchestrationError(
            instance_id, position, _describe_event(recorded[position]), "no action at that position"
        )
