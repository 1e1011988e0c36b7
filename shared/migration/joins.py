"""Join step: build, once per run after extraction, the indexes the profile's joins declare, and the
typed property columns they imply (PRAC-08/09) — so the schema is planned and provisioned before any
record moves, and every transform chunk reads a small index instead of re-reading other objects.

    out = build_joins(run, extract, store)       # JoinsOutput: index paths + the run's schema plan
    indexes = load_indexes(run, obj, store)      # in transform_chunk: {join name: JoinIndex}

Layout: `staging/{migration}/{run}/joins/{object}/{join}.json`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.mapping.joins import JoinIndex, build_index, column_name, declare_types
from shared.mapping.profile import ObjectMap, Profile, profile_for
from shared.mapping.schema_plan import CustomColumn, SchemaPlan
from shared.migration.extract import staged_records
from shared.migration.models import ExtractOutput, RunRef
from shared.sources import open_source
from shared.storage import StagingStore

_PROPERTY_TYPES = {
    "date": "date", "decimal": "decimal", "string": "string", "memo": "memo", "choice": "choice",
    "boolean": "boolean",
}  # fmt: skip


class JoinsOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    indexes: dict[str, dict[str, str]] = {}
    """object → join name → index path."""
    plan: dict[str, Any] | None = None
    """The run's schema plan: the profile's own plus the property columns (None: nothing to plan)."""
    properties: dict[str, dict[str, str]] = {}
    """object.join → key → inferred type: what discovery found, for the report and the admin."""
    notes: list[str] = []


def index_path(run: RunRef, obj: str, join: str) -> str:
    return f"{run.prefix}/joins/{obj}/{join}.json"


def build_joins(
    run: RunRef, extract: ExtractOutput, store: StagingStore, base_dir: Path | None = None
) -> JoinsOutput:
    """On a full run the indexes come from the staged rows. A delta run staged only what changed,
    and a count, sum or set of properties over changed rows alone would be wrong (a client whose
    sessions did not change would have none, and turn into a Lead): it reads the joined objects
    whole from the source, streaming, for the indexes only."""
    profile = profile_for(run.spec)

    def staged(name: str) -> Iterable[dict[str, Any]]:
        return staged_records(extract, store, name)

    def whole(name: str) -> Iterator[dict[str, Any]]:
        source = open_source(run.spec.source, base_dir)
        try:
            if name not in {o.name for o in source.objects()}:
                return  # as on a full run: an object the source does not have joins nothing
            for page in source.read(name, since=None):
                yield from (r.record for r in page.records if r.record is not None)
        finally:
            source.close()

    rows = staged if run.since is None else whole

    out = JoinsOutput()
    built, notes = build_indexes(profile, rows, run.spec.options.option_value_prefix)
    out.notes += notes
    for (name, join), index in built.items():
        path = index_path(run, name, join)
        store.put_json(path, index.model_dump(mode="json"))
        with _LOCK:
            _LOADED.pop(path, None)  # an approved mapping rebuilds it: never serve the old one
        out.indexes.setdefault(name, {})[join] = path
        if index.types:
            out.properties[f"{name}.{join}"] = dict(index.types)
    plan = run_plan(profile, built)
    out.plan = None if plan.is_empty() else plan.model_dump(mode="json", by_alias=True)
    return out


def build_indexes(
    profile: Profile, rows: Callable[[str], Iterable[dict[str, Any]]], option_prefix: int
) -> tuple[dict[tuple[str, str], JoinIndex], list[str]]:
    """Every join of the profile over `rows(object)`, typed by its definitions where it declares
    them; with notes on definitions that could not apply."""
    built: dict[tuple[str, str], JoinIndex] = {}
    notes: list[str] = []
    for obj in profile.objects:
        for join in obj.joins:
            index = build_index(join, rows(join.object))
            if join.types_from is not None:
                said = declare_types(index, join.types_from, rows(join.types_from.object), option_prefix)
                notes += [f"{obj.name}.{join.name}: {n}" for n in said]
            built[(obj.name, join.name)] = index
    return built, notes


def run_plan(profile: Profile, indexes: dict[tuple[str, str], JoinIndex]) -> SchemaPlan:
    """The profile's schema plan plus one column per property key per table that takes properties."""
    base = profile.schema_ or SchemaPlan()
    have = {(c.table, c.name.lower()) for c in base.columns}
    extra: list[CustomColumn] = []
    for obj in profile.objects:
        for t in obj.targets.values():
            if t.properties is None:
                continue
            index = indexes.get((obj.name, t.properties.join))
            for key, kind in sorted((index.types if index else {}).items()):
                name = column_name(key)
                if not t.properties.wants(key) or (t.table, name.lower()) in have:
                    continue
                have.add((t.table, name.lower()))
                extra.append(_property_column(t.table, name, key, kind, obj.staged, index))
    if not extra:
        return base
    return SchemaPlan.model_validate(
        {**base.model_dump(mode="json", by_alias=True), "columns": [*base.columns, *extra]}
    )


def _property_column(
    table: str, name: str, key: str, kind: str, staged: str, index: JoinIndex | None
) -> CustomColumn:
    declared = index is not None and key in index.labels
    how = "as its definition declares it" if declared else "typed from its values"
    options = index.options.get(key, {}) if index else {}
    return CustomColumn.model_validate(
        {
            "table": table,
            "name": name,
            "seed_name": key,
            "display_name": ((index.labels.get(key) if index else None) or key.replace("_", " ").strip())[
                :100
            ]
            or name,
            "description": f"The source property {key!r} of {staged}, {how}: {kind} (PRAC-08, COM-14).",
            "type": _PROPERTY_TYPES[kind],
            **({"max_length": 4000} if kind == "string" else {}),
            **(
                {"options": [{"label": o, "value": v} for o, v in options.items()]}
                if kind == "choice"
                else {}
            ),
        }
    )


_LOADED: OrderedDict[str, JoinIndex] = OrderedDict()
_LOADED_MAX = 8
_LOCK = threading.Lock()  # activities may run on several threads of one process
"""Indexes this process read lately, by path: every transform chunk of an object needs the same ones,
and a path names one run's index, written once before any chunk is transformed."""


def load_indexes(run: RunRef, obj: ObjectMap, store: StagingStore) -> dict[str, JoinIndex]:
    out: dict[str, JoinIndex] = {}
    for join in obj.joins:
        path = index_path(run, obj.name, join.name)
        with _LOCK:
            index = _LOADED.get(path)
        if index is None:
            doc = store.get_json(path)
            if doc is None:
                raise RuntimeError(f"join index {join.name} of {obj.name} was not built for this run")
            index = JoinIndex.model_validate(doc)
            with _LOCK:
                _LOADED[path] = index
                while len(_LOADED) > _LOADED_MAX:
                    _LOADED.popitem(last=False)
        out[join.name] = index
    return out


__all__ = ["JoinsOutput", "build_indexes", "build_joins", "index_path", "load_indexes", "run_plan"]
