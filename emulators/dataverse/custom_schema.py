"""The live schema: standard tables plus what the metadata API created (tables, columns, choices,
relationships, alternate keys), persisted in the emulator's SQLite file.

The generic engine reads tables from `MetadataRegistry`; every change here rebuilds the registry's
tables (standard ones from `standard_tables.json`, custom ones from the stored definitions), so a
custom table is usable by the data API as soon as its `POST EntityDefinitions` returns.

Behaviour follows powerapps-docs `webapi/create-update-entity-definitions-using-web-api.md`,
`create-update-column-definitions-using-web-api.md`, `create-update-optionsets.md`,
`create-update-entity-relationships-using-web-api.md` and `define-alternate-keys-entity.md`.
Error codes are from `includes/data-service-errors.md` where it names one; see README for the rest.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from . import errors
from .metadata import AttributeMeta, MetadataRegistry, TableMeta, _attr_from_json
from .store import Store

NAMESPACE = uuid.UUID("3b0c6f2e-6a1d-5d7e-9a53-1f2d8c4b7e10")
LICENCE_CAPS = {"professional": 15, "enterprise": 500}
MAX_KEYS_PER_TABLE = 10
DEFAULT_SOLUTION = "Default"

# Web API metadata type name ↔ the engine's attribute type.
ODATA_TO_TYPE = {
    "StringAttributeMetadata": "String",
    "MemoAttributeMetadata": "Memo",
    "IntegerAttributeMetadata": "Integer",
    "BigIntAttributeMetadata": "BigInt",
    "DecimalAttributeMetadata": "Decimal",
    "MoneyAttributeMetadata": "Money",
    "DoubleAttributeMetadata": "Double",
    "BooleanAttributeMetadata": "Boolean",
    "DateTimeAttributeMetadata": "DateTime",
    "PicklistAttributeMetadata": "Picklist",
    "MultiSelectPicklistAttributeMetadata": "MultiSelectPicklist",
    "LookupAttributeMetadata": "Lookup",
}
TYPE_TO_ODATA = {
    **{v: k for k, v in ODATA_TO_TYPE.items()},
    "State": "StateAttributeMetadata",
    "Status": "StatusAttributeMetadata",
    "Owner": "LookupAttributeMetadata",
    "Customer": "LookupAttributeMetadata",
    "PartyList": "LookupAttributeMetadata",
    "Uniqueidentifier": "UniqueIdentifierAttributeMetadata",
    "EntityName": "EntityNameAttributeMetadata",
    "Image": "ImageAttributeMetadata",
}
# Columns creatable with `POST …/Attributes` (lookups come from `POST RelationshipDefinitions`).
CREATABLE_TYPES = frozenset(ODATA_TO_TYPE.values()) - {"Lookup"}
KEY_ATTRIBUTE_TYPES = frozenset({"String", "Integer", "Decimal", "DateTime", "Lookup", "Picklist"})


def metadata_id(kind: str, *parts: str) -> str:
    """Stable MetadataId: uuid5 of the component's kind and logical name(s)."""
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{'.'.join(p.lower() for p in parts)}"))


def label(text: str | None, lcid: int = 1033) -> dict[str, Any]:
    """A Label ComplexType as Dataverse returns it."""
    if not text:
        return {"LocalizedLabels": [], "UserLocalizedLabel": None}
    loc = {"Label": text, "LanguageCode": lcid, "IsManaged": False, "MetadataId": None, "HasChanged": None}
    return {"LocalizedLabels": [loc], "UserLocalizedLabel": dict(loc)}


def normalize_label(raw: Any) -> dict[str, Any]:
    """Incoming Label (only `LocalizedLabels` matters) → stored Label with UserLocalizedLabel."""
    if not isinstance(raw, dict):
        return label(None)
    locs = []
    for item in raw.get("LocalizedLabels") or []:
        if isinstance(item, dict) and "Label" in item:
            locs.append(
                {
                    "Label": str(item["Label"]),
                    "LanguageCode": int(item.get("LanguageCode", 1033)),
                    "IsManaged": False,
                    "MetadataId": None,
                    "HasChanged": None,
                }
            )
    user = next((dict(x) for x in locs if x["LanguageCode"] == 1033), dict(locs[0]) if locs else None)
    return {"LocalizedLabels": locs, "UserLocalizedLabel": user}


def merge_labels(old: dict[str, Any], new: dict[str, Any], merge: bool) -> dict[str, Any]:
    """`MSCRM.MergeLabels: true` keeps languages not in the update; otherwise the update replaces all."""
    if not merge:
        return new
    by_lang = {x["LanguageCode"]: x for x in old.get("LocalizedLabels", [])}
    by_lang.update({x["LanguageCode"]: x for x in new.get("LocalizedLabels", [])})
    locs = list(by_lang.values())
    user = next((dict(x) for x in locs if x["LanguageCode"] == 1033), dict(locs[0]) if locs else None)
    return {"LocalizedLabels": locs, "UserLocalizedLabel": user}


def label_text(lab: dict[str, Any] | None) -> str | None:
    user = (lab or {}).get("UserLocalizedLabel")
    return user.get("Label") if isinstance(user, dict) else None


def _invalid(message: str) -> errors.DataverseError:
    """InvalidArgument (0x80040203) — used where the docs name no more specific code."""
    return errors.invalid_argument(message)


def _metadata_payload_error(message: str) -> errors.DataverseError:
    return errors.DataverseError(400, "0x80048d19", message)


@dataclass
class Solution:
    unique_name: str
    prefix: str
    option_prefix: int = 10000


@dataclass
class CustomSchema:
    """Everything created through the metadata API, and how it is rebuilt into `MetadataRegistry`."""

    registry: MetadataRegistry
    store: Store
    licence: str = "enterprise"
    key_activation_delay: float = 0.0
    standard: dict[str, TableMeta] = field(default_factory=dict)
    solutions: dict[str, Solution] = field(default_factory=dict)
    entities: dict[str, dict[str, Any]] = field(default_factory=dict)
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)  # "table.attr"
    relationships: dict[str, dict[str, Any]] = field(default_factory=dict)  # schema name (lower)
    optionsets: dict[str, dict[str, Any]] = field(default_factory=dict)  # name (lower)
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)  # "table.key"
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        if self.licence not in LICENCE_CAPS:
            raise ValueError(f"unknown licence tier {self.licence!r}; use one of {sorted(LICENCE_CAPS)}")
        self.standard = {t.logical_name: t for t in self.registry.tables()}
        self.solutions[DEFAULT_SOLUTION.lower()] = Solution(DEFAULT_SOLUTION, "new", 10000)
        kinds = {
            "solution": None,
            "entity": self.entities,
            "attribute": self.attributes,
            "relationship": self.relationships,
            "optionset": self.optionsets,
            "key": self.keys,
        }
        for kind, name, doc in self.store.schema_rows():
            if kind == "solution":
                self.solutions[name] = Solution(doc["unique_name"], doc["prefix"], doc["option_prefix"])
            elif kind in kinds:
                kinds[kind][name] = doc  # type: ignore[index]
        self.rebuild()

    # --- licence ------------------------------------------------------------------------------------

    @property
    def custom_table_cap(self) -> int:
        return LICENCE_CAPS[self.licence]

    def licence_info(self) -> dict[str, Any]:
        return {
            "tier": self.licence,
            "custom_table_cap": self.custom_table_cap,
            "custom_tables": len(self.entities),
        }

    # --- solutions ----------------------------------------------------------------------------------

    def add_solution(self, unique_name: str, prefix: str, option_prefix: int = 10000) -> Solution:
        sol = Solution(unique_name, prefix.lower(), option_prefix)
        with self.lock, self.store.transaction():
            self.solutions[unique_name.lower()] = sol
            self.store.schema_put("solution", unique_name.lower(), dataclasses.asdict(sol))
        return sol

    def solution(self, header: str | None) -> Solution:
        """The solution named by `MSCRM.SolutionUniqueName` (Default when absent)."""
        name = (header or DEFAULT_SOLUTION).strip()
        sol = self.solutions.get(name.lower())
        if sol is None:
            # No documented code for an unknown solution name: ObjectDoesNotExist, as for any missing row.
            raise errors.DataverseError(404, "0x80040217", f"solution With Id = {name} Does Not Exist")
        return sol

    def check_prefix(self, schema_name: str, sol: Solution, what: str) -> None:
        prefix, sep, rest = schema_name.partition("_")
        if not sep or not rest or prefix.lower() != sol.prefix:
            raise _invalid(
                f"The schema name {schema_name} for type {what} is not prefixed with the customization "
                f"prefix '{sol.prefix}_' of the publisher of solution '{sol.unique_name}'."
            )

    def components(self) -> list[dict[str, Any]]:
        """Solution membership of every custom component (emulator hook, `/_emulator/schema`)."""
        out = []
        for kind, items in (
            ("Entity", self.entities),
            ("Attribute", self.attributes),
            ("Relationship", self.relationships),
            ("OptionSet", self.optionsets),
            ("EntityKey", self.keys),
        ):
            for name, doc in items.items():
                out.append(
                    {
                        "componenttype": kind,
                        "name": name,
                        "objectid": doc["MetadataId"],
                        "solution": doc.get("solution", DEFAULT_SOLUTION),
                        "published": doc.get("published", True),
                    }
                )
        return out

    # --- persistence helpers ------------------------------------------------------------------------

    def _put(self, kind: str, items: dict[str, dict[str, Any]], name: str, doc: dict[str, Any]) -> None:
        items[name] = doc
        self.store.schema_put(kind, name, doc)

    def _delete(self, kind: str, items: dict[str, dict[str, Any]], name: str) -> None:
        items.pop(name, None)
        self.store.schema_delete(kind, name)

    @contextlib.contextmanager
    def _atomic(self) -> Iterator[None]:
        """One store transaction whose in-memory components are restored too if it fails."""
        with self.lock:
            kinds = (self.entities, self.attributes, self.relationships, self.optionsets, self.keys)
            saved = [dict(items) for items in kinds]
            try:
                with self.store.transaction():
                    yield
            except BaseException:
                for items, before in zip(kinds, saved, strict=True):
                    items.clear()
                    items.update(before)
                self.rebuild()
                raise

    # --- rebuild the registry -----------------------------------------------------------------------

    def rebuild(self) -> None:
        with self.lock:
            tables: dict[str, TableMeta] = {}
            attrs: dict[str, dict[str, AttributeMeta]] = {}
            for logical, t in self.standard.items():
                tables[logical] = t
                attrs[logical] = dict(t.attributes)
            for logical, doc in self.entities.items():
                tables[logical] = self._custom_table(doc)
                attrs[logical] = dict(tables[logical].attributes)
            for doc in self.attributes.values():
                if doc["table"] in attrs:
                    attrs[doc["table"]][doc["name"]] = _attr_from_json(doc["name"], doc["raw"])
            self._extend_polymorphic(tables, attrs)
            self.registry.replace_all(
                {logical: dataclasses.replace(t, attributes=attrs[logical]) for logical, t in tables.items()}
            )

    def _extend_polymorphic(
        self, tables: dict[str, TableMeta], attrs: dict[str, dict[str, AttributeMeta]]
    ) -> None:
        """HasNotes adds the table to annotation.objectid; HasActivities to every activity's regarding."""
        for logical, doc in self.entities.items():
            if doc.get("HasNotes") and "annotation" in attrs and "objectid" in attrs["annotation"]:
                a = attrs["annotation"]["objectid"]
                attrs["annotation"]["objectid"] = dataclasses.replace(
                    a, targets=(*a.targets, logical), nav={**a.nav, logical: f"objectid_{logical}"}
                )
            if doc.get("HasActivities"):
                for act, t in tables.items():
                    a = attrs[act].get("regardingobjectid")
                    if not t.is_activity or a is None or logical in a.targets:
                        continue
                    suffix = "" if act == "activitypointer" else f"_{act}"
                    attrs[act]["regardingobjectid"] = dataclasses.replace(
                        a,
                        targets=(*a.targets, logical),
                        nav={**a.nav, logical: f"regardingobjectid_{logical}{suffix}"},
                    )

    def _custom_table(self, doc: dict[str, Any]) -> TableMeta:
        logical = doc["LogicalName"]
        attrs: dict[str, AttributeMeta] = {}
        if doc.get("IsActivity") and "activitypointer" in self.standard:
            for name, a in self.standard["activitypointer"].attributes.items():
                if name == "regardingobjectid":
                    a = dataclasses.replace(a, nav={t: f"regardingobjectid_{t}_{logical}" for t in a.targets})
                attrs[name] = a
            # a created activity table also has the per-table system columns activitypointer lacks
            # (task, phonecall… have them too): overriddencreatedon, importsequencenumber, …
            for name, raw in _system_columns("activityid", doc["OwnershipType"]).items():
                if name in _ACTIVITY_TABLE_EXTRAS and name not in attrs:
                    attrs[name] = _attr_from_json(name, raw)
            primary_id, primary_name = "activityid", "subject"
        else:
            primary_id, primary_name = doc["PrimaryIdAttribute"], doc["PrimaryNameAttribute"]
            for name, raw in _system_columns(primary_id, doc["OwnershipType"]).items():
                attrs[name] = _attr_from_json(name, raw)
        return TableMeta(
            logical_name=logical,
            schema_name=doc["SchemaName"],
            entity_set=doc["EntitySetName"],
            primary_id=primary_id,
            primary_name=primary_name,
            ownership=doc["OwnershipType"],
            is_activity=bool(doc.get("IsActivity")),
            messages=frozenset({"Create", "Update", "Delete", "Retrieve", "RetrieveMultiple"}),
            attributes=attrs,
        )

    # --- reads --------------------------------------------------------------------------------------

    def table(self, logical: str) -> TableMeta:
        t = self.registry.by_logical(logical.lower())
        if t is None:
            raise entity_not_found(logical)
        return t

    def table_by_id(self, metadata_guid: str) -> TableMeta:
        for t in self.registry.tables():
            if metadata_id("entity", t.logical_name) == metadata_guid.lower():
                return t
        raise entity_not_found(metadata_guid, by_id=True)

    def is_custom_table(self, logical: str) -> bool:
        return logical in self.entities

    def entity_doc(self, logical: str) -> dict[str, Any] | None:
        return self.entities.get(logical)

    def attribute_doc(self, table: str, attr: str) -> dict[str, Any] | None:
        return self.attributes.get(f"{table}.{attr}")

    def table_keys(self, logical: str) -> list[dict[str, Any]]:
        return [k for k in self.keys.values() if k["EntityLogicalName"] == logical]

    # --- writes: tables -----------------------------------------------------------------------------

    def create_entity(self, body: dict[str, Any], solution_header: str | None) -> dict[str, Any]:
        sol = self.solution(solution_header)
        schema = body.get("SchemaName")
        if not isinstance(schema, str) or not schema:
            raise _invalid("The SchemaName property is required to create an entity.")
        self.check_prefix(schema, sol, "Entity")
        logical = schema.lower()
        with self.lock:
            if self.registry.by_logical(logical) is not None:
                raise errors.DataverseError(
                    400, "0x80047010", "An object with the specified name already exists"
                )
            if len(self.entities) >= self.custom_table_cap:
                raise _invalid(
                    f"The organization's licence ({self.licence}) allows at most {self.custom_table_cap} "
                    "custom tables; this request would exceed it."
                )
            attributes = body.get("Attributes") or []
            primary = [a for a in attributes if isinstance(a, dict) and a.get("IsPrimaryName")]
            if len(primary) != 1 or _odata_type(primary[0]) != "StringAttributeMetadata":
                raise _invalid(
                    "The entity must include exactly one primary name attribute: a StringAttributeMetadata "
                    "with IsPrimaryName set to true."
                )
            ownership = body.get("OwnershipType", "UserOwned")
            if ownership not in ("UserOwned", "OrganizationOwned"):
                raise _invalid(
                    f"OwnershipType '{ownership}' is not valid; use UserOwned or OrganizationOwned."
                )
            is_activity = bool(body.get("IsActivity"))
            if is_activity and ownership != "UserOwned":
                raise _invalid("Activity entities must be UserOwned.")
            entity_set = _plural(logical)
            if self.registry.by_set(entity_set) is not None:
                entity_set = f"{logical}_set"
            doc = {
                "MetadataId": metadata_id("entity", logical),
                "LogicalName": logical,
                "SchemaName": schema,
                "EntitySetName": entity_set,
                "LogicalCollectionName": entity_set,
                "PrimaryIdAttribute": "activityid" if is_activity else f"{logical}id",
                "PrimaryNameAttribute": "subject"
                if is_activity
                else str(primary[0].get("SchemaName", "")).lower(),
                "OwnershipType": ownership,
                "IsActivity": is_activity,
                "HasNotes": bool(body.get("HasNotes")),
                "HasActivities": bool(body.get("HasActivities")),
                "DisplayName": normalize_label(body.get("DisplayName")),
                "DisplayCollectionName": normalize_label(body.get("DisplayCollectionName")),
                "Description": normalize_label(body.get("Description")),
                "ObjectTypeCode": 10000 + len(self.entities),
                "solution": sol.unique_name,
                "published": True,
                "created": time.time(),
            }
            with self._atomic():
                self._put("entity", self.entities, logical, doc)
                if not is_activity:
                    self._store_attribute(logical, primary[0], sol, primary_name=True, check=True)
                self.rebuild()
            return doc

    def create_entities(
        self, bodies: list[dict[str, Any]], solution_header: str | None
    ) -> list[dict[str, Any]]:
        """CreateEntities: each ComplexEntityMetadata through `create_entity`, then its other columns
        through the `POST …/Attributes` path; all of them or none."""
        sol = self.solution(solution_header)
        entities = [_from_complex_entity(body) for body in bodies]
        with self._atomic():
            docs = []
            for body in entities:
                doc = self.create_entity(body, sol.unique_name)
                logical = doc["LogicalName"]
                seen: set[str] = set()
                for attr in body.get("Attributes") or []:
                    if attr.get("IsPrimaryName"):
                        continue
                    name = str(attr.get("SchemaName") or "").lower()
                    if name in seen:
                        raise errors.DataverseError(
                            400,
                            "0x80047013",
                            f"Attribute {attr.get('SchemaName')} already exists for entity {logical}.",
                        )
                    seen.add(name)
                    self._store_attribute(logical, attr, sol, primary_name=False, check=True)
                self.rebuild()
                docs.append(doc)
            return docs

    def update_entity(self, logical: str, body: dict[str, Any], merge: bool) -> None:
        with self.lock:
            doc = self.entities.get(logical)
            if doc is None:
                self.table(logical)  # 404 when it does not exist
                raise errors.DataverseError(
                    400, "0x80047008", "The specified entity is not customizable"
                )  # EntityIsNotCustomizable: standard tables are read-only here (leniency in README)
            doc = copy.deepcopy(doc)
            for prop in ("DisplayName", "DisplayCollectionName", "Description"):
                if prop in body:
                    doc[prop] = merge_labels(doc[prop], normalize_label(body[prop]), merge)
            for prop in ("HasNotes", "HasActivities"):
                if body.get(prop):
                    doc[prop] = True  # cannot be turned off again
            doc["published"] = False
            with self.store.transaction():
                self._put("entity", self.entities, logical, doc)
                self.rebuild()

    def delete_entity(self, logical: str) -> None:
        with self.lock:
            if logical not in self.entities:
                self.table(logical)
                raise errors.DataverseError(400, "0x80047008", "The specified entity is not customizable")
            with self.store.transaction():
                for name, rel in list(self.relationships.items()):
                    if logical in (rel["ReferencedEntity"], rel["ReferencingEntity"]):
                        self._drop_relationship(name)
                for name, attr in list(self.attributes.items()):
                    if attr["table"] == logical:
                        self._delete("attribute", self.attributes, name)
                for name, key in list(self.keys.items()):
                    if key["EntityLogicalName"] == logical:
                        self._delete("key", self.keys, name)
                self._delete("entity", self.entities, logical)
                self.store.drop(logical)
                # an activity table's parties go with its rows (parties.py)
                self.store.delete_where(
                    "activityparty", "json_extract(doc, '$.\"__lt\".activityid') = ?", [logical]
                )
                self.rebuild()

    # --- writes: columns ----------------------------------------------------------------------------

    def create_attribute(
        self, logical: str, body: dict[str, Any], solution_header: str | None
    ) -> dict[str, Any]:
        sol = self.solution(solution_header)
        self.table(logical)
        with self.lock, self.store.transaction():
            doc = self._store_attribute(logical, body, sol, primary_name=False, check=True)
            self.rebuild()
            return doc

    def _store_attribute(
        self, logical: str, body: dict[str, Any], sol: Solution, *, primary_name: bool, check: bool
    ) -> dict[str, Any]:
        odata = _odata_type(body)
        atype = ODATA_TO_TYPE.get(odata or "")
        if atype is None or atype not in CREATABLE_TYPES:
            allowed = ", ".join(sorted(k for k, v in ODATA_TO_TYPE.items() if v in CREATABLE_TYPES))
            raise _metadata_payload_error(
                f"An attribute of type '{body.get('@odata.type')}' cannot be created with POST Attributes; "
                f"expected one of: {allowed} (lookups are created with POST RelationshipDefinitions)."
            )
        schema = body.get("SchemaName")
        if not isinstance(schema, str) or not schema:
            raise _invalid("The SchemaName property is required to create an attribute.")
        if check:
            self.check_prefix(schema, sol, "Attribute")
        name = schema.lower()
        table = self.registry.by_logical(logical)
        if check and table is not None and name in table.attributes:
            raise errors.DataverseError(
                400,
                "0x80047013",  # DuplicateAttributeSchemaName
                f"Attribute {schema} already exists for entity {logical}.",
            )
        raw, extra = self._attribute_raw(logical, atype, body, sol)
        doc = {
            "MetadataId": metadata_id("attribute", logical, name),
            "table": logical,
            "name": name,
            "SchemaName": schema,
            "odata_type": TYPE_TO_ODATA[atype],
            "IsPrimaryName": primary_name,
            "DisplayName": normalize_label(body.get("DisplayName")),
            "Description": normalize_label(body.get("Description")),
            "RequiredLevel": _required(body),
            "extra": extra,
            "raw": raw,
            "solution": sol.unique_name,
            "published": True,
        }
        self._put("attribute", self.attributes, f"{logical}.{name}", doc)
        return doc

    def _attribute_raw(
        self, logical: str, atype: str, body: dict[str, Any], sol: Solution
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        raw: dict[str, Any] = {
            "type": atype,
            "create": True,
            "update": True,
            "read": True,
            "required": _required(body)["Value"],
        }
        extra: dict[str, Any] = {}
        if atype in ("String", "Memo"):
            default = 100 if atype == "String" else 2000
            raw["max_length"] = int(body.get("MaxLength") or default)
            if atype == "String" and not 1 <= raw["max_length"] <= 4000:
                raise _invalid("MaxLength of a StringAttributeMetadata must be between 1 and 4000.")
            if atype == "Memo" and not 1 <= raw["max_length"] <= 1048576:
                raise _invalid("MaxLength of a MemoAttributeMetadata must be between 1 and 1048576.")
            fmt = (
                body.get("FormatName", {}).get("Value") if isinstance(body.get("FormatName"), dict) else None
            )
            raw["format"] = fmt or body.get("Format") or ("Text" if atype == "String" else "TextArea")
            extra["MaxLength"] = raw["max_length"]
        elif atype in ("Integer", "BigInt", "Decimal", "Money", "Double"):
            ranges = {
                "Integer": (-2147483648, 2147483647),
                "BigInt": (-(2**63), 2**63 - 1),
                "Decimal": (-100000000000, 100000000000),
                "Money": (-922337203685477, 922337203685477),
                "Double": (-100000000000, 100000000000),
            }
            lo, hi = ranges[atype]
            raw["min"] = body.get("MinValue", lo)
            raw["max"] = body.get("MaxValue", hi)
            if raw["min"] > raw["max"]:
                raise _invalid("MinValue must not be greater than MaxValue.")
            extra.update(MinValue=raw["min"], MaxValue=raw["max"])
            if atype in ("Decimal", "Money", "Double"):
                extra["Precision"] = int(body.get("Precision", 2))
            if atype == "Integer":
                extra["Format"] = body.get("Format", "None")
        elif atype == "Boolean":
            opts = body.get("OptionSet") or {}
            true_l = label_text(normalize_label((opts.get("TrueOption") or {}).get("Label"))) or "Yes"
            false_l = label_text(normalize_label((opts.get("FalseOption") or {}).get("Label"))) or "No"
            raw["labels"] = {"0": false_l, "1": true_l}
            raw["default"] = bool(body.get("DefaultValue", False))
            extra["DefaultValue"] = raw["default"]
            extra["OptionSet"] = {
                "TrueOption": {"Value": 1, "Label": label(true_l)},
                "FalseOption": {"Value": 0, "Label": label(false_l)},
            }
        elif atype == "DateTime":
            fmt = body.get("Format", "DateOnly")
            if fmt not in ("DateOnly", "DateAndTime"):
                raise _invalid(f"Format '{fmt}' is not valid for a DateTimeAttributeMetadata.")
            behavior = body.get("DateTimeBehavior") or {"Value": "UserLocal"}
            bvalue = behavior.get("Value") if isinstance(behavior, dict) else str(behavior)
            if bvalue not in ("UserLocal", "DateOnly", "TimeZoneIndependent"):
                raise _invalid(f"DateTimeBehavior '{bvalue}' is not valid.")
            if bvalue == "DateOnly" and fmt != "DateOnly":
                raise _invalid("A DateOnly behavior requires Format DateOnly.")
            raw["format"], raw["behavior"] = fmt, bvalue
            extra.update(Format=fmt, DateTimeBehavior={"Value": bvalue})
        elif atype in ("Picklist", "MultiSelectPicklist"):
            options, os_meta, global_name = self._options_for(logical, body, sol)
            raw["options"] = [[v, label_text(lab)] for v, lab in options]
            extra["OptionSet"] = os_meta
            if global_name:
                extra["GlobalOptionSetName"] = global_name
        return raw, extra

    def _options_for(
        self, logical: str, body: dict[str, Any], sol: Solution
    ) -> tuple[list[tuple[int, dict[str, Any]]], dict[str, Any], str | None]:
        bind = body.get("GlobalOptionSet@odata.bind")
        if bind:
            gos = self.optionset_by_ref(
                str(bind).rsplit("/", 1)[-1].removeprefix("GlobalOptionSetDefinitions")
            )
            opts = [(o["Value"], o["Label"]) for o in gos["Options"]]
            return opts, gos, gos["Name"]
        raw_set = body.get("OptionSet")
        if not isinstance(raw_set, dict):
            raise _invalid("A choice column needs an OptionSet or a GlobalOptionSet@odata.bind.")
        if raw_set.get("IsGlobal"):
            name = raw_set.get("Name")
            gos = self.optionset_by_ref(f"(Name='{name}')")
            return [(o["Value"], o["Label"]) for o in gos["Options"]], gos, gos["Name"]
        options = self._parse_options(raw_set, sol)
        name = f"{logical}_{str(body.get('SchemaName', '')).lower()}"
        meta = {
            "MetadataId": metadata_id("optionset", name),
            "Name": name,
            "IsGlobal": False,
            "OptionSetType": raw_set.get("OptionSetType", "Picklist"),
            "Options": [{"Value": v, "Label": lab} for v, lab in options],
        }
        return options, meta, None

    def _parse_options(self, raw_set: dict[str, Any], sol: Solution) -> list[tuple[int, dict[str, Any]]]:
        out: list[tuple[int, dict[str, Any]]] = []
        next_value = sol.option_prefix * 10000
        for item in raw_set.get("Options") or []:
            if not isinstance(item, dict):
                continue
            value = item.get("Value")
            if value is None:
                while next_value in {v for v, _ in out}:
                    next_value += 1
                value = next_value
                next_value += 1
            if not isinstance(value, int) or isinstance(value, bool):
                raise _invalid(f"Option value '{value}' is not an integer.")
            if value in {v for v, _ in out}:
                raise _invalid(f"The option value {value} is used more than once in the option set.")
            out.append((value, normalize_label(item.get("Label"))))
        if not out:
            raise _invalid("An option set must have at least one option.")
        return out

    def update_attribute(self, logical: str, name: str, body: dict[str, Any], merge: bool) -> None:
        with self.lock:
            doc = self.attributes.get(f"{logical}.{name}")
            if doc is None:
                self.attribute_meta(logical, name)  # 404 if missing
                raise errors.DataverseError(400, "0x80047008", "The specified attribute is not customizable")
            doc = copy.deepcopy(doc)
            for prop in ("DisplayName", "Description"):
                if prop in body:
                    doc[prop] = merge_labels(doc[prop], normalize_label(body[prop]), merge)
            if "RequiredLevel" in body:
                doc["RequiredLevel"] = _required(body)
                doc["raw"]["required"] = doc["RequiredLevel"]["Value"]
            if "MaxLength" in body and "max_length" in doc["raw"]:
                new_len = int(body["MaxLength"])
                doc["raw"]["max_length"] = doc["extra"]["MaxLength"] = new_len
            doc["published"] = False
            with self.store.transaction():
                self._put("attribute", self.attributes, f"{logical}.{name}", doc)
                self.rebuild()

    def delete_attribute(self, logical: str, name: str) -> None:
        with self.lock:
            key = f"{logical}.{name}"
            doc = self.attributes.get(key)
            if doc is None:
                self.attribute_meta(logical, name)
                raise errors.DataverseError(400, "0x80047008", "The specified attribute is not customizable")
            if doc.get("IsPrimaryName"):
                raise _invalid("The primary name attribute of an entity cannot be deleted.")
            for k in self.table_keys(logical):
                if name in k["KeyAttributes"]:
                    raise _invalid(
                        f"The attribute {name} is used by the entity key {k['SchemaName']} and cannot be "
                        "deleted."
                    )
            with self.store.transaction():
                for rel_name, rel in list(self.relationships.items()):
                    if rel["ReferencingEntity"] == logical and rel["ReferencingAttribute"] == name:
                        self._delete("relationship", self.relationships, rel_name)
                self._delete("attribute", self.attributes, key)
                self.rebuild()

    def attribute_meta(self, logical: str, name: str) -> AttributeMeta:
        table = self.table(logical)
        attr = table.attributes.get(name.lower())
        if attr is None:
            raise attribute_not_found(name, logical)
        return attr

    # --- writes: global option sets -----------------------------------------------------------------

    def create_optionset(self, body: dict[str, Any], solution_header: str | None) -> dict[str, Any]:
        sol = self.solution(solution_header)
        name = body.get("Name")
        if not isinstance(name, str) or not name:
            raise _invalid("The Name property is required to create a global option set.")
        self.check_prefix(name, sol, "OptionSet")
        with self.lock:
            if name.lower() in self.optionsets:
                raise errors.DataverseError(
                    400, "0x80047010", "An object with the specified name already exists"
                )
            options = self._parse_options(body, sol)
            doc = {
                "MetadataId": metadata_id("optionset", name),
                "Name": name.lower(),
                "IsGlobal": True,
                "OptionSetType": body.get("OptionSetType", "Picklist"),
                "DisplayName": normalize_label(body.get("DisplayName")),
                "Description": normalize_label(body.get("Description")),
                "Options": [{"Value": v, "Label": lab} for v, lab in options],
                "solution": sol.unique_name,
                "published": True,
            }
            with self.store.transaction():
                self._put("optionset", self.optionsets, name.lower(), doc)
            return doc

    def optionset_by_ref(self, ref: str) -> dict[str, Any]:
        """`(Name='x')`, `(<guid>)`, `Name='x'` or a bare GUID → the global option set."""
        text = ref.strip().removeprefix("(").removesuffix(")")
        if text.startswith("Name="):
            doc = self.optionsets.get(text[5:].strip("'").lower())
        else:
            doc = next((d for d in self.optionsets.values() if d["MetadataId"] == text.lower()), None)
        if doc is None:
            raise errors.DataverseError(
                404, "0x80040217", f"Could not find optionset with name or id: {text}"
            )
        return doc

    def delete_optionset(self, ref: str) -> None:
        with self.lock:
            doc = self.optionset_by_ref(ref)
            users = [
                a["name"]
                for a in self.attributes.values()
                if a["extra"].get("GlobalOptionSetName") == doc["Name"]
            ]
            if users:
                raise _invalid(f"The option set {doc['Name']} is used by the columns {', '.join(users)}.")
            with self.store.transaction():
                self._delete("optionset", self.optionsets, doc["Name"])

    # --- writes: relationships ----------------------------------------------------------------------

    def create_relationship(self, body: dict[str, Any], solution_header: str | None) -> dict[str, Any]:
        sol = self.solution(solution_header)
        if _odata_type(body) != "OneToManyRelationshipMetadata":
            raise errors.not_implemented(f"Creating a relationship of type '{body.get('@odata.type')}'")
        schema = body.get("SchemaName")
        if not isinstance(schema, str) or not schema:
            raise errors.DataverseError(400, "0x8004432A", "Entity relationships require a name")
        # No prefix check on the relationship's own SchemaName: create-update-entity-relationships-using-
        # web-api.md and RelationshipMetadataBase.SchemaName ("the schema name for the entity relationship")
        # state no prefix rule (unlike tables, columns, choices and keys). Microsoft's SDK names it
        # `<referenced>_<referencing>_<lookup>`. The lookup column still needs the prefix (a column).
        referenced = str(body.get("ReferencedEntity", "")).lower()
        referencing = str(body.get("ReferencingEntity", "")).lower()
        target = self.table(referenced)
        self.table(referencing)
        lookup = body.get("Lookup")
        if not isinstance(lookup, dict) or not lookup.get("SchemaName"):
            raise _invalid(
                "A OneToManyRelationshipMetadata needs a Lookup (LookupAttributeMetadata) with a SchemaName."
            )
        lookup_schema = str(lookup["SchemaName"])
        self.check_prefix(lookup_schema, sol, "Attribute")
        attr_name = lookup_schema.lower()
        with self.lock:
            if schema.lower() in self.relationships or any(
                r["SchemaName"].lower() == schema.lower() for r in self.synthesized_relationships()
            ):
                raise errors.DataverseError(
                    400,
                    "0x8004432B",
                    "A relationship with the specified name already exists. Please specify a unique name.",
                )
            if attr_name in self.table(referencing).attributes:
                raise errors.DataverseError(
                    400, "0x80047013", f"Attribute {lookup_schema} already exists for entity {referencing}."
                )
            nav = str(body.get("ReferencingEntityNavigationPropertyName") or lookup_schema)
            raw = {
                "type": "Lookup",
                "create": True,
                "update": True,
                "read": True,
                "required": _required(lookup)["Value"],
                "targets": [referenced],
                "nav": {referenced: nav},
            }
            attr_doc = {
                "MetadataId": metadata_id("attribute", referencing, attr_name),
                "table": referencing,
                "name": attr_name,
                "SchemaName": lookup_schema,
                "odata_type": "LookupAttributeMetadata",
                "IsPrimaryName": False,
                "DisplayName": normalize_label(lookup.get("DisplayName")),
                "Description": normalize_label(lookup.get("Description")),
                "RequiredLevel": _required(lookup),
                "extra": {"Targets": [referenced]},
                "raw": raw,
                "solution": sol.unique_name,
                "published": True,
            }
            rel = {
                "MetadataId": metadata_id("relationship", schema),
                "SchemaName": schema,
                "ReferencedEntity": referenced,
                "ReferencedAttribute": str(body.get("ReferencedAttribute") or target.primary_id).lower(),
                "ReferencingEntity": referencing,
                "ReferencingAttribute": attr_name,
                "ReferencingEntityNavigationPropertyName": nav,
                "ReferencedEntityNavigationPropertyName": str(
                    body.get("ReferencedEntityNavigationPropertyName") or schema
                ),
                "IsCustomRelationship": True,
                "CascadeConfiguration": body.get("CascadeConfiguration") or {},
                "solution": sol.unique_name,
                "published": True,
            }
            with self.store.transaction():
                self._put("attribute", self.attributes, f"{referencing}.{attr_name}", attr_doc)
                self._put("relationship", self.relationships, schema.lower(), rel)
                self.rebuild()
            return rel

    def relationship_by_ref(self, ref: str) -> dict[str, Any]:
        text = ref.strip().removeprefix("(").removesuffix(")")
        if text.startswith("SchemaName="):
            rel = self.relationships.get(text[11:].strip("'").lower())
        else:
            rel = next((r for r in self.relationships.values() if r["MetadataId"] == text.lower()), None)
        if rel is None:
            raise errors.DataverseError(
                404, "0x80040217", f"Could not find relationship with name or id: {text}"
            )
        return rel

    def delete_relationship(self, ref: str) -> None:
        with self.lock:
            rel = self.relationship_by_ref(ref)
            with self.store.transaction():
                self._drop_relationship(rel["SchemaName"].lower())
                self.rebuild()

    def _drop_relationship(self, name: str) -> None:
        rel = self.relationships[name]
        self._delete(
            "attribute", self.attributes, f"{rel['ReferencingEntity']}.{rel['ReferencingAttribute']}"
        )
        self._delete("relationship", self.relationships, name)

    def synthesized_relationships(self) -> list[dict[str, Any]]:
        """One-to-many relationships implied by the standard tables' lookups (names not from the docs)."""
        out = []
        for t in self.registry.tables():
            for a in t.attributes.values():
                if not a.is_lookup or self.attribute_doc(t.logical_name, a.name) is not None:
                    continue
                for target in a.targets:
                    ref = self.registry.by_logical(target)
                    if ref is None:
                        continue
                    schema = f"{target}_{t.logical_name}_{a.name}"
                    out.append(
                        {
                            "MetadataId": metadata_id("relationship", schema),
                            "SchemaName": schema,
                            "ReferencedEntity": target,
                            "ReferencedAttribute": ref.primary_id,
                            "ReferencingEntity": t.logical_name,
                            "ReferencingAttribute": a.name,
                            "ReferencingEntityNavigationPropertyName": a.nav.get(target, a.name),
                            "ReferencedEntityNavigationPropertyName": schema,
                            "IsCustomRelationship": False,
                        }
                    )
        return out

    def all_relationships(self) -> list[dict[str, Any]]:
        return [*self.synthesized_relationships(), *self.relationships.values()]

    # --- writes: alternate keys ---------------------------------------------------------------------

    def create_key(self, logical: str, body: dict[str, Any], solution_header: str | None) -> dict[str, Any]:
        sol = self.solution(solution_header)
        table = self.table(logical)
        schema = body.get("SchemaName")
        if not isinstance(schema, str) or not schema:
            raise _invalid("The SchemaName property is required to create an entity key.")
        self.check_prefix(schema, sol, "EntityKey")
        attrs = body.get("KeyAttributes")
        if not isinstance(attrs, list) or not attrs or not all(isinstance(a, str) for a in attrs):
            raise _invalid("KeyAttributes must be a non-empty list of column logical names.")
        attrs = [a.lower() for a in attrs]
        with self.lock:
            existing = self.table_keys(table.logical_name)
            if any(k["LogicalName"] == schema.lower() for k in existing):
                raise errors.DataverseError(
                    400,
                    "0x80060893",
                    f"An entity key with the name {schema} already exists on entity {table.logical_name}.",
                )
            if any(sorted(k["KeyAttributes"]) == sorted(attrs) for k in existing):
                raise errors.DataverseError(
                    400, "0x80060894", "An entity key with the selected attributes already exists on entity."
                )
            if len(existing) >= MAX_KEYS_PER_TABLE:
                raise _invalid(
                    f"The entity {table.logical_name} already has {MAX_KEYS_PER_TABLE} keys; "
                    f"an entity can have at most {MAX_KEYS_PER_TABLE} alternate keys."
                )
            for name in attrs:
                attr = table.attributes.get(name)
                if attr is None:
                    raise attribute_not_found(name, table.logical_name)
                if attr.type not in KEY_ATTRIBUTE_TYPES:
                    raise _invalid(
                        f"The attribute {name} of type {attr.type} cannot be part of an entity key; allowed "
                        "types are Decimal, Whole Number, Single line of text, Date Time, Lookup and Choice."
                    )
                if not attr.valid_for_create:
                    raise errors.DataverseError(
                        400,
                        "0x80090110",
                        f"Attribute of an entity key must be valid for create. Atribute Name = '{name}' "
                        f"Id = '{metadata_id('attribute', table.logical_name, name)}'",
                    )
            doc = {
                "MetadataId": metadata_id("key", table.logical_name, schema),
                "LogicalName": schema.lower(),
                "SchemaName": schema,
                "EntityLogicalName": table.logical_name,
                "KeyAttributes": attrs,
                "DisplayName": normalize_label(body.get("DisplayName")),
                "EntityKeyIndexStatus": "Pending",
                "created": time.time(),
                "solution": sol.unique_name,
                "published": True,
            }
            with self.store.transaction():
                self._put("key", self.keys, f"{table.logical_name}.{schema.lower()}", doc)
            return doc

    def put_key(self, doc: dict[str, Any]) -> None:
        with self.lock, self.store.transaction():
            self._put("key", self.keys, f"{doc['EntityLogicalName']}.{doc['LogicalName']}", doc)

    def key_by_ref(self, logical: str, ref: str) -> dict[str, Any]:
        text = ref.strip()
        for k in self.table_keys(logical):
            if text.startswith("LogicalName="):
                if k["LogicalName"] == text[12:].strip("'").lower():
                    return k
            elif k["MetadataId"] == text.lower():
                return k
        raise errors.DataverseError(404, "0x80040217", f"Could not find key with name or id: {text}")

    def delete_key(self, logical: str, ref: str) -> None:
        with self.lock:
            doc = self.key_by_ref(logical, ref)
            with self.store.transaction():
                self._delete("key", self.keys, f"{logical}.{doc['LogicalName']}")

    # --- publish ------------------------------------------------------------------------------------

    def publish(self, entity_names: list[str] | None) -> int:
        """PublishXml (named entities) / PublishAllXml (None): mark components published."""
        count = 0
        with self.lock, self.store.transaction():
            for kind, items in (
                ("entity", self.entities),
                ("attribute", self.attributes),
                ("optionset", self.optionsets),
                ("relationship", self.relationships),
                ("key", self.keys),
            ):
                for name, doc in list(items.items()):
                    owner = doc.get("table") or doc.get("EntityLogicalName") or doc.get("LogicalName")
                    if doc.get("published", True):
                        continue
                    if entity_names is None or owner in entity_names:
                        self._put(kind, items, name, {**doc, "published": True})
                        count += 1
        return count


def entity_not_found(name: str, by_id: bool = False) -> errors.DataverseError:
    what = "MetadataId" if by_id else "Name"
    return errors.DataverseError(404, "0x80040217", f"Could not find entity with {what} = {name}")


def attribute_not_found(name: str, logical: str) -> errors.DataverseError:
    return errors.DataverseError(
        404, "0x80040217", f"Could not find attribute with name = {name} for entity {logical}"
    )


def _from_complex(body: Any, what: str, required: bool) -> dict[str, Any]:
    """A `Complex*Metadata` item (CreateEntities) as the matching `*Metadata` body of the single creates.

    The action's parameter is typed `Collection(ComplexEntityMetadata)` whose `Attributes` are
    `Collection(ComplexAttributeMetadata)`, so plain `StringAttributeMetadata` etc. are refused."""
    if not isinstance(body, dict):
        raise _metadata_payload_error(
            f"Each item must be a JSON object of type Microsoft.Dynamics.CRM.Complex{what}."
        )
    name = _odata_type(body)
    if name is None and not required:
        return dict(body)
    if name is None or not name.startswith("Complex") or not name.endswith(what):
        raise _metadata_payload_error(
            f"The type '{body.get('@odata.type')}' is not compatible with the expected type "
            f"'Microsoft.Dynamics.CRM.Complex{what}' of the CreateEntities parameter."
        )
    return {**body, "@odata.type": f"Microsoft.Dynamics.CRM.{name.removeprefix('Complex')}"}


def _from_complex_entity(body: dict[str, Any]) -> dict[str, Any]:
    entity = _from_complex(body, "EntityMetadata", required=False)
    attributes = entity.get("Attributes") or []
    if not isinstance(attributes, list):
        raise _metadata_payload_error("Attributes must be a collection of ComplexAttributeMetadata.")
    entity["Attributes"] = [_from_complex(a, "AttributeMetadata", required=True) for a in attributes]
    return entity


def _odata_type(body: dict[str, Any]) -> str | None:
    value = body.get("@odata.type")
    if not isinstance(value, str):
        return None
    return value.removeprefix("#").removeprefix("Microsoft.Dynamics.CRM.")


def _required(body: dict[str, Any]) -> dict[str, Any]:
    raw = body.get("RequiredLevel")
    value = raw.get("Value") if isinstance(raw, dict) else raw
    if value not in ("None", "SystemRequired", "ApplicationRequired", "Recommended"):
        value = "None"
    return {
        "Value": value,
        "CanBeChanged": True,
        "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings",
    }


def _plural(logical: str) -> str:
    """Entity set names: Dataverse pluralizes the logical name (English rules, simplified)."""
    if logical.endswith(("s", "x", "z", "ch", "sh")):
        return logical + "es"
    if logical.endswith("y") and logical[-2:-1] not in "aeiou":
        return logical[:-1] + "ies"
    return logical + "s"


_ACTIVITY_TABLE_EXTRAS = frozenset(
    {"overriddencreatedon", "importsequencenumber", "timezoneruleversionnumber", "utcconversiontimezonecode"}
)


def _system_columns(primary_id: str, ownership: str) -> dict[str, dict[str, Any]]:
    ro = {"create": False, "update": False, "read": True, "required": "None"}
    cols: dict[str, dict[str, Any]] = {
        primary_id: {
            "type": "Uniqueidentifier",
            "create": True,
            "update": False,
            "read": True,
            "required": "SystemRequired",
        },
        "createdon": {**ro, "type": "DateTime", "format": "DateAndTime", "behavior": "UserLocal"},
        "modifiedon": {**ro, "type": "DateTime", "format": "DateAndTime", "behavior": "UserLocal"},
        "overriddencreatedon": {
            **ro,
            "create": True,
            "type": "DateTime",
            "format": "DateOnly",
            "behavior": "UserLocal",
        },
        "createdby": {**ro, "type": "Lookup", "targets": ["systemuser"], "nav": {"systemuser": "createdby"}},
        "modifiedby": {
            **ro,
            "type": "Lookup",
            "targets": ["systemuser"],
            "nav": {"systemuser": "modifiedby"},
        },
        "versionnumber": {**ro, "type": "BigInt"},
        "importsequencenumber": {**ro, "create": True, "type": "Integer"},
        "timezoneruleversionnumber": {**ro, "create": True, "update": True, "type": "Integer"},
        "utcconversiontimezonecode": {**ro, "create": True, "update": True, "type": "Integer"},
        "statecode": {
            "type": "State",
            "create": False,
            "update": True,
            "read": True,
            "required": "SystemRequired",
            "options": [[0, "Active"], [1, "Inactive"]],
            "default_status": {"0": 1, "1": 2},
        },
        "statuscode": {
            "type": "Status",
            "create": True,
            "update": True,
            "read": True,
            "required": "None",
            "options": [[1, "Active"], [2, "Inactive"]],
            "state_of": {"1": 0, "2": 1},
        },
    }
    if ownership == "UserOwned":
        cols["ownerid"] = {
            "type": "Owner",
            "create": True,
            "update": True,
            "read": True,
            "required": "SystemRequired",
            "targets": ["systemuser", "team"],
            "nav": {"systemuser": "ownerid", "team": "ownerid"},
        }
        for name, target in (
            ("owninguser", "systemuser"),
            ("owningteam", "team"),
            ("owningbusinessunit", "businessunit"),
        ):
            cols[name] = {**ro, "type": "Lookup", "targets": [target], "nav": {target: name}}
    else:
        cols["organizationid"] = {
            **ro,
            "type": "Lookup",
            "targets": ["organization"],
            "nav": {"organization": "organizationid"},
        }
    return cols
