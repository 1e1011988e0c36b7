"""Fan-out in waves no wider than the target allows (x-ms-dop-hint times application users)."""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import Any

import azure.durable_functions as df

# Activities retry on failure: RetryableErrors (throttling beyond the loader's own budget,
# outages) get another go; deterministic ids make every retry safe.
ACTIVITY_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=2000, max_number_of_attempts=3)


def in_waves(
    context: df.DurableOrchestrationContext,
    activity: Callable[..., Any],
    inputs: Sequence[Any],
    width: int,
) -> Generator[Any, Any, list[Any]]:
    """Run `activity` over `inputs`, at most `width` at a time; results in input order."""
    results: list[Any] = []
    width = max(1, width)
    for start in range(0, len(inputs), width):
        wave = [
            context.call_activity_with_retry(activity, ACTIVITY_RETRY, x)
            for x in inputs[start : start + width]
        ]
        results.extend((yield context.task_all(wave)))
    return results
