"""The X2CRM API v2 connector: every object read page by page, resumable, with discovery.

    source = X2CRMSource(X2Client(url, "admin", key), files_root=Path("/srv/x2"))
    for page in source.read("Contacts", since=watermark, checkpoint=saved):
        stage(page.records); save(page.checkpoint)

Record classes (`Contacts`, `Accounts`, `Opportunity`, `Actions`, `Product`, `Services`,
`Campaign`, `X2Leads`, `Media`) are read from `GET api2/{Class}` ordered by id; their values are
typed from `GET api2/{Class}/fields` (timestamps → ISO UTC, numeric strings → numbers, link
`nameId`s → `{"id", "name"}`, `assignedTo` → usernames). `tags` come from
`GET api2/{Class}/{id}/tags`, `relationships` from `GET api2/relationships`, and `users`,
`dropdowns`, `fields` from their endpoints. Objects without a cursor (`tags`, `relationships`,
`users`, `dropdowns`, `fields`) are read whole on a delta: their declared policy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from shared.errors import MalformedRow, SourceFormatRefused
from shared.sources._base import (
    Discovery,
    ExtractedRecord,
    FieldInfo,
    FieldType,
    InventoryItem,
    ObjectInfo,
    Page,
    Relationship,
    SourceObject,
    SourceUser,
)
from shared.sources.x2crm.client import X2Client
from shared.sources.x2crm.errors import SOURCE, RecordNotFound
from shared.sources.x2crm.paging import MAX_LIMIT, PagePaging
from shared.sources.x2crm.values import COMMON_FIELDS, X2_TYPES, parse_number

RECORD_CLASSES: tuple[str, ...] = (
    "Accounts",
    "Contacts",
    "X2Leads",
    "Opportunity",
    "Product",
    "Services",
    "Campaign",
    "Actions",
    "Media",
)
TAGGED_CLASSES: tuple[str, ...] = (
    "Accounts",
    "Contacts",
    "X2Leads",
    "Opportunity",
    "Product",
    "Services",
    "Campaign",
)
META_OBJECTS: tuple[str, ...] = ("tags", "relationships", "users", "dropdowns", "fields")

OBJECTS: list[SourceObject] = [
    *(SourceObject(c, "id", "lastUpdated") for c in RECORD_CLASSES),
    SourceObject("tags", "id"),
    SourceObject("relationships", "id"),
    SourceObject("users", "id"),
    SourceObject("dropdowns", "id"),
    SourceObject("fields", "id"),
]

# Attributes whose /fields entry is missing or untyped in a stock install (x2_actions, x2_media).
_CLASS_FIELDS: dict[str, dict[str, str]] = {
    "Actions": {
        "associationId": "id",
        "dueDate": "dateTime",
        "completeDate": "dateTime",
        "actionDescription": "text",
        "timeSpent": "int",
    },
    "Media": {"associationId": "id", "filesize": "int", "private": "boolean"},
    "Services": {"contactId": "link"},
}
META_TYPES: dict[str, dict[str, str]] = {
    "relationships": {"id": "id", "firstId": "id", "secondId": "id"},
    "users": {"id": "id", "status": "int", "createDate": "dateTime", "lastLogin": "dateTime"},
    "dropdowns": {"id": "id", "multi": "boolean", "parent": "id"},
    "fields": {
        "id": "id",
        "custom": "boolean",
        "modified": "boolean",
        "required": "boolean",
        "readOnly": "boolean",
    },
}

# X2 association types (module names, lower-case) → API class names.
ASSOCIATION_CLASSES: dict[str, str] = {
    "contacts": "Contacts",
    "accounts": "Accounts",
    "opportunities": "Opportunity",
    "x2Leads": "X2Leads",
    "services": "Services",
    "products": "Product",
    "marketing": "Campaign",
    "quotes": "Quote",
}

# X2Flow trigger class → the Power Automate trigger that replaces it.
_FLOW_TRIGGERS: dict[str, str] = {
    "RecordCreateTrigger": "Dataverse trigger 'When a row is added' on the mapped table",
    "RecordUpdateTrigger": "Dataverse trigger 'When a row is modified' on the mapped table",
    "RecordDeleteTrigger": "Dataverse trigger 'When a row is deleted' on the mapped table",
    "RecordTagAddTrigger": "Dataverse trigger 'When a row is modified' filtered on the tag column",
    "RecordTagRemoveTrigger": "Dataverse trigger 'When a row is modified' filtered on the tag column",
    "ActionCompleteTrigger": "Dataverse trigger 'When a row is modified' on task (statecode = Completed)",
    "ActionOverdueTrigger": "Scheduled cloud flow listing overdue tasks",
    "PeriodicTrigger": "Scheduled cloud flow (Recurrence trigger)",
    "WebleadTrigger": "Dynamics 365 marketing form or an HTTP-request flow creating a lead",
    "InboundEmailTrigger": "Outlook/Exchange 'When a new email arrives' flow",
    "OutboundEmailTrigger": "Dataverse trigger 'When a row is added' on email",
    "UserLoginTrigger": "No equivalent: review whether it is still needed",
}
_FLOW_DEFAULT = "Power Automate cloud flow, rebuilt by hand from the X2Flow definition"

DATAVERSE_DEFAULT_UPLOAD = 5_242_880


class X2CRMSource:
    """X2CRM through API v2 (X2-01 … X2-25): records, tags, relationships, users and metadata."""

    name = SOURCE

    def __init__(
        self,
        client: X2Client,
        *,
        page_size: int = MAX_LIMIT,
        files_root: Path | None = None,
        workflows_path: Path | None = None,
    ) -> None:
        self.client = client
        self.page_size = page_size
        self.files_root = files_root
        self.workflows_path = workflows_path
        self._field_rows: dict[str, list[dict[str, Any]]] = {}

    # -- the interface -------------------------------------------------------------------------

    def objects(self) -> list[SourceObject]:
        return list(OBJECTS)

    def read(
        self, object: str, *, since: datetime | None = None, checkpoint: dict[str, Any] | None = None
    ) -> Iterator[Page]:
        if object in RECORD_CLASSES:
            yield from self._read_class(object, since, checkpoint)
        elif object == "tags":
            yield from self._read_tags(checkpoint)
        elif object in ("relationships", "users", "dropdowns"):
            yield from self._read_list(object, object, checkpoint)
        elif object == "fields":
            yield from self._read_fields(checkpoint)
        else:
            raise ValueError(f"X2CRM has no object {object!r}")

    def users(self) -> list[SourceUser]:
        """X2 users keyed by username (what `assignedTo` holds); status 0 = left the company."""
        out = []
        for page in self._read_list("users", "users", None):
            for rec in page.records:
                u = rec.record or {}
                if not u.get("username"):
                    continue
                name = u.get("fullName") or " ".join(p for p in (u.get("firstName"), u.get("lastName")) if p)
                email = (u.get("emailAddress") or "").strip().lower() or None
                status = u.get("status")
                out.append(SourceUser(str(u["username"]), email, name or None, status != 0))
        return out

    def close(self) -> None:
        self.client.close()

    # -- record classes ------------------------------------------------------------------------

    def _read_class(
        self, cls: str, since: datetime | None, checkpoint: dict[str, Any] | None
    ) -> Iterator[Page]:
        types = self._types(cls)
        filters: dict[str, str | int] = {}
        if since is not None:
            filters["lastUpdated"] = f">{int(since.timestamp())}"
        paging = PagePaging.resume(checkpoint, self.page_size)
        while not paging.done:
            rows = self._rows(cls, {**filters, **paging.params()})
            fresh = paging.accept(rows)
            if fresh:
                yield Page(cls, [self._record(cls, r, types) for r in fresh], paging.checkpoint())

    def _rows(self, path: str, params: dict[str, str | int]) -> list[dict[str, Any]]:
        rows = self.client.get(path, params)
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise SourceFormatRefused(f"X2CRM GET {path} did not answer a JSON array of records")
        return rows

    def _record(self, obj: str, row: dict[str, Any], types: dict[str, str]) -> ExtractedRecord:
        if row.get("id") in (None, ""):
            return ExtractedRecord(
                obj, None, MalformedRow("record has no id", source=SOURCE, object=obj, field="id")
            )
        record = normalise(row, types)
        if obj == "Media" and self.files_root is not None:
            found = media_path(self.files_root, record)
            if found is not None:  # X2-17/18: extraction copies it into staging from here
                record["_file"] = {
                    "path": found.relative_to(self.files_root).as_posix(),
                    "size": found.stat().st_size,
                }
        return ExtractedRecord(obj, record)

    def open_file(self, path: str) -> IO[bytes] | None:
        """A Media file under `files_root` (the path `_file.path` gave), never one outside it."""
        if self.files_root is None:
            return None
        root = self.files_root.resolve()
        target = (root / path).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            return None
        return target.open("rb")

    def _types(self, cls: str) -> dict[str, str]:
        return types_for(cls, self._fields_of(cls))

    def _fields_of(self, cls: str) -> list[dict[str, Any]]:
        if cls not in self._field_rows:
            try:
                rows = self.client.get(f"{cls}/fields")
            except RecordNotFound:
                rows = []
            self._field_rows[cls] = [r for r in rows or [] if isinstance(r, dict)]
        return self._field_rows[cls]

    # -- tags, relationships, users, dropdowns, fields -----------------------------------------

    def _read_tags(self, checkpoint: dict[str, Any] | None) -> Iterator[Page]:
        start = TAGGED_CLASSES.index(checkpoint["class"]) if checkpoint and checkpoint.get("class") else 0
        for i, cls in enumerate(TAGGED_CLASSES[start:], start):
            paging = PagePaging.resume(checkpoint if i == start else None, self.page_size)
            while not paging.done:
                fresh = paging.accept(self._rows(cls, paging.params()))
                if not fresh:
                    continue
                records: list[ExtractedRecord] = []
                for row in fresh:
                    item = str(row["id"])
                    try:
                        tags = self.client.get(f"{cls}/{item}/tags")
                    except RecordNotFound:
                        continue  # deleted since it was listed
                    for tag in tags or []:
                        records.append(
                            ExtractedRecord(
                                "tags",
                                {"id": f"{cls}/{item}/{tag}", "type": cls, "itemId": item, "tag": tag},
                            )
                        )
                yield Page("tags", records, {"class": cls, **paging.checkpoint()})

    def _read_list(self, obj: str, path: str, checkpoint: dict[str, Any] | None) -> Iterator[Page]:
        types = META_TYPES.get(obj, {"id": "id"})
        paging = PagePaging.resume(checkpoint, self.page_size)
        while not paging.done:
            fresh = paging.accept(self._rows(path, paging.params()))
            if fresh:
                yield Page(obj, [self._record(obj, r, types) for r in fresh], paging.checkpoint())

    def _read_fields(self, checkpoint: dict[str, Any] | None) -> Iterator[Page]:
        done = set(checkpoint.get("classes", [])) if checkpoint else set()
        for cls in RECORD_CLASSES:
            if cls in done:
                continue
            rows = [r for r in self._fields_of(cls) if r.get("fieldName")]
            records = [
                ExtractedRecord("fields", normalise({"id": f"{cls}.{r['fieldName']}", **r}, {}))
                if r.get("id") in (None, "")
                else ExtractedRecord("fields", normalise(r, META_TYPES["fields"]))
                for r in rows
            ]
            done.add(cls)
            yield Page("fields", records, {"classes": sorted(done)})

    # -- discovery -----------------------------------------------------------------------------

    def discover(self, sample_size: int = 200) -> Discovery:
        """Counts (`{Class}/count`), typed fields (`/fields` + a sample), link relationships, and
        what does not migrate as data (X2-19, X2-21), each with what to rebuild it as."""
        objects: list[ObjectInfo] = []
        relationships: list[Relationship] = []
        warnings: list[str] = []
        dropdowns = self._dropdown_options()
        for cls in RECORD_CLASSES:
            count = parse_number(self.client.get(f"{cls}/count"), integer=True) or 0
            sample = self._rows(cls, {"_limit": max(1, min(sample_size, MAX_LIMIT)), "_order": "+id"})
            fields = self._field_infos(cls, sample, dropdowns, warnings)
            objects.append(ObjectInfo(cls, int(count), fields))
            relationships += [
                Relationship(cls, f.name, f.references) for f in fields if f.references is not None
            ]
        relationships += [Relationship("Actions", "associationId", c) for c in ASSOCIATION_CLASSES.values()]
        relationships += [Relationship("tags", "itemId", c) for c in TAGGED_CLASSES]
        for obj in ("relationships", "users", "dropdowns"):
            rows = [r.record for p in self._read_list(obj, obj, None) for r in p.records if r.record]
            objects.append(ObjectInfo(obj, len(rows), _sample_fields(rows[:sample_size])))
        rows = [r.record for p in self._read_fields(None) for r in p.records if r.record]
        objects.append(ObjectInfo("fields", len(rows), _sample_fields(rows[:sample_size])))
        tag = {"id": "Contacts/1/#tag", "type": "Contacts", "itemId": "1", "tag": "#tag"}
        objects.append(ObjectInfo("tags", self._count_tags(), _sample_fields([tag])))
        inventory = [self._edition(), *self._workflows(), *self._templates(), *self._campaign_sends()]
        inventory += self._reports()
        inventory += self._file_store(warnings)
        return Discovery(SOURCE, objects, relationships, inventory, warnings)

    def _dropdown_options(self) -> dict[str, tuple[str, list[str]]]:
        out: dict[str, tuple[str, list[str]]] = {}
        for page in self._read_list("dropdowns", "dropdowns", None):
            for rec in page.records:
                d = rec.record or {}
                options = d.get("options")
                labels = list(options.keys()) if isinstance(options, dict) else []
                out[str(d.get("id"))] = (str(d.get("name") or ""), labels)
        return out

    def _field_infos(
        self,
        cls: str,
        sample: list[dict[str, Any]],
        dropdowns: dict[str, tuple[str, list[str]]],
        warnings: list[str],
    ) -> list[FieldInfo]:
        meta = {str(f["fieldName"]): f for f in self._fields_of(cls) if f.get("fieldName")}
        types = self._types(cls)
        names = list(dict.fromkeys([*meta, *(k for r in sample for k in r)]))
        out = []
        for name in names:
            f = meta.get(name, {})
            x2type = types.get(name)
            ftype: FieldType = X2_TYPES[x2type][0] if x2type in X2_TYPES else _infer(sample, name)
            values = [r.get(name) for r in sample if r.get(name) not in (None, "")]
            link = f.get("linkType")
            options: list[str] = []
            references = None
            if x2type == "link" and link:
                references = str(link)
            elif name == "contactId" and cls == "Services":
                references = "Contacts"
            if x2type == "dropdown" and link is not None and str(link) in dropdowns:
                dd_name, options = dropdowns[str(link)]
                outside = {str(v) for v in values} - set(options)
                if outside:
                    warnings.append(
                        f"{cls}.{name}: {len(outside)} sampled value(s) are not options of the "
                        f"'{dd_name}' dropdown (map them or add options before loading)"
                    )
            out.append(
                FieldInfo(
                    name,
                    ftype,
                    filled=len(values),
                    samples=list(dict.fromkeys(str(v)[:60] for v in values))[:3],
                    custom=bool(parse_number(f.get("custom")) or 0) or name.startswith("c_"),
                    label=f.get("attributeLabel"),
                    options=options,
                    references=references,
                )
            )
        return out

    def _count_tags(self) -> int:
        """Tag rows in the system: `GET api2/tags` lists every tag name, paged."""
        total, page = 0, PagePaging(limit=MAX_LIMIT)
        previous: list[Any] | None = None
        while True:
            names = self.client.get("tags", {"_page": page.page, "_limit": page.limit})
            if not isinstance(names, list) or not names or names == previous:
                return total
            total += len(names)
            if len(names) < page.limit:
                return total
            previous, page.page = names, page.page + 1

    def _edition(self) -> InventoryItem:
        info = self.client.get("appInfo") or {}
        edition = str(info.get("edition") or "unknown") if isinstance(info, dict) else "unknown"
        version = str(info.get("version") or "?") if isinstance(info, dict) else "?"
        return InventoryItem(
            "other",
            "X2CRM edition",
            f"X2CRM {version}, {edition} edition (rate limiting exists only where configured, Platinum)",
            "Benchmark export throughput against this instance before the cutover sync (X2-22).",
        )

    def _workflows(self) -> list[InventoryItem]:
        if self.workflows_path is None:
            return [
                InventoryItem(
                    "workflow",
                    "X2Flow workflows",
                    "X2Flow automations are not exposed by API v2 and do not export as data.",
                    "Export the workflow definitions (X2Flow admin page, or the x2_flows table) and "
                    "give them as source.workflows_path; each becomes a Power Automate cloud flow "
                    "in the Workflow Reconstruction Document (X2-21).",
                )
            ]
        try:
            flows = json.loads(self.workflows_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SourceFormatRefused(
                f"workflows export {self.workflows_path.name} is not readable JSON ({type(exc).__name__})"
            ) from None
        if isinstance(flows, dict):
            flows = flows.get("flows", [])
        items = []
        for flow in flows if isinstance(flows, list) else []:
            if not isinstance(flow, dict):
                continue
            trigger = str(flow.get("triggerType") or "")
            active = str(flow.get("active", 1)) not in ("0", "False", "false")
            detail = f"trigger {trigger or 'unknown'} on {flow.get('modelClass') or 'any record'}"
            items.append(
                InventoryItem(
                    "workflow",
                    str(flow.get("name") or f"flow {flow.get('id')}"),
                    detail + ("" if active else " (inactive)"),
                    "Power Automate: " + _FLOW_TRIGGERS.get(trigger, _FLOW_DEFAULT),
                )
            )
        return items

    def _templates(self) -> list[InventoryItem]:
        """Email and quote templates are Docs records of type email/quote."""
        items = []
        for kind in ("email", "quote"):
            try:
                docs = self._rows("Docs", {"type": kind, "_limit": MAX_LIMIT})
            except RecordNotFound:
                docs = []
            for d in docs:
                items.append(
                    InventoryItem(
                        "email_template",
                        str(d.get("name") or f"Docs {d.get('id')}"),
                        f"{kind} template (Docs id {d.get('id')})",
                        "Recreate as a Dynamics 365 email template; merge fields ({firstName}…) "
                        "become dynamic text.",
                    )
                )
        return items

    def _campaign_sends(self) -> list[InventoryItem]:
        items = []
        for page in self._read_class("Campaign", None, None):
            for rec in page.records:
                c = rec.record or {}
                if not c.get("content") and not c.get("subject"):
                    continue
                items.append(
                    InventoryItem(
                        "campaign_send",
                        str(c.get("name") or f"Campaign {c.get('id')}"),
                        f"{c.get('type') or 'campaign'} send content ({len(str(c.get('content') or ''))} "
                        "characters of HTML)",
                        "Static HTML on the campaign when the org has marketing capabilities, else "
                        "rebuild in Customer Insights - Journeys (X2-12).",
                    )
                )
        return items

    def _reports(self) -> list[InventoryItem]:
        return [
            InventoryItem(
                "report",
                "X2CRM reports and dashboards",
                "Reports (grid, summary, rows-and-columns, charts) are not exposed by API v2.",
                "List them with the customer's admin and rebuild as Dynamics 365 views, charts and "
                "dashboards or Power BI reports (X2-21).",
            )
        ]

    def _file_store(self, warnings: list[str]) -> list[InventoryItem]:
        """Attachments (Media) on the server's disk (X2-18): inventoried, checked when reachable."""
        media = [r.record for p in self._read_class("Media", None, None) for r in p.records if r.record]
        if self.files_root is None:
            return [
                InventoryItem(
                    "file_store",
                    "Media uploads on the X2CRM server",
                    f"{len(media)} file(s) listed by the API; the files sit in uploads/protected/media "
                    "on the server's disk and are not downloadable through API v2.",
                    "Arrange access to the upload directory with the customer's IT (SSH or admin "
                    "panel) and set source.files_root (X2-18).",
                )
            ]
        present = missing = large = 0
        size = 0
        for m in media:
            path = media_path(self.files_root, m)
            if path is None:
                missing += 1
                continue
            present += 1
            n = path.stat().st_size
            size += n
            large += n > DATAVERSE_DEFAULT_UPLOAD
        if missing:
            warnings.append(f"Media: {missing} file(s) listed by the API are missing under files_root")
        return [
            InventoryItem(
                "file_store",
                "Media uploads on the X2CRM server",
                f"{present} of {len(media)} file(s) found under files_root ({size} bytes); {missing} "
                f"missing; {large} over the default 5 MB Dataverse attachment limit.",
                "Upload as notes with files on the parent record (X2-17); raise the org's maximum "
                "upload size or keep the large ones outside Dataverse.",
            )
        ]


def media_path(root: Path, media: dict[str, Any]) -> Path | None:
    """Where X2CRM keeps a Media file (Media::getFilePath): the new layout, then the old one."""
    name = str(media.get("fileName") or "")
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    owner = str(media.get("uploadedBy") or "")
    candidates = [root / "uploads" / "protected" / name]
    if owner and "/" not in owner and not owner.startswith("."):
        candidates.insert(0, root / "uploads" / "protected" / "media" / owner / name)
    return next((p for p in candidates if p.is_file()), None)


def types_for(cls: str, field_rows: list[dict[str, Any]]) -> dict[str, str]:
    """Attribute → X2 type for one class, from its `/fields` rows plus the stock gaps."""
    types = dict(COMMON_FIELDS)
    for f in field_rows:
        if f.get("fieldName") and f.get("type"):
            types[str(f["fieldName"])] = str(f["type"])
    types.update(_CLASS_FIELDS.get(cls, {}))
    types["id"] = "id"  # /fields says varchar; ids are kept as strings whichever way they came
    return types


def normalise(row: dict[str, Any], types: dict[str, str]) -> dict[str, Any]:
    """Type every known attribute through the X2 type table; unknown ones pass unchanged.

    A value that does not convert (a non-numeric "currency") is kept as sent, so the mapping step
    quarantines that record naming the field.
    """
    out: dict[str, Any] = {}
    for key, value in row.items():
        x2type = types.get(key)
        entry = X2_TYPES.get(x2type) if x2type is not None else None
        if entry is None:
            out[key] = value
            continue
        try:
            out[key] = entry[1](value)
        except (ValueError, TypeError, OverflowError, OSError):
            out[key] = value
    return out


def _sample_fields(rows: list[dict[str, Any]]) -> list[FieldInfo]:
    """Fields of an object without /fields metadata, typed from its records."""
    names = list(dict.fromkeys(k for r in rows for k in r))
    return [
        FieldInfo(
            n,
            _infer(rows, n),
            filled=sum(1 for r in rows if r.get(n) not in (None, "")),
            samples=list(dict.fromkeys(str(r[n])[:60] for r in rows if r.get(n) not in (None, "")))[:3],
        )
        for n in names
    ]


def _infer(sample: list[dict[str, Any]], name: str) -> FieldType:
    values = [r.get(name) for r in sample if r.get(name) not in (None, "")]
    if not values:
        return "unknown"
    if all(isinstance(v, bool) for v in values):
        return "boolean"
    if all(isinstance(v, int) for v in values):
        return "integer"
    if all(isinstance(v, int | float) for v in values):
        return "decimal"
    if all(isinstance(v, list) for v in values):
        return "list"
    if all(isinstance(v, dict) for v in values):
        return "object"
    if any(isinstance(v, str) and len(v) > 255 for v in values):
        return "text"
    return "string"
