"""Write rows to one table with bulk messages, isolating the rows Dataverse rejects.

UpsertMultiple is atomic on standard tables: one bad row fails the request. The writer then
splits the batch in halves until each bad row stands alone, so every good row still loads and each
bad one is quarantined with Dataverse's code, message and (when the message names it) the column.
The decisions live in `plan_*`-free plain code; the HTTP is the client's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from shared.dataverse._client import DataverseClient
from shared.errors import TargetRequestFailed

Outcome = Literal["loaded", "rejected"]
# Statuses that say the *request* is wrong (no such table, verb, size or media type): splitting
# the batch cannot help, and quarantining every row would hide the fault behind balanced counts.
REQUEST_LEVEL_STATUSES = frozenset({401, 403, 404, 405, 413, 415})
# ...except a 404 that names one row's missing lookup target ("account With Id = … Does Not Exist").
ROW_LEVEL_NOT_FOUND = frozenset({"0x80040217"})


def is_request_level(exc: TargetRequestFailed) -> bool:
    if exc.status >= 500:
        return True
    if exc.status == 404 and exc.error_code in ROW_LEVEL_NOT_FOUND:
        return False
    return exc.status in REQUEST_LEVEL_STATUSES


# Statuses that say the *request* is wrong (no such table, verb, size or media type): splitting
# the batch cannot help, and quarantining every row would hide the fault behind balanced counts.
REQUEST_LEVEL_STATUSES = frozenset({401, 403, 404, 405, 413, 415})
_FIELD_PATTERNS = [
    re.compile(r"'(\w+)' attribute"),
    re.compile(r"property '(\w+)'", re.IGNORECASE),
    re.compile(r"attribute '(\w+)'", re.IGNORECASE),
    re.compile(r"column '(\w+)'", re.IGNORECASE),
]


@dataclass(frozen=True)
class RowWrite:
    source_id: str
    row: dict[str, Any]


@dataclass(frozen=True)
class RowOutcome:
    source_id: str
    outcome: Outcome
    error_code: str | None = None
    message: str | None = None
    field: str | None = None


@dataclass
class WriteResult:
    outcomes: list[RowOutcome] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)  # one entry per bulk request sent

    @property
    def loaded(self) -> int:
        return sum(1 for o in self.outcomes if o.outcome == "loaded")

    @property
    def rejected(self) -> int:
        return sum(1 for o in self.outcomes if o.outcome == "rejected")


def failing_field(message: str) -> str | None:
    for pattern in _FIELD_PATTERNS:
        m = pattern.search(message)
        if m:
            return m.group(1)
    return None


def write_rows(
    client: DataverseClient,
    entity_set: str,
    table: str,
    rows: Sequence[RowWrite],
    *,
    batch_size: int,
    clock: Callable[[], float],
) -> WriteResult:
    result = WriteResult()
    for i in range(0, len(rows), batch_size):
        _write_isolating(client, entity_set, table, list(rows[i : i + batch_size]), result, clock)
    return result


def _write_isolating(
    client: DataverseClient,
    entity_set: str,
    table: str,
    batch: list[RowWrite],
    result: WriteResult,
    clock: Callable[[], float],
) -> None:
    started = clock()
    before = client.stats.as_dict()
    try:
        status = client.upsert_multiple(entity_set, table, [w.row for w in batch])
    except TargetRequestFailed as exc:
        if is_request_level(exc):
            raise
        result.requests.append(_log(batch, exc.status, started, clock, before, client, exc.error_code))
        if len(batch) == 1:
            msg = exc.dataverse_message
            result.outcomes.append(
                RowOutcome(batch[0].source_id, "rejected", exc.error_code, msg, failing_field(msg))
            )
            return
        mid = len(batch) // 2
        _write_isolating(client, entity_set, table, batch[:mid], result, clock)
        _write_isolating(client, entity_set, table, batch[mid:], result, clock)
        return
    result.requests.append(_log(batch, status, started, clock, before, client, None))
    result.outcomes.extend(RowOutcome(w.source_id, "loaded") for w in batch)


def _log(
    batch: list[RowWrite],
    status: int,
    started: float,
    clock: Callable[[], float],
    before: dict[str, float],
    client: DataverseClient,
    code: str | None,
) -> dict[str, Any]:
    after = client.stats.as_dict()
    return {
        "records": len(batch),
        "status": status,
        "error_code": code,
        "duration_s": round(clock() - started, 4),
        "throttled_429": after["throttled_429"] - before["throttled_429"],
        "wait_s": round(after["wait_s"] - before["wait_s"], 3),
        "first_source_id": batch[0].source_id,
    }
