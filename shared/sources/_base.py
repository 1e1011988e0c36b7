"""The connector interface every source implements, and the factory that picks one from a spec."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from shared.errors import ConfigError, MalformedRow
from shared.spec import SourceSpec


@dataclass(frozen=True)
class SourceObject:
    """An object as data (dlt resource hints): how its records are keyed and ordered."""

    name: str
    primary_key: str
    cursor_field: str | None = None
    parent: str | None = None


@dataclass(frozen=True)
class SourceUser:
    source_id: str
    email: str | None
    name: str | None = None


@dataclass(frozen=True)
class ExtractedRecord:
    """One record read from the source, or the MalformedRow error that stands for it."""

    object: str
    record: dict[str, Any] | None
    error: MalformedRow | None = None


class Source(Protocol):
    name: str

    def objects(self) -> list[SourceObject]: ...

    def read(self, since: datetime | None = None) -> Iterator[ExtractedRecord]:
        """Every record of every object (only those changed after `since`, when given)."""
        ...

    def users(self) -> list[SourceUser]: ...


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
    raise ConfigError(
        f"source kind {spec.kind!r} with {'path' if spec.path else 'api_url'} is not supported yet"
    )
