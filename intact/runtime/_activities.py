"""Calling an activity function the way the Python worker does.

Input and output go through the real `ActivityTriggerConverter` (decode of the extension's JSON
string, encode of the return value), so anything that would not survive serialization on Azure
fails here too.
"""

from __future__ import annotations

import asyncio
import inspect
import traceback
from dataclasses import dataclass

from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from intact.runtime._functions import FunctionInfo


@dataclass(frozen=True)
class ActivityOutcome:
    """Result JSON on success; reason and details (as TaskFailed carries them) on failure."""

    succeeded: bool
    result_json: str | None = None
    reason: str = ""
    details: str = ""


def run_activity(activity: FunctionInfo, input_json: str | None) -> ActivityOutcome:
    """Decode the input, call the function (sync or async), encode its result."""
    try:
        datum = meta.Datum(input_json or "null", "json")
        value = ActivityTriggerConverter.decode(datum, trigger_metadata=None)
        result = activity.func(**{activity.trigger_arg: value})
        if inspect.isawaitable(result):
            result = asyncio.run(_await(result))
        encoded = ActivityTriggerConverter.encode(result, expected_type=None)
        return ActivityOutcome(True, result_json=str(encoded.value))
    except Exception as exc:
        return ActivityOutcome(
            False,
            reason=f"Activity function '{activity.name}' failed: {type(exc).__name__}: {exc}",
            details=traceback.format_exc(),
        )


async def _await(awaitable: object) -> object:
    return await awaitable  # type: ignore[misc]
