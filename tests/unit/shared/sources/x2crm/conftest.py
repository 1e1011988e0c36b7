"""An in-process X2CRM mock behind httpx.MockTransport: the connector's unit tests need no socket."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from emulators.x2crm.app import MockConfig, X2Mock
from emulators.x2crm.store import Store
from emulators.x2crm.transport import mock_transport
from shared.sources.x2crm import X2Client

SAMPLE = Path(__file__).resolve().parents[5] / "samples" / "x2crm" / "data.json"
KEY = "x2-sample-api-key"


transport_for = mock_transport


@pytest.fixture(scope="session")
def sample() -> dict[str, Any]:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


@pytest.fixture
def mock(sample: dict[str, Any]) -> X2Mock:
    return X2Mock(Store(json.loads(json.dumps(sample))), MockConfig())


def client_for(mock: X2Mock, *, key: str = KEY, user: str = "admin", **kw: Any) -> X2Client:
    kw.setdefault("sleep", lambda s: None)
    return X2Client("http://x2.test", user, key, transport=transport_for(mock), **kw)
