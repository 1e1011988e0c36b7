"""Deterministic identities: the same source record always gets the same Dataverse GUID.

This is what makes every write an idempotent upsert and every re-run duplicate-free.
"""

from __future__ import annotations

import uuid

INTACT_NAMESPACE = uuid.UUID("6f1c1f9e-3b0a-5c5e-9a57-1a7c7a1e0d2b")


def target_id(scope: str, source: str, object_name: str, source_id: str) -> str:
    """uuid5 of (migration scope, source system, object, source id)."""
    if not (scope and source and object_name and source_id):
        raise ValueError("every part of a deterministic id must be non-empty")
    return str(uuid.uuid5(INTACT_NAMESPACE, f"{scope}\x1f{source}\x1f{object_name}\x1f{source_id}"))


def run_id_for(migration_id: str, started_at_iso: str) -> str:
    """A run id stable under orchestrator replay (derived from orchestration time, not a clock)."""
    return str(uuid.uuid5(INTACT_NAMESPACE, f"run\x1f{migration_id}\x1f{started_at_iso}"))[:8]
