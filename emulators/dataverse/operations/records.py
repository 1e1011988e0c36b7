"""Single-record and collection operations: create, retrieve, upsert/update, delete, query.

Behaviour follows powerapps-docs `webapi/create-entity-web-api.md`, `update-delete-entities-using-web-api.md`,
`perform-conditional-operations-using-web-api.md` and `query-data-web-api.md`.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlencode

from .. import errors, parties
from ..engine import MAX_PAGE_SIZE, Engine
from ..metadata import TableMeta
from ..odata_query import parse_orderby, parse_select
from .base import Request, Response, context_url, entity_url

SUPPORTED_QUERY_OPTIONS = {"$select", "$filter", "$orderby", "$top", "$count", "$skiptoken"}
_SKIPTOKEN_OFFSET = re.compile(r'offset="(\d+)"')


def _check_options(query: dict[str, str], *, expand: bool = False) -> None:
    """`expand`: the request may carry `$expand` (reads; only an activity's party collection)."""
    for key in query:
        if key.startswith("$") and key not in SUPPORTED_QUERY_OPTIONS:
            if key == "$expand" and expand:
                continue
            if key in ("$expand", "$apply", "$skip", "$search", "$format", "$levels"):
                raise errors.not_implemented(f"The query option '{key}'")
            raise errors.query_syntax(f"The query parameter '{key}' is not supported.")


def _expansion(
    req: Request, engine: Engine, table: TableMeta, docs: list[dict[str, Any]]
) -> tuple[str, Any] | None:
    """(navigation property, parties of a document) for `$expand=<activity>_activity_parties`."""
    text = req.query().get("$expand")
    if text is None:
        return None
    select = parties.parse_expand(text, table, engine)
    return parties.collection(table), parties.expand(engine, docs, table, select)


def _select(req: Request, table: TableMeta) -> list[str] | None:
    text = req.query().get("$select")
    return parse_select(text, table) if text else None


def _context_fragment(table: TableMeta, select: list[str] | None) -> str:
    return f"{table.entity_set}({','.join(select)})" if select else table.entity_set


def _representation(req: Request, engine: Engine, table: TableMeta, record_id: str, status: int) -> Response:
    select = _select(req, table)
    doc = engine.get(table, record_id)
    body = {
        "@odata.context": context_url(req, f"{_context_fragment(table, select)}/$entity"),
        **engine.serialize(table, doc, select, req.annotations()),
    }
    return Response(
        status,
        body,
        {"OData-EntityId": entity_url(req, table, record_id), "Preference-Applied": "return=representation"},
        records=1,
    )


def create(req: Request, engine: Engine, table: TableMeta) -> Response:
    body = req.json_body(table)
    _check_options(req.query())
    if req.query():
        _select(req, table)  # validate $select before writing
    with engine.store.transaction():
        record_id = engine.create(table, body, req.caller)
    if req.prefer().get("return") == "representation":
        return _representation(req, engine, table, record_id, 201)
    return Response(204, None, {"OData-EntityId": entity_url(req, table, record_id)}, records=1)


def retrieve(req: Request, engine: Engine, table: TableMeta, record_id: str) -> Response:
    query = req.query()
    _check_options(query, expand=True)
    for key in ("$filter", "$orderby", "$top", "$count", "$skiptoken"):
        if key in query:
            raise errors.query_syntax(
                f"The query option '{key}' is not allowed when retrieving a single record."
            )
    select = _select(req, table)
    doc = engine.get(table, record_id)
    body = {
        "@odata.context": context_url(req, f"{_context_fragment(table, select)}/$entity"),
        **engine.serialize(table, doc, select, req.annotations()),
    }
    expansion = _expansion(req, engine, table, [doc])
    if expansion is not None:
        body[expansion[0]] = expansion[1](doc)
    return Response(200, body, {"ETag": body["@odata.etag"]}, records=1)


def upsert(req: Request, engine: Engine, table: TableMeta, record_id: str) -> Response:
    body = req.json_body(table)
    _check_options(req.query())
    if_match = req.header("If-Match")
    if_none_match = req.header("If-None-Match")
    created = False
    with engine.store.transaction():
        existing = engine.store.get(table.logical_name, record_id)
        if existing is None:
            if if_match:
                raise errors.record_not_found(table.logical_name, record_id)
            engine.create(table, body, req.caller, record_id=record_id)
            created = True
        else:
            if if_none_match and if_none_match.strip() == "*":
                raise errors.duplicate_record()
            engine.update(table, record_id, body, req.caller, existing=existing, if_match=if_match)
    if req.prefer().get("return") == "representation":
        return _representation(req, engine, table, record_id, 201 if created else 200)
    return Response(204, None, {"OData-EntityId": entity_url(req, table, record_id)}, records=1)


def delete(req: Request, engine: Engine, table: TableMeta, record_id: str) -> Response:
    with engine.store.transaction():
        engine.delete(table, record_id, req.header("If-Match"))
    return Response(204, None, records=1)


def _int_option(query: dict[str, str], name: str) -> int | None:
    if name not in query:
        return None
    try:
        value = int(query[name])
    except ValueError:
        raise errors.query_syntax(
            f"Invalid value '{query[name]}' for {name}; an integer is expected."
        ) from None
    if value < 0:
        raise errors.query_syntax(f"Invalid value '{query[name]}' for {name}; it must not be negative.")
    return value


def list_records(req: Request, engine: Engine, table: TableMeta) -> Response:
    query = req.query()
    _check_options(query, expand=True)
    select = parse_select(query["$select"], table) if query.get("$select") else None
    orderby = parse_orderby(query["$orderby"], table) if query.get("$orderby") else []
    top = _int_option(query, "$top")
    count_text = query.get("$count", "false").lower()
    if count_text not in ("true", "false"):
        raise errors.query_syntax(f"Invalid value '{query['$count']}' for $count; expected true or false.")
    prefer = req.prefer()
    page_size = MAX_PAGE_SIZE
    if "odata.maxpagesize" in prefer:
        try:
            page_size = max(1, min(MAX_PAGE_SIZE, int(prefer["odata.maxpagesize"])))
        except ValueError:
            raise errors.query_syntax("The 'odata.maxpagesize' preference must be an integer.") from None
    offset = 0
    if "$skiptoken" in query:
        match = _SKIPTOKEN_OFFSET.search(query["$skiptoken"])
        if not match:
            raise errors.query_syntax("The $skiptoken value is not valid.")
        offset = int(match.group(1))
    result = engine.query(
        table,
        filter_text=query.get("$filter"),
        orderby=orderby,
        top=top,
        page_size=page_size,
        offset=offset,
        count=count_text == "true",
    )
    annotations = req.annotations()
    body: dict[str, Any] = {"@odata.context": context_url(req, _context_fragment(table, select))}
    if result.total is not None:
        body["@odata.count"] = result.total
    body["value"] = [engine.serialize(table, row, select, annotations) for row in result.rows]
    expansion = _expansion(req, engine, table, result.rows)
    if expansion is not None:
        for row, out in zip(result.rows, body["value"], strict=True):
            out[expansion[0]] = expansion[1](row)
    headers: dict[str, str] = {}
    if "odata.maxpagesize" in prefer:
        headers["Preference-Applied"] = f"odata.maxpagesize={page_size}"
    if result.next_offset is not None:
        page_number = result.next_offset // page_size + 1
        token = f'<cookie pagenumber="{page_number}" offset="{result.next_offset}" istracking="False" />'
        params = {k: v for k, v in query.items() if k != "$skiptoken"}
        params["$skiptoken"] = token
        body["@odata.nextLink"] = (
            f"{req.api_root}{table.entity_set}?{urlencode(params, quote_via=quote, safe='$,()')}"
        )
    return Response(200, body, headers, records=len(result.rows))
