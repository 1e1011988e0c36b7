"""The Close API mock's behaviour, free of HTTP plumbing: `CloseMock.handle(method, path, headers,
body) -> Reply`. See README.md for what is faithful and what is lenient."""

from __future__ import annotations

import base64
import gzip
import itertools
import json
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

MAX_SKIP_TEXT = (
    "The skip you set is larger than the maximum skip for this resource (max_skip = {n}). "
    "Please refine your search query."
)
RATE_TEXT = "API call count exceeded for this period"
_NESTED = ("contacts", "opportunities", "tasks", "activities")
_SIMPLE = {
    "custom_activity": "custom_activity_types",
    "status/lead": "lead_statuses",
    "status/opportunity": "opportunity_statuses",
    "pipeline": "pipelines",
    "user": "users",
    "sequence": "sequences",
    "saved_search": "saved_searches",
    "email_template": "email_templates",
    "sms_template": "sms_templates",
    "webhook": "webhooks",
    "integration_link": "integration_links",
}
_LISTS = {"contact": "contacts", "opportunity": "opportunities", "task": "tasks", "activity": "activities"}
_QUERY = re.compile(r'(date_created|date_updated)\s*(>=|>|<=|<)\s*"([^"]+)"')
_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None


@dataclass
class MockConfig:
    api_keys: tuple[str, ...] = ("test-key",)
    rate_limit: int | None = None  # requests per rate_window per key and endpoint group; None = off
    rate_window: float = 1.0
    max_skip: int = 250_000
    max_limit: int = 100
    faults: str | None = None  # "503:0.05,502:0.02"
    fault_seed: int | None = None
    export_polls: int = 1  # GET export/{id}/ answers in_progress this many times before done


def _dt(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        d = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def _compare(value: Any, op: str, bound: datetime) -> bool:
    d = _dt(value)
    if d is None:
        return False
    return {">": d > bound, ">=": d >= bound, "<": d < bound, "<=": d <= bound}[op]


def parse_faults(spec: str | None) -> list[tuple[int, float]]:
    out = []
    for part in (spec or "").split(","):
        if part.strip():
            code, rate = part.split(":")
            out.append((int(code), float(rate)))
    return out


class CloseMock:
    def __init__(self, dataset: dict[str, Any], config: MockConfig | None = None) -> None:
        self.config = config or MockConfig()
        self.lock = threading.RLock()
        self.tables: dict[str, list[dict[str, Any]]] = {k: [] for k in (*_NESTED, "leads", *_SIMPLE.values())}
        self.custom_fields: dict[str, list[dict[str, Any]]] = dataset.get("custom_fields", {})
        self.events: list[dict[str, Any]] = []
        self.exports: dict[str, int] = {}
        self.export_bytes: bytes | None = None
        self._rnd = random.Random(self.config.fault_seed)
        self._faults = parse_faults(self.config.faults)
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}
        self._ids = itertools.count(1)
        self.clock: Callable[[], float] = time.monotonic
        self.requests = 0
        leads = dataset.get("leads", [])
        for lead in leads:
            if not isinstance(lead, dict):
                continue
            self.tables["leads"].append({k: v for k, v in lead.items() if k not in _NESTED})
            for key in _NESTED:
                for child in lead.get(key) or []:
                    if isinstance(child, dict):
                        self.tables[key].append({**child, "lead_id": child.get("lead_id") or lead["id"]})
        for name in _SIMPLE.values():
            self.tables[name].extend(dataset.get(name, []))

    # --- test hooks ----------------------------------------------------------------------------

    def touch(self, object: str, record_id: str, when: str, **changes: Any) -> dict[str, Any]:
        """Edit a record as Close would: date_updated moves, an `updated` event is logged, and a
        contact's lead is bumped too."""
        with self.lock:
            rec = next(r for r in self.tables[object] if r.get("id") == record_id)
            rec.update(changes, date_updated=when)
            if object == "contacts":
                lead = next(r for r in self.tables["leads"] if r["id"] == rec["lead_id"])
                lead["date_updated"] = when
            kind = f"activity.{str(rec.get('_type', '')).lower()}" if object == "activities" else object[:-1]
            self.events.insert(
                0,
                {
                    "id": f"ev_{next(self._ids):08d}",
                    "object_type": kind,
                    "object_id": record_id,
                    "action": "updated",
                    "date_created": when,
                    "date_updated": when,
                    "lead_id": rec.get("lead_id"),
                    "data": dict(rec),
                },
            )
            return rec

    # --- dispatch ------------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: Any, body: bytes, base_url: str) -> Reply:
        url = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        path = url.path
        if path.startswith("/_download/"):
            return self._download(path.rsplit("/", 1)[-1])
        if not path.startswith("/api/v1/"):
            return Reply(404, {"error": "Not found"})
        rel = path[len("/api/v1/") :].strip("/")
        key = self._api_key(headers)
        if key is None:
            return Reply(401, {"error": "The API key is missing or invalid."})
        with self.lock:
            self.requests += 1
            group = f"{method} {re.sub(r'/[a-z]+_[A-Za-z0-9]+', '', '/' + rel)}"
            limited = self._rate(key, group)
            if limited is not None:
                return limited
            for code, rate in self._faults:
                if self._rnd.random() < rate:
                    return Reply(code, {"error": "Service temporarily unavailable"})
            reply = self._route(method, rel, query, body, base_url)
            reply.headers.update(self._ratelimit_headers(key, group))
            return reply

    def _api_key(self, headers: Any) -> str | None:
        auth = headers.get("Authorization") or ""
        if not auth.startswith("Basic "):
            return None
        try:
            user = base64.b64decode(auth[6:]).decode("utf-8").split(":", 1)[0]
        except ValueError:
            return None
        return user if user in self.config.api_keys else None

    def _rate(self, key: str, group: str) -> Reply | None:
        limit = self.config.rate_limit
        if not limit:
            return None
        now = self.clock()
        start, count = self._windows.get((key, group), (now, 0))
        if now - start >= self.config.rate_window:
            start, count = now, 0
        if count >= limit:
            reset = round(max(self.config.rate_window - (now - start), 0.001), 3)
            body = {
                "error": {
                    "message": RATE_TEXT,
                    "rate_reset": reset,
                    "rate_limit": limit,
                    "rate_window": self.config.rate_window,
                    "rate_limit_type": "key",
                }
            }
            headers = {
                "RateLimit": f"limit={limit}, remaining=0, reset={reset}",
                "Retry-After": str(int(reset) + 1),
            }
            return Reply(429, body, headers)
        self._windows[(key, group)] = (start, count + 1)
        return None

    def _ratelimit_headers(self, key: str, group: str) -> dict[str, str]:
        limit = self.config.rate_limit
        if not limit:
            return {}
        start, count = self._windows[(key, group)]
        reset = round(max(self.config.rate_window - (self.clock() - start), 0.001), 3)
        return {"RateLimit": f"limit={limit}, remaining={max(limit - count, 0)}, reset={reset}"}

    def _route(self, method: str, rel: str, q: dict[str, str], body: bytes, base_url: str) -> Reply:
        parts = rel.split("/")
        if method == "POST" and rel == "export/lead":
            return self._start_export(body)
        if method != "GET":
            return Reply(405, {"error": "Method not allowed"})
        if parts[0] == "export" and len(parts) == 2:
            return self._export_status(parts[1], base_url)
        if rel == "lead":
            return self._list(self._leads(q), q, total=True)
        if parts[0] == "lead" and len(parts) == 2:
            lead = next((x for x in self.tables["leads"] if x["id"] == parts[1]), None)
            return Reply(200, self._embed(lead)) if lead else Reply(404, {"error": "Not found"})
        if rel == "event":
            return self._event_list(q)
        if parts[0] == "custom_field" and len(parts) == 2:
            return self._list(list(self.custom_fields.get(parts[1], [])), q)
        if rel in _SIMPLE:
            return self._list(list(self.tables[_SIMPLE[rel]]), q)
        if parts[0] in _LISTS and len(parts) <= 2:
            rows = self.tables[_LISTS[parts[0]]]
            if parts[0] == "activity" and len(parts) == 2:
                kind = parts[1].replace("_", "")
                rows = [
                    r
                    for r in rows
                    if str(r.get("_type", "")).lower().replace("activity", "")
                    in (kind, kind.replace("custom", ""))
                ]
            return self._list(self._filter(rows, q), q)
        return Reply(404, {"error": "Not found"})

    # --- lists ---------------------------------------------------------------------------------

    def _filter(self, rows: list[dict[str, Any]], q: dict[str, str]) -> list[dict[str, Any]]:
        out = rows
        for name, value in q.items():
            base, _, op = name.rpartition("__")
            if op in _OPS and base in ("date_created", "date_updated", "activity_at"):
                bound = _dt(value)
                if bound is None:
                    raise _BadRequest(f"{name}: not a date")
                out = [r for r in out if _compare(r.get(base), _OPS[op], bound)]
            elif name in ("lead_id", "contact_id", "user_id", "_type"):
                out = [r for r in out if str(r.get(name)) == value]
        return out

    def _leads(self, q: dict[str, str]) -> list[dict[str, Any]]:
        rows = self.tables["leads"]
        for fld, op, value in _QUERY.findall(q.get("query", "")):
            bound = _dt(value)
            if bound is None:
                raise _BadRequest("query: not a date")
            rows = [r for r in rows if _compare(r.get(fld), op, bound)]
        return [self._embed(r) for r in rows]

    def _embed(self, lead: dict[str, Any]) -> dict[str, Any]:
        return {**lead, "contacts": [c for c in self.tables["contacts"] if c.get("lead_id") == lead["id"]]}

    def _list(self, rows: list[dict[str, Any]], q: dict[str, str], *, total: bool = False) -> Reply:
        try:
            skip, limit = int(q.get("_skip", 0)), int(q.get("_limit", 100))
        except ValueError:
            return Reply(
                400, {"error": "_skip and _limit must be integers", "errors": [], "field-errors": {}}
            )
        if skip > self.config.max_skip:
            return Reply(
                400, {"error": MAX_SKIP_TEXT.format(n=self.config.max_skip), "errors": [], "field-errors": {}}
            )
        limit = max(0, min(limit, self.config.max_limit))
        order = q.get("_order_by")
        if order:
            fld = order.lstrip("-")
            rows = sorted(
                rows,
                key=lambda r: (_dt(r.get(fld)) or datetime.min.replace(tzinfo=UTC), r.get("id", "")),
                reverse=order.startswith("-"),
            )
        page = rows[skip : skip + limit]
        if q.get("_fields"):
            keep = q["_fields"].split(",")
            page = [{k: r[k] for k in keep if k in r} for r in page]
        doc: dict[str, Any] = {"data": page, "has_more": skip + len(page) < len(rows)}
        if total:
            doc["total_results"] = len(rows)
        return Reply(200, doc)

    def _event_list(self, q: dict[str, str]) -> Reply:
        rows = self._filter(self.events, {k: v for k, v in q.items() if k.startswith("date_")})
        if q.get("action"):
            rows = [e for e in rows if e["action"] == q["action"]]
        if q.get("object_type"):
            rows = [e for e in rows if e["object_type"] == q["object_type"]]
        start = int(q["_cursor"]) if q.get("_cursor", "").isdigit() else 0
        limit = min(int(q.get("_limit", 50)), self.config.max_limit)
        page = rows[start : start + limit]
        nxt = str(start + limit) if start + limit < len(rows) else None
        return Reply(200, {"data": page, "cursor_next": nxt, "cursor_previous": None})

    # --- async export --------------------------------------------------------------------------

    def _start_export(self, body: bytes) -> Reply:
        try:
            doc = json.loads(body or b"{}")
        except ValueError:
            return Reply(400, {"error": "Invalid JSON"})
        export_id = f"expt_{next(self._ids):08d}"
        self.exports[export_id] = 0
        self._export_format = doc.get("format", "json")
        return Reply(200, {"id": export_id, "status": "created", "format": doc.get("format", "json")})

    def _export_status(self, export_id: str, base_url: str) -> Reply:
        if export_id not in self.exports:
            return Reply(404, {"error": "Not found"})
        self.exports[export_id] += 1
        if self.exports[export_id] <= self.config.export_polls:
            return Reply(200, {"id": export_id, "status": "in_progress"})
        return Reply(
            200, {"id": export_id, "status": "done", "download_url": f"{base_url}/_download/{export_id}"}
        )

    def _download(self, export_id: str) -> Reply:
        with self.lock:
            if export_id not in self.exports:
                return Reply(404, {"error": "Not found"})
            leads = []
            for lead in self.tables["leads"]:
                full = dict(lead)
                for key in _NESTED:
                    full[key] = [c for c in self.tables[key] if c.get("lead_id") == lead["id"]]
                leads.append(full)
        raw = gzip.compress(json.dumps(leads, ensure_ascii=False).encode("utf-8"), mtime=0)
        return Reply(200, raw=raw, headers={"Content-Type": "application/gzip"})


class _BadRequest(Exception):
    pass
