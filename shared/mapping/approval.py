"""An approved mapping proposal applied to a profile: the person's decisions become profile overrides.

The proposer (proposer.py) writes a `MappingProposal` a person edits — `status: approved` on the
entries they accept, with any target changed. Here those entries become `options.profile_overrides`
in the shape `merge_overrides` merges: each approved field is appended to the field maps of every
target of its object that writes the chosen table, and each new column joins the profile's schema
plan (lists are replaced whole by an override, so both carry the profile's own entries too).

    overrides, notes = overrides_from_proposal(proposal, profile, existing=spec_overrides)
    spec = spec with options.profile_overrides = overrides    # validated by loading the profile

An entry that cannot be applied (its object is not mapped, or no target writes its table) is left
out and named in `notes` — never silently dropped.
"""

from __future__ import annotations

from typing import Any

from shared.mapping.profile import CUSTOM_MARK, Profile, merge_overrides, raw_profile
from shared.mapping.proposer import NEW_LENGTH, MappingProposal
from shared.mapping.schema_plan import CustomColumn, Option

NEW = "new:"


def overrides_from_proposal(
    proposal: MappingProposal, profile: Profile, existing: dict[str, Any] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """(profile overrides with the approved entries merged over `existing`, what was not applied)."""
    notes: list[str] = []
    fields: dict[tuple[str, str], list[dict[str, Any]]] = {}
    columns: list[dict[str, Any]] = []
    for e in proposal.approved():
        obj = profile.object(e.object)
        where = f"{e.object}.{e.field}"
        if obj is None:
            notes.append(f"{where}: the profile does not map {e.object}; map the object first")
            continue
        targets = [name for name, t in obj.targets.items() if t.table == e.table]
        if not targets:
            notes.append(f"{where}: no target of {e.object} writes {e.table}")
            continue
        if e.target.startswith(NEW):
            name = e.target[len(NEW) :]
            to = f"{CUSTOM_MARK}_{name.lower()}"
            if not any(c["table"] == e.table and c["name"].lower() == name.lower() for c in columns):
                columns.append(
                    CustomColumn(
                        table=e.table,
                        name=name,
                        display_name=(e.label or name)[:100],
                        description=f"Source field {proposal.source}.{where}, proposed by Intact and "
                        "approved.",
                        type=e.type,
                        options=[Option(label=o) for o in e.options]
                        if e.type in ("choice", "multichoice")
                        else [],
                        max_length=NEW_LENGTH.get(e.convert or "") if e.type == "string" else None,
                    ).model_dump(mode="json", by_alias=True, exclude_defaults=True)
                )
        else:
            to = e.target
        field: dict[str, Any] = {"to": to, "from": e.field}
        if e.convert:
            field["convert"] = e.convert
        for tname in targets:
            fields.setdefault((obj.name, tname), []).append(field)

    raw = raw_profile(profile.source)
    inline = {o.get("name") for o in raw.get("objects", []) if isinstance(o, dict) and "table" in o}
    objects: list[dict[str, Any]] = []
    for obj in profile.objects:
        changed = {t: f for (o, t), f in fields.items() if o == obj.name}
        if not changed:
            continue
        merged = {t: [*[_dump(fm) for fm in obj.targets[t].fields], *new] for t, new in changed.items()}
        if obj.name in inline:  # written with `table:` on the object: its fields are the object's
            objects.append({"name": obj.name, "fields": next(iter(merged.values()))})
        else:
            objects.append({"name": obj.name, "targets": {t: {"fields": f} for t, f in merged.items()}})
    ours: dict[str, Any] = {}
    if objects:
        ours["objects"] = objects
    if columns:
        base = _dump(profile.schema_) if profile.schema_ else {}
        ours["schema"] = {**base, "columns": [*base.get("columns", []), *columns]}
        ours["write_custom_columns"] = True
    return merge_overrides(existing or {}, ours), notes


def _dump(model: Any) -> dict[str, Any]:
    return dict(model.model_dump(mode="json", by_alias=True, exclude_defaults=True))


__all__ = ["overrides_from_proposal"]
