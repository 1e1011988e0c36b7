"""An in-process X2CRM mock behind httpx.MockTransport: the connector's unit tests need no socket."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulators.x2crm.app import DROP, MockConfig, X2Mock
from emulators.x2crm.store import Store
from shared.sources.x2crm import X2Client

SAMPLE = Path(__file__).resolve().parents[5] / "samples" / "x2crm" / "data.json"
KEY = "x2-sample-api-key"


def transport_for(mock: X2Mock) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        result = mock.handle(
            request.method, str(request.url.raw_path, "ascii"), request.headers, request.content, "127.0.0.1"
        )
        if result == DROP:
            raise httpx.RemoteProtocolError("connection dropped", request=request)
        assert not isinstance(result, str)
        body = b"" if result.body is None else json.dumps(result.body).encode()
        return httpx.Response(result.status, headers=result.headers, content=body)

    return httpx.MockTransport(handler)


@pytest.fixture(scope="session")
def sample() -> dict[str, Any]:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


@pytest.fixture
def mock(sample: dict[str, Any]) -> X2Mock:
    return X2Mock(Store(json.loads(json.dumps(sample))), MockConfig())


def client_for(mock: X2Mock, *, key: str = KEY, user: str = "admin", **kw: Any) -> X2Client:
    kw.setdefault("sleep", lambda s: None)
    return X2Client("http://x2.test", user, key, transport=transport_for(mock), **kw)
