"""COM-13: every table the profile writes exists in the target (or the schema plan creates it). A
standard table absent from the org means its module is not installed or licensed (invoices, cases):
the object is switched off in the spec, or the module installed, before any record moves."""

from __future__ import annotations

from shared.preflight._model import Finding, Outcome
from shared.preflight._profile_view import ObjectView


def check_tables(views: list[ObjectView], missing: list[str]) -> tuple[list[Outcome], dict[str, object]]:
    out: list[Outcome] = []
    for table in missing:
        objects = sorted({o.name for o in views for t in o.targets if t.table == table})
        out.append(
            (
                "blocking",
                Finding(
                    check="tables",
                    requirement="COM-13",
                    code="table_missing",
                    message=f"the target has no table {table!r}, which {', '.join(objects)} write(s): "
                    "install or license its module, or skip the object in options.profile_overrides",
                    object=objects[0] if objects else None,
                    details={"table": table, "objects": objects},
                ),
            )
        )
    return out, {"missing": list(missing)}
