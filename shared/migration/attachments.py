"""Files on rows (notes with attachments: COM-05, COM-41, PROFI-13, PRAC-11, X2-17, CLOSE-17).

A row carrying `file` (a `FileRef`: the staged blob, its size, name and MIME type) is sorted before
the write, against the org's upload limit (`organization.maxuploadfilesize`, read once per load and
compared, as Dataverse compares it, with the file's **Base64** length):

- not staged at extraction, or staged but gone → quarantined, the reason naming record and file;
- over the limit → quarantined (`AttachmentTooLarge`), the reason naming the record, the file name,
  its size and the limit — never its content — while the rest of the chunk loads;
- a note's file over `INLINE_MAX_BYTES` (4 MB) → uploaded in 4 MB blocks
  (InitializeAnnotationBlocksUpload / UploadBlock / CommitAnnotationBlocksUpload), streamed from Blob;
- anything else → inline: the Base64 goes into the row (`file.column`, e.g. `documentbody`) of the
  bulk write. Bodies are read slice by slice, each write request carrying at most
  `INLINE_REQUEST_BYTES` of them, so a chunk of notes never sits in memory whole.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from shared.dataverse import BLOCK_BYTES, INLINE_MAX_BYTES, base64_length
from shared.errors import AttachmentTooLarge, RecordError
from shared.mapping import TargetRow
from shared.migration.extract import MAX_ATTACHMENT_BYTES
from shared.storage import StagingStore

INLINE_REQUEST_BYTES = 16 * 1024 * 1024
"""Base64 bytes of inline files one write request may carry."""
CHUNKED_TABLES = frozenset({"annotation"})
"""Tables whose files the block upload messages take (the Annotation ones)."""


@dataclass
class FilePlan:
    """Where each file row goes: `inline` (written with the bulk write), `chunked`, or quarantined."""

    inline: set[str] = field(default_factory=set)
    chunked: list[TargetRow] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)


def _name(row: TargetRow) -> str:
    assert row.file is not None
    return repr(row.file.name) if row.file.name else "(no file name)"


def too_large(row: TargetRow, source: str, object_name: str, size: int, limit: int) -> RecordError:
    assert row.file is not None
    return AttachmentTooLarge(
        f"{object_name} {row.source_id}: file {_name(row)} is {size:,} bytes ({base64_length(size):,} "
        f"as Base64), over the target's upload limit of {limit:,} bytes (organization.maxuploadfilesize, "
        "compared with the Base64 size): raise the limit with the admin (at most 131,072,000) or keep "
        "the file outside Dataverse (COM-41)",
        source=source,
        object=object_name,
        source_id=row.source_id,
        field=row.file.column,
    )


class AttachmentNotStaged(RecordError):
    """The file never reached staging (missing or unreadable in the source), or is gone from it."""

    code = "AttachmentNotStaged"


def not_staged(row: TargetRow, source: str, object_name: str, why: str) -> RecordError:
    assert row.file is not None
    size = f"{row.file.size:,} bytes" if row.file.size is not None else "size unknown"
    cls = AttachmentTooLarge if why.startswith("is over") else AttachmentNotStaged
    return cls(
        f"{object_name} {row.source_id}: file {_name(row)} ({size}) {why}",
        source=source,
        object=object_name,
        source_id=row.source_id,
        field=row.file.column,
    )


def quarantine_row(err: RecordError, row: TargetRow, **extra: Any) -> dict[str, Any]:
    return {**err.attrs(), **extra, "stage": "load", "record": row.model_dump(mode="json")}


def plan_files(rows: list[TargetRow], limit: int | None, source: str, object_name: str) -> FilePlan:
    plan = FilePlan()
    for row in rows:
        f = row.file
        if f is None:
            continue
        if f.blob is None:
            why = (
                f"is over {MAX_ATTACHMENT_BYTES:,} bytes, the most Dataverse takes for a file: not copied"
                if f.size is not None and f.size > MAX_ATTACHMENT_BYTES
                else "was not copied from the source at extraction (missing or unreadable there)"
            )
            err = not_staged(row, source, object_name, why)
            plan.quarantine.append(quarantine_row(err, row, size_bytes=f.size))
            plan.refused.add(row.source_id)
        elif limit is not None and f.size is not None and base64_length(f.size) > limit:
            err = too_large(row, source, object_name, f.size, limit)
            plan.quarantine.append(quarantine_row(err, row, size_bytes=f.size, limit_bytes=limit))
            plan.refused.add(row.source_id)
        elif row.table in CHUNKED_TABLES and (f.size or 0) > INLINE_MAX_BYTES:
            plan.chunked.append(row)
        else:
            plan.inline.add(row.source_id)
    return plan


def slices(rows: list[TargetRow], batch_size: int) -> Iterator[list[TargetRow]]:
    """Consecutive slices of at most `batch_size` rows whose inline files stay within
    `INLINE_REQUEST_BYTES` (a row alone may exceed it: it goes alone)."""
    current: list[TargetRow] = []
    size = 0
    for row in rows:
        cost = base64_length(row.file.size or 0) if row.file is not None else 0
        if current and (len(current) >= batch_size or size + cost > INLINE_REQUEST_BYTES):
            yield current
            current, size = [], 0
        current.append(row)
        size += cost
    if current:
        yield current


def read_inline(
    row: TargetRow, store: StagingStore, limit: int | None, source: str, object_name: str
) -> tuple[str | None, dict[str, Any] | None]:
    """The staged file as Base64 text, or a quarantine row (the blob is gone, or it is over the limit
    after all — the staged size is what counts)."""
    f = row.file
    assert f is not None and f.blob is not None
    try:
        data = store.get_bytes(f.blob)
    except ResourceNotFoundError:
        err = not_staged(row, source, object_name, "is missing from staging (re-run the extraction)")
        return None, quarantine_row(err, row, size_bytes=f.size)
    if limit is not None and base64_length(len(data)) > limit:
        err = too_large(row, source, object_name, len(data), limit)
        return None, quarantine_row(err, row, size_bytes=len(data), limit_bytes=limit)
    return base64.b64encode(data).decode("ascii"), None


def blocks(row: TargetRow, store: StagingStore) -> Iterator[bytes]:
    assert row.file is not None and row.file.blob is not None
    return store.iter_blocks(row.file.blob, BLOCK_BYTES)
