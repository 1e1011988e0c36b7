"""Shared fixtures: a clean environment for every test, and session-wide local services
(real Azurite, the Dataverse emulator) on loopback for the tests that need them."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from intact.services import Azurite, DataverseEmulator

REPO = Path(__file__).resolve().parent.parent
TARGET_ORG = REPO / "samples" / "close" / "target_org.json"
_ENV_PREFIXES = ("INTACT_", "AZURE_", "DATAVERSE_", "CLOSE_")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees settings left by the developer's shell or by another test."""
    for name in list(os.environ):
        if name.startswith(_ENV_PREFIXES):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    with Azurite() as az:
        az.start()
        yield az


@pytest.fixture(scope="session")
def dataverse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DataverseEmulator]:
    with DataverseEmulator() as dv:
        dv.start(seed=TARGET_ORG, db=tmp_path_factory.mktemp("dataverse") / "org.sqlite")
        yield dv


@pytest.fixture
def scope_id() -> str:
    """A fresh migration id per test, so tests sharing the services never see each other's rows."""
    return f"t-{uuid.uuid4().hex[:10]}"
