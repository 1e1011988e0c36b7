"""Rollback never deletes a row a record was linked to (dedupe, X2-04): the plan leaves it out and the
orchestration reports it as kept."""

from __future__ import annotations

from typing import Any

from orchestrators.rollback import rollback
from tests.unit.orchestrators.fake_context import FakeContext, user_function
from tests.unit.orchestrators.test_migration import SPEC


def test_X2_04_linked_rows_are_reported_as_kept() -> None:
    plan = {
        "migration_id": "acme",
        "groups": [{"entity_set": "accounts", "table": "account", "phase": 1, "chunks": ["a0"], "rows": 3}],
        "kept": {"account": 2},
    }
    ctx = FakeContext(
        {"spec": SPEC},
        {
            "plan_rollback": lambda _: plan,
            "rollback_chunk": lambda _: {"deleted": 3, "already_gone": 0},
            "finish_rollback": lambda _: None,
        },
    )
    out: dict[str, Any] = ctx.run(user_function(rollback))
    assert out["tables"] == {"account": {"planned": 3, "deleted": 3, "already_gone": 0, "kept_linked": 2}}
