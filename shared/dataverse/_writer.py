"""Write rows to one table with bulk messages, isolating the rows Dataverse rejects.

UpsertMultiple is atomic on standard tables: one bad row fails the request. The writer then sends
the same rows as one `$batch` with continue-on-error (or, where there is no `$batch`, splits the
batch in halves until each bad row stands alone), so every good row still loads and each bad one
is quarantined with Dataverse's code, message and (when the message names it) the column.
The HTTP is the client's; this module decides what to send next.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from shared.dataverse._batch import BatchOperation
from shared.dataverse._client import MESSAGE_NOT_SUPPORTED, BatchUnsupported, DataverseClient
from shared.errors import ServiceUnavailable, TargetRequestFailed

BATCH_TRANSIENT_ROUNDS = 3
BATCH_MAX_REQUESTS = 1000  # requests in one $batch (execute-batch-operations)

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
    primary_id: str | None = None,
) -> WriteResult:
    """Upsert `rows` in bulk requests of `batch_size`; isolate and report the rows Dataverse refuses.

    With `primary_id`, a failed bulk request is retried as one `$batch` with continue-on-error
    (every good row written, every bad row reported, one request); without it, or where the
    service has no `$batch`, the batch is bisected. A table without UpsertMultiple (the client asks
    the service once, `bulk_support`) is written as `$batch` upserts (PATCH by id) from the start.
    """
    result = WriteResult()
    if primary_id is not None and "UpsertMultiple" not in client.bulk_support(table):
        _write_batches(client, entity_set, table, primary_id, list(rows), result, clock, batch_size)
        return result
    for i in range(0, len(rows), batch_size):
        _write_bulk(client, entity_set, table, list(rows[i : i + batch_size]), result, clock, primary_id)
    return result


def _write_bulk(
    client: DataverseClient,
    entity_set: str,
    table: str,
    batch: list[RowWrite],
    result: WriteResult,
    clock: Callable[[], float],
    primary_id: str | None,
) -> None:
    if primary_id is not None and "UpsertMultiple" not in client.bulk_support(table):
        _write_batches(client, entity_set, table, primary_id, batch, result, clock, len(batch))
        return
    started = clock()
    before = client.stats.as_dict()
    try:
        status = client.upsert_multiple(entity_set, table, [w.row for w in batch])
    except TargetRequestFailed as exc:
        if exc.error_code == MESSAGE_NOT_SUPPORTED and primary_id is not None:
            # The table takes no UpsertMultiple after all (the service could not say up front).
            result.requests.append(_log(batch, exc.status, started, clock, before, client, exc.error_code))
            client.note_bulk_refused(table, "UpsertMultiple")
            _write_batches(client, entity_set, table, primary_id, batch, result, clock, len(batch))
            return
        if is_request_level(exc):
            raise
        result.requests.append(_log(batch, exc.status, started, clock, before, client, exc.error_code))
        if len(batch) == 1:
            result.outcomes.append(_rejected(batch[0], exc.error_code, exc.dataverse_message))
            return
        if primary_id is not None and client.supports_batch is not False:
            try:
                _isolate_with_batch(client, entity_set, primary_id, batch, result, clock)
                client.supports_batch = True
                return
            except BatchUnsupported:
                client.supports_batch = False
        mid = len(batch) // 2
        _write_bulk(client, entity_set, table, batch[:mid], result, clock, primary_id)
        _write_bulk(client, entity_set, table, batch[mid:], result, clock, primary_id)
        return
    result.requests.append(_log(batch, status, started, clock, before, client, None, loaded=len(batch)))
    result.outcomes.extend(RowOutcome(w.source_id, "loaded") for w in batch)


def _write_batches(
    client: DataverseClient,
    entity_set: str,
    table: str,
    primary_id: str,
    rows: list[RowWrite],
    result: WriteResult,
    clock: Callable[[], float],
    batch_size: int,
) -> None:
    """Rows as `$batch` upserts, continue-on-error, up to 1000 a request: for tables without bulk."""
    size = max(1, min(batch_size, BATCH_MAX_REQUESTS))
    for i in range(0, len(rows), size):
        try:
            _isolate_with_batch(client, entity_set, primary_id, rows[i : i + size], result, clock)
        except BatchUnsupported as exc:
            raise TargetRequestFailed(
                f"table {table} takes no UpsertMultiple and the service has no $batch",
                status=501,
                dataverse_message=str(exc),
            ) from exc


def _rejected(w: RowWrite, code: str | None, message: str) -> RowOutcome:
    return RowOutcome(w.source_id, "rejected", code, message, failing_field(message))


def _isolate_with_batch(
    client: DataverseClient,
    entity_set: str,
    primary_id: str,
    batch: list[RowWrite],
    result: WriteResult,
    clock: Callable[[], float],
) -> None:
    """Each row as its own upsert (PATCH by id) in one continue-on-error `$batch`; parts that hit a
    transient failure (429/5xx) are sent again, a bounded number of times."""
    pending = batch
    for _ in range(BATCH_TRANSIENT_ROUNDS):
        started = clock()
        before = client.stats.as_dict()
        ops = [
            BatchOperation(
                "PATCH",
                f"{entity_set}({w.row[primary_id]})",
                {k: v for k, v in w.row.items() if k != primary_id},
            )
            for w in pending
        ]
        answers = client.batch(ops, continue_on_error=True)
        entry = _log(pending, 200, started, clock, before, client, None, kind="$batch")
        result.requests.append(entry)
        retry: list[RowWrite] = []
        for w, answer in zip(pending, answers, strict=True):
            if answer.ok:
                result.outcomes.append(RowOutcome(w.source_id, "loaded"))
            elif answer.status == 429 or answer.status >= 500:
                retry.append(w)
            else:
                code, message = answer.error
                result.outcomes.append(_rejected(w, code, message))
        entry["loaded"] = sum(1 for a in answers if a.ok)
        entry["rejected"] = len(answers) - entry["loaded"] - len(retry)
        entry["retried"] = len(retry)
        if not retry:
            return
        pending = retry
    raise ServiceUnavailable(f"{len(pending)} rows kept failing transiently inside $batch")


def _log(
    batch: list[RowWrite],
    status: int,
    started: float,
    clock: Callable[[], float],
    before: dict[str, float],
    client: DataverseClient,
    code: str | None,
    kind: str = "UpsertMultiple",
    loaded: int = 0,
) -> dict[str, Any]:
    """One line of the request log (COM-26): what was sent and how it ended, no record values."""
    after = client.stats.as_dict()
    return {
        "kind": kind,
        "records": len(batch),
        "loaded": loaded,
        "status": status,
        "error_code": code,
        "duration_s": round(clock() - started, 4),
        "throttled_429": after["throttled_429"] - before["throttled_429"],
        "wait_s": round(after["wait_s"] - before["wait_s"], 3),
        "first_source_id": batch[0].source_id,
    }
