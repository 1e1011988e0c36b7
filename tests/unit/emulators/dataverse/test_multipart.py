"""The `$batch` multipart parser/builder. Format: MicrosoftDocs/powerapps-docs developer/data-platform/
webapi/execute-batch-operations-using-web-api.md (the request/response examples there)."""

from __future__ import annotations

import pytest

from emulators.dataverse.multipart import (
    ChangeSet,
    ChangeSetResponse,
    MultipartError,
    PartResponse,
    boundary_of,
    build_batch_response,
    parse_batch,
    parse_batch_response,
)

DOC_EXAMPLE = (
    b"--batch_AAA123\r\n"
    b"Content-Type: multipart/mixed; boundary=changeset_BBB456\r\n\r\n"
    b"--changeset_BBB456\r\n"
    b"Content-Type: application/http\r\nContent-Transfer-Encoding:binary\r\nContent-ID: 1\r\n\r\n"
    b"POST https://org.example/api/data/v9.2/accounts HTTP/1.1\r\n"
    b"Content-Type: application/json;type=entry\r\n\r\n"
    b'{"name":"QQQQ","revenue": 1.50}\r\n'
    b"--changeset_BBB456\r\n"
    b"Content-Type: application/http\r\nContent-Transfer-Encoding:binary\r\nContent-ID: 2\r\n\r\n"
    b"PATCH $1 HTTP/1.1\r\nContent-Type: application/json\r\n\r\n"
    b'{"telephone1":"1"}\r\n'
    b"--changeset_BBB456--\r\n"
    b"--batch_AAA123\r\n"
    b"Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
    b"GET /api/data/v9.2/accounts?$select=name HTTP/1.1\r\n\r\n\r\n"
    b"--batch_AAA123--\r\n"
)


def test_boundary_quoted_and_bare() -> None:
    assert boundary_of('multipart/mixed; boundary="batch_1"') == "batch_1"
    assert boundary_of("multipart/mixed;boundary=batch_2") == "batch_2"
    assert boundary_of("application/json") is None


def test_parses_the_docs_example() -> None:
    items = parse_batch(DOC_EXAMPLE, "batch_AAA123")
    assert isinstance(items[0], ChangeSet) and len(items[0].requests) == 2
    first, second = items[0].requests
    assert (first.method, first.content_id, first.body) == ("POST", "1", b'{"name":"QQQQ","revenue": 1.50}')
    assert first.headers["content-type"].startswith("application/json")
    assert (second.method, second.url) == ("PATCH", "$1")
    get = items[1]
    assert not isinstance(get, ChangeSet) and get.method == "GET" and get.body == b""


def test_lf_only_line_ends() -> None:
    items = parse_batch(DOC_EXAMPLE.replace(b"\r\n", b"\n"), "batch_AAA123")
    assert len(items) == 2


@pytest.mark.parametrize(
    "body",
    [
        b"--batch_x\r\nContent-Type: application/http\r\n\r\nGET /x HTTP/1.1\r\n",  # no closing delimiter
        b"no boundary at all",
        b"--batch_x\r\nContent-Type: text/plain\r\n\r\nGET /x HTTP/1.1\r\n--batch_x--",  # wrong part type
    ],
)
def test_malformed_bodies_raise(body: bytes) -> None:
    with pytest.raises(MultipartError):
        parse_batch(body, "batch_x")


def test_response_round_trip() -> None:
    ctype, body = build_batch_response(
        [
            ChangeSetResponse([PartResponse(204, {"OData-EntityId": "u"}, b"", "1")]),
            PartResponse(400, {"Content-Type": "application/json"}, b'{"error":{}}'),
        ]
    )
    assert ctype.startswith("multipart/mixed; boundary=batchresponse_")
    assert b"HTTP/1.1 204 No Content" in body and b"HTTP/1.1 400 Bad Request" in body
    parsed = parse_batch_response(body, ctype)
    assert isinstance(parsed[0], ChangeSetResponse) and parsed[0].responses[0].content_id == "1"
    assert isinstance(parsed[1], PartResponse) and parsed[1].body == b'{"error":{}}'
