"""Fixtures the end-to-end tests share: the demo environment and a runtime on a state folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from intact import commands
from tests.e2e.support import demo_env


@pytest.fixture
def env(azurite: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    demo_env(monkeypatch, azurite)


@pytest.fixture
def runtime(tmp_path: Path, env: None) -> Iterator[Any]:
    rt = commands.open_runtime(tmp_path / "state")
    yield rt
    rt.close()
