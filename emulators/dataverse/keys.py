"""Alternate keys in the data API: `/<set>(k1='v',k2=2)` addressing, `@odata.bind` and UpsertMultiple
`@odata.id` by key, uniqueness on write, and the key index lifecycle (Pending → Active | Failed).

powerapps-docs `use-alternate-key-reference-record.md`, `define-alternate-keys-entity.md`;
codes from `includes/data-service-errors.md` (EntityKeyNotDefined 0x80060890,
RecordNotFoundByEntityKey 0x80060891, DuplicateRecordEntityKey 0x80060892).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from . import errors
from .custom_schema import CustomSchema, label_text
from .metadata import TableMeta
from .store import column_sql
from .values import parse_guid

# Characters that break key values in URLs (notes/dataverse.md, define-alternate-keys-entity.md).
UNSAFE_KEY_CHARS = frozenset("/<>*%&:\\?+")
_PAIR = re.compile(r"\s*([A-Za-z_]\w*)\s*=\s*('(?:[^']|'')*'|[^,]*)\s*(?:,|$)")


def parse_key_segment(text: str) -> dict[str, Any]:
    """`accountnumber='A1',x_code=2` → {"accountnumber": "A1", "x_code": 2}; syntax errors → 0x80060888."""
    out: dict[str, Any] = {}
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _PAIR.match(text, pos)
        if not m or m.end() == pos:
            raise errors.query_syntax(f"Bad Request - Error in query syntax. The key '{text}' is not valid.")
        name, raw = m.group(1).lower(), m.group(2).strip()
        if name in out:
            raise errors.query_syntax(f"Bad Request - Error in query syntax. The key '{name}' is repeated.")
        out[name] = _literal(raw, text)
        pos = m.end()
    if not out:
        raise errors.query_syntax(f"Bad Request - Error in query syntax. The key '{text}' is not valid.")
    return out


def _literal(raw: str, text: str) -> Any:
    if raw.startswith("'") and raw.endswith("'") and len(raw) >= 2:
        value = raw[1:-1].replace("''", "'")
        bad = sorted(set(value) & UNSAFE_KEY_CHARS)
        if bad:
            raise errors.query_syntax(
                f"Bad Request - The key value '{value}' contains characters ({' '.join(bad)}) that cannot be "
                "used in a key URL."
            )
        return value
    if raw in ("true", "false"):
        return raw == "true"
    if raw == "null":
        return None
    guid = parse_guid(raw)
    if guid is not None:
        return guid
    if re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if re.fullmatch(r"-?\d+\.\d+[mM]?", raw):
        return Decimal(raw.rstrip("mM"))
    raise errors.query_syntax(f"Bad Request - Error in query syntax. The key '{text}' is not valid.")


def split_reference(value: str) -> tuple[str, str] | None:
    """`/accounts(k='v')`, `accounts(k='v')` or an absolute URL → (entity set, key text) if it names a key."""
    path = value.strip()
    if "/api/data/" in path:
        path = path.split("/api/data/", 1)[1]
        path = path.split("/", 1)[1] if "/" in path else path
    path = path.lstrip("/")
    if not path.endswith(")") or "(" not in path:
        return None
    entity_set, key = path[:-1].split("(", 1)
    if "=" not in key:
        return None
    return entity_set, key


def duplicate_key(key: dict[str, Any], table: TableMeta) -> errors.DataverseError:
    name = label_text(key.get("DisplayName")) or key["SchemaName"]
    attrs = ", ".join(key["KeyAttributes"])
    return errors.DataverseError(
        412,
        "0x80060892",
        f"Entity Key {name} violated. A record with the same value for {attrs} already exists. A duplicate "
        "record cannot be created. Select one or more unique values and try again.",
    )


class AlternateKeys:
    """Runtime side of the keys defined in `CustomSchema`; hooked into the engine by `install()`."""

    def __init__(self, schema: CustomSchema, clock: Callable[[], float] = time.time) -> None:
        self.schema = schema
        self.clock = clock

    # --- lifecycle ----------------------------------------------------------------------------------

    def status(self, key: dict[str, Any]) -> str:
        """Pending until the activation delay has passed; then Active, or Failed on duplicate data."""
        if key["EntityKeyIndexStatus"] != "Pending":
            return str(key["EntityKeyIndexStatus"])
        if self.clock() - float(key.get("created", 0)) < self.schema.key_activation_delay:
            return "Pending"
        table = self.schema.registry.by_logical(key["EntityLogicalName"])
        status = "Failed" if table is None or self._has_duplicates(table, key) else "Active"
        if status == "Active":
            self.schema.store.create_index(table.logical_name, key["LogicalName"], self._fields(table, key))  # type: ignore[union-attr]
        self.schema.put_key({**key, "EntityKeyIndexStatus": status})
        return status

    def active_keys(self, table: TableMeta) -> list[dict[str, Any]]:
        return [k for k in self.schema.table_keys(table.logical_name) if self.status(k) == "Active"]

    @staticmethod
    def _fields(table: TableMeta, key: dict[str, Any]) -> list[str]:
        return [table.attributes[a].value_name if a in table.attributes else a for a in key["KeyAttributes"]]

    def _has_duplicates(self, table: TableMeta, key: dict[str, Any]) -> bool:
        fields = self._fields(table, key)
        seen: set[tuple[Any, ...]] = set()
        for doc in self.schema.store.query(table.logical_name, "1", [], "id ASC", 1 << 62):
            values = tuple(_norm(doc.get(f)) for f in fields)
            if any(v is None for v in values):
                continue
            if values in seen:
                return True
            seen.add(values)
        return False

    # --- lookups by key -----------------------------------------------------------------------------

    def key_for(self, table: TableMeta, names: set[str]) -> dict[str, Any]:
        for key in self.schema.table_keys(table.logical_name):
            if set(key["KeyAttributes"]) == names and self.status(key) == "Active":
                return key
        raise errors.DataverseError(
            400,
            "0x80060890",
            f"The specified key attributes are not a defined key for the {table.logical_name} entity",
        )

    def find(self, table: TableMeta, values: dict[str, Any]) -> str | None:
        """The id of the row whose key columns equal `values` (None when there is none)."""
        key = self.key_for(table, set(values))
        fields = self._fields(table, key)
        where = " AND ".join(f"{column_sql(f)} = ? COLLATE NOCASE" for f in fields)
        params = [_param(values[a]) for a in key["KeyAttributes"]]
        rows = self.schema.store.query(table.logical_name, where, params, "id ASC", 1)
        return str(rows[0][table.primary_id]) if rows else None

    def not_found(self, table: TableMeta) -> errors.DataverseError:
        return errors.DataverseError(
            404,
            "0x80060891",
            f"A record with the specified key values does not exist in {table.logical_name} entity",
        )

    def resolve_segment(self, table: TableMeta, key_text: str) -> tuple[str | None, dict[str, Any]]:
        values = parse_key_segment(key_text)
        return self.find(table, values), values

    def body_values(self, table: TableMeta, values: dict[str, Any]) -> dict[str, Any]:
        """Key values as they would be written in a request body (for creates by key)."""
        out: dict[str, Any] = {}
        for name, value in values.items():
            attr = table.attributes.get(name)
            if attr is not None and attr.is_lookup and attr.targets:
                target = self.schema.registry.by_logical(attr.targets[0])
                if target is not None:
                    out[f"{attr.nav.get(target.logical_name, name)}@odata.bind"] = (
                        f"/{target.entity_set}({value})"
                    )
                continue
            out[name] = float(value) if isinstance(value, Decimal) else value
        return out

    def bind_resolver(self, value: str) -> tuple[str, str] | None:
        ref = split_reference(value)
        if ref is None:
            return None
        entity_set, key_text = ref
        table = self.schema.registry.by_set(entity_set)
        if table is None:
            return None
        record_id, _ = self.resolve_segment(table, key_text)
        if record_id is None:
            raise self.not_found(table)
        return entity_set, record_id

    def upsert_target(
        self, table: TableMeta, target: dict[str, Any]
    ) -> tuple[str | None, dict[str, Any]] | None:
        """UpsertMultiple item addressed by `"@odata.id": "<set>(key='v')"` → (existing id or None, body).

        On the create path the key values are added to the body; a body that already carries a key column
        is refused (notes/dataverse.md: known pitfall, 400 on the create path).
        """
        odata_id = target.get("@odata.id")
        ref = split_reference(str(odata_id)) if odata_id else None
        if ref is None:
            return None
        entity_set, key_text = ref
        if entity_set != table.entity_set:
            raise errors.payload_error(
                table.entity_set,
                f"Microsoft.OData.ODataException: The '@odata.id' '{odata_id}' does not refer to entity set "
                f"'{table.entity_set}'.",
            )
        record_id, values = self.resolve_segment(table, key_text)
        body = {k: v for k, v in target.items() if k not in ("@odata.type", "@odata.id")}
        if record_id is None:
            clash = sorted(n for n in values if n in body)
            if clash:
                raise errors.invalid_argument(
                    f"The key attribute(s) {', '.join(clash)} are set both in '@odata.id' and in the record; "
                    "on the create path of UpsertMultiple give key values in '@odata.id' only."
                )
            body.update(self.body_values(table, values))
        return record_id, body

    # --- uniqueness on write ------------------------------------------------------------------------

    def check_unique(self, table: TableMeta, record_id: str, doc: dict[str, Any]) -> None:
        for key in self.active_keys(table):
            fields = self._fields(table, key)
            values = [doc.get(f) for f in fields]
            if any(v is None for v in values):
                continue
            where = " AND ".join(f"{column_sql(f)} = ? COLLATE NOCASE" for f in fields) + " AND id <> ?"
            rows = self.schema.store.query(
                table.logical_name, where, [*(_param(v) for v in values), record_id], "id ASC", 1
            )
            if rows:
                raise duplicate_key(key, table)


def _param(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return value


def _norm(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value
