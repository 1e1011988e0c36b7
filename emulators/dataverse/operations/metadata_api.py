"""The metadata Web API: `EntityDefinitions`, `Attributes`, `Keys`, relationships, global choices, publish.

Reads follow powerapps-docs `webapi/query-metadata-web-api.md` and `retrieve-metadata-name-metadataid.md`
(`EntityDefinitions(LogicalName='x')`, `…(<MetadataId>)`, `$select`, `$filter`, cast segments such as
`Attributes(LogicalName='y')/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$expand=OptionSet`, and nested
options such as `$expand=OptionSet($select=Options)`).
Writes follow the `create-update-*` pages (204 + `OData-EntityId`, `MSCRM.SolutionUniqueName`,
`PUT` with `MSCRM.MergeLabels`, `PublishXml`/`PublishAllXml`), plus the `CreateEntities` action that
Microsoft's Python SDK uses to create a table with its columns.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from .. import errors
from ..custom_schema import TYPE_TO_ODATA, CustomSchema, label, metadata_id
from ..keys import AlternateKeys
from ..metadata import AttributeMeta, TableMeta
from ..odata_query import And, Compare, Function, Not, Or, parse_filter
from ..values import parse_guid
from .base import Request, Response, context_url

ROOTS = (
    "EntityDefinitions",
    "CreateEntities",
    "RelationshipDefinitions",
    "GlobalOptionSetDefinitions",
    "PublishXml",
    "PublishAllXml",
)
_SEGMENT = re.compile(r"^(?P<name>[A-Za-z_.]+)(?:\((?P<key>.*)\))?$")
TYPE_NAMES = {
    "String": "StringType",
    "Memo": "MemoType",
    "Integer": "IntegerType",
    "BigInt": "BigIntType",
    "Decimal": "DecimalType",
    "Money": "MoneyType",
    "Double": "DoubleType",
    "Boolean": "BooleanType",
    "DateTime": "DateTimeType",
    "Picklist": "PicklistType",
    "MultiSelectPicklist": "MultiSelectPicklistType",
    "State": "StateType",
    "Status": "StatusType",
    "Lookup": "LookupType",
    "Customer": "CustomerType",
    "Owner": "OwnerType",
    "PartyList": "PartyListType",
    "Uniqueidentifier": "UniqueidentifierType",
    "EntityName": "EntityNameType",
    "Image": "ImageType",
}


def handles(path: str) -> bool:
    head = unquote(path).strip("/").split("/", 1)[0]
    return head.split("(", 1)[0] in ROOTS


def dispatch(req: Request, schema: CustomSchema, keys: AlternateKeys) -> Response:
    segments = _segments(unquote(req.path).strip("/"))
    head, head_key = segments[0]
    method = req.method
    if head in ("PublishXml", "PublishAllXml"):
        if method != "POST":
            raise errors.method_not_allowed(method, head)
        names = None
        if head == "PublishXml":
            body = _body(req)
            xml = str(body.get("ParameterXml", ""))
            names = [n.lower() for n in re.findall(r"<entity>\s*([^<\s]+)\s*</entity>", xml)]
        schema.publish(names)
        return Response(204)
    if head == "CreateEntities":
        return _create_entities(req, schema, head_key, segments[1:])
    if head == "GlobalOptionSetDefinitions":
        return _optionsets(req, schema, head_key, segments[1:])
    if head == "RelationshipDefinitions":
        return _relationships(req, schema, head_key, segments[1:])
    return _entities(req, schema, keys, head_key, segments[1:])


def _segments(path: str) -> list[tuple[str, str | None]]:
    out = []
    for part in path.split("/"):
        m = _SEGMENT.match(part)
        if not m:
            raise errors.resource_not_found(part)
        out.append((m["name"], m["key"]))
    return out


def _body(req: Request) -> dict[str, Any]:
    try:
        data = json.loads(req.body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.DataverseError(400, "0x80048d19", f"Invalid JSON. {exc}") from None
    if not isinstance(data, dict):
        raise errors.DataverseError(400, "0x80048d19", "Invalid JSON. A JSON object was expected.")
    return data


def _merge_header(req: Request) -> bool:
    return (req.header("MSCRM.MergeLabels") or "").strip().lower() == "true"


def _entity_id_header(req: Request, path: str) -> dict[str, str]:
    return {"OData-EntityId": f"{req.api_root}{path}"}


# --- query options over metadata ------------------------------------------------------------------

# Declared type of each expandable navigation property, for error messages (query-metadata-web-api.md).
_NAV_TYPES = {
    "Attributes": "AttributeMetadata",
    "OptionSet": "OptionSetMetadataBase",
    "GlobalOptionSet": "OptionSetMetadataBase",
}


@dataclass
class _Expand:
    """One `$expand` item with its nested query options, e.g. `OptionSet($select=Options)`."""

    name: str
    select: list[str] = field(default_factory=list)
    filter: str | None = None
    expand: list[_Expand] = field(default_factory=list)


def _no_property(name: str, type_name: str) -> errors.DataverseError:
    return errors.DataverseError(
        400,
        "0x80060888",
        f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{type_name}'.",
    )


def _split_top(text: str, sep: str) -> list[str]:
    """Split at `sep` outside parentheses and quoted literals."""
    parts, depth, quoted, start = [], 0, False, 0
    for i, ch in enumerate(text):
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
            if depth < 0:
                raise errors.query_syntax(f"Syntax error: unbalanced ')' in '{text}'.")
        elif not quoted and depth == 0 and ch == sep:
            parts.append(text[start:i])
            start = i + 1
    if depth or quoted:
        raise errors.query_syntax(f"Syntax error: unbalanced '(' or quote in '{text}'.")
    parts.append(text[start:])
    return parts


_EXPAND_ITEM = re.compile(r"^\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?:\((?P<opts>.*)\))?\s*$", re.S)


def _select_list(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def _parse_expand(text: str) -> list[_Expand]:
    """`$expand` with nested `$select`, `$filter` and `$expand` (`;`-separated), per OData 4.0."""
    out = []
    for part in _split_top(text, ","):
        if not part.strip():
            continue
        m = _EXPAND_ITEM.match(part)
        if not m:
            raise errors.query_syntax(f"Syntax error at '{part.strip()}' in $expand.")
        item = _Expand(m["name"])
        seen: set[str] = set()
        for opt in _split_top(m["opts"] or "", ";"):
            if not opt.strip():
                continue
            key, eq, value = opt.strip().partition("=")
            key = key.strip()
            if not eq or key not in ("$select", "$filter", "$expand"):
                raise errors.query_syntax(
                    f"The query option '{key}' is not supported inside $expand on metadata."
                )
            if key in seen:
                raise errors.query_syntax(f"Query option '{key}' was specified more than once.")
            seen.add(key)
            if key == "$select":
                item.select = _select_list(value)
            elif key == "$filter":
                item.filter = value
            else:
                item.expand = _parse_expand(value)
        out.append(item)
    return out


def _shape(
    item: dict[str, Any], select: list[str], expand: list[_Expand], type_name: str, nested: bool = False
) -> dict[str, Any]:
    """One metadata item narrowed by `$select` and widened by `$expand` (`_`-keys are internal)."""
    for name in select:
        if name not in item:
            raise _no_property(name, type_name)
    shown = {k: v for k, v in item.items() if not k.startswith("_")}
    if select:
        # retrieve-metadata-name-metadataid.md: a selected item keeps its MetadataId; an expanded one
        # selected with `$select=Options` comes back as just `Options` and `MetadataId`.
        keep = {*select, "MetadataId"} if nested else {*select, "MetadataId", "@odata.type"}
        shown = {k: v for k, v in shown.items() if k in keep}
    available = item.get("_expand", {})
    for exp in expand:
        if exp.name not in available:
            raise _no_property(exp.name, type_name)
        shown[exp.name] = _expanded(available[exp.name], exp)
    return shown


def _expanded(value: Any, exp: _Expand) -> Any:
    type_name = _NAV_TYPES.get(exp.name, "crmbaseentity")
    if isinstance(value, list):
        if exp.filter is not None:
            node = parse_filter(exp.filter)
            value = [v for v in value if _matches(node, v, type_name)]
        return [_shape(v, exp.select, exp.expand, type_name, nested=True) for v in value]
    if exp.filter is not None:
        raise errors.query_syntax(
            f"The $filter query option is only valid on a collection; '{exp.name}' is single-valued."
        )
    if value is None:
        return None
    return _shape(value, exp.select, exp.expand, type_name, nested=True)


def _context_fragment(context: str, select: list[str], expand: list[_Expand]) -> str:
    """`…/PicklistAttributeMetadata(LogicalName,OptionSet,OptionSet(Options))` as in the docs' example."""
    nested = [f"{e.name}({','.join(e.select)})" for e in expand if e.select]
    parts = [*select, *(e.name for e in expand), *nested] if select else nested
    return f"{context}({','.join(parts)})" if parts else context


def _apply_query(
    req: Request, items: list[dict[str, Any]], type_name: str, context: str, single: bool = False
) -> Response:
    query = req.query()
    for opt in query:
        if opt.startswith("$") and opt not in ("$select", "$filter", "$expand"):
            raise errors.query_syntax(f"The query parameter '{opt}' is not supported on metadata.")
    select = _select_list(query.get("$select", ""))
    expand = _parse_expand(query.get("$expand", ""))
    if "$filter" in query and not single:
        node = parse_filter(query["$filter"])
        items = [i for i in items if _matches(node, i, type_name)]
    out = [_shape(item, select, expand, type_name) for item in items]
    fragment = _context_fragment(context, select, expand)
    if single:
        return Response(200, {"@odata.context": context_url(req, f"{fragment}/$entity"), **out[0]})
    return Response(200, {"@odata.context": context_url(req, fragment), "value": out})


def _matches(node: Any, item: dict[str, Any], type_name: str) -> bool:
    if isinstance(node, And):
        return _matches(node.left, item, type_name) and _matches(node.right, item, type_name)
    if isinstance(node, Or):
        return _matches(node.left, item, type_name) or _matches(node.right, item, type_name)
    if isinstance(node, Not):
        return not _matches(node.operand, item, type_name)
    if node.prop not in item:
        raise errors.DataverseError(
            400,
            "0x80060888",
            f"Could not find a property named '{node.prop}' on type 'Microsoft.Dynamics.CRM.{type_name}'.",
        )
    value = item[node.prop]
    if isinstance(value, dict) and "Value" in value:
        value = value["Value"]  # managed properties such as IsCustomizable
    lit = node.literal.value
    if isinstance(node, Function):
        text, needle = str(value or "").lower(), str(lit).lower()
        return {
            "contains": needle in text,
            "startswith": text.startswith(needle),
            "endswith": text.endswith(needle),
        }[node.name]
    assert isinstance(node, Compare)
    if isinstance(value, str) and isinstance(lit, str):
        value, lit = value.lower(), lit.lower()
    ops = {
        "eq": lambda a, b: a == b,
        "ne": lambda a, b: a != b,
        "gt": lambda a, b: a is not None and a > b,
        "ge": lambda a, b: a is not None and a >= b,
        "lt": lambda a, b: a is not None and a < b,
        "le": lambda a, b: a is not None and a <= b,
    }
    return bool(ops[node.op](value, lit))


# --- shapes ---------------------------------------------------------------------------------------


def entity_shape(schema: CustomSchema, t: TableMeta) -> dict[str, Any]:
    doc = schema.entity_doc(t.logical_name) or {}
    custom = bool(doc)
    name_label = doc.get("DisplayName") or label(t.schema_name)
    annotation = schema.registry.by_logical("annotation")
    has_notes = bool(annotation and t.logical_name in annotation.attributes.get("objectid", _NO_ATTR).targets)
    pointer = schema.registry.by_logical("activitypointer")
    has_acts = bool(
        pointer and t.logical_name in pointer.attributes.get("regardingobjectid", _NO_ATTR).targets
    )
    return {
        "@odata.type": "#Microsoft.Dynamics.CRM.EntityMetadata",
        "MetadataId": metadata_id("entity", t.logical_name),
        "LogicalName": t.logical_name,
        "SchemaName": t.schema_name,
        "EntitySetName": t.entity_set,
        "LogicalCollectionName": t.entity_set,
        "PrimaryIdAttribute": t.primary_id,
        "PrimaryNameAttribute": t.primary_name,
        "ObjectTypeCode": doc.get("ObjectTypeCode"),
        "OwnershipType": t.ownership or "None",
        "IsActivity": t.is_activity,
        "IsCustomEntity": custom,
        "IsManaged": not custom,
        "HasNotes": doc.get("HasNotes", has_notes),
        "HasActivities": doc.get("HasActivities", has_acts),
        "DisplayName": name_label,
        "DisplayCollectionName": doc.get("DisplayCollectionName") or label(t.entity_set),
        "Description": doc.get("Description") or label(None),
        "IsCustomizable": {
            "Value": True,
            "CanBeChanged": custom,
            "ManagedPropertyLogicalName": "iscustomizable",
        },
    }


class _NoAttr:
    targets: tuple[str, ...] = ()


_NO_ATTR: Any = _NoAttr()


def attribute_shape(schema: CustomSchema, t: TableMeta, a: AttributeMeta) -> dict[str, Any]:
    doc = schema.attribute_doc(t.logical_name, a.name) or {}
    odata = TYPE_TO_ODATA.get(a.type or "", "AttributeMetadata")
    attr_type = a.type or "Virtual"
    if a.type == "MultiSelectPicklist":
        attr_type = "Virtual"
    out: dict[str, Any] = {
        "@odata.type": f"#Microsoft.Dynamics.CRM.{odata}",
        "MetadataId": metadata_id("attribute", t.logical_name, a.name),
        "LogicalName": a.name,
        "SchemaName": doc.get("SchemaName") or a.name,
        "EntityLogicalName": t.logical_name,
        "AttributeType": attr_type,
        "AttributeTypeName": {"Value": TYPE_NAMES.get(a.type or "", "VirtualType")},
        "IsCustomAttribute": bool(doc),
        "IsPrimaryId": a.name == t.primary_id,
        "IsPrimaryName": a.name == t.primary_name,
        "IsValidForCreate": a.valid_for_create,
        "IsValidForUpdate": a.valid_for_update,
        "IsValidForRead": a.valid_for_read,
        "RequiredLevel": doc.get("RequiredLevel")
        or {
            "Value": a.required,
            "CanBeChanged": True,
            "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings",
        },
        "DisplayName": doc.get("DisplayName") or label(a.name),
        "Description": doc.get("Description") or label(None),
    }
    if a.type in ("String", "Memo"):
        out["MaxLength"] = a.max_length
        out["Format"] = a.format or ("Text" if a.type == "String" else "TextArea")
        if a.type == "String":
            out["FormatName"] = {"Value": a.format or "Text"}
    if a.type in ("Integer", "BigInt", "Decimal", "Money", "Double"):
        out["MinValue"], out["MaxValue"] = a.min_value, a.max_value
    if a.type == "DateTime":
        out["Format"] = a.format or "DateAndTime"
        out["DateTimeBehavior"] = {"Value": a.behavior or "UserLocal"}
    if a.is_lookup:
        out["Targets"] = list(a.targets)
    if a.type == "Boolean":
        out["DefaultValue"] = a.default
    out.update(
        {k: v for k, v in doc.get("extra", {}).items() if k not in ("OptionSet", "GlobalOptionSetName")}
    )
    if a.type in ("Picklist", "MultiSelectPicklist", "State", "Status", "Boolean"):
        out["_expand"] = {
            "OptionSet": _optionset_of(schema, t, a, doc),
            "GlobalOptionSet": _global_of(schema, doc),
        }
    return out


def _optionset_of(
    schema: CustomSchema, t: TableMeta, a: AttributeMeta, doc: dict[str, Any]
) -> dict[str, Any]:
    stored = doc.get("extra", {}).get("OptionSet")
    if stored is not None and "Options" in stored:
        return _optionset_shape(stored)
    if stored is not None:
        return {"@odata.type": "#Microsoft.Dynamics.CRM.BooleanOptionSetMetadata", **stored}
    if a.type == "Boolean":
        return {
            "@odata.type": "#Microsoft.Dynamics.CRM.BooleanOptionSetMetadata",
            "TrueOption": {"Value": 1, "Label": label(a.bool_labels.get(1))},
            "FalseOption": {"Value": 0, "Label": label(a.bool_labels.get(0))},
        }
    name = f"{t.logical_name}_{a.name}"
    return _optionset_shape(
        {
            "MetadataId": metadata_id("optionset", name),
            "Name": name,
            "IsGlobal": False,
            "OptionSetType": {"State": "State", "Status": "Status"}.get(a.type or "", "Picklist"),
            "Options": [{"Value": v, "Label": label(lab)} for v, lab in sorted(a.options.items())],
        }
    )


def _global_of(schema: CustomSchema, doc: dict[str, Any]) -> dict[str, Any] | None:
    name = doc.get("extra", {}).get("GlobalOptionSetName")
    return _optionset_shape(schema.optionsets[name]) if name in schema.optionsets else None


def _optionset_shape(os_doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "@odata.type": "#Microsoft.Dynamics.CRM.OptionSetMetadata",
        "MetadataId": os_doc["MetadataId"],
        "Name": os_doc["Name"],
        "IsGlobal": os_doc["IsGlobal"],
        "IsCustomOptionSet": True,
        "OptionSetType": os_doc.get("OptionSetType", "Picklist"),
        "DisplayName": os_doc.get("DisplayName") or label(None),
        "Description": os_doc.get("Description") or label(None),
        "Options": [
            {"Value": o["Value"], "Label": o["Label"], "Description": label(None), "Color": None}
            for o in os_doc["Options"]
        ],
    }


def key_shape(keys: AlternateKeys, k: dict[str, Any]) -> dict[str, Any]:
    return {
        "@odata.type": "#Microsoft.Dynamics.CRM.EntityKeyMetadata",
        "MetadataId": k["MetadataId"],
        "LogicalName": k["LogicalName"],
        "SchemaName": k["SchemaName"],
        "EntityLogicalName": k["EntityLogicalName"],
        "KeyAttributes": list(k["KeyAttributes"]),
        "DisplayName": k["DisplayName"],
        "EntityKeyIndexStatus": keys.status(k),
        "IsManaged": False,
    }


def relationship_shape(rel: dict[str, Any]) -> dict[str, Any]:
    return {
        "@odata.type": "#Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
        **{k: v for k, v in rel.items() if k not in ("solution", "published")},
        "RelationshipType": "OneToManyRelationship",
    }


# --- EntityDefinitions ----------------------------------------------------------------------------


def _entity_ref(schema: CustomSchema, key: str) -> TableMeta:
    key = key.strip()
    if key.startswith("LogicalName="):
        return schema.table(key.removeprefix("LogicalName=").strip("'"))
    guid = parse_guid(key)
    if guid is None:
        raise errors.query_syntax(f"Bad Request - Error in query syntax. The key '{key}' is not valid.")
    return schema.table_by_id(guid)


def _entities(
    req: Request,
    schema: CustomSchema,
    keys: AlternateKeys,
    key: str | None,
    rest: list[tuple[str, str | None]],
) -> Response:
    method = req.method
    if key is None:
        if rest:
            raise errors.resource_not_found(rest[0][0])
        if method == "GET":
            items = []
            want_attrs = "Attributes" in req.query().get("$expand", "")  # built only when asked for
            for t in sorted(schema.registry.tables(), key=lambda t: t.logical_name):
                shape = entity_shape(schema, t)
                if want_attrs:
                    shape["_expand"] = {"Attributes": [attribute_shape(schema, t, a) for a in _attrs(t)]}
                items.append(shape)
            return _apply_query(req, items, "EntityMetadata", "EntityDefinitions")
        if method == "POST":
            doc = schema.create_entity(_body(req), req.header("MSCRM.SolutionUniqueName"))
            return Response(204, None, _entity_id_header(req, f"EntityDefinitions({doc['MetadataId']})"))
        raise errors.method_not_allowed(method, "EntityDefinitions")
    table = _entity_ref(schema, key)
    if not rest:
        if method == "GET":
            shape = entity_shape(schema, table)
            shape["_expand"] = {"Attributes": [attribute_shape(schema, table, a) for a in _attrs(table)]}
            return _apply_query(req, [shape], "EntityMetadata", "EntityDefinitions", single=True)
        if method == "PUT":
            schema.update_entity(table.logical_name, _body(req), _merge_header(req))
            return Response(204)
        if method == "DELETE":
            schema.delete_entity(table.logical_name)
            return Response(204)
        raise errors.method_not_allowed(method, "EntityDefinitions")
    nav, nav_key = rest[0]
    ctx = f"EntityDefinitions('{table.logical_name}')/{nav}"
    if nav == "Attributes":
        return _attributes(req, schema, table, nav_key, rest[1:], ctx)
    if nav == "Keys":
        if rest[1:]:
            raise errors.resource_not_found(rest[1][0])
        if nav_key is None and method == "GET":
            items = [key_shape(keys, k) for k in schema.table_keys(table.logical_name)]
            return _apply_query(req, items, "EntityKeyMetadata", ctx)
        if nav_key is None and method == "POST":
            doc = schema.create_key(table.logical_name, _body(req), req.header("MSCRM.SolutionUniqueName"))
            keys.status(doc)  # activates at once when the activation delay is 0
            path = f"EntityDefinitions({metadata_id('entity', table.logical_name)})/Keys({doc['MetadataId']})"
            return Response(204, None, _entity_id_header(req, path))
        if nav_key is not None and method == "GET":
            k = schema.key_by_ref(table.logical_name, nav_key)
            return _apply_query(req, [key_shape(keys, k)], "EntityKeyMetadata", ctx, single=True)
        if nav_key is not None and method == "DELETE":
            schema.delete_key(table.logical_name, nav_key)
            return Response(204)
        raise errors.method_not_allowed(method, nav)
    if nav in ("ManyToOneRelationships", "OneToManyRelationships") and nav_key is None and method == "GET":
        side = "ReferencingEntity" if nav == "ManyToOneRelationships" else "ReferencedEntity"
        items = [relationship_shape(r) for r in schema.all_relationships() if r[side] == table.logical_name]
        return _apply_query(req, items, "OneToManyRelationshipMetadata", ctx)
    raise errors.resource_not_found(nav)


def _attrs(t: TableMeta) -> list[AttributeMeta]:
    return sorted(t.attributes.values(), key=lambda a: a.name)


def _attributes(
    req: Request,
    schema: CustomSchema,
    table: TableMeta,
    key: str | None,
    rest: list[tuple[str, str | None]],
    ctx: str,
) -> Response:
    method = req.method
    cast = None
    if rest:
        name, extra_key = rest[0]
        if not name.startswith("Microsoft.Dynamics.CRM.") or extra_key is not None or len(rest) > 1:
            raise errors.resource_not_found(name)
        cast = name.removeprefix("Microsoft.Dynamics.CRM.")
        if cast not in set(TYPE_TO_ODATA.values()) | {"AttributeMetadata"}:
            raise errors.resource_not_found(name)
        if method != "GET":
            raise errors.method_not_allowed(method, name)
        ctx = f"{ctx}/Microsoft.Dynamics.CRM.{cast}"
    type_name = cast or "AttributeMetadata"
    if key is None:
        if method == "GET":
            items = [attribute_shape(schema, table, a) for a in _attrs(table)]
            if cast and cast != "AttributeMetadata":
                items = [i for i in items if i["@odata.type"] == f"#Microsoft.Dynamics.CRM.{cast}"]
            return _apply_query(req, items, type_name, ctx)
        if method == "POST":
            doc = schema.create_attribute(
                table.logical_name, _body(req), req.header("MSCRM.SolutionUniqueName")
            )
            entity_id = metadata_id("entity", table.logical_name)
            path = f"EntityDefinitions({entity_id})/Attributes({doc['MetadataId']})"
            return Response(204, None, _entity_id_header(req, path))
        raise errors.method_not_allowed(method, "Attributes")
    attr = _attribute_ref(schema, table, key)
    if method == "GET":
        shape = attribute_shape(schema, table, attr)
        if cast and cast != "AttributeMetadata" and shape["@odata.type"] != f"#Microsoft.Dynamics.CRM.{cast}":
            raise errors.DataverseError(
                400,
                "0x80060888",
                f"The attribute {attr.name} is a {shape['@odata.type'][1:]}, "
                f"not a Microsoft.Dynamics.CRM.{cast}.",
            )
        if not cast:
            shape.pop("_expand", None)
        return _apply_query(req, [shape], type_name, ctx, single=True)
    if method == "PUT":
        schema.update_attribute(table.logical_name, attr.name, _body(req), _merge_header(req))
        return Response(204)
    if method == "DELETE":
        schema.delete_attribute(table.logical_name, attr.name)
        return Response(204)
    raise errors.method_not_allowed(method, "Attributes")


def _attribute_ref(schema: CustomSchema, table: TableMeta, key: str) -> AttributeMeta:
    key = key.strip()
    if key.startswith("LogicalName="):
        return schema.attribute_meta(table.logical_name, key.removeprefix("LogicalName=").strip("'"))
    guid = parse_guid(key)
    for a in table.attributes.values():
        if guid is not None and metadata_id("attribute", table.logical_name, a.name) == guid:
            return a
    raise errors.DataverseError(404, "0x80040217", f"Could not find attribute with id = {key}")


# --- CreateEntities ------------------------------------------------------------------------------


_CREATE_ENTITIES_PARAMETERS = frozenset({"Entities", "SolutionUniqueName"})


def _create_entities(req: Request, schema: CustomSchema, key: str | None, rest: list[Any]) -> Response:
    """`POST CreateEntities`: the unbound action that creates tables with all their columns at once.

    Body `{"Entities": [ComplexEntityMetadata, …]}` (Microsoft's Python SDK `tables.create`; the types are
    the ComplexEntityMetadata / Complex*AttributeMetadata complex types of the Web API reference). Every
    table is made by the `POST EntityDefinitions` path, then its other columns by the `POST …/Attributes`
    path; the whole request is atomic. The solution comes from the `SolutionUniqueName` parameter, the
    `SolutionUniqueName` query option the SDK sends, or `MSCRM.SolutionUniqueName`.
    """
    if key is not None or rest:
        raise errors.resource_not_found(rest[0][0] if rest else f"CreateEntities({key})")
    if req.method != "POST":
        raise errors.method_not_allowed(req.method, "CreateEntities")
    body = _body(req)
    for name in body:
        if name not in _CREATE_ENTITIES_PARAMETERS and not name.startswith("@"):
            raise errors.DataverseError(
                400,
                "0x80048d19",
                f"The parameter '{name}' in the request payload is not a valid parameter for the operation "
                "'CreateEntities'.",
            )
    entities = body.get("Entities")
    if not isinstance(entities, list) or not entities or not all(isinstance(e, dict) for e in entities):
        raise errors.DataverseError(
            400,
            "0x80048d19",
            "The parameter 'Entities' must be a non-empty collection of ComplexEntityMetadata.",
        )
    solution = (
        body.get("SolutionUniqueName")
        or req.query().get("SolutionUniqueName")
        or req.header("MSCRM.SolutionUniqueName")
    )
    schema.create_entities(entities, str(solution) if solution else None)
    return Response(204)


# --- RelationshipDefinitions, GlobalOptionSetDefinitions -------------------------------------------


def _relationships(req: Request, schema: CustomSchema, key: str | None, rest: list[Any]) -> Response:
    if rest:
        cast = rest[0][0]
        if cast != "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata" or len(rest) > 1:
            raise errors.resource_not_found(cast)
    method = req.method
    if key is None:
        if method == "GET":
            items = [relationship_shape(r) for r in schema.all_relationships()]
            return _apply_query(req, items, "RelationshipMetadataBase", "RelationshipDefinitions")
        if method == "POST":
            rel = schema.create_relationship(_body(req), req.header("MSCRM.SolutionUniqueName"))
            return Response(
                204, None, _entity_id_header(req, f"RelationshipDefinitions({rel['MetadataId']})")
            )
        raise errors.method_not_allowed(method, "RelationshipDefinitions")
    if method == "GET":
        rel = schema.relationship_by_ref(key)
        return _apply_query(
            req, [relationship_shape(rel)], "RelationshipMetadataBase", "RelationshipDefinitions", single=True
        )
    if method == "DELETE":
        schema.delete_relationship(key)
        return Response(204)
    raise errors.method_not_allowed(method, "RelationshipDefinitions")


def _optionsets(req: Request, schema: CustomSchema, key: str | None, rest: list[Any]) -> Response:
    if rest:
        cast = rest[0][0]
        if cast != "Microsoft.Dynamics.CRM.OptionSetMetadata" or len(rest) > 1:
            raise errors.resource_not_found(cast)
    method = req.method
    if key is None:
        if method == "GET":
            items = [_optionset_shape(d) for d in schema.optionsets.values()]
            return _apply_query(req, items, "OptionSetMetadataBase", "GlobalOptionSetDefinitions")
        if method == "POST":
            doc = schema.create_optionset(_body(req), req.header("MSCRM.SolutionUniqueName"))
            return Response(
                204, None, _entity_id_header(req, f"GlobalOptionSetDefinitions({doc['MetadataId']})")
            )
        raise errors.method_not_allowed(method, "GlobalOptionSetDefinitions")
    if method == "GET":
        doc = schema.optionset_by_ref(key)
        return _apply_query(
            req, [_optionset_shape(doc)], "OptionSetMetadataBase", "GlobalOptionSetDefinitions", single=True
        )
    if method == "DELETE":
        schema.delete_optionset(key)
        return Response(204)
    raise errors.method_not_allowed(method, "GlobalOptionSetDefinitions")


# --- emulator-only admin hooks (not Dataverse API) ------------------------------------------------


def admin(schema: CustomSchema, name: str) -> Response:
    """`GET /_emulator/licence` (tier and cap, for preflight) and `GET /_emulator/schema` (components)."""
    if name == "licence":
        return Response(200, schema.licence_info())
    return Response(
        200,
        {
            "licence": schema.licence_info(),
            "solutions": [
                {"uniquename": s.unique_name, "prefix": s.prefix, "optionvalueprefix": s.option_prefix}
                for s in schema.solutions.values()
            ],
            "solutioncomponents": schema.components(),
        },
    )
