"""The migrations registry: which migrations exist, their last run, and their delta window.

The delta timer reads it to decide which migrations to pick up; the watermark moves forward only
after a delta run reconciles (dlt's rule: state advances with the data, never ahead of it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from shared.storage._connection import StorageClients, StorageSettings
from shared.storage._keys import safe_key, unsafe_key

_PK = "migration"


@dataclass(frozen=True)
class MigrationRecord:
    migration_id: str
    spec: dict[str, Any]
    last_run_id: str = ""
    status: str = "registered"
    watermark: str = ""  # ISO-8601 UTC; records updated after it are picked up by the next delta
    delta_until: str = ""  # ISO-8601 UTC; the delta window is open until then


class MigrationsRegistry:
    def __init__(self, settings: StorageSettings) -> None:
        self._table = StorageClients(settings).table("migrations")

    def put(self, record: MigrationRecord) -> None:
        self._table.upsert_entity(
            {
                "PartitionKey": _PK,
                "RowKey": safe_key(record.migration_id),
                "Spec": json.dumps(record.spec, separators=(",", ":")),
                "LastRunId": record.last_run_id,
                "Status": record.status,
                "Watermark": record.watermark,
                "DeltaUntil": record.delta_until,
            }
        )

    def get(self, migration_id: str) -> MigrationRecord | None:
        try:
            row = self._table.get_entity(_PK, safe_key(migration_id))
        except ResourceNotFoundError:
            return None
        return _record(row)

    def all(self) -> Iterator[MigrationRecord]:
        for row in self._table.query_entities("PartitionKey eq @pk", parameters={"pk": _PK}):
            yield _record(row)


def _record(row: Any) -> MigrationRecord:
    return MigrationRecord(
        migration_id=unsafe_key(row["RowKey"]),
        spec=json.loads(row["Spec"]),
        last_run_id=row.get("LastRunId", ""),
        status=row.get("Status", ""),
        watermark=row.get("Watermark", ""),
        delta_until=row.get("DeltaUntil", ""),
    )
