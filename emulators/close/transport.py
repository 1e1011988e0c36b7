"""The mock as an `httpx.MockTransport`: the same behaviour as over HTTP, with no socket (unit tests)."""

from __future__ import annotations

import json

import httpx

from emulators.close.app import CloseMock, Reply, _BadRequest

BASE = "http://close.mock"


def mock_transport(mock: CloseMock) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        target = request.url.raw_path.decode("ascii")
        try:
            reply = mock.handle(request.method, target, request.headers, request.content, BASE)
        except _BadRequest as exc:
            reply = Reply(400, {"error": str(exc), "errors": [], "field-errors": {}})
        content = reply.raw if reply.raw is not None else json.dumps(reply.body).encode("utf-8")
        headers = dict(reply.headers)
        if reply.raw is None:
            headers["Content-Type"] = "application/json"
        return httpx.Response(reply.status, headers=headers, content=content)

    return httpx.MockTransport(handle)
