"""COM-41: attachments over the org's upload limit (`organization.maxuploadfilesize`) are flagged
before migration, to be resolved with the admin (raise the limit, or keep the files elsewhere)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.dataverse import base64_length
from shared.preflight._model import Finding, Outcome, capped


def attachment_sizes(record: Mapping[str, Any]) -> list[int]:
    """File sizes a staged source record carries, in bytes, whatever the source:
    export sources stage `_file: {path, size}`; X2CRM Media has `filesize`; Close notes and emails
    list `attachments: [{size, …}]`."""
    sizes: list[int] = []
    staged = record.get("_file")
    if isinstance(staged, Mapping) and isinstance(staged.get("size"), int):
        sizes.append(staged["size"])
    if isinstance(record.get("filesize"), int) and not sizes:  # the staged file's size wins
        sizes.append(record["filesize"])
    attachments = record.get("attachments")
    if isinstance(attachments, list):
        sizes += [a["size"] for a in attachments if isinstance(a, Mapping) and isinstance(a.get("size"), int)]
    return sizes


@dataclass
class AttachmentTally:
    limit: int | None
    files: Counter[str] = field(default_factory=Counter)
    bytes: Counter[str] = field(default_factory=Counter)
    over: Counter[str] = field(default_factory=Counter)
    largest: dict[str, int] = field(default_factory=dict)
    ids: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def observe(self, obj: str, source_id: str, record: Mapping[str, Any]) -> None:
        for size in attachment_sizes(record):
            self.files[obj] += 1
            self.bytes[obj] += size
            if self.limit is not None and base64_length(size) > self.limit:  # compared as Base64
                self.over[obj] += 1
                self.largest[obj] = max(size, self.largest.get(obj, 0))
                if source_id not in self.ids[obj] and len(self.ids[obj]) < 20:
                    self.ids[obj].append(source_id)


def check_attachments(tally: AttachmentTally) -> tuple[list[Outcome], dict[str, object]]:
    out: list[Outcome] = []
    if tally.limit is None and tally.files:
        out.append(
            (
                "warning",
                Finding(
                    check="attachments",
                    requirement="COM-41",
                    code="upload_limit_unknown",
                    message="the target did not report organization.maxuploadfilesize; attachment sizes "
                    "were not checked",
                    records=sum(tally.files.values()),
                ),
            )
        )
    for obj, n in sorted(tally.over.items()):
        out.append(
            (
                "blocking",
                Finding(
                    check="attachments",
                    requirement="COM-41",
                    code="attachment_over_limit",
                    message=f"{obj}: {n} attachment(s) exceed the org's upload limit of {tally.limit} bytes "
                    f"(largest {tally.largest[obj]} bytes): raise the limit (organization.maxuploadfilesize) "
                    "with the admin, or keep these files outside Dataverse",
                    object=obj,
                    records=n,
                    source_ids=capped(tally.ids[obj]),
                    details={"limit_bytes": tally.limit, "largest_bytes": tally.largest[obj]},
                ),
            )
        )
    summary: dict[str, object] = {
        "limit_bytes": tally.limit,
        "files": sum(tally.files.values()),
        "bytes": sum(tally.bytes.values()),
        "over_limit": sum(tally.over.values()),
    }
    return out, summary
