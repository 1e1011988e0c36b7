"""Errors of the local durable runtime.

    LocalRuntimeError
    ├── NonDeterministicOrchestrationError   replay emitted other actions than the history holds
    ├── UnsupportedActionError               an action the local runtime does not implement
    ├── UnknownFunctionError                 no orchestrator / activity of that name in the app
    ├── InstanceNotFoundError (also KeyError) no instance with that id
    ├── InstanceExistsError                  start_new on an id that is still running
    └── InstanceGoneError                    raise_event on an instance that has finished

`TimeoutError` (builtin) is raised by `wait_for_completion`.
"""

from __future__ import annotations


class LocalRuntimeError(Exception):
    """Root of the local runtime's own errors."""


class NonDeterministicOrchestrationError(LocalRuntimeError):
    """A replay scheduled something else than the history recorded at the same position."""

    def __init__(self, instance_id: str, position: int, expected: str, actual: str) -> None:
        self.instance_id = instance_id
        self.position = position
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"Non-deterministic workflow detected in instance {instance_id}: at action #{position} "
            f"the history has {expected} but the replay produced {actual}. Orchestrator code must "
            "not branch on the wall clock, random values, I/O or mutable globals; use "
            "context.current_utc_datetime and context.new_uuid()."
        )


class UnsupportedActionError(LocalRuntimeError):
    """The orchestrator used a durable API the local runtime does not emulate (entities, call_http)."""


class UnknownFunctionError(LocalRuntimeError):
    """The app has no orchestrator or activity with this name."""


class InstanceNotFoundError(LocalRuntimeError, KeyError):
    """No instance with this id (in memory or in the store)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "instance not found"


class InstanceExistsError(LocalRuntimeError):
    """An instance with this id is still Pending or Running (the extension's default refuses it)."""


class InstanceGoneError(LocalRuntimeError):
    """The instance has already completed, failed or been terminated."""
