"""Rollback: delete, children first, exactly the rows the audit log says this migration wrote.

Only the audit log is read (DESIGN invariant). Rows are grouped per table and deleted in reverse
load order; a row already gone counts as done, so a rollback can be re-run safely. A `link` entry
(a source record deduped onto a row that was already in Dynamics) is never deleted — nor is its row,
whatever else the log says about that id — and is counted per table as kept.
"""

from __future__ import annotations

from collections import defaultdict

from shared.dataverse import DataverseClient
from shared.migration.models import RollbackChunk, RollbackGroup, RollbackOutput, RollbackPlan
from shared.spec import MigrationSpec
from shared.storage import AuditLog, IdMap, MigrationsRegistry, StagingStore, StorageSettings

_CHUNK = 500
_OWN_WRITES = {"create", "upsert"}
_LINK = "link"


def plan_rollback(migration_id: str, store: StagingStore, settings: StorageSettings) -> RollbackPlan:
    ids: dict[tuple[int, str, str], set[str]] = defaultdict(set)
    linked: dict[str, set[str]] = defaultdict(set)
    for e in AuditLog(settings, migration_id).entries():
        if e.op in _OWN_WRITES:
            ids[(e.phase, e.entity_set, e.table)].add(e.target_id.lower())
        elif e.op == _LINK:
            linked[e.table].add(e.target_id.lower())
        elif e.op not in ("delete",):
            raise NotImplementedError(f"rollback of audit op {e.op!r} is not built yet")
    groups: list[RollbackGroup] = []
    for (phase, entity_set, table), targets in sorted(ids.items(), key=lambda kv: -kv[0][0]):
        ordered = sorted(targets - linked[table])
        if not ordered:
            continue
        chunks = []
        for n in range(0, len(ordered), _CHUNK):
            # a table may load in several phases (a split object, a placeholder): one folder per group
            path = f"rollback/{migration_id}/{phase:02d}-{table}/{n // _CHUNK:05d}.ndjson.gz"
            store.put_records(path, [{"id": x} for x in ordered[n : n + _CHUNK]])
            chunks.append(path)
        groups.append(
            RollbackGroup(entity_set=entity_set, table=table, phase=phase, chunks=chunks, rows=len(ordered))
        )
    kept = {table: len(rows) for table, rows in sorted(linked.items()) if rows}
    return RollbackPlan(migration_id=migration_id, groups=groups, kept=kept)


def rollback_chunk(inp: RollbackChunk, store: StagingStore, dv: DataverseClient) -> RollbackOutput:
    deleted = gone = 0
    for row in store.get_records(inp.path):
        if dv.delete(inp.entity_set, row["id"]):
            deleted += 1
        else:
            gone += 1
    return RollbackOutput(deleted=deleted, already_gone=gone)


def finish_rollback(migration_id: str, spec: MigrationSpec, settings: StorageSettings) -> None:
    """Forget the id map (the rows are gone) and mark the migration rolled back."""
    from shared.mapping.profile import profile_for

    idmap = IdMap(settings, migration_id)
    from shared.mapping.transform import PLACEHOLDER_OBJECT

    profile = profile_for(spec)
    for name in [o.name for o in profile.objects] + [PLACEHOLDER_OBJECT]:
        idmap.remove(name, [e.source_id for e in idmap.entries(name)])
    for table in sorted({t.table for o in profile.objects for t in o.targets.values()}):
        idmap.forget_claims(table)
    registry = MigrationsRegistry(settings)
    record = registry.get(migration_id)
    if record is not None:
        from dataclasses import replace

        registry.put(replace(record, status="rolled_back", delta_until=""))
