"""Builds the clients a step needs from the spec (secrets resolved here, at the point of use)."""

from __future__ import annotations

from shared.dataverse import DataverseClient, token_provider_for
from shared.spec import MigrationSpec
from shared.storage import StorageSettings


def storage_settings(spec: MigrationSpec) -> StorageSettings:
    return StorageSettings.from_spec(spec.storage)


def dataverse_client(spec: MigrationSpec, user_index: int = 0) -> DataverseClient:
    """A client acting as one application user; each user has its own service-protection budget."""
    return DataverseClient(
        spec.target.url,
        token_provider_for(spec.target, user_index),
        api_version=spec.target.api_version,
        throttle_key=f"{spec.target.url}#user{user_index}",
    )
