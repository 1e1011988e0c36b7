"""A delta run's joins see the whole source, not only what changed (PROFI-06 on a delta pickup):
a client whose sessions did not change still has them, so it stays a Contact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from intact.demo import demo_spec
from shared.mapping.joins import JoinIndex
from shared.migration.joins import build_joins
from shared.migration.models import ExtractOutput, RunRef
from shared.sources.exports.layout import load_layout
from shared.sources.exports.reader import ExportSource


class _Store:
    """What build_joins writes: the index documents (a delta run reads nothing staged for them)."""

    def __init__(self) -> None:
        self.docs: dict[str, Any] = {}

    def put_json(self, path: str, doc: Any) -> None:
        self.docs[path] = doc

    def get_records(self, path: str) -> list[dict[str, Any]]:
        raise AssertionError("a delta run's joins do not read the (partial) staged rows")


def test_PROFI_06_COM_36_a_delta_run_counts_sessions_over_the_whole_source() -> None:
    spec = demo_spec("http://127.0.0.1:9", migration_id="delta-joins", source="profi")
    run = RunRef(
        migration_id="delta-joins", run_id="d1", spec=spec, since="2099-01-01T00:00:00+00:00", kind="delta"
    )
    store = _Store()
    out = build_joins(
        run, ExtractOutput(manifest_path="m", objects={}), store
    )  # nothing changed, nothing staged
    [path] = [p for p in out.indexes["clients"].values() if "sessions" in p]
    index = JoinIndex.model_validate(store.docs[path])
    source = ExportSource(Path(str(spec.source.path)), load_layout("profi"))
    sessions = [r.record for p in source.read("sessions") for r in p.records if r.record is not None]
    with_sessions = {s["client_id"] for s in sessions if s.get("client_id")}
    assert with_sessions and all(index.value_for(c) > 0 for c in with_sessions)
