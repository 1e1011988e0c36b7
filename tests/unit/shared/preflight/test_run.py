"""assess(): every check over one pass of the records, and the report's two renderings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shared.mapping import Profile
from shared.preflight import (
    PlannedSchema,
    PreflightReport,
    TargetFacts,
    assess,
    preflight_markdown,
    write_preflight_files,
)
from shared.spec import OptionsSpec
from tests.unit.shared.preflight.conftest import INDUSTRY, owner_report

USERS = {"u_ok": ("matched", 2), "u_off": ("disabled", 1), "u_gone": ("unmatched", 2)}


def _assess(profile: Profile, records: dict, target: TargetFacts, **kw: Any) -> PreflightReport:
    args: dict[str, Any] = {
        "migration_id": "m1",
        "run_id": "r1",
        "profile": profile,
        "records": lambda name: records.get(name, []),
        "owners": owner_report(USERS, fallback=None),
        "options": OptionsSpec(licence="professional"),
        "target": target,
        "planned": PlannedSchema(tables=["new_session", "new_programme"]),
        "value_maps": [INDUSTRY],
        **kw,
    }
    return assess(**args)


def test_every_planted_problem_is_reported_once(profile: Profile, records: dict, target: TargetFacts) -> None:
    report = _assess(profile, records, target)
    assert not report.ok
    assert sorted((f.check, f.code) for f in report.blocking) == [
        ("attachments", "attachment_over_limit"),
        ("custom_tables", "custom_table_cap_exceeded"),
        ("owners", "owner_disabled"),
        ("owners", "owner_unmatched"),
        ("picklists", "unmapped_label"),
    ]
    assert sorted((f.check, f.code) for f in report.warnings) == [
        ("lookups", "lookup_unresolvable"),
        ("required_columns", "required_value_empty"),
    ]
    owners = {f.code: f for f in report.blocking if f.check == "owners"}
    assert owners["owner_disabled"].source_ids == ["lead_2"]
    assert owners["owner_unmatched"].source_ids == ["lead_3", "cont_2"]
    assert report.summary["picklists"]["unmapped_records"] == 2
    assert set(report.summary) == {
        "custom_tables",
        "picklists",
        "owners",
        "required_columns",
        "lookups",
        "attachments",
        "tables",
    }


def test_COM_13_a_table_the_target_lacks_blocks_naming_the_objects(
    profile: Profile, records: dict, target: TargetFacts
) -> None:
    """A standard table absent from the org (an uninstalled module) is caught before any record moves."""
    report = _assess(profile, records, target.model_copy(update={"missing_tables": ["annotation"]}))
    [finding] = [f for f in report.blocking if f.code == "table_missing"]
    assert finding.details == {"table": "annotation", "objects": ["files"]}
    assert "install or license" in finding.message


def test_planned_options_count_as_existing(profile: Profile, records: dict, target: TargetFacts) -> None:
    planned = PlannedSchema(options={("account", "industrycode"): {100000000}})
    vm = INDUSTRY.__class__(**{**INDUSTRY.__dict__, "values": {"Accounting": 1, "Hot prospect": 100000000}})
    report = _assess(profile, records, target, planned=planned, value_maps=[vm])
    assert not [f for f in report.blocking if f.check == "picklists"]


def test_a_clean_source_passes(profile: Profile, target: TargetFacts) -> None:
    clean = {
        "leads": [{"id": "l1", "display_name": "A", "custom": {"Industry": "Accounting"}, "user_id": "u_ok"}]
    }
    report = _assess(
        profile,
        clean,
        target,
        owners=owner_report({"u_ok": ("matched", 1)}),
        planned=PlannedSchema(tables=["new_session"]),
    )
    assert report.ok and report.warnings == []


def test_reports_carry_no_personal_data(
    profile: Profile, records: dict, target: TargetFacts, tmp_path: Path
) -> None:
    records["leads"][0]["email"] = "ann@example.com"
    report = _assess(profile, records, target)
    json_file, md_file = write_preflight_files(report, tmp_path)
    text = json_file.read_text() + md_file.read_text()
    for personal in ("Acme", "Beta", "Ann Smith", "Bo Jones", "ann@example.com", "huge.zip"):
        assert personal not in text
    assert "Hot prospect" in text  # pick-list labels are configuration, and named
    assert PreflightReport.model_validate(json.loads(json_file.read_text())) == report


def test_markdown_lists_blocking_then_warnings_then_checks(
    profile: Profile, records: dict, target: TargetFacts
) -> None:
    md = preflight_markdown(_assess(profile, records, target))
    assert md.startswith("# Preflight — migration m1, run r1\n\n**Blocked**")
    assert md.index("## Blocking") < md.index("## Warnings") < md.index("## Checks")
    assert "| Custom tables (COM-11) | 1 | 0 |" in md
    assert "new_programme" in md
