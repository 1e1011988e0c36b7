"""Required columns (COM-22), lookups (COM-24) and attachments (COM-41): the record-level checks."""

from __future__ import annotations

from typing import Any

from shared.mapping import Profile
from shared.preflight import (
    AttachmentTally,
    LookupTally,
    RequiredTally,
    TargetView,
    attachment_sizes,
    check_attachments,
    check_lookups,
    check_required,
    profile_views,
)


def _feed(tally: Any, profile: Profile, records: dict[str, list[dict[str, Any]]]) -> None:
    for obj in profile_views(profile):
        for rec in records.get(obj.name, []):
            if isinstance(tally, LookupTally):
                tally.observe_id(obj.name, rec["id"])
            for t in obj.targets_for(rec):
                tally.observe(t, rec["id"], rec)


def _targets(profile: Profile) -> list[TargetView]:
    return [t for o in profile_views(profile) for t in o.targets]


def test_COM_22_empty_required_values_are_counted_warnings(profile: Profile, records: dict) -> None:
    tally = RequiredTally({"account": {"name"}})
    _feed(tally, profile, records)
    out, summary = check_required(_targets(profile), {"account": {"name"}}, tally.empty, tally.ids)
    [(severity, f)] = out
    assert severity == "warning" and f.code == "required_value_empty" and f.requirement == "COM-22"
    assert (f.object, f.field, f.records, f.source_ids) == ("leads", "display_name", 1, ["lead_3"])
    assert summary["records_with_empty_required"] == 1


def test_COM_22_a_target_required_column_the_profile_never_fills_is_a_warning(profile: Profile) -> None:
    """ApplicationRequired is enforced by forms, not Web API writes (REQUIREMENTS INT-27): the
    admin is told, the load is not blocked."""
    out, _ = check_required(_targets(profile), {"contact": {"lastname", "new_membershipno"}}, {})
    assert [(s, f.code, f.field) for s, f in out] == [
        ("warning", "required_column_unmapped", "contact.new_membershipno")
    ]
    assert "INT-27" in out[0][1].message


def test_COM_22_blank_text_and_empty_lookups_count_as_empty(profile: Profile) -> None:
    tally = RequiredTally()
    [contacts] = [t for t in _targets(profile) if t.object == "contacts"]
    tally.observe(contacts, "c1", {"id": "c1", "name": "   ", "lead_id": "l1"})
    tally.observe(contacts, "c2", {"id": "c2", "name": "Smith", "lead_id": ""})
    assert dict(tally.empty) == {
        ("contacts", "name", "contact.lastname"): 1,
        ("contacts", "lead_id", "contact.parentcustomerid"): 1,
    }


def test_COM_24_a_lookup_to_a_record_missing_from_the_extract_is_a_warning(
    profile: Profile, records: dict
) -> None:
    tally = LookupTally(profile_views(profile))
    _feed(tally, profile, records)
    out, summary = check_lookups(tally.dangling, tally.ids, lookups=1)
    [(severity, f)] = out
    assert severity == "warning" and f.code == "lookup_unresolvable" and f.requirement == "COM-24"
    assert (f.object, f.field, f.records, f.source_ids) == ("contacts", "lead_id", 1, ["cont_2"])
    assert "quarantined" in f.message and summary == {"lookups": 1, "unresolvable_records": 1}


def test_COM_24_delta_runs_leave_parents_to_the_id_map(profile: Profile, records: dict) -> None:
    tally = LookupTally(profile_views(profile), check_parents=False)
    _feed(tally, profile, {"contacts": records["contacts"]})
    assert not tally.dangling


def test_COM_41_an_attachment_over_the_upload_limit_blocks(records: dict) -> None:
    tally = AttachmentTally(limit=5_242_880)
    for rec in records["files"]:
        tally.observe("files", rec["id"], rec)
    out, summary = check_attachments(tally)
    [(severity, f)] = out
    assert severity == "blocking" and f.code == "attachment_over_limit" and f.requirement == "COM-41"
    assert (f.object, f.records, f.source_ids) == ("files", 1, ["file_2"])
    assert f.details == {"limit_bytes": 5_242_880, "largest_bytes": 9_000_000}
    assert summary == {"limit_bytes": 5_242_880, "files": 2, "bytes": 9_001_000, "over_limit": 1}


def test_COM_41_an_unknown_limit_is_a_warning() -> None:
    tally = AttachmentTally(limit=None)
    tally.observe("files", "f1", {"_file": {"size": 10}})
    assert [(s, f.code) for s, f in check_attachments(tally)[0]] == [("warning", "upload_limit_unknown")]


def test_COM_41_sizes_are_read_from_every_source_shape() -> None:
    assert attachment_sizes({"_file": {"path": "files/x", "size": 7}}) == [7]  # export sources
    assert attachment_sizes({"filesize": 9}) == [9]  # X2CRM Media
    assert attachment_sizes({"attachments": [{"size": 1}, {"size": 2}, {"url": "u"}]}) == [1, 2]  # Close
    assert attachment_sizes({"id": "x"}) == []
