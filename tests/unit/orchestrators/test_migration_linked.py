"""The run's counts carry, per object, how many loaded records were linked to rows already in
Dynamics (dedupe, X2-04) — a part of `loaded`, so source = loaded + quarantined + skipped still holds."""

from __future__ import annotations

from typing import Any

from orchestrators.migration import load_phase, migration
from tests.unit.orchestrators.fake_context import FakeContext, user_function
from tests.unit.orchestrators.test_migration import SPEC, _activities


def test_X2_04_linked_records_are_counted_as_loaded_and_as_linked() -> None:
    activities = _activities({"leads": 2, "contacts": 1})
    plain = activities["load_chunk"]

    def load(inp: dict[str, Any]) -> dict[str, Any]:
        return {**plain(inp), "linked": 2 if inp["object"] == "leads" else 0}

    reconciled: list[dict[str, Any]] = []

    def reconcile(inp: dict[str, Any]) -> dict[str, Any]:
        reconciled.append(inp)
        return {"objects": inp["objects"], "report_path": "r"}

    activities.update(load_chunk=load, reconcile_phase=reconcile)
    ctx = FakeContext({"spec": SPEC}, activities, {"load_phase": user_function(load_phase)})
    out = ctx.run(user_function(migration))
    assert out["objects"]["leads"]["loaded"] == 18 and out["objects"]["leads"]["linked"] == 4
    assert "linked" not in out["objects"]["contacts"]  # shown only where records were linked
    assert reconciled[-1]["objects"]["leads"]["linked"] == 4  # the reconciliation report carries it
