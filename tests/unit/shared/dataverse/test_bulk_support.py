"""Which tables take CreateMultiple/UpdateMultiple/UpsertMultiple: asked once per run with the query
Microsoft's "Use bulk operation messages" page shows (Availability with standard tables:
`sdkmessagefilters?$filter=sdkmessageid/name eq @message ...`; the same page: the query returns
nothing for UpsertMultiple, and a table with CreateMultiple and UpdateMultiple supports it),
https://learn.microsoft.com/power-apps/developer/data-platform/bulk-operations#availability-with-standard-tables
— and the writer's `$batch` path for tables without UpsertMultiple."""

from __future__ import annotations

from typing import Any

import httpx

from shared.dataverse import RetryPolicy, write_rows
from tests.unit.shared.dataverse.helpers import error_body, make_client
from tests.unit.shared.dataverse.test_batch_isolation import FakeWithBatch
from tests.unit.shared.dataverse.test_writer import _clock, _rows

NOT_SUPPORTED = "0x80040800"

FILTERS = {
    "CreateMultiple": ["account", "contact", "lead"],
    "UpdateMultiple": ["account", "contact", "incident"],
    "UpsertMultiple": [],  # "will not return results for UpsertMultiple"
}


class FakeSdkMessageFilters:
    """Answers `sdkmessagefilters` like Dataverse; records every query."""

    def __init__(self, filters: dict[str, list[str]], page_size: int = 1000) -> None:
        self.filters = filters
        self.page_size = page_size
        self.queries: list[httpx.URL] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.method == "GET" and request.url.path.endswith("/sdkmessagefilters")
        self.queries.append(request.url)
        params = request.url.params
        assert params["$filter"] == "sdkmessageid/name eq @message"
        assert params["$select"] == "primaryobjecttypecode"
        message = params["@message"].strip("'")
        tables = self.filters.get(message, [])
        offset = int(params.get("offset", "0"))
        page = tables[offset : offset + self.page_size]
        body: dict[str, Any] = {"value": [{"primaryobjecttypecode": t} for t in page]}
        if offset + self.page_size < len(tables):
            body["@odata.nextLink"] = str(request.url.copy_merge_params({"offset": offset + self.page_size}))
        return httpx.Response(200, json=body)


def test_asks_once_per_message_for_the_whole_run_and_derives_upsert() -> None:
    fake = FakeSdkMessageFilters(FILTERS)
    dv = make_client(fake, [], ask_bulk_support=True)
    assert dv.bulk_support("account") == {"CreateMultiple", "UpdateMultiple", "UpsertMultiple"}
    assert dv.bulk_support("contact") == {"CreateMultiple", "UpdateMultiple", "UpsertMultiple"}
    assert dv.bulk_support("lead") == {"CreateMultiple"}
    assert dv.bulk_support("incident") == {"UpdateMultiple"}
    assert dv.bulk_support("phonecall") == set()
    assert [q.params["@message"] for q in fake.queries] == [
        "'CreateMultiple'",
        "'UpdateMultiple'",
        "'UpsertMultiple'",
    ]
    assert dv.stats.requests == 3  # cached on the client: no further queries


def test_upsert_filters_are_honoured_should_a_service_list_them() -> None:
    fake = FakeSdkMessageFilters({"CreateMultiple": [], "UpdateMultiple": [], "UpsertMultiple": ["x_thing"]})
    dv = make_client(fake, [], ask_bulk_support=True)
    assert dv.bulk_support("x_thing") == {"UpsertMultiple"}


def test_follows_next_links() -> None:
    many = [f"new_t{i}" for i in range(7)]
    fake = FakeSdkMessageFilters({"CreateMultiple": many, "UpdateMultiple": many}, page_size=3)
    dv = make_client(fake, [], ask_bulk_support=True)
    assert "UpsertMultiple" in dv.bulk_support("new_t6")
    assert len(fake.queries) == 3 + 3 + 1  # pages of 3 for two messages, one empty answer


def test_a_service_that_cannot_answer_is_assumed_to_support_them() -> None:
    for status in (404, 501):
        calls: list[str] = []

        def handler(request: httpx.Request, status: int = status, calls: list[str] = calls) -> httpx.Response:
            calls.append(request.url.path)
            return httpx.Response(status, json=error_body("0x8006088a", "Resource not found for the segment"))

        dv = make_client(handler, [], RetryPolicy(max_transient_attempts=1), ask_bulk_support=True)
        assert dv.bulk_support("account") == {"CreateMultiple", "UpdateMultiple", "UpsertMultiple"}
        assert dv.bulk_support("task") == {"CreateMultiple", "UpdateMultiple", "UpsertMultiple"}
        assert len(calls) == 1  # stops at the first refusal and does not ask again


class NoBulkForAccounts(FakeWithBatch):
    """`sdkmessagefilters` lists no bulk messages for account; UpsertMultiple must not be sent."""

    def __init__(self) -> None:
        super().__init__()
        self.sdk = FakeSdkMessageFilters({"CreateMultiple": ["contact"], "UpdateMultiple": ["contact"]})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/sdkmessagefilters"):
            return self.sdk(request)
        assert not request.url.path.endswith("UpsertMultiple")
        return super().__call__(request)


def test_table_without_upsert_multiple_is_written_by_batch_upserts() -> None:
    fake = NoBulkForAccounts()
    dv = make_client(fake, [], ask_bulk_support=True)
    result = write_rows(
        dv, "accounts", "account", _rows(2500, {7}), batch_size=5000, clock=_clock(), primary_id="accountid"
    )
    assert result.loaded == 2499 and result.rejected == 1
    assert [len(b) for b in fake.batches] == [1000, 1000, 500]  # at most 1000 requests per $batch
    assert all(p == "odata.continue-on-error" for p in fake.prefer)
    assert [r["kind"] for r in result.requests] == ["$batch"] * 3
    assert sum(r["loaded"] for r in result.requests) == 2499
    assert len(fake.stored) == 2499


class RefusesUpsertMultiple(FakeWithBatch):
    """A service that could not say up front, then refuses UpsertMultiple as Dataverse does."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("UpsertMultiple"):
            self.requests.append([])
            return httpx.Response(
                400,
                json=error_body(
                    NOT_SUPPORTED,
                    "The 'UpsertMultiple' method does not support entities of type 'account'. "
                    "MessageProcessorCache returned MessageProcessor.Empty.",
                ),
            )
        return super().__call__(request)


def test_a_refused_bulk_message_is_learnt_and_the_rows_still_load() -> None:
    fake = RefusesUpsertMultiple()
    dv = make_client(fake, [])  # bulk support assumed (the service could not answer)
    first = write_rows(
        dv, "accounts", "account", _rows(30, set()), batch_size=10, clock=_clock(), primary_id="accountid"
    )
    second = write_rows(
        dv, "accounts", "account", _rows(30, set()), batch_size=10, clock=_clock(), primary_id="accountid"
    )
    assert first.loaded == 30 and second.loaded == 30
    assert len(fake.requests) == 1  # UpsertMultiple tried once, never again
    assert [r["kind"] for r in first.requests] == ["UpsertMultiple", "$batch", "$batch", "$batch"]
    assert first.requests[0]["error_code"] == NOT_SUPPORTED and first.requests[0]["status"] == 400
    assert [r["kind"] for r in second.requests] == ["$batch"] * 3  # the configured size, <= 1000
    assert "UpsertMultiple" not in dv.bulk_support("account")


def test_the_run_asks_once_and_every_load_client_reuses_the_answer() -> None:
    """probe_target asks once per run; each load activity's client gets the answer preset and
    sends no question of its own (at 1,000 records a chunk, three queries per chunk would cost
    three requests per 1,000 records)."""
    from shared.migration.lifecycle import probe_target

    fake = FakeSdkMessageFilters(FILTERS)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/WhoAmI"):
            return httpx.Response(
                200,
                json={"UserId": "u", "OrganizationId": "o", "BusinessUnitId": "b"},
                headers={"x-ms-dop-hint": "6"},
            )
        return fake(request)

    probe = make_client(handler, [], ask_bulk_support=True)
    caps = probe_target([probe], ["account", "lead"])
    assert caps.bulk == {
        "account": ["CreateMultiple", "UpdateMultiple", "UpsertMultiple"],
        "lead": ["CreateMultiple"],
    }
    assert caps.dop_hint == 6
    asked = len(fake.queries)
    loader = make_client(fake, [], ask_bulk_support=True)
    loader.preset_bulk_support("lead", set(caps.bulk["lead"]))
    assert loader.bulk_support("lead") == {"CreateMultiple"}
    assert len(fake.queries) == asked and loader.stats.requests == 0
