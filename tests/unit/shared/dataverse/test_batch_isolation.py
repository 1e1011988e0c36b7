"""Isolating bad rows with one `$batch` (continue-on-error) after an atomic bulk request fails —
every good row written, every bad one reported with its own code — and the wire format itself.
Format: execute-batch-operations-using-web-api.md."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from shared.dataverse import RetryPolicy, write_rows
from shared.dataverse._batch import BatchOperation, build_batch, parse_batch_response
from tests.unit.shared.dataverse.helpers import error_body, make_client
from tests.unit.shared.dataverse.test_writer import CODE, MESSAGE, FakeUpsertMultiple, _clock, _rows


def _parts(request: httpx.Request) -> list[tuple[str, str, dict[str, Any]]]:
    boundary = re.search(r"boundary=(\S+)", request.headers["Content-Type"]).group(1)  # type: ignore[union-attr]
    out = []
    for part in request.content.decode().split(f"--{boundary}")[1:-1]:
        http = part.split("\r\n\r\n", 1)[1]
        request_line, rest = http.split("\r\n", 1)
        method, url, _ = request_line.split(" ")
        out.append((method, url, json.loads(rest.split("\r\n\r\n", 1)[1])))
    return out


def _response(statuses: list[tuple[int, Any]]) -> httpx.Response:
    lines = []
    for status, body in statuses:
        lines += [
            "--batchresponse_1",
            "Content-Type: application/http",
            "Content-Transfer-Encoding: binary",
            "",
            f"HTTP/1.1 {status} X",
            "Content-Type: application/json; odata.metadata=minimal",
            "",
            json.dumps(body) if body is not None else "",
        ]
    lines.append("--batchresponse_1--")
    return httpx.Response(
        200,
        content="\r\n".join(lines).encode(),
        headers={"Content-Type": "multipart/mixed; boundary=batchresponse_1"},
    )


class FakeWithBatch(FakeUpsertMultiple):
    """Adds `$batch`: each PATCH is an independent upsert; bad rows fail alone."""

    def __init__(self, transient_once: set[str] | None = None) -> None:
        super().__init__()
        self.batches: list[list[tuple[str, str, dict[str, Any]]]] = []
        self.prefer: list[str | None] = []
        self.transient_once = set(transient_once or ())

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/$batch"):
            return super().__call__(request)
        parts = _parts(request)
        self.batches.append(parts)
        self.prefer.append(request.headers.get("Prefer"))
        answers: list[tuple[int, Any]] = []
        for method, url, body in parts:
            assert method == "PATCH" and url.startswith("/api/data/v9.2/accounts(")
            row_id = url[len("/api/data/v9.2/accounts(") : -1]
            assert "accountid" not in body  # the key is in the URL
            if row_id in self.transient_once:
                self.transient_once.discard(row_id)
                answers.append((503, error_body("0x80040216", "Unexpected error")))
            elif len(body.get("name", "")) > 160:
                answers.append((400, error_body(CODE, MESSAGE)))
            else:
                self.stored[row_id] = body
                answers.append((204, None))
        return _response(answers)


def test_COM_27_one_bad_row_in_a_thousand_costs_one_extra_request() -> None:
    fake = FakeWithBatch()
    client = make_client(fake, [])
    result = write_rows(
        client,
        "accounts",
        "account",
        _rows(1000, {417}),
        batch_size=1000,
        clock=_clock(),
        primary_id="accountid",
    )
    assert result.loaded == 999 and result.rejected == 1
    bad = next(o for o in result.outcomes if o.outcome == "rejected")
    assert (bad.source_id, bad.error_code, bad.field) == ("lead_417", CODE, "name")
    assert len(fake.requests) == 1 and len(fake.batches) == 1  # bulk, then one $batch
    assert fake.prefer == ["odata.continue-on-error"]
    assert len(fake.stored) == 999
    assert [r["kind"] for r in result.requests] == ["UpsertMultiple", "$batch"]


def test_transient_failures_inside_the_batch_are_sent_again() -> None:
    fake = FakeWithBatch(transient_once={"id-3", "id-8"})
    client = make_client(fake, [])
    result = write_rows(
        client, "accounts", "account", _rows(10, {5}), batch_size=10, clock=_clock(), primary_id="accountid"
    )
    assert result.loaded == 9 and result.rejected == 1
    assert [len(b) for b in fake.batches] == [10, 2]
    assert {o.source_id for o in result.outcomes} == {f"lead_{i}" for i in range(10)}


def test_without_batch_support_the_writer_falls_back_to_bisection() -> None:
    fake = FakeUpsertMultiple()

    def no_batch(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/$batch"):
            return httpx.Response(
                404, json=error_body("0x8006088a", "Resource not found for the segment '$batch'.")
            )
        return fake(request)

    client = make_client(no_batch, [], RetryPolicy(max_transient_attempts=2))
    result = write_rows(
        client, "accounts", "account", _rows(16, {9}), batch_size=16, clock=_clock(), primary_id="accountid"
    )
    assert result.loaded == 15 and result.rejected == 1
    assert client.supports_batch is False


def test_batch_wire_format_round_trip() -> None:
    content_type, body = build_batch(
        [BatchOperation("PATCH", "accounts(1)", {"name": "a"}), BatchOperation("DELETE", "contacts(2)")],
        "/api/data/v9.2/",
    )
    text = body.decode()
    assert content_type.startswith("multipart/mixed; boundary=batch_")
    assert "Content-Type: application/http\r\nContent-Transfer-Encoding: binary" in text
    assert "PATCH /api/data/v9.2/accounts(1) HTTP/1.1\r\nContent-Type: application/json; type=entry" in text
    assert "DELETE /api/data/v9.2/contacts(2) HTTP/1.1" in text
    parsed = parse_batch_response(
        "multipart/mixed; boundary=batchresponse_1",
        _response([(204, None), (404, error_body("0x80040217", "Does Not Exist"))]).content,
    )
    assert [p.status for p in parsed] == [204, 404]
    assert parsed[1].error == ("0x80040217", "Does Not Exist")


def test_change_set_responses_are_flattened() -> None:
    inner = (
        "--changesetresponse_a\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
        "Content-ID: 1\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n\r\n--changesetresponse_a--"
    )
    outer = (
        f"--batchresponse_1\r\nContent-Type: multipart/mixed; boundary=changesetresponse_a\r\n\r\n{inner}\r\n"
        "--batchresponse_1--\r\n"
    )
    assert [
        p.status for p in parse_batch_response("multipart/mixed; boundary=batchresponse_1", outer.encode())
    ] == [204]
