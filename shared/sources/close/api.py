"""Close REST API v1 connector: every object, paged and resumable, with deltas by the filters
Close offers per object.

    api = CloseApi.from_spec(spec.source)          # api_key is a ${ENV} reference
    for page in api.read("opportunities", since=watermark): ...

Delta (records changed strictly after `since`):
- leads: the lead search query `date_updated > "since"` (Close's query language, in `query=`);
- contacts: nested in leads (Close lists contacts with no date filter): the contacts of leads
  changed since, keeping those whose own `date_updated` is after it. A contact edit that does not
  bump its lead's `date_updated` would be missed; Close bumps it (the mock does too).
- opportunities, tasks: `date_updated__gt`;
- activities: `date_created__gt` for new ones, then the event log (`event/`, action `updated`,
  `date_updated__gt`) for edits of older ones — each event's `data` is the activity after the edit;
- statuses, pipelines, custom fields, custom activity types, users: small, re-read in full and
  kept when `date_updated` is after `since` (or when they have no date_updated: declared policy).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from shared.errors import ConfigError, IntactError
from shared.sources._base import (
    Discovery,
    ExtractedRecord,
    InventoryItem,
    ObjectInfo,
    Page,
    SourceObject,
    SourceUser,
)
from shared.sources._discover import FieldProfiler
from shared.sources.close import inventory
from shared.sources.close.client import CloseClient
from shared.sources.close.dates import parse_close_datetime
from shared.sources.close.errors import SourceRequestRefused
from shared.sources.close.export import SOURCE, split_children, user_of
from shared.sources.close.paging import CursorPaging, OffsetPaging
from shared.spec import SourceSpec, resolve_secret

CUSTOM_FIELD_KINDS = ("lead", "contact", "opportunity", "activity", "shared")

OBJECTS: list[SourceObject] = [
    SourceObject("leads", "id", "date_updated", sorted_by_cursor=True),
    SourceObject("contacts", "id", "date_updated", parent="leads"),
    SourceObject("opportunities", "id", "date_updated", sorted_by_cursor=True),
    SourceObject("tasks", "id", "date_updated", sorted_by_cursor=True),
    SourceObject("activities", "id", "date_updated"),
    SourceObject("custom_activity_types", "id", "date_updated"),
    SourceObject("custom_fields", "id", "date_updated"),
    SourceObject("lead_statuses", "id"),
    SourceObject("opportunity_statuses", "id"),
    SourceObject("pipelines", "id", "date_updated"),
    SourceObject("users", "id", "date_updated"),
]
_LISTS = {"opportunities": "opportunity/", "tasks": "task/", "activities": "activity/"}
_SMALL = {
    "custom_activity_types": ("custom_activity/",),
    "custom_fields": tuple(f"custom_field/{k}/" for k in CUSTOM_FIELD_KINDS),
    "lead_statuses": ("status/lead/",),
    "opportunity_statuses": ("status/opportunity/",),
    "pipelines": ("pipeline/",),
    "users": ("user/",),
}
# endpoint → (inventory kind, what it is); listed by discover(), never migrated as data
_INVENTORY: list[tuple[str, inventory.InventoryKind, str]] = [
    ("sequence/", "workflow", "Workflow (sequence)"),
    ("saved_search/", "smart_view", "Smart View"),
    ("email_template/", "email_template", "Email template"),
    ("sms_template/", "email_template", "SMS template"),
    ("webhook/", "integration", "Webhook subscription"),
    ("integration_link/", "integration", "Integration link"),
]


def _iso(since: datetime | None) -> str | None:
    return since.isoformat() if since else None


class CloseApi:
    name = SOURCE

    def __init__(self, client: CloseClient, *, page_size: int = 100) -> None:
        self.client = client
        self.page_size = page_size

    @classmethod
    def from_spec(cls, spec: SourceSpec, **client_kw: Any) -> CloseApi:
        if not spec.api_url or not spec.api_key:
            raise ConfigError("the Close API source needs source.api_url and source.api_key")
        return cls(CloseClient(spec.api_url, resolve_secret(spec.api_key), **client_kw))

    def objects(self) -> list[SourceObject]:
        return list(OBJECTS)

    def read(
        self, object: str, *, since: datetime | None = None, checkpoint: dict[str, Any] | None = None
    ) -> Iterator[Page]:
        if object in ("leads", "contacts"):
            yield from self._read_leads(object, since, checkpoint)
        elif object == "activities":
            yield from self._read_activities(since, checkpoint)
        elif object in _LISTS:
            yield from self._read_list(object, since, checkpoint)
        elif object in _SMALL:
            yield from self._read_small(object, since, checkpoint)
        else:
            raise ConfigError(f"the Close API has no object {object!r} in Intact")

    # --- the big lists -------------------------------------------------------------------------

    def _lead_pager(self, since: datetime | None) -> OffsetPaging:
        field = "date_updated" if since else "date_created"
        base = f'date_updated > "{_iso(since)}"' if since else ""

        def window(f: str, gte: str | None) -> dict[str, Any]:
            clauses = [c for c in (base, f'{f} >= "{gte}"' if gte else "") if c]
            return {"query": " ".join(clauses)} if clauses else {}

        return OffsetPaging(self.client, "lead/", field, limit=self.page_size, window_filter=window)

    def _read_leads(
        self, object: str, since: datetime | None, checkpoint: dict[str, Any] | None
    ) -> Iterator[Page]:
        for leads, cp in self._lead_pager(since).pages(checkpoint):
            records: list[ExtractedRecord] = []
            for lead in leads:
                lead_id = lead.get("id")
                if not isinstance(lead_id, str):
                    continue
                if object == "leads":
                    records.append(
                        ExtractedRecord("leads", {k: v for k, v in lead.items() if k not in _NESTED_IN_LEAD})
                    )
                else:
                    records.extend(split_children("contacts", lead_id, lead.get("contacts"), since))
            yield Page(object, records, cp)

    def _read_list(
        self, object: str, since: datetime | None, checkpoint: dict[str, Any] | None
    ) -> Iterator[Page]:
        params = {"date_updated__gt": _iso(since)} if since else {}
        pager = OffsetPaging(
            self.client,
            _LISTS[object],
            "date_updated" if since else "date_created",
            params=params,
            limit=self.page_size,
        )
        for rows, cp in pager.pages(checkpoint):
            yield Page(object, [ExtractedRecord(object, r) for r in rows if r.get("id")], cp)

    def _read_activities(self, since: datetime | None, checkpoint: dict[str, Any] | None) -> Iterator[Page]:
        cp = checkpoint or {}
        phase = cp.get("phase", "new")
        if phase == "new":
            params = {"date_created__gt": _iso(since)} if since else {}
            pager = OffsetPaging(
                self.client, "activity/", "date_created", params=params, limit=self.page_size
            )
            for rows, inner in pager.pages(cp.get("inner")):
                done = inner.get("done") and since is None
                yield Page(
                    "activities",
                    [ExtractedRecord("activities", r) for r in rows if r.get("id")],
                    {"phase": "new", "inner": inner, **({"done": True} if done else {})},
                )
            if since is None:
                return
            cp = {"phase": "edits"}
        assert since is not None
        seen: set[str] = set(cp.get("seen", []))
        events = CursorPaging(
            self.client,
            "event/",
            {"action": "updated", "date_updated__gt": _iso(since)},
            limit=self.page_size,
        )
        for rows, inner in events.pages(cp.get("inner")):
            records = []
            for event in rows:
                data = event.get("data")
                if not str(event.get("object_type", "")).startswith("activity") or not isinstance(data, dict):
                    continue
                created = parse_close_datetime(data.get("date_created"))
                if data.get("id") in seen or (created is not None and created > since):
                    continue  # newest edit first; activities created after `since` came in phase "new"
                seen.add(str(data.get("id")))
                records.append(ExtractedRecord("activities", data))
            yield Page(
                "activities",
                records,
                {
                    "phase": "edits",
                    "inner": inner,
                    "seen": sorted(seen),
                    **({"done": True} if inner.get("done") else {}),
                },
            )

    def _read_small(
        self, object: str, since: datetime | None, checkpoint: dict[str, Any] | None
    ) -> Iterator[Page]:
        if (checkpoint or {}).get("done"):
            return
        records: list[ExtractedRecord] = []
        for path in _SMALL[object]:
            for row in self._all(path):
                if object == "custom_fields":
                    row = {**row, "object_type": path.split("/")[1]}
                updated = parse_close_datetime(row.get("date_updated"))
                if since is None or updated is None or updated > since:
                    records.append(ExtractedRecord(object, row))
        yield Page(object, records, {"done": True})

    def _all(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every row of a small list (plain `_skip` paging, no date windows)."""
        skip = 0
        while True:
            body = self.client.get(path, {**(params or {}), "_skip": skip, "_limit": self.page_size})
            data = [r for r in body.get("data", []) if isinstance(r, dict)]
            yield from data
            skip += len(data)
            if not body.get("has_more") or not data:
                return

    # --- discover, users, export ---------------------------------------------------------------

    def discover(self, sample_size: int = 200) -> Discovery:
        objects: list[ObjectInfo] = []
        warnings: list[str] = []
        for obj in OBJECTS:
            profile = FieldProfiler(sample_size)
            count = 0
            for page in self.read(obj.name):
                for rec in page.records:
                    count += 1
                    if rec.record is not None:
                        profile.add(rec.record)
            fields = profile.fields(
                custom=lambda f: f.startswith("custom"), references=inventory.REFERENCES.get(obj.name)
            )
            objects.append(ObjectInfo(obj.name, count, fields))
        items: list[InventoryItem] = []
        types = list(self._all("custom_activity/"))
        items.extend(inventory.custom_activity_types(types))
        for path, kind, label in _INVENTORY:
            try:
                rows = list(self._all(path))
            except SourceRequestRefused:
                warnings.append(f"{path} could not be listed (plan or permissions): review it in Close")
                continue
            for row in rows:
                detail = ", ".join(
                    f"{k}: {row[k]}" for k in ("status", "query", "event", "url", "subject") if row.get(k)
                )
                items.append(inventory.item(kind, f"{label}: {row.get('name') or row.get('id')}", detail))
        return Discovery(
            SOURCE, objects, relationships=list(inventory.RELATIONSHIPS), inventory=items, warnings=warnings
        )

    def users(self) -> list[SourceUser]:
        return [user_of(u) for u in self._all("user/") if u.get("id")]

    def export_leads(self, dest: Path, *, poll_s: float = 1.0, max_polls: int = 600) -> Path:
        """Close's async export (JSON with activities): start, poll until done, download the gzip."""
        job = self.client.post(
            "export/lead/", {"format": "json", "type": "leads", "include_activities": True}
        )
        for _ in range(max_polls):
            state = self.client.get(f"export/{job['id']}/")
            if state.get("status") == "done" and state.get("download_url"):
                dest.write_bytes(self.client.download(state["download_url"]).content)
                return dest
            if state.get("status") in ("error", "failed"):
                raise SourceRequestRefused(f"Close export {job['id']} failed", status=500)
            self.client._sleep_for(poll_s)
        raise IntactError(f"Close export {job['id']} not done after {max_polls} polls")

    def close(self) -> None:
        self.client.close()


_NESTED_IN_LEAD = ("contacts", "opportunities", "tasks", "activities")
