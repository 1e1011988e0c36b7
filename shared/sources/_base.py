"""The connector interface every source implements, and the factory that picks one from a spec.

As small as a dlt resource or a Singer stream: `discover()` describes the source, `read(object)`
yields pages of records, each page carrying the checkpoint *after* it. Feeding that checkpoint back
to `read` resumes right after the page, so an interrupted extraction never repeats a record.

    source = open_source(spec.source)
    for page in source.read("contacts", since=watermark, checkpoint=saved):
        stage(page.records); save(page.checkpoint)   # checkpoint only after the page is staged
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal, Protocol

from shared.errors import ConfigError, MalformedRow
from shared.spec import SourceSpec

FieldType = Literal[
    "string",
    "text",
    "integer",
    "decimal",
    "money",
    "boolean",
    "date",
    "datetime",
    "email",
    "phone",
    "url",
    "enum",
    "list",
    "object",
    "reference",
    "unknown",
]
InventoryKind = Literal[
    "workflow",
    "email_template",
    "integration",
    "report",
    "dashboard",
    "smart_view",
    "form",
    "custom_activity_type",
    "custom_object",
    "campaign_send",
    "file_store",
    "other",
]


@dataclass(frozen=True)
class SourceObject:
    """An object as data (dlt resource hints): how its records are keyed and ordered."""

    name: str
    primary_key: str
    cursor_field: str | None = None  # the field a delta read filters on (date_updated, lastUpdated…)
    sorted_by_cursor: bool = False  # records come in cursor order (resume by cursor is then safe)
    parent: str | None = None  # e.g. Close contacts inside leads


@dataclass(frozen=True)
class SourceUser:
    source_id: str
    email: str | None
    name: str | None = None
    active: bool = True


@dataclass(frozen=True)
class ExtractedRecord:
    """One record read from the source, or the MalformedRow error that stands for it."""

    object: str
    record: dict[str, Any] | None
    error: MalformedRow | None = None


@dataclass(frozen=True)
class Page:
    """A page of one object's records and the checkpoint that resumes right after it.

    The checkpoint is small JSON (offsets, cursors, page numbers); it never holds record values.
    """

    object: str
    records: list[ExtractedRecord]
    checkpoint: dict[str, Any]


@dataclass(frozen=True)
class FieldInfo:
    name: str
    type: FieldType
    filled: int = 0  # how many sampled records had a value
    samples: list[str] = field(default_factory=list)  # a few distinct values (shown to the admin only)
    custom: bool = False
    label: str | None = None
    options: list[str] = field(default_factory=list)  # known pick-list labels
    references: str | None = None  # the object a reference field points at


@dataclass(frozen=True)
class Relationship:
    from_object: str
    field: str
    to_object: str


@dataclass(frozen=True)
class ObjectInfo:
    name: str
    count: int
    fields: list[FieldInfo]


@dataclass(frozen=True)
class InventoryItem:
    """Something that does not migrate as data (COM-06/COM-12): listed with what to rebuild it as."""

    kind: InventoryKind
    name: str
    detail: str = ""
    recommendation: str = ""


@dataclass(frozen=True)
class Discovery:
    source: str
    objects: list[ObjectInfo]
    relationships: list[Relationship] = field(default_factory=list)
    inventory: list[InventoryItem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class Source(Protocol):
    name: str

    def objects(self) -> list[SourceObject]: ...

    def discover(self, sample_size: int = 200) -> Discovery:
        """Objects with counts and fields (types inferred from a sample), relationships, inventory."""
        ...

    def read(
        self, object: str, *, since: datetime | None = None, checkpoint: dict[str, Any] | None = None
    ) -> Iterator[Page]:
        """One object's records page by page (only those changed after `since`, when given),
        resuming after `checkpoint` when given."""
        ...

    def users(self) -> list[SourceUser]: ...

    def close(self) -> None: ...


class FileSource(Protocol):
    """A source whose records carry files (`_file: {path, size}`): it opens them by that path.

    Optional: extraction copies a record's file into staging only when its source has `open_file`;
    `None` (a path that is not the source's own, or a file gone since it was listed) leaves the file
    unstaged, and the load step quarantines the record with the reason."""

    def open_file(self, path: str) -> IO[bytes] | None: ...


def open_source_file(source: object, path: str) -> IO[bytes] | None:
    """`source.open_file(path)` where the source has it, else None; unreadable → None."""
    opener = getattr(source, "open_file", None)
    if opener is None:
        return None
    try:
        result: IO[bytes] | None = opener(path)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    return result


def open_source(spec: SourceSpec, base_dir: Path | None = None) -> Source:
    """The connector for `spec.kind`; relative paths resolve against `base_dir`."""
    if spec.kind == "close" and spec.path:
        from shared.sources.close.export import CloseExport

        path = Path(spec.path)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        users = Path(spec.users_path) if spec.users_path else None
        if users is not None and not users.is_absolute() and base_dir is not None:
            users = base_dir / users
        return CloseExport(path, users)
    if spec.kind == "close" and spec.api_url and spec.api_key:
        from shared.sources.close.api import CloseApi

        return CloseApi.from_spec(spec)
    if spec.kind in ("profi", "practice", "smartdesk") and spec.path:
        from shared.sources.exports import open_export

        path = Path(spec.path)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        return open_export(spec.kind, path, spec.columns)
    if spec.kind == "x2crm" and spec.api_url and spec.api_key:
        from shared.sources.x2crm import X2Client, X2CRMSource
        from shared.spec import resolve_secret

        if not spec.username:
            raise ConfigError("source.username is required for X2CRM (HTTP Basic: username + API key)")

        def _local(value: str | None) -> Path | None:
            if value is None:
                return None
            p = Path(value)
            return base_dir / p if not p.is_absolute() and base_dir is not None else p

        client = X2Client(spec.api_url, spec.username, resolve_secret(spec.api_key))
        return X2CRMSource(
            client, files_root=_local(spec.files_root), workflows_path=_local(spec.workflows_path)
        )
    raise ConfigError(
        f"source kind {spec.kind!r} with {'path' if spec.path else 'api_url'} is not supported yet"
    )
