"""Records addressed by alternate key: `GET|PATCH|DELETE /<set>(key1='v',key2=2)`.

powerapps-docs `use-alternate-key-reference-record.md` and
`perform-conditional-operations-using-web-api.md` (upsert: `If-Match: *` update only,
`If-None-Match: *` create only). The key must be Active (`define-alternate-keys-entity.md`).
"""

from __future__ import annotations

import dataclasses
import json

from .. import errors
from ..custom_schema import CustomSchema
from ..engine import Engine
from ..keys import AlternateKeys
from ..metadata import TableMeta
from ..values import new_guid
from . import records
from .base import Request, Response


def install(schema: CustomSchema, engine: Engine) -> AlternateKeys:
    """Hook alternate keys into the engine: uniqueness on every write, `@odata.bind` by key."""
    keys = AlternateKeys(schema)
    engine.write_hooks.append(keys.check_unique)
    engine.bind_resolver = keys.bind_resolver
    engine.alternate_keys = keys
    return keys


def handle(req: Request, engine: Engine, keys: AlternateKeys, table: TableMeta, key_text: str) -> Response:
    record_id, values = keys.resolve_segment(table, key_text)
    if req.method == "GET":
        if record_id is None:
            raise keys.not_found(table)
        return records.retrieve(req, engine, table, record_id)
    if req.method == "DELETE":
        if record_id is None:
            raise keys.not_found(table)
        return records.delete(req, engine, table, record_id)
    if req.method == "PATCH":
        if record_id is not None:
            return records.upsert(req, engine, table, record_id)
        if req.header("If-Match"):
            raise keys.not_found(table)
        body = req.json_body(table)
        body.update(keys.body_values(table, values))  # the key values from the URL are written on create
        return records.upsert(
            dataclasses.replace(req, body=json.dumps(body).encode()), engine, table, new_guid()
        )
    raise errors.method_not_allowed(req.method, f"{table.entity_set}({key_text})")
