"""Schema provisioning: make the target hold what a `SchemaPlan` asks for, through the metadata API.

Read first, then create only what is missing, inside the configured solution, in dependency order:
global option sets → each new table with its columns → new columns on existing tables → lookups
(`RelationshipDefinitions` with a nested Lookup, once every target exists) → alternate keys → one
`PublishXml` for the touched tables. Re-running changes nothing and says so (`ProvisionResult.noop`).

Safety rules:
- A column that exists with another type is a `SchemaConflict` naming table, column and both types,
  raised before anything is written. Provisioning never changes a type; the only changes it makes are
  additive (a string column widened to the plan's max_length, notes/activities switched on).
- Never half a table: a table created by this run that is not complete (its columns, lookups and keys)
  when a step fails is deleted again before the error is raised, and the message says so.
- Over the licence's custom-table cap the run is refused as `PreflightBlocked` naming the surplus tables:
  up front when the cap is known (`custom_table_cap`), or when the target refuses the create.

Request shapes follow Microsoft's Web API pages: create-update-entity-definitions-using-web-api.md
(table + primary name column), create-update-column-definitions-using-web-api.md (columns, choices bound
to a global option set with `GlobalOptionSet@odata.bind`), create-update-entity-relationships-using-web-api.md
(one-to-many with a Lookup), create-update-optionsets.md (global choices), define-alternate-keys-entity.md
(keys, `EntityKeyIndexStatus`), publish-customizations (`PublishXml`); every create carries the
`MSCRM.SolutionUniqueName` header.

Usage::

    result = provision(client, plan, prefix="new", option_prefix=10000, solution="IntactMigration")
    result.counts   # {'created': 12, 'present': 0, 'changed': 0}
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, computed_field

from shared.dataverse._client import DataverseClient
from shared.errors import (
    ConfigError,
    IntactError,
    PreflightBlocked,
    RetryableError,
    SchemaConflict,
    SchemaNotReady,
    TargetRequestFailed,
)
from shared.mapping.schema_plan import (
    CustomColumn,
    CustomTable,
    SchemaPlan,
    describe,
    logical_name,
    schema_name,
)

LANGUAGE = 1033
# AttributeTypeName.Value of an existing column that satisfies each plan type
_TYPE_NAMES: dict[str, str] = {
    "string": "StringType",
    "memo": "MemoType",
    "integer": "IntegerType",
    "decimal": "DecimalType",
    "money": "MoneyType",
    "boolean": "BooleanType",
    "date": "DateTimeType",
    "datetime": "DateTimeType",
    "choice": "PicklistType",
    "multichoice": "MultiSelectPicklistType",
    "lookup": "LookupType",
}
_ODATA = {
    "string": "StringAttributeMetadata",
    "memo": "MemoAttributeMetadata",
    "integer": "IntegerAttributeMetadata",
    "decimal": "DecimalAttributeMetadata",
    "money": "MoneyAttributeMetadata",
    "boolean": "BooleanAttributeMetadata",
    "date": "DateTimeAttributeMetadata",
    "datetime": "DateTimeAttributeMetadata",
    "choice": "PicklistAttributeMetadata",
    "multichoice": "MultiSelectPicklistAttributeMetadata",
}
_ENTITY_SELECT = (
    "LogicalName,SchemaName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute,IsCustomEntity,"
    "OwnershipType,IsActivity,HasNotes,HasActivities"
)
_RESOURCE_NOT_FOUND = "0x8006088a"  # unknown entity set / segment
_OBJECT_MISSING = "0x80040217"


class ProvisionResult(BaseModel):
    """What one provisioning run did; `created` etc. name components as `kind table.name`."""

    model_config = ConfigDict(frozen=True)

    solution: str
    solution_status: Literal["present", "created", "assumed"]
    created: list[str] = []
    present: list[str] = []
    changed: list[str] = []
    published: list[str] = []
    warnings: list[str] = []
    entity_sets: dict[str, str] = {}
    """Logical name → entity set of every plan table (what the transform writes to)."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def counts(self) -> dict[str, int]:
        return {"created": len(self.created), "present": len(self.present), "changed": len(self.changed)}

    @computed_field  # type: ignore[prop-decorator]
    @property
    def noop(self) -> bool:
        return not (self.created or self.changed)

    def summary(self) -> str:
        if self.noop:
            return f"schema already provisioned: {len(self.present)} components present, nothing changed"
        c = self.counts
        return f"schema provisioned: {c['created']} created, {c['changed']} changed, {c['present']} present"


# --- what the target has ----------------------------------------------------------------------------


@dataclass
class _Table:
    logical: str
    entity_set: str
    primary_id: str
    is_custom: bool
    ownership: str
    is_activity: bool
    has_notes: bool
    has_activities: bool
    types: dict[str, str] = field(default_factory=dict)  # column → AttributeTypeName.Value
    lengths: dict[str, int] = field(default_factory=dict)
    targets: dict[str, list[str]] = field(default_factory=dict)
    keys: dict[str, tuple[list[str], str]] = field(default_factory=dict)  # key → (columns, status)


@dataclass
class _Target:
    tables: dict[str, _Table]
    option_sets: dict[str, dict[str, Any]]  # name → {"id", "labels"}


def _label(text: str) -> dict[str, Any]:
    return {
        "@odata.type": "Microsoft.Dynamics.CRM.Label",
        "LocalizedLabels": [
            {"@odata.type": "Microsoft.Dynamics.CRM.LocalizedLabel", "Label": text, "LanguageCode": LANGUAGE}
        ],
    }


def _label_text(raw: Any) -> str | None:
    if not isinstance(raw, dict):
        return None
    user = raw.get("UserLocalizedLabel")
    if isinstance(user, dict) and user.get("Label"):
        return str(user["Label"])
    locs = raw.get("LocalizedLabels") or []
    return str(locs[0]["Label"]) if locs else None


def _entity_path(logical: str) -> str:
    return f"EntityDefinitions(LogicalName='{logical}')"


def _refused(exc: TargetRequestFailed, *codes: str) -> bool:
    return exc.error_code is not None and exc.error_code.lower() in {c.lower() for c in codes}


def _read_table(client: DataverseClient, logical: str, need: set[str]) -> _Table | None:
    """One table's definition with its columns' types (and lengths/targets/keys when asked)."""
    try:
        body = client.request(
            "GET",
            _entity_path(logical),
            params={
                "$select": _ENTITY_SELECT,
                "$expand": "Attributes($select=LogicalName,AttributeType,AttributeTypeName)",
            },
        ).json()
    except TargetRequestFailed as exc:
        if exc.status == 404:
            return None
        raise
    t = _Table(
        logical=body["LogicalName"],
        entity_set=body.get("EntitySetName") or "",
        primary_id=body.get("PrimaryIdAttribute") or f"{logical}id",
        is_custom=bool(body.get("IsCustomEntity")),
        ownership=str(body.get("OwnershipType") or ""),
        is_activity=bool(body.get("IsActivity")),
        has_notes=bool(body.get("HasNotes")),
        has_activities=bool(body.get("HasActivities")),
    )
    for a in body.get("Attributes") or []:
        tn = a.get("AttributeTypeName")
        t.types[a["LogicalName"]] = str(tn.get("Value") if isinstance(tn, dict) else a.get("AttributeType"))
    for cast, prop in (("StringAttributeMetadata", "MaxLength"), ("MemoAttributeMetadata", "MaxLength")):
        if "lengths" in need:
            for a in _cast_read(client, logical, cast, prop):
                t.lengths[a["LogicalName"]] = int(a.get(prop) or 0)
    if "targets" in need:
        for a in _cast_read(client, logical, "LookupAttributeMetadata", "Targets"):
            t.targets[a["LogicalName"]] = [str(x) for x in a.get("Targets") or []]
    if "keys" in need:
        keys = client.request(
            "GET",
            f"{_entity_path(logical)}/Keys",
            params={"$select": "LogicalName,KeyAttributes,EntityKeyIndexStatus"},
        ).json()
        for k in keys.get("value", []):
            t.keys[k["LogicalName"]] = (
                list(k.get("KeyAttributes") or []),
                str(k.get("EntityKeyIndexStatus")),
            )
    return t


def _cast_read(client: DataverseClient, logical: str, cast: str, prop: str) -> list[dict[str, Any]]:
    return list(
        client.request(
            "GET",
            f"{_entity_path(logical)}/Attributes/Microsoft.Dynamics.CRM.{cast}",
            params={"$select": f"LogicalName,{prop}"},
        )
        .json()
        .get("value", [])
    )


def _read_option_set(client: DataverseClient, name: str) -> dict[str, Any] | None:
    try:
        body = client.request("GET", f"GlobalOptionSetDefinitions(Name='{name}')").json()
    except TargetRequestFailed as exc:
        if exc.status == 404:
            return None
        raise
    labels = {_label_text(o.get("Label")): o.get("Value") for o in body.get("Options") or []}
    return {"id": body.get("MetadataId"), "labels": labels}


def _read_target(client: DataverseClient, plan: SchemaPlan, prefix: str) -> _Target:
    need: dict[str, set[str]] = {}
    for t in plan.tables:
        need.setdefault(logical_name(prefix, t.name), set())
    for c in plan.columns:
        wants = need.setdefault(plan.table_logical_name(c.table, prefix), set())
        wants.add("targets" if c.type == "lookup" else "lengths" if c.type in ("string", "memo") else "types")
        if c.target:
            need.setdefault(plan.table_logical_name(c.target, prefix), set())
    for k in plan.keys:
        need.setdefault(plan.table_logical_name(k.table, prefix), set()).add("keys")
    tables = {}
    for logical, wants in need.items():
        found = _read_table(client, logical, wants)
        if found is not None:
            tables[logical] = found
    sets = {}
    names = {plan.option_set_name(o.name, prefix) for o in plan.option_sets}
    names |= {plan.option_set_name(c.global_option_set, prefix) for c in plan.columns if c.global_option_set}
    for name in sorted(names):
        found_set = _read_option_set(client, name)
        if found_set is not None:
            sets[name] = found_set
    return _Target(tables, sets)


# --- what to do (no I/O) ----------------------------------------------------------------------------


@dataclass
class _Step:
    what: str  # "table new_x", "column account.new_code", …
    method: str
    path: str
    body: dict[str, Any]
    owner: str | None = None  # the table this component belongs to (for "never half a table")
    creates: bool = True
    table_created: str | None = None  # set on the step that creates a table


@dataclass
class _Plan:
    steps: list[_Step] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)
    option_sets: set[str] = field(default_factory=set)
    new_tables: list[str] = field(default_factory=list)


def _required(required: bool) -> dict[str, Any]:
    return {
        "Value": "ApplicationRequired" if required else "None",
        "CanBeChanged": True,
        "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings",
    }


def _options_body(options: list[tuple[str, int]]) -> list[dict[str, Any]]:
    return [{"Value": v, "Label": _label(label)} for label, v in options]


def _table_body(t: CustomTable, prefix: str) -> dict[str, Any]:
    primary_schema = "Subject" if t.is_activity else schema_name(prefix, t.primary_name.name)
    return {
        "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata",
        "SchemaName": schema_name(prefix, t.name),
        "DisplayName": _label(t.display_name),
        "DisplayCollectionName": _label(t.plural_name),
        "Description": _label(describe(t.description, t.seed_name)),
        "OwnershipType": "UserOwned" if t.ownership == "user" else "OrganizationOwned",
        "HasNotes": t.has_notes,
        "HasActivities": t.has_activities,
        "IsActivity": t.is_activity,
        "Attributes": [
            {
                "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
                "AttributeType": "String",
                "AttributeTypeName": {"Value": "StringType"},
                "SchemaName": primary_schema,
                "IsPrimaryName": True,
                "MaxLength": t.primary_name.max_length,
                "FormatName": {"Value": "Text"},
                "RequiredLevel": _required(False),
                "DisplayName": _label(t.primary_name.display_name),
                "Description": _label(f"The primary name of {t.display_name}."),
            }
        ],
    }


def _column_body(
    c: CustomColumn, plan: SchemaPlan, target: _Target, prefix: str, option_prefix: int
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "@odata.type": f"Microsoft.Dynamics.CRM.{_ODATA[c.type]}",
        "AttributeType": _TYPE_NAMES[c.type].removesuffix("Type"),
        "AttributeTypeName": {"Value": _TYPE_NAMES[c.type]},
        "SchemaName": schema_name(prefix, c.name),
        "DisplayName": _label(c.display_name),
        "Description": _label(describe(c.description, c.seed_name)),
        "RequiredLevel": _required(c.required),
    }
    if c.secured:
        body["IsSecured"] = True
    if c.type == "string":
        body.update(MaxLength=c.effective_max_length, FormatName={"Value": "Text"})
    elif c.type == "memo":
        body.update(MaxLength=c.effective_max_length, Format="TextArea")
    elif c.type in ("integer", "decimal", "money"):
        if c.type == "integer":
            body["Format"] = "None"
        else:
            body["Precision"] = c.effective_precision
        if c.type == "money":
            body["PrecisionSource"] = 2  # the column's own Precision (MoneyAttributeMetadata)
        cast = int if c.type == "integer" else float
        if c.min_value is not None:
            body["MinValue"] = cast(c.min_value)
        if c.max_value is not None:
            body["MaxValue"] = cast(c.max_value)
    elif c.type == "boolean":
        body["DefaultValue"] = False
        body["OptionSet"] = {
            "@odata.type": "Microsoft.Dynamics.CRM.BooleanOptionSetMetadata",
            "OptionSetType": "Boolean",
            "TrueOption": {"Value": 1, "Label": _label("Yes")},
            "FalseOption": {"Value": 0, "Label": _label("No")},
        }
    elif c.type in ("date", "datetime"):
        date_only = c.type == "date"
        body["Format"] = "DateOnly" if date_only else "DateAndTime"
        body["DateTimeBehavior"] = {"Value": "DateOnly" if date_only else "UserLocal"}
    elif c.global_option_set:
        name = plan.option_set_name(c.global_option_set, prefix)
        body["GlobalOptionSet@odata.bind"] = f"/GlobalOptionSetDefinitions({target.option_sets[name]['id']})"
    else:
        body["OptionSet"] = {
            "@odata.type": "Microsoft.Dynamics.CRM.OptionSetMetadata",
            "IsGlobal": False,
            "OptionSetType": "Picklist",
            "Options": _options_body(c.resolved_options(option_prefix)),
        }
    return body


def _lookup_body(c: CustomColumn, plan: SchemaPlan, prefix: str, referenced_id: str) -> dict[str, Any]:
    table = plan.table_logical_name(c.table, prefix)
    referenced = plan.table_logical_name(c.target or "", prefix)
    lookup_schema = schema_name(prefix, c.name)
    return {
        "@odata.type": "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
        "SchemaName": f"{prefix}_{referenced}_{table}_{c.name.lower()}",
        "ReferencedEntity": referenced,
        "ReferencedAttribute": referenced_id,
        "ReferencingEntity": table,
        "ReferencingEntityNavigationPropertyName": lookup_schema,
        "CascadeConfiguration": {
            "Assign": "NoCascade",
            "Delete": "RemoveLink",
            "Merge": "NoCascade",
            "Reparent": "NoCascade",
            "Share": "NoCascade",
            "Unshare": "NoCascade",
        },
        "Lookup": {
            "@odata.type": "Microsoft.Dynamics.CRM.LookupAttributeMetadata",
            "AttributeType": "Lookup",
            "AttributeTypeName": {"Value": "LookupType"},
            "SchemaName": lookup_schema,
            "DisplayName": _label(c.display_name),
            "Description": _label(describe(c.description, c.seed_name)),
            "RequiredLevel": _required(c.required),
        },
    }


def _conflict_check(plan: SchemaPlan, target: _Target, prefix: str) -> None:
    """Everything that exists but cannot be what the plan needs; raised before any write."""
    problems: list[str] = []
    for t in plan.tables:
        found = target.tables.get(logical_name(prefix, t.name))
        if found is None:
            continue
        want_owner = "UserOwned" if t.ownership == "user" else "OrganizationOwned"
        if not found.is_custom:
            problems.append(f"table {found.logical} exists but is not a custom table")
        if found.ownership and found.ownership != want_owner:
            problems.append(f"table {found.logical} is {found.ownership}, the plan needs {want_owner}")
        if found.is_activity != t.is_activity:
            problems.append(
                f"table {found.logical}: IsActivity is {found.is_activity}, the plan needs {t.is_activity}"
            )
    for c in plan.columns:
        table = plan.table_logical_name(c.table, prefix)
        col = logical_name(prefix, c.name)
        found = target.tables.get(table)
        if found is None:
            if not any(logical_name(prefix, t.name) == table for t in plan.tables):
                problems.append(f"column {table}.{col}: table {table} does not exist in the target")
            continue
        have = found.types.get(col)
        if have is None:
            continue
        want = _TYPE_NAMES[c.type]
        if have != want:
            problems.append(f"column {table}.{col} exists as {have}; the plan needs {c.type} ({want})")
        elif c.type == "lookup":
            referenced = plan.table_logical_name(c.target or "", prefix)
            if referenced not in found.targets.get(col, [referenced]):
                problems.append(
                    f"column {table}.{col} looks up {found.targets[col]}; the plan needs {referenced}"
                )
    for c in plan.columns:
        gos = c.global_option_set
        absent = gos and plan.option_set_name(gos, prefix) not in target.option_sets
        if absent and not any(o.name == gos for o in plan.option_sets):
            problems.append(f"column {c.table}.{c.name}: global option set {gos} does not exist")
    for k in plan.keys:
        table = plan.table_logical_name(k.table, prefix)
        found = target.tables.get(table)
        name = logical_name(prefix, k.name)
        if found is not None and name in found.keys:
            cols, status = found.keys[name]
            want_cols = [plan.column_logical_name(x, prefix) for x in k.columns]
            if sorted(cols) != sorted(want_cols):
                problems.append(f"key {table}.{name} exists on {cols}; the plan needs {want_cols}")
            elif status == "Failed":
                problems.append(
                    f"key {table}.{name} is Failed (duplicate values in the table): delete it, fix the "
                    "duplicates, and provision again"
                )
    for c in plan.columns:
        missing = c.target and plan.table_logical_name(c.target, prefix) not in target.tables
        if missing and not any(t.name == c.target for t in plan.tables):
            problems.append(f"lookup {c.table}.{c.name}: target table {c.target} does not exist")
    if problems:
        raise SchemaConflict("the target's schema cannot take the plan: " + "; ".join(problems))


def _steps(plan: SchemaPlan, target: _Target, prefix: str, option_prefix: int) -> _Plan:
    out = _Plan()
    for o in plan.option_sets:
        name = logical_name(prefix, o.name)
        have = target.option_sets.get(name)
        if have is not None:
            out.present.append(f"option set {name}")
            missing = [lab for lab, _ in o.resolved_options(option_prefix) if lab not in have["labels"]]
            if missing:
                out.warnings.append(
                    f"option set {name} lacks the labels {missing}; values mapped to them fail"
                )
            continue
        out.option_sets.add(name)
        out.steps.append(
            _Step(
                f"option set {name}",
                "POST",
                "GlobalOptionSetDefinitions",
                {
                    "@odata.type": "Microsoft.Dynamics.CRM.OptionSetMetadata",
                    "Name": schema_name(prefix, o.name),
                    "DisplayName": _label(o.display_name),
                    "Description": _label(describe(o.description, o.seed_name)),
                    "IsGlobal": True,
                    "OptionSetType": "Picklist",
                    "Options": _options_body(o.resolved_options(option_prefix)),
                },
            )
        )
    columns_of: dict[str, list[CustomColumn]] = {}
    for c in plan.columns:
        columns_of.setdefault(plan.table_logical_name(c.table, prefix), []).append(c)

    def column_steps(table: str) -> None:
        found = target.tables.get(table)
        for c in columns_of.get(table, []):
            col = logical_name(prefix, c.name)
            what = f"column {table}.{col}"
            if found is not None and col in found.types:
                have_len = found.lengths.get(col)
                want_len = c.effective_max_length
                if c.type in ("string", "memo") and have_len and want_len and have_len < want_len:
                    out.touched.add(table)
                    path = f"{_entity_path(table)}/Attributes(LogicalName='{col}')"
                    body = {"MaxLength": want_len, "cast": _ODATA[c.type]}
                    out.steps.append(_Step(what, "WIDEN", path, body, owner=table, creates=False))
                else:
                    out.present.append(what)
                continue
            if c.type == "lookup":
                continue  # after every table exists
            if c.field_security_profile:
                out.warnings.append(
                    f"{what} is secured: grant field security profile {c.field_security_profile!r} "
                    "read/create/update on it (fieldpermissions) — provisioning does not assign profiles"
                )
            out.touched.add(table)
            out.steps.append(
                _Step(what, "POST", f"{_entity_path(table)}/Attributes", {"column": c}, owner=table)
            )

    for t in plan.tables:
        logical = logical_name(prefix, t.name)
        found = target.tables.get(logical)
        if found is None:
            out.touched.add(logical)
            out.new_tables.append(logical)
            body = _table_body(t, prefix)
            out.steps.append(
                _Step(
                    f"table {logical}",
                    "POST",
                    "EntityDefinitions",
                    body,
                    owner=logical,
                    table_created=logical,
                )
            )
        else:
            out.present.append(f"table {logical}")
            switch = {
                prop: True
                for prop, want, have in (
                    ("HasNotes", t.has_notes, found.has_notes),
                    ("HasActivities", t.has_activities, found.has_activities),
                )
                if want and not have
            }
            if switch:
                out.touched.add(logical)
                out.steps.append(
                    _Step(
                        f"table {logical}",
                        "ENABLE",
                        _entity_path(logical),
                        switch,
                        owner=logical,
                        creates=False,
                    )
                )
        column_steps(logical)
    planned = {logical_name(prefix, t.name) for t in plan.tables}
    for table in columns_of:
        if table not in planned:
            column_steps(table)
    for c in plan.columns:
        if c.type != "lookup":
            continue
        table = plan.table_logical_name(c.table, prefix)
        col = logical_name(prefix, c.name)
        found = target.tables.get(table)
        if found is not None and col in found.types:
            continue  # counted as present above
        out.touched.add(table)
        out.steps.append(
            _Step(f"lookup {table}.{col}", "LOOKUP", "RelationshipDefinitions", {"column": c}, owner=table)
        )
    for k in plan.keys:
        table = plan.table_logical_name(k.table, prefix)
        name = logical_name(prefix, k.name)
        found = target.tables.get(table)
        if found is not None and name in found.keys:
            out.present.append(f"key {table}.{name}")
            continue
        out.touched.add(table)
        out.steps.append(
            _Step(
                f"key {table}.{name}",
                "POST",
                f"{_entity_path(table)}/Keys",
                {
                    "SchemaName": schema_name(prefix, k.name),
                    "DisplayName": _label(k.display_name or k.name),
                    "KeyAttributes": [plan.column_logical_name(x, prefix) for x in k.columns],
                },
                owner=table,
            )
        )
    return out


# --- doing it ---------------------------------------------------------------------------------------


def ensure_solution(
    client: DataverseClient, solution: str, *, prefix: str, option_prefix: int
) -> Literal["present", "created", "assumed"]:
    """Make sure the unmanaged solution exists with a publisher of this prefix.

    Dataverse: `solutions` and `publishers` are ordinary tables (create-solution / publisher docs); a
    solution is created bound to a publisher whose `customizationprefix` names every component. The
    emulator has no such tables (its solutions come from `--solution NAME:PREFIX`), so when the entity
    set is unknown the solution is "assumed" and the first create names it if it is missing.
    """
    try:
        rows = client.request(
            "GET",
            "solutions",
            params={
                "$select": "solutionid,uniquename,_publisherid_value",
                "$filter": f"uniquename eq '{solution}'",
            },
        ).json()["value"]
    except TargetRequestFailed as exc:
        if exc.status == 404 and _refused(exc, _RESOURCE_NOT_FOUND):
            return "assumed"
        raise
    if rows:
        publisher = client.request(
            "GET", f"publishers({rows[0]['_publisherid_value']})", params={"$select": "customizationprefix"}
        ).json()
        if str(publisher.get("customizationprefix", "")).lower() != prefix:
            raise ConfigError(
                f"solution {solution}'s publisher uses the prefix {publisher.get('customizationprefix')!r}, "
                f"not options.publisher_prefix {prefix!r}: change the spec or use another solution"
            )
        return "present"
    found = client.request(
        "GET",
        "publishers",
        params={"$select": "publisherid", "$filter": f"customizationprefix eq '{prefix}'"},
    ).json()["value"]
    if found:
        publisher_id = found[0]["publisherid"]
    else:
        resp = client.request(
            "POST",
            "publishers",
            json={
                "uniquename": f"{solution}Publisher",
                "friendlyname": f"{solution} publisher",
                "customizationprefix": prefix,
                "customizationoptionvalueprefix": option_prefix,
            },
            headers={"Prefer": "return=representation"},
        )
        publisher_id = resp.json()["publisherid"]
    client.request(
        "POST",
        "solutions",
        json={
            "uniquename": solution,
            "friendlyname": solution,
            "version": "1.0.0.0",
            "publisherid@odata.bind": f"/publishers({publisher_id})",
        },
    )
    return "created"


def verify(client: DataverseClient, plan: SchemaPlan, *, prefix: str, option_prefix: int) -> ProvisionResult:
    """SD-12: the customer creates the schema from the plan document; Intact checks it is all there
    and writes nothing. What provisioning would still create or change raises SchemaNotReady, named."""
    target = _read_target(client, plan, prefix)
    _conflict_check(plan, target, prefix)
    todo = _steps(plan, target, prefix, option_prefix)
    if todo.steps:
        names = [s.what for s in todo.steps]
        more = " …" if len(names) > 20 else ""
        raise SchemaNotReady(
            f"{len(names)} part(s) of the schema plan are not in the target (options.schema_provisioning "
            f"is verify): {'; '.join(names[:20])}{more}. Create them from reports/schema-plan.md, publish, "
            "and run the migration again."
        )
    return ProvisionResult(solution="", solution_status="assumed", present=list(todo.present))


def provision(
    client: DataverseClient,
    plan: SchemaPlan,
    *,
    prefix: str,
    option_prefix: int,
    solution: str,
    custom_table_cap: int | None = None,
    key_wait_s: float = 120.0,
    sleep: Callable[[float], None] = time.sleep,
) -> ProvisionResult:
    """Create what the plan needs and the target lacks; see the module docstring for the rules."""
    solution_status = ensure_solution(client, solution, prefix=prefix, option_prefix=option_prefix)
    target = _read_target(client, plan, prefix)
    _conflict_check(plan, target, prefix)
    todo = _steps(plan, target, prefix, option_prefix)
    if custom_table_cap is not None and todo.new_tables:
        _check_cap(client, todo.new_tables, custom_table_cap)
    created: list[str] = []
    changed: list[str] = []
    headers = {"MSCRM.SolutionUniqueName": solution}
    pending = {s.owner for s in todo.steps if s.owner in todo.new_tables}
    outstanding: dict[str, int] = {t: sum(1 for s in todo.steps if s.owner == t) for t in pending}
    built: list[str] = []  # tables this run created
    for i, step in enumerate(todo.steps):
        try:
            _run(client, step, plan, target, prefix, option_prefix, headers)
        except IntactError as exc:
            rolled = _roll_back(client, [t for t in built if outstanding.get(t, 0) > 0])
            raise _explain(exc, step, todo.steps[i:], rolled) from exc
        (created if step.creates else changed).append(step.what)
        if step.table_created:
            built.append(step.table_created)
            refreshed = _read_table(client, step.table_created, set())
            if refreshed is not None:
                target.tables[step.table_created] = refreshed
        if step.owner in outstanding:
            outstanding[step.owner] -= 1
    warnings = list(todo.warnings)
    warnings += (
        _await_keys(client, plan, prefix, key_wait_s, sleep)
        if any(s.what.startswith("key ") for s in todo.steps)
        else []
    )
    published: list[str] = []
    if todo.touched or todo.option_sets:
        _publish(client, sorted(todo.touched), sorted(todo.option_sets))
        published = sorted(todo.touched) + sorted(todo.option_sets)
    entity_sets = {
        logical_name(prefix, t.name): target.tables[logical_name(prefix, t.name)].entity_set
        for t in plan.tables
        if logical_name(prefix, t.name) in target.tables
    }
    return ProvisionResult(
        solution=solution,
        solution_status=solution_status,
        created=created,
        present=todo.present,
        changed=changed,
        published=published,
        warnings=warnings,
        entity_sets=entity_sets,
    )


def _run(
    client: DataverseClient,
    step: _Step,
    plan: SchemaPlan,
    target: _Target,
    prefix: str,
    option_prefix: int,
    headers: dict[str, str],
) -> None:
    if step.method == "POST" and "column" in step.body:
        body = _column_body(step.body["column"], plan, target, prefix, option_prefix)
        client.request("POST", step.path, json=body, headers=headers)
    elif step.method == "LOOKUP":
        c: CustomColumn = step.body["column"]
        referenced = target.tables[plan.table_logical_name(c.target or "", prefix)]
        client.request(
            "POST", step.path, json=_lookup_body(c, plan, prefix, referenced.primary_id), headers=headers
        )
    elif step.method == "POST":
        client.request("POST", step.path, json=step.body, headers=headers)
        if step.path == "GlobalOptionSetDefinitions":
            name = str(step.body["Name"]).lower()
            found = _read_option_set(client, name)
            if found is not None:
                target.option_sets[name] = found
    elif step.method == "WIDEN":
        # update-column: retrieve the definition, change it, PUT it back whole (MergeLabels keeps labels)
        cast = step.body["cast"]
        current = client.request("GET", f"{step.path}/Microsoft.Dynamics.CRM.{cast}").json()
        current = {k: v for k, v in current.items() if not k.startswith("@odata.context")}
        current["MaxLength"] = step.body["MaxLength"]
        client.request("PUT", step.path, json=current, headers={**headers, "MSCRM.MergeLabels": "true"})
    elif step.method == "ENABLE":
        current = client.request("GET", step.path).json()
        current = {k: v for k, v in current.items() if not k.startswith("@odata.context")}
        current.update(step.body)
        client.request("PUT", step.path, json=current, headers={**headers, "MSCRM.MergeLabels": "true"})


def _roll_back(client: DataverseClient, tables: list[str]) -> list[str]:
    """Delete tables this run created and could not finish; returns what was (not) removed."""
    out = []
    for logical in reversed(tables):
        try:
            client.request("DELETE", _entity_path(logical))
            out.append(f"deleted the incomplete table {logical}")
        except IntactError as exc:
            out.append(f"could NOT delete the incomplete table {logical} ({exc}); delete it by hand")
    return out


def _explain(exc: IntactError, step: _Step, rest: list[_Step], rolled: list[str]) -> IntactError:
    after = f" Rolled back: {'; '.join(rolled)}." if rolled else ""
    if isinstance(exc, TargetRequestFailed):
        message = exc.dataverse_message or str(exc)
        if "licence" in message.lower() and step.table_created:
            surplus = [s.table_created for s in rest if s.table_created]
            return PreflightBlocked(
                f"the target refused the custom table {step.table_created}: over the licence's custom-table "
                f"cap. Surplus tables not created: {', '.join(surplus)}. ({message}){after}"
            )
        if exc.status == 404 and "solution" in message.lower():
            return ConfigError(f"creating {step.what}: {message}. Create the solution first.{after}")
        return SchemaConflict(f"creating {step.what} failed ({exc.error_code}): {message}{after}")
    if rolled and isinstance(exc, RetryableError):
        return type(exc)(
            f"{step.what}: {exc.args[0] if exc.args else exc}.{after}", retry_after=exc.retry_after
        )
    return exc


def _check_cap(client: DataverseClient, new_tables: list[str], cap: int) -> None:
    existing = client.request(
        "GET", "EntityDefinitions", params={"$select": "LogicalName", "$filter": "IsCustomEntity eq true"}
    ).json()["value"]
    room = cap - len(existing)
    if len(new_tables) > room:
        surplus = new_tables[max(room, 0) :]
        raise PreflightBlocked(
            f"the plan needs {len(new_tables)} new custom tables but the licence allows {cap} and "
            f"{len(existing)} exist: surplus {', '.join(surplus)} (nothing was created)"
        )


def _await_keys(
    client: DataverseClient, plan: SchemaPlan, prefix: str, wait_s: float, sleep: Callable[[float], None]
) -> list[str]:
    """Alternate keys build their index asynchronously: wait until Active (data writes by key need it)."""
    deadline = time.monotonic() + wait_s
    waiting = {(plan.table_logical_name(k.table, prefix), logical_name(prefix, k.name)) for k in plan.keys}
    while waiting:
        for table, key in sorted(waiting):
            status = (
                client.request(
                    "GET",
                    f"{_entity_path(table)}/Keys(LogicalName='{quote(key)}')",
                    params={"$select": "EntityKeyIndexStatus"},
                )
                .json()
                .get("EntityKeyIndexStatus")
            )
            if status == "Active":
                waiting.discard((table, key))
            elif status == "Failed":
                raise SchemaConflict(
                    f"key {table}.{key} failed to activate (duplicate values in the table): fix them, delete "
                    "the key and provision again"
                )
        if not waiting or time.monotonic() >= deadline:
            break
        sleep(min(2.0, max(0.0, deadline - time.monotonic())))
    return [
        f"key {t}.{k} is still Pending after {wait_s:.0f} s; writes by that key wait for it"
        for t, k in sorted(waiting)
    ]


def _publish(client: DataverseClient, tables: list[str], option_sets: list[str]) -> None:
    entities = "".join(f"<entity>{t}</entity>" for t in tables)
    sets = "".join(f"<optionset>{o}</optionset>" for o in option_sets)
    xml = f"<importexportxml><entities>{entities}</entities><optionsets>{sets}</optionsets></importexportxml>"
    client.request("POST", "PublishXml", json={"ParameterXml": xml})


__all__ = ["ProvisionResult", "ensure_solution", "provision"]
