"""What preflight needs to know about the target org, read once through the Web API.

Only documented endpoints: `EntityDefinitions` (custom tables, required columns, option values) and
`organizations` (maxuploadfilesize). The licence tier is not readable from the Web API; it comes from
the spec (`options.licence`).
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from shared.dataverse import DataverseClient

_OPTION_CASTS = (
    "PicklistAttributeMetadata",
    "MultiSelectPicklistAttributeMetadata",
    "StatusAttributeMetadata",
    "StateAttributeMetadata",
    "BooleanAttributeMetadata",
)


class TargetFacts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    custom_tables: list[str] = Field(default=[], description="Logical names of existing custom tables")
    required: dict[str, list[str]] = Field(
        default={}, description="Per table: columns the target marks ApplicationRequired"
    )
    options: dict[str, list[int] | None] = Field(
        default={}, description="'table.column' → its option values; None: no such choice column"
    )
    max_upload_bytes: int | None = None
    missing_tables: list[str] = Field(
        default=[], description="Tables the profile writes that the target lacks (and no plan creates)"
    )

    def option_values(self) -> dict[tuple[str, str], set[int] | None]:
        out: dict[tuple[str, str], set[int] | None] = {}
        for key, values in self.options.items():
            table, _, column = key.partition(".")
            out[(table, column)] = None if values is None else set(values)
        return out


def read_target(
    dv: DataverseClient, tables: Iterable[str], choice_columns: Iterable[tuple[str, str]]
) -> TargetFacts:
    """`tables`: the standard tables the profile writes (for required columns); `choice_columns`:
    (table, column) pairs whose option values the value maps need."""
    custom = [
        str(r["LogicalName"])
        for r in dv.request(
            "GET",
            "EntityDefinitions",
            params={"$select": "LogicalName", "$filter": "IsCustomEntity eq true"},
        ).json()["value"]
    ]
    required: dict[str, list[str]] = {}
    missing: list[str] = []
    for table in sorted(set(tables)):
        resp = dv.request(
            "GET",
            f"EntityDefinitions(LogicalName='{table}')/Attributes",
            params={"$select": "LogicalName,RequiredLevel,IsValidForCreate"},
            ok=(404,),
        )
        if resp.status_code == 404:
            missing.append(table)  # the caller left out the tables the plan creates: truly absent
            continue
        required[table] = sorted(
            a["LogicalName"]
            for a in resp.json()["value"]
            if (a.get("RequiredLevel") or {}).get("Value") == "ApplicationRequired"
            and a.get("IsValidForCreate", True)
        )
    options: dict[str, list[int] | None] = {}
    for table, column in sorted(set(choice_columns)):
        options[f"{table}.{column}"] = _option_values(dv, table, column)
    rows = dv.request("GET", "organizations", params={"$select": "maxuploadfilesize"}).json()["value"]
    limit = rows[0].get("maxuploadfilesize") if rows else None
    return TargetFacts(
        custom_tables=custom,
        required=required,
        options=options,
        max_upload_bytes=int(limit) if isinstance(limit, int) else None,
        missing_tables=missing,
    )


def _option_values(dv: DataverseClient, table: str, column: str) -> list[int] | None:
    """The column's option values; None when it does not exist or is not a choice column."""
    base = f"EntityDefinitions(LogicalName='{table}')/Attributes(LogicalName='{column}')"
    resp = dv.request("GET", base, params={"$select": "LogicalName"}, ok=(404,))
    if resp.status_code == 404:
        return None
    cast = str(resp.json().get("@odata.type", "")).rpartition(".")[2]
    if cast not in _OPTION_CASTS:
        return None
    opt = (
        dv.request(
            "GET",
            f"{base}/Microsoft.Dynamics.CRM.{cast}",
            params={"$select": "LogicalName", "$expand": "OptionSet"},
        )
        .json()
        .get("OptionSet")
        or {}
    )
    if cast == "BooleanAttributeMetadata":
        return [int(o["Value"]) for o in (opt.get("TrueOption"), opt.get("FalseOption")) if o]
    return [int(o["Value"]) for o in opt.get("Options", [])]
