"""`multipart/mixed` bodies of `$batch`: parse requests, build responses.

Format: powerapps-docs `webapi/execute-batch-operations-using-web-api.md` (which follows OData v4.0
§11.7). A batch is `--batch_<id>` parts; a part is either one `application/http` request or a change
set (`multipart/mixed; boundary=changeset_<id>`) of such requests. Line ends may be CRLF or LF.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus

_BOUNDARY = re.compile(r'boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)


class MultipartError(ValueError):
    """The body is not a well-formed batch; the message says why."""


@dataclass
class PartRequest:
    """One HTTP request inside a batch, with its MIME part headers (`Content-ID`)."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    content_id: str | None = None


@dataclass
class ChangeSet:
    requests: list[PartRequest] = field(default_factory=list)


BatchItem = PartRequest | ChangeSet


@dataclass
class PartResponse:
    status: int
    headers: dict[str, str]
    body: bytes = b""
    content_id: str | None = None


@dataclass
class ChangeSetResponse:
    responses: list[PartResponse]


def boundary_of(content_type: str | None) -> str | None:
    if not content_type or not content_type.strip().lower().startswith("multipart/mixed"):
        return None
    match = _BOUNDARY.search(content_type)
    return (match.group(1) or match.group(2)) if match else None


def _split(body: bytes, boundary: str) -> list[bytes]:
    """The encapsulated parts between `--boundary` delimiters (RFC 2046 §5.1.1)."""
    delimiter = b"--" + boundary.encode("latin-1")
    pieces = re.split(rb"(?:\r?\n)?" + re.escape(delimiter), body)
    if len(pieces) < 2:
        raise MultipartError(f"The batch body does not contain the boundary '{boundary}'.")
    parts: list[bytes] = []
    closed = False
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            closed = True
            break
        newline = piece.find(b"\n")
        if newline < 0 or piece[:newline].strip():
            raise MultipartError(f"Malformed delimiter line after '--{boundary}'.")
        parts.append(piece[newline + 1 :])
    if not closed:
        raise MultipartError(f"The batch body is missing the closing delimiter '--{boundary}--'.")
    return parts


def _headers_and_body(raw: bytes) -> tuple[dict[str, str], bytes]:
    match = re.search(rb"\r?\n\r?\n", raw)
    if raw.startswith((b"\r\n", b"\n")):
        head, body = b"", raw.split(b"\n", 1)[1]
    elif match is None:
        head, body = raw, b""
    else:
        head, body = raw[: match.start()], raw[match.end() :]
    headers: dict[str, str] = {}
    for line in head.decode("utf-8").splitlines():
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise MultipartError(f"Malformed header line '{line}'.")
        headers[name.strip().lower()] = value.strip()
    return headers, body


def _request(raw: bytes, content_id: str | None) -> PartRequest:
    text_end = raw.find(b"\n")
    if text_end < 0:
        raise MultipartError("A batch part does not contain an HTTP request line.")
    line = raw[:text_end].decode("utf-8").strip()
    bits = line.split()
    if len(bits) < 2 or not bits[0].isalpha():
        raise MultipartError(f"Malformed request line '{line}' in a batch part.")
    headers, body = _headers_and_body(raw[text_end + 1 :])
    return PartRequest(bits[0].upper(), bits[1], headers, body.rstrip(b"\r\n"), content_id)


def _http_part(raw: bytes) -> tuple[dict[str, str], bytes]:
    headers, body = _headers_and_body(raw)
    ctype = headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/http":
        raise MultipartError(
            f"A batch part has Content-Type '{headers.get('content-type', '')}'; expected "
            "'application/http' or 'multipart/mixed'."
        )
    if headers.get("content-transfer-encoding", "binary").lower() != "binary":
        raise MultipartError("Batch parts must use 'Content-Transfer-Encoding: binary'.")
    return headers, body


def parse_batch(body: bytes, boundary: str) -> list[BatchItem]:
    items: list[BatchItem] = []
    for raw in _split(body, boundary):
        headers, _ = _headers_and_body(raw)
        inner_boundary = boundary_of(headers.get("content-type"))
        if inner_boundary is not None:
            _, content = _headers_and_body(raw)
            changeset = ChangeSet()
            for inner in _split(content, inner_boundary):
                part_headers, request = _http_part(inner)
                changeset.requests.append(_request(request, part_headers.get("content-id")))
            items.append(changeset)
            continue
        part_headers, request = _http_part(raw)
        items.append(_request(request, part_headers.get("content-id")))
    return items


# --- responses -------------------------------------------------------------------------------------


def _status_line(status: int) -> str:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return f"HTTP/1.1 {status} {phrase}".rstrip()


def _response_part(boundary: str, part: PartResponse) -> list[str]:
    lines = [f"--{boundary}", "Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if part.content_id is not None:
        lines.append(f"Content-ID: {part.content_id}")
    lines += ["", _status_line(part.status)]
    lines += [f"{k}: {v}" for k, v in part.headers.items()]
    lines += ["", part.body.decode("utf-8")]
    return lines


def build_batch_response(items: list[PartResponse | ChangeSetResponse]) -> tuple[str, bytes]:
    """→ (Content-Type header value, body)."""
    boundary = f"batchresponse_{uuid.uuid4()}"
    lines: list[str] = []
    for item in items:
        if isinstance(item, ChangeSetResponse):
            inner = f"changesetresponse_{uuid.uuid4()}"
            lines += [f"--{boundary}", f"Content-Type: multipart/mixed; boundary={inner}", ""]
            for part in item.responses:
                lines += _response_part(inner, part)
            lines.append(f"--{inner}--")
        else:
            lines += _response_part(boundary, item)
    lines += [f"--{boundary}--", ""]
    return f"multipart/mixed; boundary={boundary}", "\r\n".join(lines).encode("utf-8")


# --- a small client-side helper (tests, demos) -----------------------------------------------------


def parse_batch_response(body: bytes, content_type: str) -> list[PartResponse | ChangeSetResponse]:
    """Inverse of `build_batch_response`, for clients and tests."""
    boundary = boundary_of(content_type)
    if boundary is None:
        raise MultipartError(f"Not a multipart response: {content_type!r}")
    out: list[PartResponse | ChangeSetResponse] = []
    for raw in _split(body, boundary):
        headers, content = _headers_and_body(raw)
        inner = boundary_of(headers.get("content-type"))
        if inner is not None:
            out.append(ChangeSetResponse([_parse_response(r) for r in _split(content, inner)]))
        else:
            out.append(_parse_response(raw))
    return out


def _parse_response(raw: bytes) -> PartResponse:
    part_headers, http = _headers_and_body(raw)
    line_end = http.find(b"\n")
    status = int(http[:line_end].split()[1])
    headers, body = _headers_and_body(http[line_end + 1 :])
    return PartResponse(status, headers, body.rstrip(b"\r\n"), part_headers.get("content-id"))
