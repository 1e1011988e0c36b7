"""Close's JSON export (`POST export/lead/`, format json): an array of leads with nested
contacts, opportunities, tasks and activities, often gzipped.

Each object is read page by page (a page = the records of `page_leads` consecutive leads); the
checkpoint is the position in the lead array (`{"lead": n}`: leads before n are done), so an
interrupted read resumes at the next lead. The CSV export is refused: it silently drops every call,
email, SMS and task (CLOSE-21).

    export = CloseExport(Path("export.json.gz"))
    for page in export.read("contacts", since=None, checkpoint=None): ...
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from shared.errors import ConfigError, MalformedRow, SourceFormatRefused
from shared.sources._base import (
    Discovery,
    ExtractedRecord,
    ObjectInfo,
    Page,
    SourceObject,
    SourceUser,
)
from shared.sources._discover import FieldProfiler
from shared.sources._json_stream import JsonStreamError, iter_json_array
from shared.sources.close import inventory
from shared.sources.close.dates import parse_close_datetime

SOURCE = "close"

OBJECTS: list[SourceObject] = [
    SourceObject("leads", "id", "date_updated"),
    SourceObject("contacts", "id", "date_updated", parent="leads"),
    SourceObject("opportunities", "id", "date_updated", parent="leads"),
    SourceObject("tasks", "id", "date_updated", parent="leads"),
    SourceObject("activities", "id", "date_updated", parent="leads"),
]
NESTED = ("contacts", "opportunities", "tasks", "activities")
PAGE_LEADS = 100


class CloseExport:
    """Reads a Close JSON export file (plain or gzip), streaming, one object at a time."""

    name = SOURCE

    def __init__(self, path: Path, users_path: Path | None = None, *, page_leads: int = PAGE_LEADS) -> None:
        self.path = path
        self.users_path = users_path or path.with_name("users.json")
        self.page_leads = page_leads

    def objects(self) -> list[SourceObject]:
        return list(OBJECTS)

    def read(
        self, object: str, *, since: datetime | None = None, checkpoint: dict[str, Any] | None = None
    ) -> Iterator[Page]:
        if object not in {o.name for o in OBJECTS}:
            raise ConfigError(f"the Close export has no object {object!r}")
        start = int((checkpoint or {}).get("lead", 0))
        batch: list[ExtractedRecord] = []
        position = start
        for n, lead in self._leads():
            if n < start:
                continue
            batch.extend(_records_of(object, n, lead, since))
            position = n + 1
            if (position - start) % self.page_leads == 0:
                yield Page(object, batch, {"lead": position})
                batch = []
        yield Page(object, batch, {"lead": position, "done": True})

    def discover(self, sample_size: int = 200) -> Discovery:
        counts: Counter[str] = Counter()
        profiles = {o.name: FieldProfiler(sample_size) for o in OBJECTS}
        custom_types: dict[str, dict[str, Any]] = {}
        activity_types: Counter[str] = Counter()
        for n, lead in self._leads():
            for obj in profiles:
                for rec in _records_of(obj, n, lead, None):
                    counts[obj] += 1
                    if rec.record is None:
                        continue
                    profiles[obj].add(rec.record)
                    if obj == "activities":
                        activity_types[str(rec.record.get("_type"))] += 1
                        type_id = rec.record.get("custom_activity_type_id")
                        if type_id:
                            custom_types.setdefault(str(type_id), {"id": type_id, "name": type_id})
        objects = [
            ObjectInfo(
                o.name,
                counts[o.name],
                profiles[o.name].fields(
                    custom=lambda f: f.startswith("custom"), references=inventory.REFERENCES.get(o.name)
                ),
            )
            for o in OBJECTS
        ]
        items = inventory.custom_activity_types(list(custom_types.values()))
        items.append(
            inventory.item(
                "other",
                "Workflows, smart views, email templates, integrations",
                "not in a lead export: list them with the API connector (api_url + api_key) or from Close's "
                "settings pages",
            )
        )
        warnings = [f"activities by type: {dict(sorted(activity_types.items()))}"] if activity_types else []
        return Discovery(
            SOURCE, objects, relationships=list(inventory.RELATIONSHIPS), inventory=items, warnings=warnings
        )

    def users(self) -> list[SourceUser]:
        """Close users (the `GET user/` response saved beside the export)."""
        if not self.users_path.exists():
            return []
        data = json.loads(self.users_path.read_text(encoding="utf-8"))
        rows = data.get("data", data) if isinstance(data, dict) else data
        return [user_of(u) for u in rows if isinstance(u, dict) and u.get("id")]

    def close(self) -> None:
        return None

    def _leads(self) -> Iterator[tuple[int, Any]]:
        with self._open() as stream:
            try:
                yield from enumerate(iter_json_array(stream))
            except JsonStreamError as exc:
                raise SourceFormatRefused(f"{self.path.name} is not a Close JSON export: {exc}") from None
            except UnicodeDecodeError:
                raise SourceFormatRefused(
                    f"{self.path.name} is not UTF-8 JSON (a Close JSON export)"
                ) from None

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


def user_of(u: dict[str, Any]) -> SourceUser:
    parts = [u.get("first_name"), u.get("last_name")]
    return SourceUser(
        u["id"],
        (u.get("email") or "").strip().lower() or None,
        " ".join(p for p in parts if p) or None,
        active=u.get("is_active", True) is not False,
    )


def _records_of(object: str, n: int, lead: Any, since: datetime | None) -> Iterator[ExtractedRecord]:
    """The records of one object held by one lead of the array (a malformed lead counts once,
    under leads)."""
    if not isinstance(lead, dict) or not isinstance(lead.get("id"), str):
        if object == "leads":
            yield ExtractedRecord(
                "leads",
                None,
                MalformedRow(
                    "lead is not an object with an id",
                    source=SOURCE,
                    object="leads",
                    source_id=f"#{n}",
                    field="id",
                ),
            )
        return
    lead_id = lead["id"]
    if object == "leads":
        flat = {k: v for k, v in lead.items() if k not in NESTED}
        if changed(flat, since):
            yield ExtractedRecord("leads", flat)
        return
    yield from split_children(object, lead_id, lead.get(object), since)


def split_children(
    object: str, lead_id: str, children: Any, since: datetime | None
) -> Iterator[ExtractedRecord]:
    """A lead's nested list as records carrying `lead_id`; malformed items as MalformedRow."""
    if children is None:
        return
    if not isinstance(children, list):
        yield ExtractedRecord(
            object,
            None,
            MalformedRow(
                f"{object} is not a list", source=SOURCE, object="leads", source_id=lead_id, field=object
            ),
        )
        return
    for i, child in enumerate(children):
        if not isinstance(child, dict) or not isinstance(child.get("id"), str):
            yield ExtractedRecord(
                object,
                None,
                MalformedRow(
                    f"{object} item {i} has no id",
                    source=SOURCE,
                    object=object,
                    source_id=f"{lead_id}/{object}[{i}]",
                    field="id",
                ),
            )
            continue
        child = {**child, "lead_id": child.get("lead_id") or lead_id}
        if changed(child, since):
            yield ExtractedRecord(object, child)


def changed(record: dict[str, Any], since: datetime | None) -> bool:
    """Delta rule: updated strictly after the watermark; no date_updated counts as changed."""
    if since is None:
        return True
    updated = parse_close_datetime(record.get("date_updated"))
    return updated is None or updated > since
