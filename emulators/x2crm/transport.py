"""The mock as an httpx transport, for unit tests that need no socket."""

from __future__ import annotations

import json

import httpx

from .app import DROP, X2Mock

BASE = "http://x2crm.test"


def mock_transport(mock: X2Mock) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        target = request.url.raw_path.decode("ascii")
        result = mock.handle(request.method, target, request.headers, request.content, "127.0.0.1")
        if result == DROP:
            raise httpx.RemoteProtocolError("connection dropped", request=request)
        assert not isinstance(result, str)
        body = b"" if result.body is None else json.dumps(result.body).encode("utf-8")
        return httpx.Response(result.status, headers=result.headers, content=body)

    return httpx.MockTransport(handler)
