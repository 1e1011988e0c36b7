"""X2CRM API v2 as Api2Controller answers it: URL rules, filters, actions and error bodies.

Filters run in the controller's order (Api2Controller::filters): available → restrictions (the
Platinum rate limit, before authentication) → authenticate (Basic: username or alias + userKey) →
methods (405) → contentType (415) → the action. Error bodies are ResponseUtil's envelope:
`{"httpHeaders": {…}, "reqHeaders": {…}, "message": …, "error": true, "status": N}`.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from emulators._common.faults import FaultDraw, parse_rates

from .store import CLASSES, MODULE_OF, SEARCH_PARAMS, SearchError, Store

REALM = 'Basic realm="X2Engine API v2"'
DROP = "drop"

# Api2Controller::methods()
METHODS = {
    "appInfo": "GET",
    "count": "GET",
    "dropdowns": "GET",
    "fieldPermissions": "GET",
    "fields": "GET",
    "hooks": "POST,DELETE",
    "model": "DELETE,GET,PATCH,POST,PUT",
    "models": "GET",
    "relationships": "DELETE,GET,PATCH,POST,PUT",
    "tags": "GET,POST,DELETE",
    "users": "GET",
}
_C = r"(?P<cls>[A-Z]\w*)"
# protected/config/main.php, the api2 URL rules in their order (hooks and weblead left out).
RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^(?P<assoc>[A-Z]\w*)/(?P<assocId>\d+)/Actions/(?P<id>\d+)\.json$"), "model"),
    (re.compile(r"^(?P<assoc>[A-Z]\w*)/(?P<assocId>\d+)/Actions$"), "model"),
    (re.compile(rf"^{_C}/(?P<id>\d+)/relationships/(?P<relatedId>\d+)\.json$"), "relationships"),
    (re.compile(rf"^{_C}/(?P<id>\d+)/tags/(?P<tagName>.+)\.json$"), "tags"),
    (re.compile(rf"^{_C}/fields/(?P<fieldName>\w+)\.json$"), "fields"),
    (re.compile(rf"^{_C}/by:(?P<findBy>.+)\.json$"), "model"),
    (re.compile(rf"^{_C}/count/by:(?P<findBy>.+)\.json$"), "count"),
    (re.compile(rf"^{_C}/(?P<id>\d+)\.json$"), "model"),
    (re.compile(rf"^{_C}$"), "model"),
    (re.compile(rf"^{_C}/(?P<id>\d+)/(?P<action>[a-z]\w*)$"), ""),
    (re.compile(rf"^{_C}/(?P<action>[a-z]\w*)(?:\.json)?$"), ""),
    (re.compile(rf"^tags/(?P<tags>[^/]+)/{_C}$"), "model"),
    (re.compile(r"^(?P<action>[a-z]\w*)/(?P<id>\d+)\.json$"), ""),
    (re.compile(r"^(?P<action>[a-z]\w*)(?:\.json)?$"), ""),
]
_PREFIXES = ("/index.php/api2/", "/api2/")
FAULT_KINDS = ("429", "500", "502", "503", "504", "drop")


@dataclass
class Response:
    status: int
    body: Any = None  # JSON value; None = empty
    headers: dict[str, str] = field(default_factory=dict)


class _Send(Exception):
    """Api2Controller::send: end the request with this status and message."""

    def __init__(self, status: int, message: str = "", **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra
        self.headers: dict[str, str] = {}


@dataclass
class MockConfig:
    rate_limit: int = 0  # maxRequests per rate_interval; 0 = off (the default, as in X2CRM)
    rate_interval: int = 60  # requestInterval seconds (also the Retry-After)
    faults: str | None = None  # "503:0.05,500:0.02,429:0.01,drop:0.01"
    fault_seed: int | None = None
    max_page_size: int = 1000


class X2Mock:
    def __init__(self, store: Store, config: MockConfig | None = None) -> None:
        self.store = store
        self.config = config or MockConfig()
        self._faults = FaultDraw(parse_rates(self.config.faults, FAULT_KINDS), self.config.fault_seed)
        self._lock = threading.Lock()
        self._rate: dict[str, tuple[int, float]] = {}  # client → (count, expiry)
        self.stats: Counter[str] = Counter()
        self.clock = time.monotonic  # tests share a fake clock with the client's sleep

    # -- entry ---------------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: Any, body: bytes, client: str) -> Response | str:
        parts = urlsplit(target)
        path = unquote(parts.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        with self._lock:
            self.stats["requests"] += 1
        if path.startswith("/_mock/"):
            return self._admin(method, path[len("/_mock/") :], body)
        fault = self._fault()
        if fault == DROP:
            return DROP
        req_headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        http_headers = {"Content-Type": "application/json; charset=utf-8"}
        try:
            if fault is not None:
                injected = _Send(int(fault), "Injected fault.")
                if fault == "429":
                    injected.headers["Retry-After"] = "1"
                raise injected
            prefix = next((p for p in _PREFIXES if path.startswith(p)), None)
            if prefix is None:
                raise _Send(404, f"Invalid URI: {target}")
            self._restrictions(client)
            self._authenticate(headers)
            action, params = self._route(path[len(prefix) :].rstrip("/"), target)
            params.update({k: v for k, v in query.items() if k not in params})
            allowed = METHODS.get(action)
            if allowed is None:
                raise _Send(404, f"Invalid URI: {target}")
            if method not in allowed.split(","):
                raise _Send(405, f'Action "{action}" does not support {method}.')
            ctype = headers.get("Content-Type")
            if ctype is not None and not ctype.startswith("application/json"):
                raise _Send(415)
            with self.store.lock:
                result = getattr(self, f"_a_{action}")(method, params, body)
            if isinstance(result, Response):
                return result
            return Response(200, result)
        except _Send as s:
            with self._lock:
                self.stats[f"status_{s.status}"] += 1
            headers_out = {**http_headers, **s.headers}
            envelope = {
                "httpHeaders": headers_out,
                "reqHeaders": req_headers,
                **s.extra,
                "message": s.message,
                "error": s.status >= 400,
                "status": s.status,
            }
            return Response(s.status, envelope, s.headers)

    def _fault(self) -> str | None:
        kind = self._faults.draw()
        if kind is not None:
            with self._lock:
                self.stats[f"fault_{kind}"] += 1
        return kind

    def _route(self, rest: str, target: str) -> tuple[str, dict[str, str]]:
        for pattern, action in RULES:
            m = pattern.match(rest)
            if m is None:
                continue
            groups = {k: v for k, v in m.groupdict().items() if v is not None}
            name = action or groups.pop("action", "")
            params = {
                "_" + k if k in ("cls", "id", "findBy", "relatedId", "tagName", "fieldName", "tags") else k: v
                for k, v in groups.items()
            }
            if "_cls" in params:
                params["_class"] = params.pop("_cls")
            if "assoc" in params:
                params["_class"] = "Actions"
                params["associationType"] = params.pop("assoc")
                params["associationId"] = params.pop("assocId")
            return name, params
        raise _Send(404, f"Invalid URI: {target}")

    # -- filters -------------------------------------------------------------------------------

    def _restrictions(self, client: str) -> None:
        """filterRestrictions: maxRequests per requestInterval, counted per client address. Each
        request re-arms the counter's expiry (the cache set), and the 429 carries Retry-After."""
        limit, interval = self.config.rate_limit, self.config.rate_interval
        if limit <= 0 or interval <= 0:
            return
        now = self.clock()
        with self._lock:
            count, expiry = self._rate.get(client, (0, 0.0))
            count = count + 1 if expiry > now else 1
            self._rate[client] = (count, now + interval)
        if count > limit:
            s = _Send(
                429,
                f"You have made too many requests ({count}). Please wait at least {interval} "
                "seconds before trying again.",
            )
            s.headers["Retry-After"] = str(interval)
            raise s

    def _authenticate(self, headers: Any) -> None:
        auth = headers.get("Authorization") or ""
        user = pw = ""
        if auth[:6].lower() == "basic ":
            try:
                user, _, pw = base64.b64decode(auth[6:]).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                user = pw = ""
        for name, value in (("user", user), ("pw", pw)):
            if not value:
                raise self._auth_fail(f"Missing user credentials: {name}")
        match = next((u for u in self.store.users if user in (u.get("username"), u.get("userAlias"))), None)
        if match is None or str(match.get("userKey") or "") != pw:
            raise self._auth_fail("Invalid user credentials.")
        if not str(match.get("userKey") or "").strip():
            raise self._auth_fail("API access has been disabled for the specified user.")

    @staticmethod
    def _auth_fail(message: str) -> _Send:
        s = _Send(401, message)
        s.headers["WWW-Authenticate"] = REALM
        return s

    # -- helpers -------------------------------------------------------------------------------

    def _class(self, params: dict[str, str]) -> str:
        cls = params.get("_class")
        if not cls:
            raise _Send(400, 'Required parameter "class" missing.')
        if cls not in CLASSES:
            raise _Send(400, f'Invalid model class "{cls}".')
        return cls

    def _model(self, cls: str, params: dict[str, str]) -> dict[str, Any]:
        rid = params.get("_id")
        rec = self.store.get(cls, int(rid)) if rid is not None else None
        if rec is None:
            raise _Send(404, f'Record {rid} of class "{cls}" not found.')
        return rec

    def _search(
        self, cls: str, rows: list[dict[str, Any]], params: dict[str, str], attrs: set[str]
    ) -> list[Any]:
        try:
            return self.store.search(cls, rows, params, attrs)
        except SearchError as e:
            raise _Send(e.status, e.message) from None

    @staticmethod
    def _jpost(body: bytes) -> Any:
        try:
            data = json.loads(body or b"null")
        except ValueError:
            data = None
        if not isinstance(data, dict | list):
            raise _Send(400, "Missing or malformed data sent to server.")
        return data

    def _validate(self, cls: str, data: dict[str, Any], creating: bool) -> None:
        errors: dict[str, list[str]] = {}
        for f in self.store.fields:
            if f.get("modelName") != cls or str(f.get("required")) not in ("1", "True", "true"):
                continue
            name = str(f["fieldName"])
            if (creating or name in data) and data.get(name) in (None, ""):
                errors[name] = [f"{f.get('attributeLabel') or name} cannot be blank."]
        if errors:
            raise _Send(422, "Model failed validation.", errors=errors)

    # -- actions -------------------------------------------------------------------------------

    def _a_appInfo(self, method: str, params: dict[str, str], body: bytes) -> Any:
        raise _Send(200, "Welcome to the X2Engine REST API!", **self.store.app_info)

    def _a_count(self, method: str, params: dict[str, str], body: bytes) -> Any:
        cls = self._class(params)
        rows = self.store.records[cls]
        query = {k: v for k, v in params.items() if not k.startswith("_")}
        if params.get("_findBy"):
            query = _find_conditions(params["_findBy"])
        return len(self._search(cls, rows, query, self.store.attributes(cls)))

    def _a_dropdowns(self, method: str, params: dict[str, str], body: bytes) -> Any:
        if "_id" in params:
            d = next((d for d in self.store.dropdowns if str(d.get("id")) == params["_id"]), None)
            if d is None:
                raise _Send(404)
            return d
        rows = sorted(self.store.dropdowns, key=lambda d: int(str(d["id"])))
        attrs = {"id", "name", "options", "multi", "parent", "parentVal"}
        return self.store.page(self._search("Dropdowns", rows, params, attrs), params)

    def _a_fields(self, method: str, params: dict[str, str], body: bytes) -> Any:
        cls = self._class(params)
        rows = [f for f in self.store.fields if f.get("modelName") == cls]
        name = params.get("_fieldName")
        if name:
            hit = next((f for f in rows if f.get("fieldName") == name), None)
            if hit is None:
                raise _Send(404, f'Model {cls} does not have a field named "{name}"')
            return hit
        return rows  # pagination = false: all fields

    def _a_users(self, method: str, params: dict[str, str], body: bytes) -> Any:
        hidden = {"password", "userKey", "googleRefreshToken"}
        if "_id" in params:
            u = next((u for u in self.store.users if str(u.get("id")) == params["_id"]), None)
            if u is None:
                raise _Send(404, f"User with specified ID {params['_id']} not found.")
            return {k: v for k, v in u.items() if k not in hidden}
        attrs = {k for u in self.store.users for k in u} - hidden
        rows = sorted(self.store.users, key=lambda u: int(str(u["id"])))
        found = self.store.page(self._search("User", rows, params, attrs), params)
        return [{k: v for k, v in u.items() if k not in hidden} for u in found]

    def _a_relationships(self, method: str, params: dict[str, str], body: bytes) -> Any:
        rels = self.store.relationships
        cls, rid = params.get("_class"), params.get("_id")
        if cls is not None and rid is not None:
            self._model(self._class(params), params)
        if method == "GET":
            if params.get("_relatedId"):
                r = next((r for r in rels if str(r.get("id")) == params["_relatedId"]), None)
                if r is None:
                    raise _Send(404, f"Relationship with id={params['_relatedId']} not found.")
                return r
            rows = rels
            if cls is not None and rid is not None:
                rows = [
                    r
                    for r in rels
                    if (r.get("firstType") == cls and str(r.get("firstId")) == rid)
                    or (r.get("secondType") == cls and str(r.get("secondId")) == rid)
                ]
            rows = sorted(rows, key=lambda r: int(str(r["id"])))
            attrs = {"id", "firstType", "firstId", "firstLabel", "secondType", "secondId", "secondLabel"}
            query = {k: v for k, v in params.items() if k not in ("_class", "_id")}
            return self.store.page(self._search("Relationships", rows, query, attrs), params)
        if method == "POST" and cls and rid:
            data = self._jpost(body)
            if not isinstance(data, dict) or not data.get("secondType") or not data.get("secondId"):
                raise _Send(422, "", errors={"secondId": ["Second Id cannot be blank."]})
            new_id = max((int(str(r["id"])) for r in rels), default=0) + 1
            rel = {"id": new_id, "firstType": cls, "firstId": int(rid), **data}
            rels.append(rel)
            return Response(201, rel)
        if method == "DELETE" and params.get("_relatedId"):
            before = len(rels)
            rels[:] = [r for r in rels if str(r.get("id")) != params["_relatedId"]]
            if len(rels) == before:
                raise _Send(500, f"Failed to delete relationship #{params['_relatedId']}.")
            return Response(204)
        raise _Send(400, "Cannot delete relationships without specifying which one to delete.")

    def _a_tags(self, method: str, params: dict[str, str], body: bytes) -> Any:
        cls, rid, name = params.get("_class"), params.get("_id"), params.get("_tagName")
        if cls is not None and rid is not None:
            self._model(self._class(params), params)
        tag = None
        if cls and rid and name:
            want = "#" + name.lstrip("#")
            tag = next(
                (
                    t
                    for t in self.store.tags
                    if t.get("type") == cls
                    and str(t.get("itemId")) == rid
                    and str(t["tag"]).lower() == want.lower()
                ),
                None,
            )
            if tag is None:
                raise _Send(404, f'Tag "{name}" not found on {cls} id={rid}.')
        if method == "GET":
            if tag is not None:
                return tag
            rows = [
                t
                for t in self.store.tags
                if (cls is None or "type" in params or t.get("type") == cls)
                and (rid is None or "itemId" in params or str(t.get("itemId")) == rid)
            ]
            rows = sorted(rows, key=lambda t: int(str(t.get("id") or 0)))
            attrs = {"id", "type", "itemId", "taggedBy", "tag", "itemName", "timestamp"}
            return [t["tag"] for t in self.store.page(self._search("Tags", rows, params, attrs), params)]
        if method == "POST":
            if tag is not None:
                raise _Send(405, "Tags cannot be individually modified.")
            data = self._jpost(body)
            new_id = max((int(str(t.get("id") or 0)) for t in self.store.tags), default=0)
            for t in data if isinstance(data, list) else []:
                new_id += 1
                self.store.tags.append(
                    {
                        "id": new_id,
                        "type": cls,
                        "itemId": int(rid or 0),
                        "tag": "#" + str(t).lstrip("#"),
                        "taggedBy": "api",
                        "timestamp": int(time.time()),
                    }
                )
            raise _Send(200, "Tags added successfully.")
        if tag is None:
            raise _Send(400, "Tag name must be specified when deleting a tag.")
        self.store.tags.remove(tag)
        return Response(204)

    def _a_model(self, method: str, params: dict[str, str], body: bytes) -> Any:
        cls = self._class(params)
        rows = self.store.records[cls]
        if cls == "Actions" and "associationType" in params and "associationId" in params:
            assoc = params["associationType"]
            if assoc not in CLASSES:
                raise _Send(400, "Invalid association type.")
            if self.store.get(assoc, int(params["associationId"])) is None:
                raise _Send(404, "Associated record not found.")
            params = {**params, "associationType": MODULE_OF[assoc]}
        if method == "GET":
            if params.get("_id"):
                return self._model(cls, params)
            if params.get("_findBy"):
                return self._find_by(cls, params)
            if params.get("_tags"):
                want = {"#" + t for t in params["_tags"].split(",")}
                tagged: dict[str, set[str]] = {}
                for t in self.store.tags:
                    if t.get("type") == cls:
                        tagged.setdefault(str(t.get("itemId")), set()).add(str(t["tag"]))
                any_tag = params.get("_tagOr", "0") not in ("", "0")
                rows = [
                    r
                    for r in rows
                    if (
                        want & tagged.get(str(r["id"]), set())
                        if any_tag
                        else want <= tagged.get(str(r["id"]), set())
                    )
                ]
            found = self.store.page(self._search(cls, rows, params, self.store.attributes(cls)), params)
            return [r for r in found]
        if method == "DELETE":
            rec = self._model(cls, params)
            self.store.delete(cls, int(str(rec["id"])))
            return Response(204)
        data = self._jpost(body)
        if not isinstance(data, dict):
            raise _Send(400, "Missing or malformed data sent to server.")
        if method == "POST":
            if params.get("_id") or params.get("_findBy"):
                raise _Send(400, "POST should be used for creating new records and cannot be used to update.")
            self._validate(cls, data, creating=True)
            if cls == "Actions" and "associationId" in params:
                data = {
                    **data,
                    "associationType": params["associationType"],
                    "associationId": int(params["associationId"]),
                }
            rec = self.store.insert(cls, data)
            return Response(201, rec, {"Location": f"/index.php/api2/{cls}/{rec['id']}.json"})
        rec = self._model(cls, params) if params.get("_id") else self._find_by(cls, params)
        self._validate(cls, data, creating=False)
        return self.store.update(cls, int(str(rec["id"])), data)

    def _find_by(self, cls: str, params: dict[str, str]) -> dict[str, Any]:
        conditions = {
            k: v
            for k, v in _find_conditions(params.get("_findBy", "")).items()
            if k in self.store.attributes(cls)
        }
        if not conditions:
            raise _Send(400, f'Invalid/improperly formatted attribute conditions: "{params.get("_findBy")}"')
        exact = {k: v.replace("%", "") for k, v in conditions.items()}
        found = [
            r
            for r in self.store.records[cls]
            if all(
                r.get(k) is not None and str(r.get(k)).casefold() == v.casefold() for k, v in exact.items()
            )
        ]
        if not found:
            raise _Send(404, f"No matching record of class {cls} found")
        if len(found) > 1 and not params.get("_useFirst"):
            query = "&".join(f"{k}={v}" for k, v in conditions.items())
            s = _Send(
                300,
                "Multiple records match.",
                queryUri=f"/index.php/api2/{cls}?{query}",
                directUris=[f"/index.php/api2/{cls}/{r['id']}.json" for r in found],
            )
            s.headers["Location"] = f"/index.php/api2/{cls}?{query}"
            raise s
        return found[0]

    # -- the mock's own hooks (not part of X2CRM) ----------------------------------------------

    def _admin(self, method: str, name: str, body: bytes) -> Response:
        data = json.loads(body or b"{}")
        with self.store.lock:
            if name == "touch" and method == "POST":
                cls, at = data["class"], data.get("at")
                changed = []
                for rid in data["ids"]:
                    rec = self.store.update(cls, int(rid), data.get("set", {}), at)
                    changed.append(rec)
                return Response(200, changed)
            if name == "delete" and method == "POST":
                gone = [rid for rid in data["ids"] if self.store.delete(data["class"], int(rid))]
                return Response(200, {"deleted": gone})
            if name == "stats" and method == "GET":
                return Response(200, dict(self.stats))
        return Response(404, {"message": f"no mock hook {name}", "error": True, "status": 404})


def _find_conditions(find_by: str) -> dict[str, str]:
    """Api2Controller::findConditions: `a=b;c=d` (values may contain `=`)."""
    out = {}
    for cond in find_by.split(";"):
        attr, sep, value = cond.partition("=")
        if sep:
            out[attr] = value
    return out


__all__ = ["DROP", "SEARCH_PARAMS", "MockConfig", "Response", "X2Mock"]
