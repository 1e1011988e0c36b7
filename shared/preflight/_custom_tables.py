"""COM-11: planned + existing custom tables against the licence's cap; the surplus is named."""

from __future__ import annotations

from collections.abc import Sequence

from shared.preflight._model import Finding, Outcome

LICENCE_CAPS: dict[str, int] = {"professional": 15, "enterprise": 500}
"""Custom tables a Dynamics 365 Sales licence allows (COM-11)."""


def check_custom_tables(
    planned: Sequence[str], existing: Sequence[str], licence: str | None
) -> tuple[list[Outcome], dict[str, object]]:
    """`planned`: logical names of the custom tables the profile provisions, in provisioning order;
    `existing`: logical names of the custom tables already in the org. A planned table that already
    exists counts once. Without a licence in the spec the Enterprise cap is assumed, with a warning."""
    tier = licence or "enterprise"
    cap = LICENCE_CAPS[tier]
    have = {t.lower() for t in existing}
    new = [t for t in dict.fromkeys(p.lower() for p in planned) if t not in have]
    total = len(have) + len(new)
    out: list[Outcome] = []
    if licence is None and new:
        out.append(
            (
                "warning",
                Finding(
                    check="custom_tables",
                    requirement="COM-11",
                    code="licence_not_set",
                    message=f"options.licence is not set: {total} custom table(s) were checked against the "
                    f"Enterprise cap ({cap}); set options.licence: professional for Sales Professional "
                    f"(cap {LICENCE_CAPS['professional']})",
                    details={"custom_tables": total, "cap": cap},
                ),
            )
        )
    if total > cap:
        room = max(0, cap - len(have))
        surplus = new[room:]
        out.append(
            (
                "blocking",
                Finding(
                    check="custom_tables",
                    requirement="COM-11",
                    code="custom_table_cap_exceeded",
                    message=f"{len(have)} existing + {len(new)} planned custom tables = {total}, over the "
                    f"{tier} licence's cap of {cap}: {len(surplus)} surplus ({', '.join(surplus)}); merge "
                    "each into an existing table (standard or custom) or upgrade to Enterprise",
                    details={
                        "licence": tier,
                        "cap": cap,
                        "existing": len(have),
                        "planned_new": new,
                        "surplus": surplus,
                    },
                ),
            )
        )
    summary: dict[str, object] = {
        "licence": tier,
        "licence_from_spec": licence is not None,
        "cap": cap,
        "existing": len(have),
        "planned": len(new) + len([p for p in planned if p.lower() in have]),
        "planned_new": len(new),
        "total": total,
    }
    return out, summary
