"""A fake DurableOrchestrationContext that drives an orchestrator generator without a runtime,
answering activity calls from a table of plain functions (level-1 orchestrator tests)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Generator
from datetime import UTC, datetime
from typing import Any


class FakeTask:
    def __init__(self, kind: str, name: str, input: Any, children: list[FakeTask] | None = None) -> None:
        self.kind, self.name, self.input, self.children = kind, name, input, children or []
        self.result: Any = None

    def cancel(self) -> None:
        self.kind = "cancelled"


def _name(fn: Any) -> str:
    return fn if isinstance(fn, str) else fn._function.get_function_name()


class FakeContext:
    def __init__(
        self,
        input: Any,
        activities: dict[str, Callable[[Any], Any]],
        orchestrators: dict[str, Callable[..., Generator[Any, Any, Any]]] | None = None,
        instance_id: str = "m1",
    ) -> None:
        self._input = input
        self._activities = activities
        self._orchestrators = orchestrators or {}
        self.instance_id = instance_id
        self.current_utc_datetime = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        self.is_replaying = False
        self.calls: list[tuple[str, Any]] = []
        self.waves: list[tuple[str, int]] = []
        self.statuses: list[Any] = []
        self.timers: list[datetime] = []
        self.events: dict[str, Any] = {}  # external events already raised, by name
        self._uuids = 0

    def get_input(self) -> Any:
        return self._input

    def new_uuid(self) -> str:
        self._uuids += 1
        return str(uuid.UUID(int=self._uuids))

    def set_custom_status(self, status: Any) -> None:
        self.statuses.append(status)

    def call_activity(self, fn: Any, input_: Any = None) -> FakeTask:
        return FakeTask("activity", _name(fn), input_)

    def call_activity_with_retry(self, fn: Any, retry: Any, input_: Any = None) -> FakeTask:
        return FakeTask("activity", _name(fn), input_)

    def call_sub_orchestrator(
        self, name: Any, input_: Any = None, instance_id: str | None = None
    ) -> FakeTask:
        return FakeTask("sub", _name(name), input_)

    def wait_for_external_event(self, name: str) -> FakeTask:
        return FakeTask("event", name, None)

    def create_timer(self, fire_at: datetime) -> FakeTask:
        return FakeTask("timer", "timer", fire_at)

    def task_any(self, tasks: list[FakeTask]) -> FakeTask:
        return FakeTask("any", "", None, tasks)

    def task_all(self, tasks: list[FakeTask]) -> FakeTask:
        return FakeTask("all", "", None, tasks)

    def _resolve(self, task: FakeTask) -> Any:
        if task.kind == "any":  # the oldest pending task finishes first (FIFO completion)
            self.waves.append((task.children[0].name, len(task.children)))
            raised = [t for t in task.children if t.kind == "event" and t.name in self.events]
            waiting = [t for t in task.children if t.kind != "event"]
            winner = raised[0] if raised else (waiting or task.children)[0]
            winner.result = self._resolve(winner)
            return winner
        if task.kind == "all":
            if task.children:
                self.waves.append((task.children[0].name, len(task.children)))
            return [self._resolve(t) for t in task.children]
        self.calls.append((task.name, task.input))
        if task.kind == "event":
            return self.events[task.name]
        if task.kind == "timer":
            self.timers.append(task.input)
            self.current_utc_datetime = max(self.current_utc_datetime, task.input)
            return None
        if task.kind == "sub":
            child = FakeContext(task.input, self._activities, self._orchestrators, f"{self.instance_id}:sub")
            child.current_utc_datetime = self.current_utc_datetime
            result = child.run(self._orchestrators[task.name])
            self.calls.extend(child.calls)
            self.waves.extend(child.waves)
            self.timers.extend(child.timers)
            self.current_utc_datetime = child.current_utc_datetime
            return result
        return self._activities[task.name](task.input)

    def run(self, orchestrator: Callable[..., Generator[Any, Any, Any]]) -> Any:
        gen = orchestrator(self)
        value: Any = None
        try:
            while True:
                value = self._resolve(gen.send(value))
        except StopIteration as stop:
            return stop.value


def user_function(fb: Any) -> Callable[..., Generator[Any, Any, Any]]:
    """The generator function inside a v2 orchestration_trigger FunctionBuilder."""
    return (
        fb._function._func.orchestrator_function
        if hasattr(fb._function._func, "orchestrator_function")
        else fb._function._func
    )
