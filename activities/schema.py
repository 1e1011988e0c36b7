"""provision_schema: create the profile's custom tables, columns, option sets, lookups and keys."""

from __future__ import annotations

from typing import Any

from activities._io import target
from activities.blueprint import bp
from shared.dataverse.schema import provision, verify
from shared.mapping.schema_plan import SchemaPlan
from shared.spec import MigrationSpec


@bp.activity_trigger(input_name="inp")
def provision_schema(inp: dict[str, Any]) -> dict[str, Any]:
    """Input `{"spec", "plan", "custom_table_cap"?}`; idempotent, so the durable retry may re-run it."""
    spec = MigrationSpec.model_validate(inp["spec"])
    plan = SchemaPlan.model_validate(inp.get("plan") or {})
    options = spec.options
    with target(spec) as dv:
        if options.schema_provisioning == "verify":  # SD-12: the customer created it; check it
            checked = verify(
                dv, plan, prefix=options.publisher_prefix, option_prefix=options.option_value_prefix
            )
            return checked.model_dump(mode="json")
        result = provision(
            dv,
            plan,
            prefix=options.publisher_prefix,
            option_prefix=options.option_value_prefix,
            solution=options.solution,
            custom_table_cap=inp.get("custom_table_cap"),
        )
    return result.model_dump(mode="json")
