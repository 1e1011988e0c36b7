"""`__all__` of intact.runtime and intact.host matches what they export, and every public name
reports the package (not a private module) as its home."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("package", ["intact.runtime", "intact.host"])
def test_all_matches_exports(package: str) -> None:
    module = importlib.import_module(package)
    public = {n for n in vars(module) if not n.startswith("_") and n != "annotations"}
    assert sorted(module.__all__) == sorted(public)
    for name in module.__all__:
        obj = getattr(module, name)
        if isinstance(obj, type):
            assert obj.__module__ == package, name
