"""Activity inputs and outputs: small pydantic models carrying references, never record lists,
so orchestration history stays small."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from shared.spec import MigrationSpec


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunRef(_M):
    """Identifies one run of one migration; every activity gets it."""

    migration_id: str
    run_id: str
    spec: MigrationSpec
    since: str | None = Field(default=None, description="Delta watermark (ISO-8601): only changed records")
    kind: str = "full"

    @property
    def prefix(self) -> str:
        return f"staging/{self.migration_id}/{self.run_id}"


class ObjectExtract(_M):
    records: int = 0
    malformed: int = 0
    chunks: list[str] = []


class ExtractOutput(_M):
    manifest_path: str
    objects: dict[str, ObjectExtract]
    max_cursor: str | None = None


class OwnerReport(_M):
    owner_map_path: str
    fallback_owner_id: str | None
    users: dict[str, dict[str, int | str | None]] = Field(
        description="source user id → {status, records}; no emails, they are personal data"
    )
    records_to_fallback: int = 0
    blocking: list[str] = []
    fallback_status: str | None = Field(
        default=None, description="How options.fallback_owner matched (None: no fallback set)"
    )


class ChunkRef(_M):
    run: RunRef
    object: str
    chunk_no: int
    path: str
    owner_map_path: str | None = None


class TransformOutput(_M):
    object: str
    chunk_no: int
    target_path: str | None
    records: int
    transformed: int
    quarantined: int
    skipped: int = Field(default=0, description="Records a named rule of the profile left out")
    skip_rules: dict[str, int] = Field(default={}, description="skip rule → records")


class LoadInput(_M):
    run: RunRef
    object: str
    phase: int
    chunk_no: int
    target_path: str
    records: int = Field(default=0, description="Rows in the chunk (plans the request entitlement)")
    user_index: int = Field(default=0, description="Which application user writes this chunk")
    bulk_messages: list[str] | None = Field(
        default=None, description="Bulk messages the table supports, as asked once per run (None: ask)"
    )


class LoadOutput(_M):
    object: str
    chunk_no: int
    loaded: int
    linked: int = Field(
        default=0,
        description="Of `loaded`: records linked to a row already in Dynamics (dedupe), not written",
    )
    quarantined: int
    requests: int
    throttled_429: int
    wait_s: float
    items: int = Field(default=0, description="Records sent in requests: what the entitlement counts")
    dop_hint: int | None = Field(default=None, description="The latest x-ms-dop-hint the target sent")
    flags: dict[str, int] = Field(
        default={},
        description="Rows flagged for the admin (placeholder links) and follow-ups run or refused, by rule",
    )


class LoadPhaseInput(_M):
    loads: list[LoadInput]
    max_width: int = Field(ge=1)
    users: int = Field(default=1, ge=1)
    daily_cap: int | None = None
    consumed: list[tuple[str, int]] = Field(default=[], description="(ISO time, records sent) so far")


class LoadPhaseOutput(_M):
    results: list[LoadOutput]
    consumed: list[tuple[str, int]]
    paused_s: float = 0.0


class ObjectCounts(_M):
    source: int = 0
    loaded: int = 0
    quarantined: int = 0
    skipped: int = 0
    skip_rule: str | None = None
    linked: int = Field(
        default=0,
        description="Of `loaded`: records linked to a row already in Dynamics instead of written (dedupe); "
        "serialized only when there are some",
    )

    @model_serializer(mode="wrap")
    def _linked_when_any(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if not self.linked:
            data.pop("linked", None)
        return data

    @property
    def balanced(self) -> bool:
        return self.source == self.loaded + self.quarantined + self.skipped


class ReconcileInput(_M):
    run: RunRef
    phase: int | None
    objects: dict[str, ObjectCounts]


class ReconcileOutput(_M):
    objects: dict[str, ObjectCounts]
    report_path: str
    verified: dict[str, int] = {}


class RunSummary(_M):
    migration_id: str
    run_id: str
    kind: str
    objects: dict[str, ObjectCounts]
    owners: OwnerReport | None = None
    reports: list[str] = []
    max_cursor: str | None = None
    requests: int = 0
    throttled_429: int = 0
    traffic: dict[str, Any] = Field(default={}, description="Requests, 429s, waits, entitlement used")


class RollbackGroup(_M):
    entity_set: str
    table: str
    phase: int
    chunks: list[str]
    rows: int


class RollbackPlan(_M):
    migration_id: str
    groups: list[RollbackGroup]
    kept: dict[str, int] = Field(
        default={}, description="table → existing rows records were linked to (dedupe): never deleted"
    )


class RollbackChunk(_M):
    migration_id: str
    spec: MigrationSpec
    entity_set: str
    path: str


class RollbackOutput(_M):
    deleted: int
    already_gone: int
