"""Shared plumbing for activity adapters: build the storage/Dataverse clients for a run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from shared.dataverse import DataverseClient
from shared.migration.context import dataverse_client, storage_settings
from shared.spec import MigrationSpec
from shared.storage import StagingStore, StorageSettings


def staging(spec: MigrationSpec) -> tuple[StagingStore, StorageSettings]:
    settings = storage_settings(spec)
    return StagingStore(settings), settings


@contextmanager
def target(spec: MigrationSpec, user_index: int = 0) -> Iterator[DataverseClient]:
    dv = dataverse_client(spec, user_index)
    try:
        yield dv
    finally:
        dv.close()
