"""The isolating bulk writer against a fake atomic UpsertMultiple."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import pytest

from shared.dataverse import DataverseClient, RetryPolicy, RowWrite, failing_field, write_rows
from shared.errors import AuthError, ServiceUnavailable, TargetRequestFailed
from tests.unit.shared.dataverse.helpers import error_body, make_client

CODE = "0x80044331"
MESSAGE = (
    "A validation error occurred. The length of the 'name' attribute of the 'account' entity "
    "exceeded the maximum allowed length of '160'."
)


class FakeUpsertMultiple:
    """Atomic like a standard table: one bad target fails the whole request and stores nothing."""

    def __init__(self) -> None:
        self.stored: dict[str, dict[str, Any]] = {}
        self.requests: list[list[dict[str, Any]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path.endswith("/accounts/Microsoft.Dynamics.CRM.UpsertMultiple")
        targets = json.loads(request.content)["Targets"]
        self.requests.append(targets)
        if any(len(t.get("name", "")) > 160 for t in targets):
            return httpx.Response(400, json=error_body(CODE, MESSAGE))
        for t in targets:
            assert t["@odata.type"] == "Microsoft.Dynamics.CRM.account"
            self.stored[t["accountid"]] = t
        return httpx.Response(204)  # UpsertMultiple answers 204 No Content (bulk-operations.md)


def _rows(n: int, bad: set[int]) -> list[RowWrite]:
    return [
        RowWrite(f"lead_{i}", {"accountid": f"id-{i}", "name": ("x" * 200) if i in bad else f"Acme {i}"})
        for i in range(n)
    ]


def _client(fake: Any, sleeps: list[float] | None = None) -> DataverseClient:
    return make_client(fake, sleeps if sleeps is not None else [], RetryPolicy(max_transient_attempts=2))


def _bound(n: int) -> int:
    return 2 * math.ceil(math.log2(n)) + 2


def _clock() -> Any:
    ticks = iter(range(10_000))
    return lambda: float(next(ticks))


def test_COM_27_one_bad_row_among_37_isolated() -> None:
    fake = FakeUpsertMultiple()
    rows = _rows(37, bad={11})
    with _client(fake) as dv:
        result = write_rows(dv, "accounts", "account", rows, batch_size=100, clock=_clock())

    assert result.loaded == 36
    assert result.rejected == 1
    assert set(fake.stored) == {f"id-{i}" for i in range(37) if i != 11}
    (rejected,) = [o for o in result.outcomes if o.outcome == "rejected"]
    assert rejected.source_id == "lead_11"
    assert rejected.error_code == CODE
    assert rejected.message == MESSAGE
    assert rejected.field == "name"
    assert sorted(o.source_id for o in result.outcomes) == sorted(r.source_id for r in rows)
    assert len(fake.requests) <= _bound(37)
    assert len(result.requests) == len(fake.requests)


def test_two_bad_rows_isolated() -> None:
    fake = FakeUpsertMultiple()
    bad = {3, 30}
    with _client(fake) as dv:
        result = write_rows(dv, "accounts", "account", _rows(37, bad), batch_size=100, clock=_clock())
    assert result.loaded == 35
    assert sorted(o.source_id for o in result.outcomes if o.outcome == "rejected") == ["lead_3", "lead_30"]
    assert len(fake.stored) == 35
    assert len(fake.requests) <= 2 * _bound(37)


def test_request_count_bounded_per_batch() -> None:
    fake = FakeUpsertMultiple()
    bad = {2, 14, 25}  # one per batch of 10
    with _client(fake) as dv:
        result = write_rows(dv, "accounts", "account", _rows(37, bad), batch_size=10, clock=_clock())
    assert result.loaded == 34
    assert result.rejected == 3
    batches = [10, 10, 10, 7]
    assert len(fake.requests) <= sum(_bound(n) for n in batches)
    assert max(len(r) for r in fake.requests) <= 10


def test_clean_batches_take_one_request_each() -> None:
    fake = FakeUpsertMultiple()
    with _client(fake) as dv:
        result = write_rows(dv, "accounts", "account", _rows(25, set()), batch_size=10, clock=_clock())
    assert result.loaded == 25
    assert [len(r) for r in fake.requests] == [10, 10, 5]
    assert [r["records"] for r in result.requests] == [10, 10, 5]
    assert all(r["status"] == 204 and r["error_code"] is None for r in result.requests)


def test_COM_26_every_request_logged_with_status_and_code() -> None:
    fake = FakeUpsertMultiple()
    with _client(fake) as dv:
        result = write_rows(dv, "accounts", "account", _rows(4, {0}), batch_size=4, clock=_clock())
    assert [(r["records"], r["status"], r["error_code"]) for r in result.requests] == [
        (4, 400, CODE),
        (2, 400, CODE),
        (1, 400, CODE),
        (1, 204, None),
        (2, 204, None),
    ]


def test_500_during_write_propagates_not_quarantined() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(500, json=error_body("0x80040216", "An unexpected error occurred."))

    sleeps: list[float] = []
    with _client(handler, sleeps) as dv, pytest.raises(ServiceUnavailable):
        write_rows(dv, "accounts", "account", _rows(8, set()), batch_size=8, clock=_clock())
    assert calls == 2  # the client's retries, no splitting


def test_403_during_write_propagates() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json=error_body("0x80040220", "missing prvCreateAccount"))

    with _client(handler) as dv, pytest.raises(AuthError):
        write_rows(dv, "accounts", "account", _rows(8, set()), batch_size=8, clock=_clock())


def test_unknown_entity_set_stops_the_load() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            404, json=error_body("0x80060888", "Resource not found for the segment 'acounts'.")
        )

    with _client(handler) as dv, pytest.raises(TargetRequestFailed):
        write_rows(dv, "acounts", "account", _rows(8, set()), batch_size=8, clock=_clock())


@pytest.mark.parametrize(
    ("message", "field"),
    [
        (MESSAGE, "name"),
        (
            "Invalid property 'emailadress1' was found in entity 'Microsoft.Dynamics.CRM.contact'.",
            "emailadress1",
        ),
        ("A value must be provided for attribute 'lastname'.", "lastname"),
        ("The column 'telephone1' is too long.", "telephone1"),
        ("An unexpected error occurred.", None),
        ("", None),
    ],
)
def test_failing_field(message: str, field: str | None) -> None:
    assert failing_field(message) == field


def test_a_missing_lookup_target_404_is_a_row_error_not_a_request_error() -> None:
    """Dataverse answers a bind to a missing row with 404 0x80040217 (compose-http-requests-handle-
    errors.md); only that row is bad, unlike 404 0x8006088a for an unknown entity set."""
    from shared.dataverse._writer import is_request_level
    from shared.errors import TargetRequestFailed

    missing_row = TargetRequestFailed("x", status=404, error_code="0x80040217")
    unknown_set = TargetRequestFailed("x", status=404, error_code="0x8006088a")
    assert not is_request_level(missing_row)
    assert is_request_level(unknown_set)
    assert not is_request_level(TargetRequestFailed("x", status=400, error_code="0x80044331"))
