"""Extract: one streaming pass over the source into gzip NDJSON chunks per object + a manifest.

Memory stays bounded by one chunk per object. Malformed source rows are counted as source records
and quarantined with a reason, so reconciliation still balances.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.migration.models import ExtractOutput, ObjectExtract, RunRef
from shared.sources import open_source
from shared.sources.close.dates import parse_close_datetime
from shared.storage import StagingStore


def extract_source(run: RunRef, store: StagingStore, base_dir: Path | None = None) -> ExtractOutput:
    source = open_source(run.spec.source, base_dir)
    since = parse_close_datetime(run.since) if run.since else None
    chunk_size = run.spec.options.extract_chunk_size
    objects: dict[str, ObjectExtract] = {o.name: ObjectExtract() for o in source.objects()}
    buffers: dict[str, list[dict[str, Any]]] = {name: [] for name in objects}
    malformed: list[dict[str, Any]] = []
    max_cursor = parse_close_datetime(run.since) if run.since else None

    def flush(name: str) -> None:
        rows = buffers[name]
        if not rows:
            return
        info = objects[name]
        path = f"{run.prefix}/raw/{name}/{len(info.chunks):05d}.ndjson.gz"
        store.put_records(path, rows)
        info.chunks.append(path)
        buffers[name] = []

    for item in source.read(since):
        info = objects.setdefault(item.object, ObjectExtract())
        buffers.setdefault(item.object, [])
        info.records += 1
        if item.error is not None:
            info.malformed += 1
            malformed.append(item.error.attrs())
            continue
        assert item.record is not None
        cursor = parse_close_datetime(item.record.get("date_updated"))
        if cursor is not None and (max_cursor is None or cursor > max_cursor):
            max_cursor = cursor
        buffers[item.object].append(item.record)
        if len(buffers[item.object]) >= chunk_size:
            flush(item.object)
    for name in list(buffers):
        flush(name)
    if malformed:
        store.put_records(f"{run.prefix}/quarantine/extract.ndjson.gz", malformed)
    out = ExtractOutput(
        manifest_path=f"{run.prefix}/raw/manifest.json",
        objects=objects,
        max_cursor=max_cursor.isoformat() if max_cursor else None,
    )
    store.put_json(
        out.manifest_path,
        {"source": source.name, "run": run.run_id, "since": run.since, **out.model_dump(mode="json")},
    )
    return out
