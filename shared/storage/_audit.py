"""The append-only audit log: one row per record written, deleted or restored in Dataverse.

Rollback reads only this log. PartitionKey = migration id; RowKey is unique per write and stable
for a retried chunk (`{run}|{phase}|{object}|{chunk}|{n}`), so an activity retry rewrites the same
rows instead of appending duplicates.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Literal

from shared.storage._connection import StorageClients, StorageSettings
from shared.storage._keys import safe_key

AuditOp = Literal["create", "update", "upsert", "upsert_own", "link", "delete", "restore"]
"""`upsert`: a row the migration wrote (rollback deletes it); `link`: an existing row a source record
was linked to instead of being written (dedupe) — `pre_image` holds its matched columns as JSON, and
rollback never deletes it."""
_BATCH = 100


@dataclass(frozen=True)
class AuditEntry:
    run_id: str
    phase: int
    object: str
    chunk: int
    seq: int
    op: AuditOp
    table: str
    entity_set: str
    target_id: str
    source_id: str
    batch: str
    at: str
    pre_image: str = ""

    @property
    def row_key(self) -> str:
        return safe_key(
            f"{self.run_id}|{self.phase:02d}|{self.object}|{self.chunk:05d}|{self.op}|{self.seq:06d}"
        )


class AuditLog:
    def __init__(self, settings: StorageSettings, migration_id: str) -> None:
        self._table = StorageClients(settings).table("audit")
        self._pk = safe_key(migration_id)

    def append(self, entries: Sequence[AuditEntry]) -> None:
        for i in range(0, len(entries), _BATCH):
            ops = [
                ("upsert", {"PartitionKey": self._pk, "RowKey": e.row_key, **_to_row(e)})
                for e in entries[i : i + _BATCH]
            ]
            if ops:
                self._table.submit_transaction(ops)  # type: ignore[arg-type]

    def entries(self) -> Iterator[AuditEntry]:
        for row in self._table.query_entities("PartitionKey eq @pk", parameters={"pk": self._pk}):
            yield AuditEntry(
                run_id=row["RunId"],
                phase=int(row["Phase"]),
                object=row["Object"],
                chunk=int(row["Chunk"]),
                seq=int(row["Seq"]),
                op=row["Op"],
                table=row["TargetTable"],
                entity_set=row["EntitySet"],
                target_id=row["TargetId"],
                source_id=row["SourceId"],
                batch=row["Batch"],
                at=row["At"],
                pre_image=row.get("PreImage", ""),
            )


def _to_row(e: AuditEntry) -> dict[str, object]:
    d = asdict(e)
    return {
        "RunId": d["run_id"],
        "Phase": d["phase"],
        "Object": d["object"],
        "Chunk": d["chunk"],
        "Seq": d["seq"],
        "Op": d["op"],
        "TargetTable": d["table"],
        "EntitySet": d["entity_set"],
        "TargetId": d["target_id"],
        "SourceId": d["source_id"],
        "Batch": d["batch"],
        "At": d["at"],
        "PreImage": d["pre_image"],
    }
