"""Load step: one target chunk into Dataverse.

Lookups resolve through the id map (COM-24): a parent that did not load makes its child a
quarantined UnresolvedLookup, not a Dataverse error. The audit rows are written *before* the
write (write-ahead), so a crash between the two can never hide a row from rollback.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from shared.dataverse import DataverseClient, RowWrite, write_rows
from shared.errors import UnresolvedLookup
from shared.mapping import TargetRow, load_profile
from shared.migration.models import LoadInput, LoadOutput
from shared.storage import AuditEntry, AuditLog, IdMap, IdMapEntry, StagingStore, StorageSettings


def load_chunk(
    inp: LoadInput, store: StagingStore, settings: StorageSettings, dv: DataverseClient
) -> LoadOutput:
    spec = inp.run.spec
    profile = load_profile(spec.source.kind)
    obj = profile.object(inp.object)
    if obj is None:
        raise ValueError(f"object {inp.object} is not mapped by the {spec.source.kind} profile")
    if inp.bulk_messages is not None:
        dv.preset_bulk_support(obj.table, set(inp.bulk_messages))
    idmap = IdMap(settings, inp.run.migration_id)
    audit = AuditLog(settings, inp.run.migration_id)
    parent_cache: dict[tuple[str, str], str | None] = {}

    def parent_id(object_name: str, source_id: str) -> str | None:
        key = (object_name, source_id)
        if key not in parent_cache:
            entry = idmap.get(object_name, source_id)
            parent_cache[key] = entry.target_id if entry else None
        return parent_cache[key]

    quarantine: list[dict[str, Any]] = []
    writes: list[RowWrite] = []
    rows_by_source: dict[str, TargetRow] = {}
    for raw in store.get_records(inp.target_path):
        row = TargetRow.model_validate(raw)
        body = dict(row.payload)
        unresolved: UnresolvedLookup | None = None
        for lk in row.lookups:
            pid = parent_id(lk.object, lk.source_id)
            parent = profile.object(lk.object)
            if pid is None or parent is None:
                if lk.required:
                    unresolved = UnresolvedLookup(
                        f"{obj.table}.{lk.to}: parent {lk.object} {lk.source_id} was not loaded",
                        source=spec.source.kind,
                        object=inp.object,
                        source_id=row.source_id,
                        field=lk.to,
                    )
                    break
                continue
            body[f"{lk.bind}@odata.bind"] = f"/{parent.entity_set}({pid})"
        if unresolved is not None:
            quarantine.append({**unresolved.attrs(), "stage": "load", "record": raw})
            continue
        if row.owner_id:
            body["ownerid@odata.bind"] = f"/systemusers({row.owner_id})"
        writes.append(RowWrite(row.source_id, body))
        rows_by_source[row.source_id] = row

    now = datetime.now(UTC).isoformat()
    batch_label = f"{inp.run.run_id}/{inp.object}/{inp.chunk_no:05d}"
    audit.append(
        [
            AuditEntry(
                run_id=inp.run.run_id,
                phase=inp.phase,
                object=inp.object,
                chunk=inp.chunk_no,
                seq=n,
                op="upsert",
                table=obj.table,
                entity_set=obj.entity_set,
                target_id=w.row[obj.primary_id],
                source_id=w.source_id,
                batch=batch_label,
                at=now,
            )
            for n, w in enumerate(writes)
        ]
    )
    before = dv.stats.as_dict()
    result = write_rows(
        dv,
        obj.entity_set,
        obj.table,
        writes,
        batch_size=spec.options.load_batch_size,
        clock=time.monotonic,
        primary_id=obj.primary_id,
    )
    after = dv.stats.as_dict()

    loaded = [o for o in result.outcomes if o.outcome == "loaded"]
    idmap.upsert(
        [
            IdMapEntry(inp.object, o.source_id, obj.table, rows_by_source[o.source_id].id, inp.run.run_id)
            for o in loaded
        ]
    )
    for o in result.outcomes:
        if o.outcome == "rejected":
            quarantine.append(
                {
                    "error": "TargetRejected",
                    "source": spec.source.kind,
                    "object": inp.object,
                    "source_id": o.source_id,
                    "field": o.field,
                    "reason": o.message,
                    "dataverse_code": o.error_code,
                    "stage": "load",
                    "record": rows_by_source[o.source_id].model_dump(mode="json"),
                }
            )
    if quarantine:
        store.put_records(
            f"{inp.run.prefix}/quarantine/load/{inp.object}/{inp.chunk_no:05d}.ndjson.gz", quarantine
        )
    store.put_json(f"{inp.run.prefix}/load/{inp.object}/{inp.chunk_no:05d}.requests.json", result.requests)
    return LoadOutput(
        object=inp.object,
        chunk_no=inp.chunk_no,
        loaded=len(loaded),
        quarantined=len(quarantine),
        requests=int(after["requests"] - before["requests"]),
        throttled_429=int(after["throttled_429"] - before["throttled_429"]),
        wait_s=round(after["wait_s"] - before["wait_s"], 3),
        items=sum(r["records"] for r in result.requests),
        dop_hint=dv.dop_hint,
    )
