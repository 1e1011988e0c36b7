"""An approved mapping proposal becomes profile overrides (COM-02): approved entries only, appended
to the profile's own field maps, new columns planned; what cannot apply is named, never dropped."""

from __future__ import annotations

from typing import Any

from shared.mapping import load_profile
from shared.mapping.approval import overrides_from_proposal
from shared.mapping.proposer import MappingProposal


def _entry(
    obj: str, field: str, table: str, target: str, status: str = "approved", **kw: Any
) -> dict[str, Any]:
    return {
        "object": obj,
        "field": field,
        "table": table,
        "target": target,
        "type": kw.pop("type", "string"),
        "confidence": 0.8,
        "reason": "test",
        "status": status,
        **kw,
    }


def test_COM_02_only_approved_entries_apply_and_keep_the_profile_fields() -> None:
    proposal = MappingProposal.model_validate(
        {
            "source": "close",
            "entries": [
                _entry("opportunities", "value_period", "opportunity", "new:ValuePeriod"),
                _entry(
                    "leads", "custom.Tier", "account", "new:Tier", type="choice", options=["Gold", "Silver"]
                ),
                _entry("tasks", "date", "task", "scheduledstart", type="datetime", convert="datetime_utc"),
                _entry("contacts", "title", "contact", "new:Ignored", status="rejected"),
                _entry("nowhere", "x", "account", "new:Lost"),
                _entry("leads", "y", "opportunity", "new:Misplaced"),
            ],
        }
    )
    base = load_profile("close")
    overrides, notes = overrides_from_proposal(proposal, base)
    profile = load_profile("close", overrides)

    opp = profile.object("opportunities")
    assert opp is not None
    assert [f.to for f in opp.targets["opportunity"].fields][-1] == "{prefix}_valueperiod"
    # the profile's own maps are all still there, in order
    before = [f.to for f in base.object("opportunities").targets["opportunity"].fields]  # type: ignore[union-attr]
    assert [f.to for f in opp.targets["opportunity"].fields][: len(before)] == before
    # a split object: the field goes to the target that writes the chosen table only
    leads = profile.object("leads")
    assert leads is not None
    assert "{prefix}_tier" in [f.to for f in leads.targets["account"].fields]
    assert "{prefix}_tier" not in [f.to for f in leads.targets["lead"].fields]
    tasks = profile.object("tasks")
    assert tasks is not None and tasks.targets["task"].fields[-1].convert == "datetime_utc"
    # new columns are planned (with the profile's own), and written
    assert profile.schema_ is not None
    planned = {(c.table, c.name) for c in profile.schema_.columns}
    assert {("opportunity", "ValuePeriod"), ("account", "Tier")} <= planned
    assert {(c.table, c.name) for c in base.schema_.columns} <= planned  # type: ignore[union-attr]
    assert ("contact", "Ignored") not in planned
    assert profile.write_custom_columns
    assert len(notes) == 2
    assert any("nowhere" in n for n in notes) and any(
        "no target of leads writes opportunity" in n for n in notes
    )


def test_COM_02_the_approval_merges_over_the_spec_overrides() -> None:
    proposal = MappingProposal.model_validate(
        {
            "source": "close",
            "entries": [_entry("opportunities", "value_period", "opportunity", "new:ValuePeriod")],
        }
    )
    existing = {"objects": [{"name": "leads", "split": [{"otherwise": "account"}]}]}
    overrides, _ = overrides_from_proposal(proposal, load_profile("close", existing), existing)
    profile = load_profile("close", overrides)
    assert profile.object("leads").split[0].otherwise == "account"  # type: ignore[union-attr]
