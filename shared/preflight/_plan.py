"""What the run will add to the target before loading, so preflight judges the org as it will be:
the custom tables a schema plan creates, and the option values of the choice columns it creates."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.mapping import Profile
from shared.mapping.schema_plan import SchemaPlan
from shared.preflight._picklists import ValueMapRef
from shared.preflight._profile_view import profile_views


@dataclass(frozen=True)
class PlannedSchema:
    tables: list[str] = field(default_factory=list)  # logical names, in provisioning order
    options: dict[tuple[str, str], set[int]] = field(default_factory=dict)  # (table, column) → values


def planned_schema(plan: SchemaPlan | None, prefix: str, option_prefix: int) -> PlannedSchema:
    """Logical names and option values exactly as provisioning will create them."""
    if plan is None:
        return PlannedSchema()
    global_sets = {o.name: o for o in plan.option_sets}
    options: dict[tuple[str, str], set[int]] = {}
    for c in plan.columns:
        if c.type not in ("choice", "multichoice"):
            continue
        if c.options:
            values = {v for _, v in c.resolved_options(option_prefix)}
        elif c.global_option_set in global_sets:
            values = {v for _, v in global_sets[c.global_option_set].resolved_options(option_prefix)}
        else:
            continue  # an existing global option set: its values are the target's to report
        key = (plan.table_logical_name(c.table, prefix), plan.column_logical_name(c.name, prefix))
        options[key] = values
    return PlannedSchema(
        tables=[plan.table_logical_name(t.name, prefix) for t in plan.tables], options=options
    )


def value_maps_from_profile(profile: Profile, prefix: str = "new") -> list[ValueMapRef]:
    """Every value map of the profile (per object and target), as the picklist check takes them."""
    return [m for o in profile_views(profile, prefix) for t in o.targets for m in t.value_maps]
