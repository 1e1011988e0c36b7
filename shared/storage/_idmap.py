"""The id map: which Dataverse row each source record became, written as each phase loads.

PartitionKey = `{migration}|{object}`, RowKey = the source id (escaped for Table keys). An entry is
either a row the migration wrote, or (`linked`) an existing row a record was linked to instead of
being written (dedupe): children bind to it all the same, rollback never deletes it.

Claims — which target ids this migration writes, per table — are kept beside it
(PartitionKey `{migration}|@claims|{table}`, RowKey = the target id), written before the write, so
dedupe can tell an existing row from one the migration itself wrote (even one whose id-map entry a
crash left unwritten).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from azure.core.exceptions import ResourceNotFoundError

from shared.storage._connection import StorageClients, StorageSettings
from shared.storage._keys import safe_key, unsafe_key

_BATCH = 100  # Table storage transactions hold at most 100 operations


_CLAIMS = "@claims"


@dataclass(frozen=True)
class IdMapEntry:
    object: str
    source_id: str
    table: str
    target_id: str
    run_id: str
    linked: bool = False


class IdMap:
    def __init__(self, settings: StorageSettings, migration_id: str) -> None:
        self._table = StorageClients(settings).table("idmap")
        self._migration = migration_id

    def _pk(self, object_name: str) -> str:
        return safe_key(f"{self._migration}|{object_name}")

    def upsert(self, entries: Sequence[IdMapEntry]) -> None:
        by_pk: dict[str, list[IdMapEntry]] = {}
        for e in entries:
            by_pk.setdefault(self._pk(e.object), []).append(e)
        for pk, rows in by_pk.items():
            for i in range(0, len(rows), _BATCH):
                ops = [
                    (
                        "upsert",
                        {
                            "PartitionKey": pk,
                            "RowKey": safe_key(e.source_id),
                            "Table": e.table,
                            "TargetId": e.target_id,
                            "RunId": e.run_id,
                            "Linked": e.linked,
                        },
                    )
                    for e in rows[i : i + _BATCH]
                ]
                self._table.submit_transaction(ops)  # type: ignore[arg-type]

    def get(self, object_name: str, source_id: str) -> IdMapEntry | None:
        try:
            row = self._table.get_entity(self._pk(object_name), safe_key(source_id))
        except ResourceNotFoundError:
            return None
        return IdMapEntry(
            object_name, source_id, row["Table"], row["TargetId"], row["RunId"], bool(row.get("Linked"))
        )

    def get_many(
        self, keys: Iterable[tuple[str, str]], workers: int = 8
    ) -> dict[tuple[str, str], IdMapEntry | None]:
        """Several point reads at once: a load chunk resolves hundreds of parents, and one round
        trip after another would make Table latency the chunk's critical path."""
        wanted = list(dict.fromkeys(keys))
        if len(wanted) <= 1:
            return {k: self.get(*k) for k in wanted}
        with ThreadPoolExecutor(max_workers=min(workers, len(wanted))) as pool:
            return dict(zip(wanted, pool.map(lambda k: self.get(*k), wanted), strict=True))

    def entries(self, object_name: str) -> Iterable[IdMapEntry]:
        pk = self._pk(object_name)
        for row in self._table.query_entities("PartitionKey eq @pk", parameters={"pk": pk}):
            yield IdMapEntry(
                object_name,
                unsafe_key(row["RowKey"]),
                row["Table"],
                row["TargetId"],
                row["RunId"],
                bool(row.get("Linked")),
            )

    def remove(self, object_name: str, source_ids: Iterable[str]) -> None:
        pk = self._pk(object_name)
        ids = list(source_ids)
        for i in range(0, len(ids), _BATCH):
            for sid in ids[i : i + _BATCH]:
                with contextlib.suppress(ResourceNotFoundError):
                    self._table.delete_entity(pk, safe_key(sid))

    # --- claims: the target ids this migration writes -------------------------------------------

    def _claims_pk(self, table: str) -> str:
        return safe_key(f"{self._migration}|{_CLAIMS}|{table}")

    def claim(self, table: str, target_ids: Iterable[str], run_id: str) -> None:
        """Record, before writing them, that these rows of `table` are this migration's."""
        pk = self._claims_pk(table)
        ids = list(dict.fromkeys(t.lower() for t in target_ids))
        for i in range(0, len(ids), _BATCH):
            ops = [
                ("upsert", {"PartitionKey": pk, "RowKey": safe_key(t), "RunId": run_id})
                for t in ids[i : i + _BATCH]
            ]
            self._table.submit_transaction(ops)  # type: ignore[arg-type]

    def claimed(self, table: str, target_ids: Iterable[str], workers: int = 8) -> set[str]:
        """Which of `target_ids` (lower-cased) this migration wrote, or is about to, in `table`."""
        pk = self._claims_pk(table)
        wanted = list(dict.fromkeys(t.lower() for t in target_ids))

        def has(t: str) -> bool:
            try:
                self._table.get_entity(pk, safe_key(t))
            except ResourceNotFoundError:
                return False
            return True

        if len(wanted) <= 1:
            return {t for t in wanted if has(t)}
        with ThreadPoolExecutor(max_workers=min(workers, len(wanted))) as pool:
            return {t for t, mine in zip(wanted, pool.map(has, wanted), strict=True) if mine}

    def forget_claims(self, table: str) -> None:
        pk = self._claims_pk(table)
        for row in self._table.query_entities("PartitionKey eq @pk", parameters={"pk": pk}):
            with contextlib.suppress(ResourceNotFoundError):
                self._table.delete_entity(pk, row["RowKey"])
