"""The read-only `sdkmessages` and `sdkmessagefilters` entity sets, and which tables take bulk messages.

Dataverse answers "does table T support message M?" with one `sdkmessagefilter` row per (message,
table). powerapps-docs `bulk-operations.md`, "Availability with standard tables", shows the query:

    GET sdkmessagefilters?$select=sdkmessagefilterid
        &$filter=sdkmessageid/name eq @message and primaryobjecttypecode eq @table
        &@message='CreateMultiple'&@table='sample_example'

(one row when the table supports the message, an empty `value` otherwise). That form — the
`sdkmessageid/` navigation path and `@` parameter aliases — is what this module implements, plus
`_sdkmessageid_value eq <guid>`, `$select`, `$top`, `$count` and paging. Rows are derived on every
request from the live metadata registry, so tables created through the metadata API appear at once.

Which tables support the bulk messages (the rule, also in README.md "Where the emulator is lenient"):
- custom tables: CreateMultiple and UpdateMultiple ("You can use the CreateMultiple and UpdateMultiple
  bulk operation messages with custom standard tables and many common standard tables, but not all",
  bulk-operations.md, Availability with standard tables);
- standard tables: the messages their current Microsoft table reference page lists. The metadata file
  keeps those lists, except for tables whose list predates the bulk messages; `CURRENT_BULK_TABLES`
  overlays the current pages for those (account and contact: Dataverse table reference; task: the
  Dynamics 365 task page, which adds CreateMultiple/UpdateMultiple/UpsertMultiple to the Dataverse
  table). The current phonecall, appointment, email and annotation pages list no bulk messages;
  the other "legacy" tables (letter, systemuser, team, businessunit, connection, transactioncurrency,
  organization, activitypointer, activityparty) were not re-checked and are treated as unsupported;
- UpsertMultiple: a table supports it when it supports both CreateMultiple and UpdateMultiple, and the
  sdkmessagefilters query "will not return results for UpsertMultiple" (bulk-operations.md,
  UpsertMultiple "Availability"), so no UpsertMultiple filter rows are served.

A bulk message on a table without it fails like Dataverse: 400, 0x80040800 (SdkEntityDoesNotSupportMessage),
"The 'CreateMultiple' method does not support entities of type 'phonecall'. MessageProcessorCache
returned MessageProcessor.Empty." (wording and code as captured from live orgs and mirrored by public
Dataverse clients; the code's name is in web-service-error-codes).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from . import errors
from .metadata import MetadataRegistry, TableMeta
from .odata_query import And, Compare, Function, Node, Not, Or, parse_filter
from .operations.base import Request, Response, context_url

BULK = ("CreateMultiple", "UpdateMultiple", "UpsertMultiple")
# Standard tables whose current reference page lists CreateMultiple/UpdateMultiple/UpsertMultiple while
# the metadata file's message list (from older pages) does not; see the module docstring.
CURRENT_BULK_TABLES = frozenset({"account", "contact", "task"})
SETS = {"sdkmessages": "sdkmessage", "sdkmessagefilters": "sdkmessagefilter"}
NOT_SUPPORTED_CODE = "0x80040800"  # SdkEntityDoesNotSupportMessage
_NS = uuid.UUID("8d0f1b52-3c1e-4a57-9b1e-5dcb0e6b2f10")
_ENTITY = re.compile(r"^(?P<set>sdkmessages|sdkmessagefilters)(?:\((?P<key>[^)]*)\))?(?P<rest>/.*)?$")
_STRING = re.compile(r"'(?:[^']|'')*'")
_ALIAS = re.compile(r"@([A-Za-z_]\w*)")
_MAX_PAGE = 5000

# Web API property → kind, per table (the subset of the sdkmessage / sdkmessagefilter references served).
MESSAGE_PROPS = {
    "sdkmessageid": "guid",
    "name": "string",
    "categoryname": "string",
    "availability": "number",
    "isactive": "boolean",
    "isprivate": "boolean",
    "isreadonly": "boolean",
    "autotransact": "boolean",
    "template": "boolean",
    "expand": "boolean",
    "introducedversion": "string",
}
FILTER_PROPS = {
    "sdkmessagefilterid": "guid",
    "_sdkmessageid_value": "guid",
    "primaryobjecttypecode": "string",
    "secondaryobjecttypecode": "string",
    "availability": "number",
    "isvisible": "boolean",
    "iscustomprocessingstepallowed": "boolean",
    "introducedversion": "string",
}
# `sdkmessageid/<p>` on a filter reads <p> of its message.
_NAV = "sdkmessageid"


def not_supported(message: str, logical_name: str) -> errors.DataverseError:
    return errors.DataverseError(
        400,
        NOT_SUPPORTED_CODE,
        f"The '{message}' method does not support entities of type '{logical_name}'. "
        "MessageProcessorCache returned MessageProcessor.Empty.",
    )


def bulk_messages(table: TableMeta, is_custom: bool) -> frozenset[str]:
    """Which of CreateMultiple/UpdateMultiple/UpsertMultiple `table` supports (rule: module docstring)."""
    if is_custom or table.logical_name in CURRENT_BULK_TABLES:
        return frozenset(BULK)
    found = {m for m in ("CreateMultiple", "UpdateMultiple") if m in table.messages}
    if len(found) == 2:
        found.add("UpsertMultiple")
    return frozenset(found)


def check_bulk(table: TableMeta, action: str, is_custom: bool) -> None:
    """Refuse a bulk message the table does not take, before anything else about the request."""
    if action in BULK and action not in bulk_messages(table, is_custom):
        raise not_supported(action, table.logical_name)


def _guid(kind: str, name: str) -> str:
    return str(uuid.uuid5(_NS, f"{kind}:{name}"))


def _messages_of(table: TableMeta, is_custom: bool) -> set[str]:
    # UpsertMultiple gets no filter rows (UpsertMultiple "Availability"): see the module docstring.
    return (set(table.messages) - set(BULK)) | (set(bulk_messages(table, is_custom)) - {"UpsertMultiple"})


def message_rows(registry: MetadataRegistry, is_custom: Callable[[str], bool]) -> list[dict[str, Any]]:
    names = set(BULK)
    for t in registry.tables():
        names |= _messages_of(t, is_custom(t.logical_name))
    return [
        {
            "sdkmessageid": _guid("sdkmessage", n),
            "name": n,
            "categoryname": None,
            "availability": 2,
            "isactive": True,
            "isprivate": False,
            "isreadonly": n in ("Retrieve", "RetrieveMultiple"),
            "autotransact": n not in ("Retrieve", "RetrieveMultiple"),
            "template": False,
            "expand": False,
            "introducedversion": "5.0.0.0",
        }
        for n in sorted(names)
    ]


def filter_rows(registry: MetadataRegistry, is_custom: Callable[[str], bool]) -> list[dict[str, Any]]:
    rows = []
    for t in sorted(registry.tables(), key=lambda t: t.logical_name):
        for n in sorted(_messages_of(t, is_custom(t.logical_name))):
            rows.append(
                {
                    "sdkmessagefilterid": _guid("sdkmessagefilter", f"{n}:{t.logical_name}"),
                    "_sdkmessageid_value": _guid("sdkmessage", n),
                    "primaryobjecttypecode": t.logical_name,
                    "secondaryobjecttypecode": "none",
                    "availability": 2,
                    "isvisible": True,
                    "iscustomprocessingstepallowed": n not in ("Retrieve", "RetrieveMultiple"),
                    "introducedversion": "5.0.0.0",
                }
            )
    return rows


# --- HTTP ------------------------------------------------------------------------------------------


def handles(path: str) -> bool:
    return _ENTITY.match(path.strip("/")) is not None


def dispatch(req: Request, registry: MetadataRegistry, is_custom: Callable[[str], bool]) -> Response:
    m = _ENTITY.match(req.path.strip("/"))
    assert m is not None
    entity_set, logical = m["set"], SETS[m["set"]]
    if req.method != "GET":
        verb = {"POST": "Create", "PATCH": "Update", "PUT": "Update", "DELETE": "Delete"}.get(req.method)
        if verb is None:
            raise errors.method_not_allowed(req.method, req.path)
        raise not_supported(verb, logical)  # both tables list only Retrieve/RetrieveMultiple
    if m["rest"]:
        raise errors.not_implemented(f"The path segment '{m['rest'].lstrip('/')}'")
    messages = message_rows(registry, is_custom)
    if logical == "sdkmessage":
        rows, props = messages, MESSAGE_PROPS
    else:
        rows, props = filter_rows(registry, is_custom), FILTER_PROPS
    query = req.query()
    for key in query:
        if key.startswith("$") and key not in ("$select", "$filter", "$top", "$count", "$skiptoken"):
            raise errors.not_implemented(f"The query option '{key}' on {entity_set}")
    select = _select(query.get("$select"), props, logical)
    if m["key"] is not None:
        key = m["key"].lower()
        row = next((r for r in rows if r[f"{logical}id"] == key), None)
        if row is None:
            raise errors.record_not_found(logical, key)
        body = {"@odata.context": context_url(req, f"{entity_set}/$entity"), **_shape(row, select, logical)}
        return Response(200, body, records=1)
    if query.get("$filter"):
        by_id = {r["sdkmessageid"]: r for r in messages}
        node = parse_filter(_prepare(query["$filter"], query))
        _check_props(node, props, logical)
        rows = [r for r in rows if _eval(node, r, by_id)]
    total = len(rows)
    if "$top" in query:
        try:
            rows = rows[: max(0, int(query["$top"]))]
        except ValueError:
            raise errors.query_syntax(f"Invalid value '{query['$top']}' for $top.") from None
    page = _MAX_PAGE
    prefer = req.prefer()
    if "odata.maxpagesize" in prefer and prefer["odata.maxpagesize"].isdigit():
        page = max(1, min(_MAX_PAGE, int(prefer["odata.maxpagesize"])))
    offset = 0
    if "$skiptoken" in query:
        found = re.search(r'offset="(\d+)"', query["$skiptoken"])
        if not found:
            raise errors.query_syntax("The $skiptoken value is not valid.")
        offset = int(found.group(1))
    chunk = rows[offset : offset + page]
    fragment = f"{entity_set}({','.join(select)})" if select else entity_set
    body: dict[str, Any] = {"@odata.context": context_url(req, fragment)}
    if query.get("$count", "").lower() == "true":
        body["@odata.count"] = total
    body["value"] = [_shape(r, select, logical) for r in chunk]
    headers: dict[str, str] = {}
    if "odata.maxpagesize" in prefer:
        headers["Preference-Applied"] = f"odata.maxpagesize={page}"
    if offset + page < len(rows):
        nxt = offset + page
        params = {k: v for k, v in query.items() if k != "$skiptoken"}
        params["$skiptoken"] = f'<cookie pagenumber="{nxt // page + 1}" offset="{nxt}" />'
        body["@odata.nextLink"] = (
            f"{req.api_root}{entity_set}?{urlencode(params, quote_via=quote, safe='$,()@')}"
        )
    return Response(200, body, headers, records=len(chunk))


def _select(text: str | None, props: dict[str, str], logical: str) -> list[str] | None:
    if not text:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    for n in names:
        if n not in props:
            raise errors.property_not_found(n, logical)
    return names


def _shape(row: dict[str, Any], select: list[str] | None, logical: str) -> dict[str, Any]:
    names = list(select) if select else list(row)
    pk = f"{logical}id"
    if pk not in names:
        names.append(pk)
    return {"@odata.etag": 'W/"1"', **{n: row.get(n) for n in names}}


def _prepare(text: str, query: dict[str, str]) -> str:
    """Substitute `@alias` parameter values and turn `sdkmessageid/x` into a name the parser takes."""
    out, pos = [], 0
    for lit in _STRING.finditer(text):
        out.append(_rewrite(text[pos : lit.start()], query))
        out.append(lit.group())
        pos = lit.end()
    out.append(_rewrite(text[pos:], query))
    return "".join(out)


def _rewrite(chunk: str, query: dict[str, str]) -> str:
    def alias(m: re.Match[str]) -> str:
        value = query.get(f"@{m.group(1)}")
        if value is None:
            raise errors.query_syntax(f"The parameter alias '@{m.group(1)}' is not defined in the query.")
        return value

    return re.sub(rf"\b{_NAV}/(\w+)", rf"{_NAV}.\1", _ALIAS.sub(alias, chunk))


def _check_props(node: Node, props: dict[str, str], logical: str) -> None:
    if isinstance(node, And | Or):
        _check_props(node.left, props, logical)
        _check_props(node.right, props, logical)
    elif isinstance(node, Not):
        _check_props(node.operand, props, logical)
    else:
        prop = node.prop
        if logical == "sdkmessagefilter" and prop.startswith(f"{_NAV}."):
            inner = prop.split(".", 1)[1]
            if inner not in MESSAGE_PROPS:
                raise errors.property_not_found(inner, "sdkmessage")
            return
        if prop not in props:
            raise errors.property_not_found(prop.replace(".", "/"), logical)


def _value(row: dict[str, Any], prop: str, messages: dict[str, dict[str, Any]]) -> Any:
    if prop.startswith(f"{_NAV}."):
        msg = messages.get(row.get("_sdkmessageid_value") or "", {})
        return msg.get(prop.split(".", 1)[1])
    return row.get(prop)


def _eval(node: Node, row: dict[str, Any], messages: dict[str, dict[str, Any]]) -> bool:
    if isinstance(node, And):
        return _eval(node.left, row, messages) and _eval(node.right, row, messages)
    if isinstance(node, Or):
        return _eval(node.left, row, messages) or _eval(node.right, row, messages)
    if isinstance(node, Not):
        return not _eval(node.operand, row, messages)
    value = _value(row, node.prop, messages)
    lit = node.literal.value
    if isinstance(value, str):
        value = value.lower()
    if isinstance(lit, str):
        lit = lit.lower()
    if isinstance(node, Function):
        if not isinstance(value, str) or not isinstance(lit, str):
            return False
        return {
            "contains": lit in value,
            "startswith": value.startswith(lit),
            "endswith": value.endswith(lit),
        }[node.name]
    assert isinstance(node, Compare)
    if node.op == "eq":
        return bool(value == lit)
    if node.op == "ne":
        return bool(value != lit)
    if value is None or lit is None:
        return False
    try:
        return bool({"gt": value > lit, "ge": value >= lit, "lt": value < lit, "le": value <= lit}[node.op])
    except TypeError:
        raise errors.query_syntax(f"Cannot compare '{node.prop}' with {node.literal.value!r}.") from None
