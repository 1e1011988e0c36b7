"""`POST $batch`: many requests in one, change sets atomic, `$n` Content-ID references.

Source: powerapps-docs `webapi/execute-batch-operations-using-web-api.md`:
- up to 1000 requests, no nested batches; parts run in order and answer in order;
- change sets are atomic ("if any one of the operations fails, any completed operations will be rolled
  back"); `GET` is not allowed inside a change set;
- `Content-ID: n` → `$n` names the URI of the entity created by that part, later in the same change set,
  in a URL (`PATCH $1`, `POST $1/...`) or in a body (`"x@odata.bind": "$1"`, `"@odata.id": "$1"`);
  referencing an undeclared id → 400 "Content-ID Reference: '$1' does not exist in the batch context.";
- without `Prefer: odata.continue-on-error` the batch stops at the first failure and the batch status is
  that failure's status (the docs' example: `HTTP/1.1 400 BadRequest` with the one error part); with it
  the batch answers 200 and every failure is its own part.
A failed change set answers with one error part (OData v4.0 §11.7.4), its earlier parts rolled back.

Service protection (powerapps-docs `api-limits.md`): a batch "will avoid the number of requests limit.
However, you will need to be prepared for the execution time limit." So the `$batch` counts as one
request; each inner request adds its execution cost (`Response.subrequests`).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from .. import errors
from ..multipart import (
    ChangeSet,
    ChangeSetResponse,
    MultipartError,
    PartRequest,
    PartResponse,
    boundary_of,
    build_batch_response,
    parse_batch,
)
from ..routing import API_PREFIX
from ..store import Store
from .base import Request, Response

MAX_BATCH_REQUESTS = 1000
_REF = re.compile(r"^\$([A-Za-z0-9_.\-]+)(/.*)?$")

Dispatch = Callable[[Request], Response]


class _RollBack(Exception):
    """Unwinds a change set's transaction after a failed part."""


def batch_error(message: str) -> errors.DataverseError:
    """Malformed batch envelopes. The code is the OData-layer one (0x80060888); the wording is ours."""
    return errors.DataverseError(400, "0x80060888", message)


def missing_reference(ref: str) -> errors.DataverseError:
    return errors.DataverseError(
        400, "0x80060888", f"Content-ID Reference: '${ref}' does not exist in the batch context."
    )


def handle(req: Request, dispatch: Dispatch, store: Store) -> Response:
    if req.method != "POST":
        raise errors.method_not_allowed(req.method, "$batch")
    boundary = boundary_of(req.header("Content-Type"))
    if boundary is None:
        raise batch_error(
            "The batch request must have a 'Content-Type' of 'multipart/mixed' with a boundary, "
            "e.g. multipart/mixed; boundary=batch_<id>."
        )
    try:
        items = parse_batch(req.body, boundary)
    except (MultipartError, UnicodeDecodeError) as exc:
        raise batch_error(f"The batch request body is not valid: {exc}") from None
    total = sum(len(i.requests) if isinstance(i, ChangeSet) else 1 for i in items)
    if total > MAX_BATCH_REQUESTS:
        raise batch_error(
            f"The batch contains {total} requests; a batch can contain up to {MAX_BATCH_REQUESTS} requests."
        )
    continue_on_error = "odata.continue-on-error" in req.prefer()
    runner = _Runner(req, dispatch, store)
    out: list[PartResponse | ChangeSetResponse] = []
    failed: int | None = None
    for item in items:
        result = runner.changeset(item) if isinstance(item, ChangeSet) else runner.single(item)
        out.append(result)
        status = result.status if isinstance(result, PartResponse) else 200
        if status >= 400 and failed is None:
            failed = status
            if not continue_on_error:
                break
    content_type, body = build_batch_response(out)
    headers = {"Content-Type": content_type}
    if continue_on_error:
        headers["Preference-Applied"] = "odata.continue-on-error"
    status = failed if failed is not None and not continue_on_error else 200
    return Response(status, None, headers, records=runner.records, raw=body, subrequests=runner.count)


class _Runner:
    def __init__(self, outer: Request, dispatch: Dispatch, store: Store) -> None:
        self.outer = outer
        self.dispatch = dispatch
        self.store = store
        self.records = 0
        self.count = 0

    def single(self, part: PartRequest) -> PartResponse:
        return self._run(part, {})

    def changeset(self, changeset: ChangeSet) -> PartResponse | ChangeSetResponse:
        for part in changeset.requests:
            if part.method == "GET":
                return self._error(
                    batch_error("GET requests are not allowed within a change set."), part.content_id
                )
        refs: dict[str, str] = {}
        responses: list[PartResponse] = []
        failure: PartResponse | None = None
        try:
            with self.store.transaction():
                for part in changeset.requests:
                    response = self._run(part, refs)
                    if response.status >= 400:
                        failure = response
                        raise _RollBack
                    responses.append(response)
                    entity = response.headers.get("OData-EntityId")
                    if part.content_id is not None and entity:
                        refs[part.content_id] = entity
        except _RollBack:
            assert failure is not None
            return failure
        return ChangeSetResponse(responses)

    def _run(self, part: PartRequest, refs: dict[str, str]) -> PartResponse:
        self.count += 1
        try:
            inner = self._request(part, refs)
            response = self.dispatch(inner)
        except errors.DataverseError as err:
            return self._error(err, part.content_id)
        self.records += response.records
        return _part(response, part.content_id)

    def _error(self, err: errors.DataverseError, content_id: str | None) -> PartResponse:
        headers = {"REQ_ID": str(uuid.uuid4()), **err.headers}
        return _part(Response(err.status, err.body(), headers), content_id)

    def _request(self, part: PartRequest, refs: dict[str, str]) -> Request:
        path, query = self._path(part.url, refs)
        if path.strip("/") == "$batch":
            raise batch_error("Batch requests can't contain other batch requests.")
        headers = {k: v for k, v in part.headers.items()}
        headers["authorization"] = self.outer.header("Authorization") or ""
        body = _substitute(part.body, refs) if part.body and refs is not None else part.body
        return Request(
            part.method, path, query, _Headers(headers), body, self.outer.caller, self.outer.base_url
        )

    def _path(self, url: str, refs: dict[str, str]) -> tuple[str, str]:
        ref = _REF.match(url)
        if ref:
            target = refs.get(ref.group(1))
            if target is None:
                raise missing_reference(ref.group(1))
            url = target + (ref.group(2) or "")
        parts = urlsplit(url)
        path = parts.path
        match = API_PREFIX.match(path)
        if match:
            path = path[match.end() :]
        elif path.startswith("/"):
            raise errors.resource_not_found(path.strip("/").split("/", 1)[0])
        return path, parts.query


class _Headers(dict[str, str]):
    """Case-insensitive header lookup for inner requests (like `http.client.HTTPMessage`)."""

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)


def _substitute(body: bytes, refs: dict[str, str]) -> bytes:
    """Replace `"$n"` values of `@odata.bind` / `@odata.id` properties by the referenced URI."""
    if b'"$' not in body:
        return body
    try:
        data = json.loads(body)
    except ValueError:
        return body  # the operation reports invalid JSON itself

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if isinstance(value, str) and (key.endswith("@odata.bind") or key == "@odata.id"):
                    ref = _REF.match(value)
                    if ref:
                        target = refs.get(ref.group(1))
                        if target is None:
                            raise missing_reference(ref.group(1))
                        value = target + (ref.group(2) or "")
                out[key] = walk(value)
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return json.dumps(walk(data)).encode("utf-8")


def _part(response: Response, content_id: str | None) -> PartResponse:
    headers: dict[str, str] = {}
    body = b""
    if response.raw is not None:
        body = response.raw
    elif response.body is not None:
        headers["Content-Type"] = "application/json; odata.metadata=minimal"
        body = json.dumps(response.body, separators=(",", ":")).encode("utf-8")
    headers["OData-Version"] = "4.0"
    entity = response.headers.get("OData-EntityId")
    if entity:
        headers["Location"] = entity
    headers.update(response.headers)
    return PartResponse(response.status, headers, body, content_id)
