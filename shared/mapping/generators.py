"""Mapping generated from what discovery finds in the source, as profile overrides.

Some of a source's schema is the customer's own and only known once it is read: Close's Custom
Activity types and their fields (CLOSE-14), the pipelines and stages of an account (CLOSE-07/08,
SD-05/06/19 — "stage lists always come from discovery, never from a fixed list"). A profile names
a generator and the staged objects it reads; after extraction the run calls it and merges what it
returns over the profile, exactly as a customer's `profile_overrides` would be merged — so the
generated tables, columns, targets, split rules and value maps are validated like hand-written ones
and show in the plan the person approves.

    generate:
      - {kind: custom_activity_tables, object: activities, types: custom_activity_types,
         type_field: custom_activity_type_id}
      - {kind: pipeline_stages, object: opportunities, target: opportunity, stages: opportunity_statuses,
         stage_id: id, stage_label: label, stage_pipeline: pipeline_id, pipelines: pipelines,
         pipeline_id: id, pipeline_name: name, record_stage: status_id}

A generator is a plain function `(spec, profile, rows, option_prefix) → (overrides, notes)`; `rows(object)`
yields the staged records of an object.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.mapping.schema_plan import OPTION_BLOCK

Rows = Callable[[str], Iterable[dict[str, Any]]]
GeneratorKind = Literal["custom_activity_tables", "pipeline_stages"]


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class GenerateSpec(_M):
    kind: GeneratorKind
    object: str = Field(description="The profile object the generated mapping extends")
    # custom_activity_tables
    types: str | None = Field(default=None, description="Staged object with the type definitions")
    type_field: str = "custom_activity_type_id"
    custom_prefix: str = Field(default="custom.", description="Where a record keeps its custom values")
    # pipeline_stages
    target: str | None = Field(default=None, description="The target (by name) that gains the columns")
    stages: str | None = None
    stage_id: str = "id"
    stage_label: str = "label"
    stage_pipeline: str = "pipeline_id"
    stage_order: str | None = None
    stage_probability: str | None = None
    pipelines: str | None = None
    pipeline_id: str = "id"
    pipeline_name: str = "name"
    record_stage: str = "status_id"
    record_stage_label: str | None = Field(default=None, description="The record's own stage label, if any")


def schema_name(text: str, fallback: str = "Field") -> str:
    """A display name as a PascalCase SchemaName (ASCII, ≤ 40): `Meeting outcome` → `MeetingOutcome`."""
    ascii_ = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", ascii_) if p]
    name = "".join(p[:1].upper() + p[1:] for p in parts) or fallback
    return (name if name[0].isalpha() else f"F{name}")[:40]


# Close custom field types → plan column types
_CLOSE_TYPES = {
    "text": "string",
    "textarea": "memo",
    "number": "decimal",
    "date": "date",
    "datetime": "datetime",
    "choices": "choice",
    "checkbox": "boolean",
    "user": "string",
    "contact": "string",
    "hidden": "string",
}
_CONVERT = {"date": "date_only", "datetime": "datetime_utc", "boolean": "bool"}
_RESERVED = {
    "subject",
    "description",
    "regardingobjectid",
    "activityid",
    "ownerid",
    "statecode",
    "statuscode",
}


def custom_activity_tables(
    gen: GenerateSpec, profile: dict[str, Any], rows: Rows, option_prefix: int
) -> tuple[dict[str, Any], list[str]]:
    """CLOSE-14: one custom activity table per type (provisioned if absent), its type-scoped columns,
    and a target + split rule that import the type's instances regarding their contact or lead.
    CLOSE-15: an instance carrying a custom field its type does not define is quarantined, naming it."""
    notes: list[str] = []
    obj = _object(profile, gen.object)
    schema = copy.deepcopy(profile.get("schema") or {})
    tables = list(schema.get("tables", []))
    columns = list(schema.get("columns", []))
    targets = dict(obj.get("targets", {}))
    rules: list[dict[str, Any]] = []
    taken = {t["name"] for t in tables}
    for t in rows(gen.types or ""):
        type_id, label = str(t.get("id") or ""), str(t.get("name") or t.get("id") or "")
        if not type_id or f"custom_{type_id}" in targets:  # already generated: run it twice, same result
            continue
        name = schema_name(label, "CustomActivity")
        if name in taken:
            name = schema_name(f"{label} {type_id[-6:]}")
        taken.add(name)
        logical = f"{{prefix}}_{name.lower()}"
        tables.append(
            {
                "name": name,
                "seed_name": type_id,
                "display_name": label[:100],
                "plural_name": f"{label[:98]}s",
                "description": " ".join(
                    [f"Close Custom Activity type {label!r} (CLOSE-14).", str(t.get("description") or "")]
                ).strip(),
                "is_activity": True,
            }
        )
        fields: list[dict[str, Any]] = [
            {"to": "subject", "value": label[:200]},
            {"to": "description", "from": "note"},
            {"to": "actualstart", "from": ["activity_at", "date_created"], "convert": "datetime_utc"},
            {"to": "overriddencreatedon", "from": "date_created", "convert": "datetime_utc"},
        ]
        value_maps: list[dict[str, Any]] = []
        allowed: list[str] = []
        for f in t.get("fields") or []:
            fid, fname = str(f.get("id") or ""), str(f.get("name") or f.get("id") or "")
            kind = _CLOSE_TYPES.get(str(f.get("type") or "text"), "string")
            col = schema_name(fname)
            if col.lower() in _RESERVED:
                col = f"Custom{col}"[:40]
            allowed.append(fid)
            column: dict[str, Any] = {
                "table": name,
                "name": col,
                "seed_name": fid,
                "display_name": fname[:100],
                "description": f"Close custom field {fname!r} ({fid}) of the activity type {label!r}.",
                "type": kind,
            }
            path = f"{gen.custom_prefix}{fid}"
            to = f"{{prefix}}_{col.lower()}"
            if kind == "choice":
                choices = [str(c) for c in f.get("choices") or []]
                if not choices:
                    notes.append(f"{label}.{fname}: a choice field with no choices; kept as text")
                    column["type"] = "string"
                    fields.append({"to": to, "from": path})
                else:
                    column["options"] = [{"label": c[:250]} for c in choices]
                    value_maps.append(
                        {
                            "to": to,
                            "from": path,
                            "map": {c: option_prefix * OPTION_BLOCK + n for n, c in enumerate(choices)},
                        }
                    )
            else:
                fm: dict[str, Any] = {"to": to, "from": path}
                if kind in _CONVERT:
                    fm["convert"] = _CONVERT[kind]
                fields.append(fm)
            columns.append(column)
        target = f"custom_{type_id}"
        targets[target] = {
            "table": logical,
            "entity_set": f"{logical}s",
            "primary_id": "activityid",
            "fields": fields,
            "value_maps": value_maps,
            "custom_fields": {"under": gen.custom_prefix, "allowed": allowed, "owner": label},
            "lookups": [
                {
                    "to": "regardingobjectid",
                    "bind": f"regardingobjectid_{{table}}_{logical}",
                    "sources": [
                        {"from": "contact_id", "object": "contacts"},
                        {"from": "lead_id", "object": "leads"},
                    ],
                    "required": True,
                }
            ],
            "owner": {"from": ["user_id", "created_by"]},
        }
        rules.append({"when": {"field": gen.type_field, "equals": type_id}, "table": target})
    if not rules:
        return {}, notes
    split = [*rules, *obj.get("split", [])]  # a known type's rule comes before the generic skip
    return {
        "write_custom_columns": True,
        "schema": {**schema, "tables": tables, "columns": columns},
        "objects": [{"name": gen.object, "targets": targets, "split": split}],
    }, notes


def pipeline_stages(
    gen: GenerateSpec, profile: dict[str, Any], rows: Rows, option_prefix: int
) -> tuple[dict[str, Any], list[str]]:
    """CLOSE-07/08, SD-05/06/19 (INT-02/03): the account's pipelines and their stages, as discovered,
    become a Pipeline and a Stage choice column on the opportunity (the stage options are the
    whitelist, in pipeline order, labels kept), each record's stage mapped to both; the stage label
    also goes to `stepname`. A record whose stage is not among the discovered ones is quarantined
    with the stage named (the preflight counts them first, COM-16)."""
    notes: list[str] = []
    pipelines = {
        str(p.get(gen.pipeline_id)): str(p.get(gen.pipeline_name) or "") for p in rows(gen.pipelines or "")
    }
    stages = list(rows(gen.stages or ""))
    if not stages:
        return {}, ["no stages discovered: the pipeline and stage columns are not generated"]
    order = {pid: n for n, pid in enumerate(pipelines)}

    def key(s: dict[str, Any]) -> tuple[int, float]:
        raw = s.get(gen.stage_order) if gen.stage_order else None
        try:
            pos = float(raw) if raw not in (None, "") else 0.0
        except (TypeError, ValueError):
            pos = 0.0
        return order.get(str(s.get(gen.stage_pipeline)), len(order)), pos

    stages.sort(key=key)  # stable: a source without an order column keeps its own order
    labels = [str(s.get(gen.stage_label) or s.get(gen.stage_id)) for s in stages]
    multi = len({str(s.get(gen.stage_pipeline)) for s in stages}) > 1
    stage_options: list[str] = []
    stage_map: dict[str, int] = {}
    pipe_map: dict[str, int] = {}
    pipe_names = list(dict.fromkeys(pipelines.values())) or ["(no pipeline)"]
    for s, label in zip(stages, labels, strict=True):
        pipe = pipelines.get(str(s.get(gen.stage_pipeline)), "")
        text = f"{label} ({pipe})" if multi and labels.count(label) > 1 and pipe else label
        if text in stage_options:
            notes.append(f"stage {text!r} appears twice in one pipeline; both map to one option")
        else:
            stage_options.append(text[:250])
        sid = str(s.get(gen.stage_id))
        stage_map[sid] = option_prefix * OPTION_BLOCK + stage_options.index(text[:250])
        if pipe in pipe_names:
            pipe_map[sid] = option_prefix * OPTION_BLOCK + pipe_names.index(pipe)
    obj = _object(profile, gen.object)
    target_name = gen.target or next(iter(obj.get("targets", {})), obj.get("table"))
    table = (obj.get("targets", {}).get(target_name) or obj).get("table")
    schema = copy.deepcopy(profile.get("schema") or {})
    columns = [
        c
        for c in schema.get("columns", [])
        if not (c.get("table") == table and c.get("name") in ("Pipeline", "Stage"))
    ]
    columns += [
        {
            "table": table,
            "name": "Pipeline",
            "display_name": "Pipeline",
            "description": "The source pipeline (INT-02): one option per pipeline, as discovered.",
            "type": "choice",
            "options": [{"label": p[:250]} for p in pipe_names],
        },
        {
            "table": table,
            "name": "Stage",
            "display_name": "Pipeline stage",
            "description": "The source stage (INT-03): the options are the discovered stages in pipeline "
            "order; the label is also in stepname.",
            "type": "choice",
            "options": [{"label": s} for s in stage_options],
        },
    ]
    stage_label = {str(s.get(gen.stage_id)): label[:200] for s, label in zip(stages, labels, strict=True)}
    base = _target(obj, target_name)
    ours = {"{prefix}_stage", "{prefix}_pipeline"}
    base["value_maps"] = [m for m in base.get("value_maps", []) if m.get("to") not in ours]
    base["fields"] = [f for f in base.get("fields", []) if f.get("to") != "stepname"]
    maps = [{"to": "{prefix}_stage", "from": gen.record_stage, "map": stage_map}]
    if pipe_map:
        maps.append({"to": "{prefix}_pipeline", "from": gen.record_stage, "map": pipe_map})
    base["fields"] = [
        f for f in base["fields"] if f.get("to") != "closeprobability" or not f.get("translate")
    ]
    fields = list(base.get("fields", []))
    if gen.record_stage_label:  # the standard column carries the stage's label too (INT-03)
        fields.append({"to": "stepname", "from": gen.record_stage_label, "convert": "text_max:200"})
    else:  # the record has only the stage id: its discovered label
        fields.append(
            {"to": "stepname", "from": gen.record_stage, "translate": stage_label, "convert": "text_max:200"}
        )
    if gen.stage_probability:  # INT-04: the stage's weight is the record's close probability
        weights = {
            str(s.get(gen.stage_id)): p
            for s in stages
            if (p := _percent(s.get(gen.stage_probability))) is not None
        }
        if weights:
            fields.append({"to": "closeprobability", "from": gen.record_stage, "translate": weights})
    target = {"value_maps": [*base.get("value_maps", []), *maps], "fields": fields}
    body: dict[str, Any] = {"targets": {target_name: target}} if "targets" in obj else target
    return {
        "write_custom_columns": True,
        "schema": {**schema, "columns": columns},
        "objects": [{"name": gen.object, **body}],
    }, notes


GENERATORS: dict[str, Callable[..., tuple[dict[str, Any], list[str]]]] = {
    "custom_activity_tables": custom_activity_tables,
    "pipeline_stages": pipeline_stages,
}


def _percent(raw: Any) -> int | None:
    """A stage probability (a percentage) as closeprobability takes it: a whole number, 0 to 100."""
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return round(value) if 0 <= value <= 100 else None


def _object(profile: dict[str, Any], name: str) -> dict[str, Any]:
    for o in profile.get("objects", []):
        if isinstance(o, dict) and o.get("name") == name:
            return o
    raise ValueError(f"generate: the profile has no object {name!r}")


def _target(obj: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(obj.get("targets", {}).get(name) or obj)


__all__ = ["GENERATORS", "GenerateSpec", "custom_activity_tables", "pipeline_stages", "schema_name"]
