"""Storage clients built from one resolved connection string."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from functools import cached_property

from azure.core.exceptions import ResourceExistsError
from azure.data.tables import TableClient, TableServiceClient
from azure.storage.blob import BlobServiceClient, ContainerClient

from shared.spec import StorageSpec, resolve_secret


@dataclass(frozen=True)
class StorageSettings:
    """What every storage helper needs: where, which container, which table names."""

    connection_string: str
    container: str
    table_prefix: str = "intact"

    @classmethod
    def from_spec(cls, spec: StorageSpec) -> StorageSettings:
        return cls(resolve_secret(spec.connection_string), spec.container, spec.table_prefix)

    @classmethod
    def from_environment(cls) -> StorageSettings:
        """The app's own storage (app setting INTACT_STORAGE_CONNECTION), where the registry lives."""
        import os

        from shared.errors import ConfigError

        conn = os.environ.get("INTACT_STORAGE_CONNECTION")
        if not conn:
            raise ConfigError("app setting INTACT_STORAGE_CONNECTION is not set")
        return cls(
            conn,
            os.environ.get("INTACT_STORAGE_CONTAINER", "intact-staging"),
            os.environ.get("INTACT_TABLE_PREFIX", "intact"),
        )

    def table_name(self, purpose: str) -> str:
        return f"{self.table_prefix}{purpose}"


class StorageClients:
    """Lazily created, cached clients; containers and tables are created on first use."""

    def __init__(self, settings: StorageSettings) -> None:
        self.settings = settings

    @cached_property
    def blob_service(self) -> BlobServiceClient:
        return BlobServiceClient.from_connection_string(self.settings.connection_string)

    @cached_property
    def container(self) -> ContainerClient:
        client = self.blob_service.get_container_client(self.settings.container)
        with contextlib.suppress(ResourceExistsError):
            client.create_container()
        return client

    @cached_property
    def table_service(self) -> TableServiceClient:
        return TableServiceClient.from_connection_string(self.settings.connection_string)

    def table(self, purpose: str) -> TableClient:
        return self.table_service.create_table_if_not_exists(self.settings.table_name(purpose))
