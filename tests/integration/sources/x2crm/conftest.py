"""The X2CRM mock on loopback with the committed sample (a fresh copy per test: some tests change it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulators.x2crm import ServerHandle, start_server

SAMPLE = Path(__file__).resolve().parents[4] / "samples" / "x2crm" / "data.json"
KEY = "x2-sample-api-key"


@pytest.fixture(scope="session")
def sample() -> dict[str, Any]:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


@pytest.fixture
def x2crm(sample: dict[str, Any]) -> Iterator[ServerHandle]:
    with start_server(0, json.loads(json.dumps(sample))) as handle:
        yield handle
