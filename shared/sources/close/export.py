"""Close's JSON export (`POST export/lead/`, format json): an array of leads with nested
contacts, opportunities, tasks and activities, often gzipped.

The CSV export is refused: it silently drops every call, email, SMS and task (CLOSE-21).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from shared.errors import MalformedRow, SourceFormatRefused
from shared.sources._base import ExtractedRecord, SourceObject, SourceUser
from shared.sources._json_stream import JsonStreamError, iter_json_array
from shared.sources.close.dates import parse_close_datetime

SOURCE = "close"

OBJECTS: list[SourceObject] = [
    SourceObject("leads", "id", "date_updated"),
    SourceObject("contacts", "id", "date_updated", parent="leads"),
    SourceObject("opportunities", "id", "date_updated", parent="leads"),
    SourceObject("tasks", "id", "date_updated", parent="leads"),
    SourceObject("activities", "id", "date_updated", parent="leads"),
]
_NESTED = {
    "contacts": "contacts",
    "opportunities": "opportunities",
    "tasks": "tasks",
    "activities": "activities",
}


class CloseExport:
    """Reads a Close JSON export file (plain or gzip) in one streaming pass."""

    name = SOURCE

    def __init__(self, path: Path, users_path: Path | None = None) -> None:
        self.path = path
        self.users_path = users_path or path.with_name("users.json")

    def objects(self) -> list[SourceObject]:
        return list(OBJECTS)

    def read(self, since: datetime | None = None) -> Iterator[ExtractedRecord]:
        with self._open() as stream:
            try:
                for n, lead in enumerate(iter_json_array(stream)):
                    yield from self._split_lead(n, lead, since)
            except JsonStreamError as exc:
                raise SourceFormatRefused(f"{self.path.name} is not a Close JSON export: {exc}") from None
            except UnicodeDecodeError:
                raise SourceFormatRefused(
                    f"{self.path.name} is not UTF-8 JSON (a Close JSON export)"
                ) from None

    def users(self) -> list[SourceUser]:
        """Close users (the `GET user/` response saved beside the export)."""
        if not self.users_path.exists():
            return []
        data = json.loads(self.users_path.read_text(encoding="utf-8"))
        rows = data.get("data", data) if isinstance(data, dict) else data
        return [
            SourceUser(u["id"], (u.get("email") or "").strip().lower() or None, _full_name(u))
            for u in rows
            if isinstance(u, dict) and u.get("id")
        ]

    def _open(self) -> IO[str]:
        if not self.path.exists():
            raise SourceFormatRefused(f"export file {self.path} does not exist")
        with self.path.open("rb") as raw:
            gzipped = raw.read(2) == b"\x1f\x8b"
        text: IO[str] = (
            gzip.open(self.path, "rt", encoding="utf-8-sig")  # noqa: SIM115 - returned open to the caller
            if gzipped
            else self.path.open("r", encoding="utf-8-sig")
        )
        try:
            probe = text.read(4096)
        except (UnicodeDecodeError, OSError, EOFError):
            text.close()
            raise SourceFormatRefused(f"{self.path.name} is not UTF-8 JSON (a Close JSON export)") from None
        if not probe.lstrip().startswith("["):
            text.close()
            raise SourceFormatRefused(
                f"{self.path.name} is not a Close JSON export (it looks like CSV or another format). "
                "Close's CSV export drops all activity history (calls, emails, SMS, tasks): "
                "export leads as JSON with include_activities=true, or use the API."
            )
        text.seek(0)
        return text

    def _split_lead(self, n: int, lead: Any, since: datetime | None) -> Iterator[ExtractedRecord]:
        if not isinstance(lead, dict) or not isinstance(lead.get("id"), str):
            sid = f"#{n}"
            yield ExtractedRecord(
                "leads",
                None,
                MalformedRow(
                    "lead is not an object with an id",
                    source=SOURCE,
                    object="leads",
                    source_id=sid,
                    field="id",
                ),
            )
            return
        lead_id = lead["id"]
        flat = {k: v for k, v in lead.items() if k not in _NESTED}
        if _changed(flat, since):
            yield ExtractedRecord("leads", flat)
        for obj, key in _NESTED.items():
            children = lead.get(key) or []
            if not isinstance(children, list):
                yield ExtractedRecord(
                    obj,
                    None,
                    MalformedRow(
                        f"{key} is not a list", source=SOURCE, object="leads", source_id=lead_id, field=key
                    ),
                )
                continue
            for i, child in enumerate(children):
                if not isinstance(child, dict) or not isinstance(child.get("id"), str):
                    yield ExtractedRecord(
                        obj,
                        None,
                        MalformedRow(
                            f"{obj} item {i} has no id",
                            source=SOURCE,
                            object=obj,
                            source_id=f"{lead_id}/{key}[{i}]",
                            field="id",
                        ),
                    )
                    continue
                child = {**child, "lead_id": child.get("lead_id") or lead_id}
                if _changed(child, since):
                    yield ExtractedRecord(obj, child)


def _changed(record: dict[str, Any], since: datetime | None) -> bool:
    """Delta rule: updated strictly after the watermark; no date_updated counts as changed."""
    if since is None:
        return True
    updated = parse_close_datetime(record.get("date_updated"))
    return updated is None or updated > since


def _full_name(user: dict[str, Any]) -> str | None:
    parts = [user.get("first_name"), user.get("last_name")]
    return " ".join(p for p in parts if p) or None
