"""Load step: one target chunk into Dataverse.

A chunk's rows may go to several tables (a split object); each table's rows are written with the
isolating bulk writer. Lookups resolve through the id map (COM-24) to the table the parent landed in:
a parent that did not load makes its child a quarantined UnresolvedLookup, not a Dataverse error; a
parent with no row of an accepted table links the child to the profile's placeholder (CLOSE-04),
created once and counted under its rule. References (a currency by ISO code) are looked up in the
target. The audit rows are written *before* the write (write-ahead), so a crash between the two can
never hide a row from rollback. After the upsert, each loaded row's follow-up runs: `set_state`, or
Win/LoseOpportunity (INT-06, INT-07); a follow-up the target refuses is counted and reported.

Before the write, rows of a deduped target that equal a row already in Dynamics are linked to it
instead of written (`dedupe.py`: id map, audit `link`, counted as loaded and as `linked`), and rows
carrying a file are sorted against the org's upload limit (`attachments.py`: inline, in 4 MB blocks,
or quarantined naming record, file, size and limit).
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any, Literal

from azure.core.exceptions import ResourceNotFoundError

from shared.dataverse import DataverseClient, RowWrite, failing_field, upload_note_file, write_rows
from shared.dataverse._writer import is_request_level
from shared.errors import TargetRequestFailed, UnresolvedLookup
from shared.mapping import TargetRow
from shared.mapping.profile import Placeholder, Profile, profile_for
from shared.mapping.transform import PLACEHOLDER_OBJECT, placeholder_id, resolve_lookup
from shared.migration.attachments import blocks, not_staged, plan_files, quarantine_row, read_inline, slices
from shared.migration.dedupe import SEVERAL, dedupe_tables, find_links
from shared.migration.models import LoadInput, LoadOutput
from shared.storage import AuditEntry, AuditLog, IdMap, IdMapEntry, StagingStore, StorageSettings

PLACEHOLDER_PHASE = 0
"""Placeholders are audited in phase 0, so a rollback deletes them after every row that links them."""
BLOCK_UPLOAD = "AnnotationBlocksUpload"


def load_chunk(
    inp: LoadInput, store: StagingStore, settings: StorageSettings, dv: DataverseClient
) -> LoadOutput:
    spec = inp.run.spec
    profile = profile_for(spec)
    obj = profile.object(inp.object)
    if obj is None:
        raise ValueError(f"object {inp.object} is not mapped by the {spec.source.kind} profile")
    if inp.bulk_messages is not None:
        dv.preset_bulk_support(obj.table, set(inp.bulk_messages))
    idmap = IdMap(settings, inp.run.migration_id)
    audit = AuditLog(settings, inp.run.migration_id)
    scope = spec.migration.id_scope
    now = datetime.now(UTC).isoformat()
    batch_label = f"{inp.run.run_id}/{inp.object}/{inp.chunk_no:05d}"
    parent_cache: dict[tuple[str, str], tuple[str, str] | None] = {}
    ref_cache: dict[tuple[str, str, str], str | None] = {}
    placeholders: dict[str, str] = {}
    flags: Counter[str] = Counter()
    flagged: list[dict[str, Any]] = []
    deduped = dedupe_tables(profile)

    def entry_of(object_name: str, source_id: str) -> tuple[str, str] | None:
        key = (object_name, source_id)
        if key not in parent_cache:
            entry = idmap.get(object_name, source_id)
            parent_cache[key] = (entry.table, entry.target_id) if entry else None
        return parent_cache[key]

    def placeholder(ph: Placeholder) -> str:
        if ph.name not in placeholders:
            placeholders[ph.name] = _ensure_placeholder(
                ph, inp, profile, dv, idmap, audit, scope, now, batch_label, ph.table in deduped
            )
        return placeholders[ph.name]

    def reference(entity_set: str, id_column: str, key: str, value: str) -> str | None:
        k = (entity_set, key, value.lower())
        if k not in ref_cache:
            ref_cache[k] = dv.find_id(entity_set, id_column, key, value)
        return ref_cache[k]

    raws = list(store.get_records(inp.target_path))  # one chunk: bounded by extract_chunk_size
    rows = [TargetRow.model_validate(raw) for raw in raws]
    found = idmap.get_many((obj_, sid) for row in rows for lk in row.lookups for obj_, sid in lk.candidates)
    parent_cache.update({k: (e.table, e.target_id) if e else None for k, e in found.items()})

    quarantine: list[dict[str, Any]] = []
    groups: dict[tuple[str, str, str], list[TargetRow]] = {}
    bodies: dict[str, dict[str, Any]] = {}
    for raw, row in zip(raws, rows, strict=True):
        primary_id = row.primary_id or obj.primary_id
        body = {**row.payload, **row.reopen}
        problem: UnresolvedLookup | None = None
        links: list[str] = []
        for lk in row.lookups:
            res = resolve_lookup(lk, entry_of)
            entity_set = profile.entity_set_of(res.table) if res.table else None
            if res.kind == "bound" and entity_set:
                body[f"{res.nav}@odata.bind"] = f"/{entity_set}({res.target_id})"
            elif res.kind == "placeholder" and (ph := profile.placeholder(res.placeholder or "")):
                nav = lk.bind.replace("{to}", lk.to).replace("{table}", ph.table)
                body[f"{nav}@odata.bind"] = f"/{ph.entity_set}({placeholder(ph)})"
                links.append(ph.rule)
            elif res.kind == "missing" or (res.kind == "bound" and lk.required):
                problem = UnresolvedLookup(
                    f"{row.table}.{lk.to}: parent {lk.object} {lk.source_id} was not loaded",
                    source=spec.source.kind,
                    object=inp.object,
                    source_id=row.source_id,
                    field=lk.to,
                )
                break
        for ref in row.references if problem is None else []:
            rid = reference(ref.entity_set, ref.primary_id, ref.key, ref.value)
            if rid is None:
                if ref.required:
                    problem = UnresolvedLookup(
                        f"{row.table}.{ref.to}: no {ref.entity_set} row has this {ref.key}",
                        source=spec.source.kind,
                        object=inp.object,
                        source_id=row.source_id,
                        field=ref.field,
                    )
                    break
                continue
            body[f"{ref.bind}@odata.bind"] = f"/{ref.entity_set}({rid})"
        if problem is not None:
            quarantine.append({**problem.attrs(), "stage": "load", "record": raw})
            continue
        for rule in links:
            flags[rule] += 1
            flagged.append({"rule": rule, "source_id": row.source_id, "table": row.table, "id": row.id})
        if row.owner_id:
            body["ownerid@odata.bind"] = f"/systemusers({row.owner_id})"
        groups.setdefault((row.table, row.entity_set, primary_id), []).append(row)
        bodies[row.source_id] = body

    before = dv.stats.as_dict()
    # Dedupe (X2-04): rows equal to a row already in Dynamics are linked to it, not written.
    links = find_links([r for rows in groups.values() for r in rows], inp.object, obj.primary_id, dv, idmap)
    linked = {link.source_id for link in links}
    for link in links:
        if link.matches > 1:
            flags[SEVERAL] += 1
            flagged.append(
                {
                    "rule": SEVERAL,
                    "source_id": link.source_id,
                    "table": link.row.table,
                    "id": link.target_id,
                    "matches": link.matches,
                }
            )
    # Files (COM-41): over the org's limit → quarantined; big notes → block upload; others inline.
    file_rows = [
        r for rows in groups.values() for r in rows if r.file is not None and r.source_id not in linked
    ]
    limit = dv.max_upload_bytes() if file_rows else None
    plan = plan_files(file_rows, limit, spec.source.kind, inp.object)
    quarantine.extend(plan.quarantine)
    apart = linked | plan.refused | {r.source_id for r in plan.chunked}
    groups = {
        k: kept for k, rows in groups.items() if (kept := [r for r in rows if r.source_id not in apart])
    }
    to_write = [r for rows in groups.values() for r in rows] + plan.chunked
    lookups_sent = int(dv.stats.as_dict()["requests"] - before["requests"])  # dedupe queries, the limit

    def logged(
        n: int, op: Literal["upsert", "link"], row: TargetRow, target_id: str, pre_image: str = ""
    ) -> AuditEntry:
        return AuditEntry(
            run_id=inp.run.run_id,
            phase=inp.phase,
            object=inp.object,
            chunk=inp.chunk_no,
            seq=n,
            op=op,
            table=row.table,
            entity_set=row.entity_set,
            target_id=target_id,
            source_id=row.source_id,
            batch=batch_label,
            at=now,
            pre_image=pre_image,
        )

    audit.append(
        [logged(n, "upsert", row, row.id) for n, row in enumerate(to_write)]
        + [logged(n, "link", link.row, link.target_id, link.pre_image) for n, link in enumerate(links)]
    )
    for table in sorted({r.table for r in to_write} & deduped):  # ours, before they exist
        idmap.claim(table, [r.id for r in to_write if r.table == table], inp.run.run_id)
    idmap.upsert(
        [
            IdMapEntry(
                inp.object, link.source_id, link.row.table, link.target_id, inp.run.run_id, linked=True
            )
            for link in links
        ]
    )
    loaded: list[TargetRow] = []
    requests: list[dict[str, Any]] = []
    for (table, entity_set, primary_id), rows in groups.items():
        by_source = {r.source_id: r for r in rows}
        with_files = any(r.source_id in plan.inline for r in rows)
        for part in slices(rows, spec.options.load_batch_size) if with_files else [rows]:
            writes: list[RowWrite] = []
            for r in part:
                body = bodies[r.source_id]
                if r.file is not None and r.source_id in plan.inline:
                    text, refused = read_inline(r, store, limit, spec.source.kind, inp.object)
                    if refused is not None:
                        quarantine.append(refused)
                        continue
                    body = {**body, r.file.column: text}
                writes.append(RowWrite(r.source_id, body))
            if not writes:
                continue
            result = write_rows(
                dv,
                entity_set,
                table,
                writes,
                batch_size=spec.options.load_batch_size,
                clock=time.monotonic,
                primary_id=primary_id,
            )
            requests.extend({**r, "table": table} for r in result.requests)  # COM-26, per table
            ok = [by_source[o.source_id] for o in result.outcomes if o.outcome == "loaded"]
            idmap.upsert([IdMapEntry(inp.object, r.source_id, r.table, r.id, inp.run.run_id) for r in ok])
            loaded.extend(ok)
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
                            "record": by_source[o.source_id].model_dump(mode="json"),
                        }
                    )
    block_requests = 0
    for row in plan.chunked:
        entry, refused = _upload_in_blocks(row, bodies[row.source_id], inp, store, dv)
        requests.append(entry)
        block_requests += entry["requests"]
        if refused is not None:
            quarantine.append(refused)
            continue
        idmap.upsert([IdMapEntry(inp.object, row.source_id, row.table, row.id, inp.run.run_id)])
        loaded.append(row)
    follow_ups = _run_follow_ups(dv, loaded, flags, flagged)
    after = dv.stats.as_dict()

    if quarantine:
        store.put_records(
            f"{inp.run.prefix}/quarantine/load/{inp.object}/{inp.chunk_no:05d}.ndjson.gz", quarantine
        )
    if flagged:
        store.put_records(f"{inp.run.prefix}/flags/{inp.object}/{inp.chunk_no:05d}.ndjson.gz", flagged)
    store.put_json(f"{inp.run.prefix}/load/{inp.object}/{inp.chunk_no:05d}.requests.json", requests)
    return LoadOutput(
        object=inp.object,
        chunk_no=inp.chunk_no,
        loaded=len(loaded) + len(links),
        linked=len(links),
        quarantined=len(quarantine),
        requests=int(after["requests"] - before["requests"]),
        throttled_429=int(after["throttled_429"] - before["throttled_429"]),
        wait_s=round(after["wait_s"] - before["wait_s"], 3),
        items=sum(r["records"] for r in requests if r["kind"] != BLOCK_UPLOAD)
        + block_requests
        + follow_ups
        + lookups_sent,
        dop_hint=dv.dop_hint,
        flags=dict(flags),
    )


def _upload_in_blocks(
    row: TargetRow, body: dict[str, Any], inp: LoadInput, store: StagingStore, dv: DataverseClient
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """One note with a big file, uploaded in 4 MB blocks; (request-log line, quarantine row or None)."""
    assert row.file is not None
    started = time.monotonic()
    before = dv.stats.as_dict()
    sent = 0

    def counted() -> Any:
        nonlocal sent
        for block in blocks(row, store):
            sent += 1
            yield block

    status, code, refused = 200, None, None
    try:
        upload_note_file(dv, body, counted(), expected_size=row.file.size or 0)
    except ResourceNotFoundError:
        err = not_staged(
            row, inp.run.spec.source.kind, inp.object, "is missing from staging (re-run the extraction)"
        )
        status, refused = 404, quarantine_row(err, row, size_bytes=row.file.size)
    except TargetRequestFailed as exc:
        if is_request_level(exc):
            raise
        status, code = exc.status, exc.error_code
        refused = {
            "error": "TargetRejected",
            "source": inp.run.spec.source.kind,
            "object": inp.object,
            "source_id": row.source_id,
            "field": failing_field(exc.dataverse_message) or row.file.column,
            "reason": exc.dataverse_message,
            "dataverse_code": exc.error_code,
            "stage": "load",
            "record": row.model_dump(mode="json"),
        }
    after = dv.stats.as_dict()
    entry = {
        "kind": BLOCK_UPLOAD,
        "table": row.table,
        "records": 1,
        "loaded": int(refused is None),
        "status": status,
        "error_code": code,
        "blocks": sent,
        "requests": int(after["requests"] - before["requests"]),
        "duration_s": round(time.monotonic() - started, 4),
        "throttled_429": after["throttled_429"] - before["throttled_429"],
        "wait_s": round(after["wait_s"] - before["wait_s"], 3),
        "first_source_id": row.source_id,
    }
    return entry, refused


def _run_follow_ups(
    dv: DataverseClient, loaded: list[TargetRow], flags: Counter[str], flagged: list[dict[str, Any]]
) -> int:
    """Each loaded row's state change, after the upsert; returns how many requests it took."""
    sent = 0
    for row in loaded:
        fu = row.follow_up
        if fu is None:
            continue
        sent += 1
        try:
            if fu.kind == "win_opportunity":
                dv.win_opportunity(row.id, fu.status, fu.close)
            elif fu.kind == "lose_opportunity":
                dv.lose_opportunity(row.id, fu.status, fu.close)
            else:
                dv.set_state(row.entity_set, row.id, fu.state, fu.status)
        except TargetRequestFailed as exc:
            flags["state_not_applied"] += 1
            flagged.append(
                {
                    "rule": "state_not_applied",
                    "source_id": row.source_id,
                    "table": row.table,
                    "id": row.id,
                    "follow_up": fu.kind,
                    "dataverse_code": exc.error_code,
                }
            )
        else:
            flags[fu.kind] += 1
    return sent


def _ensure_placeholder(
    ph: Placeholder,
    inp: LoadInput,
    profile: Profile,
    dv: DataverseClient,
    idmap: IdMap,
    audit: AuditLog,
    scope: str,
    now: str,
    batch_label: str,
    claim: bool = False,
) -> str:
    """Upsert the placeholder row (idempotent: a deterministic id), audited (and, on a deduped table,
    claimed) before the write."""
    spec = inp.run.spec
    pid = placeholder_id(scope, spec.source.kind, ph.name)
    audit.append(
        [
            AuditEntry(
                run_id=inp.run.run_id,
                phase=PLACEHOLDER_PHASE,
                object=PLACEHOLDER_OBJECT,
                chunk=inp.chunk_no,
                seq=[p.name for p in profile.placeholders].index(ph.name),
                op="upsert",
                table=ph.table,
                entity_set=ph.entity_set,
                target_id=pid,
                source_id=ph.name,
                batch=f"{batch_label}/{PLACEHOLDER_OBJECT}",
                at=now,
            )
        ]
    )
    if claim:
        idmap.claim(ph.table, [pid], inp.run.run_id)
    try:
        dv.request("PATCH", f"{ph.entity_set}({pid})", json=ph.payload)
    except TargetRequestFailed as exc:
        if exc.status != 412:  # another chunk created it a moment ago: it exists now
            raise
    idmap.upsert([IdMapEntry(PLACEHOLDER_OBJECT, ph.name, ph.table, pid, inp.run.run_id)])
    return pid
