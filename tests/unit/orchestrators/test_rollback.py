"""Level 1: the rollback orchestration deletes children before parents, chunk by chunk."""

from __future__ import annotations

from typing import Any

from orchestrators.rollback import ROLLBACK_WIDTH, rollback
from tests.unit.orchestrators.fake_context import FakeContext, user_function
from tests.unit.orchestrators.test_migration import SPEC


def test_COM_39_rollback_goes_table_by_table_in_reverse_load_order() -> None:
    plan = {
        "migration_id": "acme",
        "groups": [
            {
                "entity_set": "contacts",
                "table": "contact",
                "phase": 2,
                "chunks": [f"c{i}" for i in range(6)],
                "rows": 3000,
            },
            {"entity_set": "accounts", "table": "account", "phase": 1, "chunks": ["a0"], "rows": 12},
        ],
    }
    deleted: list[str] = []

    def chunk(inp: dict[str, Any]) -> dict[str, Any]:
        deleted.append(inp["entity_set"])
        return {"deleted": 500 if inp["entity_set"] == "contacts" else 11, "already_gone": 1}

    ctx = FakeContext(
        {"spec": SPEC},
        {"plan_rollback": lambda _: plan, "rollback_chunk": chunk, "finish_rollback": lambda _: None},
    )
    out = ctx.run(user_function(rollback))
    assert deleted == ["contacts"] * 6 + ["accounts"]
    assert max(n for name, n in ctx.waves if name == "rollback_chunk") <= ROLLBACK_WIDTH
    assert out["tables"] == {
        "contact": {"planned": 3000, "deleted": 3000, "already_gone": 6},
        "account": {"planned": 12, "deleted": 11, "already_gone": 1},
    }
    assert [n for n, _ in ctx.calls][-1] == "finish_rollback"
