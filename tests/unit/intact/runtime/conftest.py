from __future__ import annotations

from collections.abc import Iterator

import pytest

from intact.runtime import LocalRuntime, VirtualClock
from tests.unit.intact.runtime.durable_app import Knobs, build_app


@pytest.fixture
def knobs_app() -> tuple[object, Knobs]:
    return build_app()


@pytest.fixture
def knobs(knobs_app: tuple[object, Knobs]) -> Knobs:
    return knobs_app[1]


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def runtime(knobs_app: tuple[object, Knobs], clock: VirtualClock) -> Iterator[LocalRuntime]:
    with LocalRuntime(knobs_app[0], clock=clock) as rt:  # type: ignore[arg-type]
        yield rt
