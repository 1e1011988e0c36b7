"""Transform step: one raw chunk → one target chunk (Dataverse rows) + its quarantine rows; records a
named rule of the profile leaves out are counted as skipped, by rule."""

from __future__ import annotations

from collections import Counter
from typing import Any

from shared.errors import RecordError
from shared.mapping import OwnerMap, transform_record
from shared.mapping.joins import JOIN_FIELD
from shared.mapping.profile import profile_for
from shared.mapping.transform import Skipped
from shared.migration.joins import load_indexes
from shared.migration.models import ChunkRef, TransformOutput
from shared.storage import StagingStore


def transform_chunk(ref: ChunkRef, store: StagingStore) -> TransformOutput:
    spec = ref.run.spec
    profile = profile_for(spec)
    obj = profile.object(ref.object)
    if obj is None:
        raise ValueError(f"object {ref.object} is not mapped by the {spec.source.kind} profile")
    owners = None
    if ref.owner_map_path:
        owners = OwnerMap.model_validate(store.get_json(ref.owner_map_path))
    indexes = load_indexes(ref.run, obj, store) if obj.joins else {}
    counts_by_object = {j.object: indexes[j.name] for j in obj.joins if j.kind == "count"}

    def children(child: str, parent_id: str) -> bool:
        return counts_by_object[child].value_for(parent_id) > 0

    property_types = {n: dict(i.types) for n, i in indexes.items() if i.kind == "pivot"}
    property_options = {n: dict(i.options) for n, i in indexes.items() if i.kind == "pivot"}
    rows: list[dict[str, Any]] = []
    flagged: list[dict[str, Any]] = []
    quarantine: list[dict[str, Any]] = []
    skipped: Counter[str] = Counter()
    records = 0
    for record in store.get_records(ref.path):
        records += 1
        if indexes:
            sid = obj.source_id(record)
            record = {**record, JOIN_FIELD: {n: i.value_for(sid) for n, i in indexes.items()}}
        try:
            row = transform_record(
                obj,
                record,
                source=spec.source.kind,
                scope=spec.migration.id_scope,
                owners=owners,
                prefix=spec.options.publisher_prefix,
                custom_columns=profile.write_custom_columns,
                children=children if counts_by_object else None,
                property_types=property_types,
                property_options=property_options,
            )
        except RecordError as err:
            record.pop(JOIN_FIELD, None)
            quarantine.append({**err.attrs(), "stage": "transform", "record": record})
            continue
        if isinstance(row, Skipped):
            skipped[row.rule] += 1
            continue
        if row.parties_dropped:  # INT-12: the activity loads; the addresses that were not are named
            flagged.append(
                {
                    "rule": "party_address_dropped",
                    "source_id": row.source_id,
                    "table": row.table,
                    "id": row.id,
                }
            )
        rows.append(row.model_dump(mode="json"))
    target_path = None
    if rows:
        target_path = f"{ref.run.prefix}/target/{ref.object}/{ref.chunk_no:05d}.ndjson.gz"
        store.put_records(target_path, rows)
    if quarantine:
        store.put_records(
            f"{ref.run.prefix}/quarantine/transform/{ref.object}/{ref.chunk_no:05d}.ndjson.gz", quarantine
        )
    if flagged:  # read with the load step's flags into the run report (what to do, per rule)
        store.put_records(f"{ref.run.prefix}/flags/{ref.object}/t{ref.chunk_no:05d}.ndjson.gz", flagged)
    return TransformOutput(
        object=ref.object,
        chunk_no=ref.chunk_no,
        target_path=target_path,
        records=records,
        transformed=len(rows),
        quarantined=len(quarantine),
        skipped=sum(skipped.values()),
        skip_rules=dict(skipped),
    )
