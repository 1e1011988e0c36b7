"""Blob staging and Table storage for one migration: chunks, manifests, id map, audit log, registry."""

from shared.storage._audit import AuditEntry, AuditLog
from shared.storage._connection import StorageSettings
from shared.storage._idmap import IdMap, IdMapEntry
from shared.storage._registry import MigrationRecord, MigrationsRegistry
from shared.storage._staging import StagingStore, read_ndjson_gz, write_ndjson_gz

__all__ = [
    "AuditEntry",
    "AuditLog",
    "IdMap",
    "IdMapEntry",
    "MigrationRecord",
    "MigrationsRegistry",
    "StagingStore",
    "StorageSettings",
    "read_ndjson_gz",
    "write_ndjson_gz",
]
