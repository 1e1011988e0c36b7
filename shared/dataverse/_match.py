"""Find rows already in a table that match given column values — dedupe before writing.

One `$filter` per batch of keys, an OR of ANDs — `(name eq 'Acme' and websiteurl eq 'https://acme.example')
or (…)` — cut so the request URL stays well inside the Web API's limit (GET URLs are limited; longer
ones only fit inside `$batch`, up to 64 KB: execute-batch-operations-using-web-api.md), and paged
through `@odata.nextLink`. Dataverse compares strings case-insensitively (the default collation);
the caller still compares case-insensitively, so a service that did not would only return fewer rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from shared.dataverse._client import DataverseClient

MAX_FILTER_CHARS = 6000
"""Encoded `$filter` length per request: far below the URL limits of Dataverse and of proxies."""


def literal(value: str) -> str:
    """An OData string literal (quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def condition(key: Mapping[str, str]) -> str:
    parts = [f"{column} eq {literal(value)}" for column, value in key.items()]
    return parts[0] if len(parts) == 1 else "(" + " and ".join(parts) + ")"


def filters(keys: Sequence[Mapping[str, str]], max_chars: int = MAX_FILTER_CHARS) -> list[str]:
    """The keys as few `$filter` expressions as fit `max_chars` once URL-encoded (at least one key
    each: a single key longer than that still goes, alone)."""
    out: list[str] = []
    current: list[str] = []
    size = 0
    for cond in dict.fromkeys(condition(k) for k in keys):
        cost = len(quote(cond, safe="")) + len(quote(" or ", safe=""))
        if current and size + cost > max_chars:
            out.append(" or ".join(current))
            current, size = [], 0
        current.append(cond)
        size += cost
    if current:
        out.append(" or ".join(current))
    return out


def find_matching(
    dv: DataverseClient,
    entity_set: str,
    id_column: str,
    keys: Sequence[Mapping[str, str]],
    *,
    extra: Sequence[str] = ("createdon",),
    max_chars: int = MAX_FILTER_CHARS,
) -> list[dict[str, Any]]:
    """Every row of `entity_set` equal to one of `keys` (column → value, all columns equal), with the
    key columns, `id_column` and `extra` selected; each row once."""
    if not keys:
        return []
    columns = list(dict.fromkeys([id_column, *(c for k in keys for c in k), *extra]))
    rows: dict[str, dict[str, Any]] = {}
    for flt in filters(keys, max_chars):
        for row in dv.list_all(entity_set, select=columns, filter=flt):
            rows.setdefault(str(row.get(id_column)).lower(), row)
    return list(rows.values())
