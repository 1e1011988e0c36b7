"""Request/response types shared by the operation handlers, and small header/query parsers."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from .. import errors
from ..engine import Annotations, Caller
from ..metadata import TableMeta

API_VERSION_PATH = "/api/data/v9.2/"


@dataclass
class Request:
    method: str
    path: str  # below the API root, without the query string
    query_string: str
    headers: Mapping[str, str]
    body: bytes
    caller: Caller
    base_url: str

    @property
    def api_root(self) -> str:
        return self.base_url.rstrip("/") + API_VERSION_PATH

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        return value if value is None else str(value)

    def query(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in parse_qsl(self.query_string, keep_blank_values=True):
            if key in out:
                raise errors.query_syntax(f"Query option '{key}' was specified more than once.")
            out[key] = value
        return out

    def prefer(self) -> dict[str, str]:
        return parse_prefer(self.header("Prefer"))

    def annotations(self) -> Annotations:
        return Annotations.from_prefer(self.prefer().get("odata.include-annotations"))

    def json_body(self, table: TableMeta) -> dict[str, Any]:
        if not self.body.strip():
            raise errors.invalid_json(table.entity_set, "The request body is empty.")
        try:
            data = json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise errors.invalid_json(table.entity_set, str(exc)) from None
        if not isinstance(data, dict):
            raise errors.invalid_json(table.entity_set, "A JSON object was expected.")
        return data


@dataclass
class Response:
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    records: int = 0  # rows touched, for the service-protection cost model
    raw: bytes | None = None  # a non-JSON body (e.g. `$batch` multipart); Content-Type in `headers`
    subrequests: int = 0  # inner requests (`$batch`), each charged execution time


_PREFER_ITEM = re.compile(r'\s*([^=,\s]+)\s*(?:=\s*("(?:[^"]*)"|[^,]*))?\s*(?:,|$)')


def parse_prefer(value: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    if not value:
        return out
    for match in _PREFER_ITEM.finditer(value):
        if match.group(1):
            out[match.group(1).lower()] = (match.group(2) or "").strip().strip('"')
    return out


def entity_url(req: Request, table: TableMeta, record_id: str) -> str:
    return f"{req.api_root}{table.entity_set}({record_id})"


def context_url(req: Request, fragment: str) -> str:
    return f"{req.api_root}$metadata#{fragment}"
