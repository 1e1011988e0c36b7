"""Activities: one function per step, each a thin adapter over `shared/`.

Each parses its pydantic input, calls one shared function and returns JSON. RecordErrors never
leave an activity (they are quarantine rows); RetryableErrors are raised for the durable retry;
FatalErrors are raised with their code first in the message.
"""

from activities import (
    extract,
    load,
    migration_state,
    owners,
    planning,
    preflight,
    proposal,
    reconcile,
    reports,
    rollback,
    schema,
    transform,
)
from activities.blueprint import bp

__all__ = [
    "bp",
    "extract",
    "load",
    "migration_state",
    "owners",
    "planning",
    "preflight",
    "proposal",
    "reconcile",
    "reports",
    "rollback",
    "schema",
    "transform",
]
