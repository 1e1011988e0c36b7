"""Which way each file goes at load (COM-41): quarantined when not staged or over the org's limit
(compared, as Dataverse compares it, with the Base64 size), in blocks when a note's file is over 4 MB,
inline otherwise — in write slices bounded in bytes."""

from __future__ import annotations

from typing import Any

import pytest

from shared.dataverse import base64_length
from shared.mapping import TargetRow
from shared.migration import attachments
from shared.migration.attachments import plan_files, slices

MB = 1024 * 1024


def _row(sid: str, size: int | None, *, blob: bool = True, table: str = "annotation") -> TargetRow:
    file: dict[str, Any] = {"column": "documentbody", "size": size, "name": f"{sid}.pdf"}
    if blob:
        file["blob"] = f"staging/m/r/files/attachments/{sid}"
    return TargetRow.model_validate(
        {"source_id": sid, "table": table, "entity_set": f"{table}s", "id": sid, "payload": {}, "file": file}
    )


def test_COM_41_base64_length_is_what_the_limit_measures() -> None:
    assert [base64_length(n) for n in (0, 1, 2, 3, 4, 90)] == [0, 4, 4, 4, 8, 120]


def test_COM_41_each_file_goes_inline_in_blocks_or_to_quarantine() -> None:
    limit = 20_000_000
    rows = [
        _row("small", 1000),
        _row("just-inline", 4 * MB),
        _row("blocks", 4 * MB + 1),
        _row("over", 15_000_001),  # 20,000,004 as Base64
        _row("missing", 100, blob=False),
        _row("huge", 200_000_000, blob=False),
        _row("big-not-a-note", 6 * MB, table="activitymimeattachment"),
    ]
    plan = plan_files(rows, limit, "profi", "attachments")
    assert plan.inline == {"small", "just-inline", "big-not-a-note"}
    assert [r.source_id for r in plan.chunked] == ["blocks"]
    assert plan.refused == {"over", "missing", "huge"}
    q = {row["source_id"]: row for row in plan.quarantine}
    assert q["over"]["error"] == "AttachmentTooLarge" and q["over"]["limit_bytes"] == limit
    assert "'over.pdf' is 15,000,001 bytes (20,000,004 as Base64)" in q["over"]["reason"]
    assert q["missing"]["error"] == "AttachmentNotStaged"
    assert q["huge"]["error"] == "AttachmentTooLarge" and "131,072,000" in q["huge"]["reason"]
    assert all(row["field"] == "documentbody" and row["stage"] == "load" for row in q.values())


def test_COM_41_without_a_known_limit_dataverse_decides() -> None:
    plan = plan_files([_row("big", 15 * MB)], None, "profi", "attachments")
    assert [r.source_id for r in plan.chunked] == ["big"] and not plan.quarantine


def test_COM_41_inline_write_slices_are_bounded_in_rows_and_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(attachments, "INLINE_REQUEST_BYTES", 10_000)
    rows = [_row(f"r{n}", 3000) for n in range(7)]  # 4,000 Base64 bytes each
    assert [len(s) for s in slices(rows, 1000)] == [2, 2, 2, 1]
    assert [len(s) for s in slices(rows, 1)] == [1] * 7
    lone = [_row("big", 30_000), _row("next", 10)]  # alone over the budget: it still goes, alone
    assert [[r.source_id for r in s] for s in slices(lone, 1000)] == [["big"], ["next"]]
