"""Each shared package's `__all__` matches what it really exports (httpx's test_exported_members)."""

from __future__ import annotations

import importlib
import inspect
from types import ModuleType

import pytest

PACKAGES = [
    "shared.sources",
    "shared.mapping",
    "shared.dataverse",
    "shared.storage",
    "shared.reports",
    "shared.preflight",
]


def _package(name: str) -> ModuleType:
    return importlib.import_module(name)


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_declared_without_duplicates(name: str) -> None:
    exported = _package(name).__all__
    assert exported, f"{name} has an empty __all__"
    assert len(set(exported)) == len(exported)


@pytest.mark.parametrize("name", PACKAGES)
def test_every_name_in_all_exists(name: str) -> None:
    package = _package(name)
    missing = [n for n in package.__all__ if not hasattr(package, n)]
    assert not missing, f"{name}.__all__ names what it does not define: {missing}"


@pytest.mark.parametrize("name", PACKAGES)
def test_every_public_reexport_is_in_all(name: str) -> None:
    """A public class or function defined in the package and visible at package level is in __all__."""
    package = _package(name)
    reexported = {
        attr
        for attr, value in vars(package).items()
        if not attr.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", "").startswith(f"{name}.")
    }
    assert reexported, f"{name} re-exports nothing"
    assert reexported <= set(package.__all__), (
        f"not in {name}.__all__: {sorted(reexported - set(package.__all__))}"
    )
