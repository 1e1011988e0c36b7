"""Turn a request body into column values, rejecting what Dataverse rejects.

Checks run in the order Dataverse applies them: OData deserialization first (unknown property,
wrong JSON type → 0x80048d19), then platform validation (MaxLength, ranges → 0x80044331; choice
values → 0x8004431A). Lookup targets are checked against the store by the caller, because that
needs data, not metadata.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from . import errors
from .metadata import DECIMAL_TYPES, INT_TYPES, NON_PROPERTY_TYPES, STRING_TYPES, AttributeMeta, TableMeta
from .values import format_datetime, parse_datetime, parse_guid

Mode = Literal["create", "update", "seed"]

INT32 = (-2147483648, 2147483647)


@dataclass(frozen=True)
class LookupRef:
    """A parsed `@odata.bind`: which column, which table and row it points to (None clears it)."""

    attribute: str
    target: str | None
    target_id: str | None


@dataclass
class Changes:
    values: dict[str, Any] = field(default_factory=dict)
    lookups: dict[str, LookupRef] = field(default_factory=dict)
    parties: list[Any] | None = None  # parties.Party items when the body sent the party collection


def parse_bind_path(value: str) -> tuple[str, str] | None:
    """`/accounts(<guid>)`, `accounts(<guid>)` or an absolute URL → (entity set, guid)."""
    path = value.strip()
    if "/api/data/" in path:
        path = path.split("/api/data/", 1)[1]
        path = path.split("/", 1)[1] if "/" in path else path
    path = path.lstrip("/")
    if not path.endswith(")") or "(" not in path:
        return None
    entity_set, key = path[:-1].split("(", 1)
    guid = parse_guid(key)
    return (entity_set, guid) if guid else None


def validate_payload(
    table: TableMeta,
    body: dict[str, Any],
    mode: Mode,
    sets_to_logical: dict[str, str],
    bind_resolver: Callable[[str], tuple[str, str] | None] | None = None,
) -> Changes:
    changes = Changes()
    es = table.entity_set
    for key, value in body.items():
        if key.startswith("@"):
            continue  # @odata.type, @odata.etag, @odata.context … are annotations, not data
        if "@" in key:
            prop, annotation = key.split("@", 1)
            if annotation != "odata.bind":
                continue  # instance annotations such as FormattedValue are ignored on writes
            nav = table.navigation.get(prop)
            if nav is None:
                raise errors.undeclared_annotation_property(es, prop)
            attr = table.attributes[nav.attribute]
            if not _writable(attr, mode):
                continue
            if value is None:
                changes.lookups[attr.name] = LookupRef(attr.name, None, None)
                continue
            parsed = parse_bind_path(value) if isinstance(value, str) else None
            if parsed is None and bind_resolver is not None and isinstance(value, str):
                parsed = bind_resolver(value)  # alternate key, e.g. /accounts(accountnumber='A1')
            if parsed is None:
                raise errors.payload_error(
                    es,
                    f"Microsoft.OData.ODataException: The value '{value}' of '{key}' is not a valid entity "
                    "reference URL; use '/<entityset>(<guid>)'.",
                )
            target_set, target_id = parsed
            target = sets_to_logical.get(target_set)
            if target is None or target not in nav.targets:
                raise errors.payload_error(
                    es,
                    f"Microsoft.OData.ODataException: The navigation property '{prop}' cannot refer to "
                    f"entity set '{target_set}'; expected one of: {', '.join(nav.targets)}.",
                )
            changes.lookups[attr.name] = LookupRef(attr.name, target, target_id)
            continue
        attr = table.attributes.get(key)
        if attr is None or attr.is_lookup or attr.type in NON_PROPERTY_TYPES:
            raise errors.unknown_property(es, key, table.logical_name)
        if not _writable(attr, mode):
            continue
        changes.values[key] = convert_value(table, attr, value)
    return changes


def _writable(attr: AttributeMeta, mode: Mode) -> bool:
    if mode == "seed":
        return True
    return attr.valid_for_create if mode == "create" else attr.valid_for_update


def convert_value(table: TableMeta, attr: AttributeMeta, value: Any) -> Any:
    """JSON value → stored value, or a Dataverse error."""
    if value is None:
        return None
    es = table.entity_set
    t = attr.type
    if t is None:
        if isinstance(value, (dict, list)):
            raise errors.wrong_type(es, value, "Edm.String")
        return value
    if t in STRING_TYPES or t == "Image":
        if not isinstance(value, str):
            raise errors.wrong_type(es, value, attr.edm_type)
        if attr.max_length is not None and t in STRING_TYPES and len(value) > attr.max_length:
            raise errors.too_long(attr.name, table.logical_name, attr.max_length)
        return value
    if t in INT_TYPES or t == "BigInt":
        if isinstance(value, bool) or not isinstance(value, int):
            raise errors.wrong_type(es, value, attr.edm_type)
        if t in ("Picklist", "State", "Status"):
            if attr.options and value not in attr.options:
                raise errors.option_out_of_range(attr.name, table.logical_name, value, sorted(attr.options))
            return value
        lo, hi = INT32 if t == "Integer" else (-(2**63), 2**63 - 1)
        if not lo <= value <= hi:
            raise errors.wrong_type(es, value, attr.edm_type)
        _check_range(table, attr, value)
        return value
    if t == "MultiSelectPicklist":
        # Web API: the selected values as one comma-separated string, e.g. "100000000,100000002".
        if not isinstance(value, str):
            raise errors.wrong_type(es, value, "Edm.String")
        for part in (p.strip() for p in value.split(",") if p.strip()):
            if not part.lstrip("-").isdigit() or (attr.options and int(part) not in attr.options):
                raise errors.option_out_of_range(attr.name, table.logical_name, part, sorted(attr.options))
        return value
    if t in DECIMAL_TYPES or t == "Double":
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            raise errors.wrong_type(es, value, attr.edm_type)
        _check_range(table, attr, value)
        return value
    if t == "Boolean":
        if not isinstance(value, bool):
            raise errors.wrong_type(es, value, "Edm.Boolean")
        return value
    if t == "DateTime":
        if not isinstance(value, str):
            raise errors.wrong_type(es, value, attr.edm_type)
        try:
            parsed = parse_datetime(value)
        except ValueError:
            raise errors.wrong_type(es, value, attr.edm_type) from None
        if attr.is_date_only:
            return parsed.date().isoformat()
        return format_datetime(parsed)
    if t == "Uniqueidentifier":
        guid = parse_guid(value)
        if guid is None:
            raise errors.wrong_type(es, value, "Edm.Guid")
        return guid
    raise errors.wrong_type(es, value, attr.edm_type)


def _check_range(table: TableMeta, attr: AttributeMeta, value: float | int | Decimal) -> None:
    if attr.min_value is not None and value < attr.min_value:
        raise errors.out_of_range(attr.name, table.logical_name, value)
    if attr.max_value is not None and value > attr.max_value:
        raise errors.out_of_range(attr.name, table.logical_name, value)
