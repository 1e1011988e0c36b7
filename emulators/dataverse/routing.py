"""Map Web API paths (after `/api/data/v9.x/`) to typed routes; unknown names fail like Dataverse."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from . import errors
from .metadata import MetadataRegistry, TableMeta
from .values import parse_guid

API_PREFIX = re.compile(r"^/api/data/v9\.[0-2]/?")
_KEYED = re.compile(r"^(?P<set>[A-Za-z_][\w]*)\((?P<key>[^)]*)\)(?P<rest>/.*)?$")


@dataclass(frozen=True)
class ServiceDocument:
    pass


@dataclass(frozen=True)
class WhoAmI:
    pass


@dataclass(frozen=True)
class Collection:
    table: TableMeta


@dataclass(frozen=True)
class Entity:
    table: TableMeta
    record_id: str


@dataclass(frozen=True)
class KeyedEntity:
    """`/<set>(key1='v',key2=2)`: a record addressed by an alternate key (resolved in keys.py)."""

    table: TableMeta
    key_text: str


@dataclass(frozen=True)
class BoundAction:
    table: TableMeta
    name: str


Route = ServiceDocument | WhoAmI | Collection | Entity | KeyedEntity | BoundAction


def route(path: str, registry: MetadataRegistry) -> Route:
    """`path` is the part after the API root, without the query string."""
    path = unquote(path).strip("/")
    if path == "":
        return ServiceDocument()
    if path in ("WhoAmI", "WhoAmI()"):
        return WhoAmI()
    if path.startswith("$"):
        raise errors.not_implemented(f"'{path}'")
    keyed = _KEYED.match(path)
    if keyed:
        table = registry.by_set(keyed["set"])
        if table is None:
            raise errors.resource_not_found(keyed["set"])
        if keyed["rest"]:
            raise errors.not_implemented(f"The path segment '{keyed['rest'].lstrip('/')}'")
        key = keyed["key"]
        guid = parse_guid(key)
        if guid is None:
            if "=" in key:
                return KeyedEntity(table, key)
            raise errors.query_syntax(f"Bad Request - Error in query syntax. The key '{key}' is not a GUID.")
        return Entity(table, guid)
    head, _, rest = path.partition("/")
    table = registry.by_set(head)
    if table is None:
        raise errors.resource_not_found(head)
    if not rest:
        return Collection(table)
    if rest.startswith("Microsoft.Dynamics.CRM.") and "/" not in rest:
        return BoundAction(table, rest.removeprefix("Microsoft.Dynamics.CRM."))
    raise errors.resource_not_found(rest.split("/", 1)[0])
