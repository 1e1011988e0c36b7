"""The Close profile, row by row of the seed's object-mapping table, on the sample (and the
generator's edge cases, which carry emails, SMS, meetings, notes and custom activities)."""

from __future__ import annotations

from typing import Any

import pytest

from samples.close.generate import make_export
from shared.errors import UnmappedValue
from shared.ids import target_id
from shared.mapping import load_profile, transform_record
from shared.mapping.splits import choose
from shared.mapping.transform import PendingLookup, Resolution, Skipped, TargetRow, resolve_lookup

SCOPE = "acme-close"
NESTED = ("contacts", "opportunities", "tasks", "activities")


def _flat(lead: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in lead.items() if k not in NESTED}


def _row(obj: str, record: dict[str, Any], **kw: Any) -> TargetRow:
    profile = load_profile("close", kw.pop("overrides", None))
    o = profile.object(obj)
    assert o is not None
    out = transform_record(o, record, source="close", scope=SCOPE, owners=None, **kw)
    assert isinstance(out, TargetRow)
    return out


@pytest.fixture(scope="module")
def sample() -> list[dict[str, Any]]:
    return make_export(40)


@pytest.fixture(scope="module")
def edge() -> list[dict[str, Any]]:
    return make_export(40, edge_cases=True)


def _activity(leads: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(a for lead in leads for a in lead["activities"] if a["_type"] == kind)


def test_CON_25_every_close_lead_lands_exactly_once_by_the_declared_split(
    sample: list[dict[str, Any]],
) -> None:
    split = load_profile("close").object("leads").split  # type: ignore[union-attr]
    landed = {lead["id"]: choose(split, lead) for lead in sample}
    assert len(landed) == len(sample)
    assert {o for o in landed.values()} == {("target", "lead"), ("target", "account")}
    for lead in sample:
        want = "lead" if lead["status_label"] in ("Potential", "Contacted") else "account"
        assert landed[lead["id"]] == ("target", want)


def test_CLOSE_01_lead_status_label_kept_verbatim_and_status_mapped(sample: list[dict[str, Any]]) -> None:
    for label, status in (("Potential", 1), ("Contacted", 2)):
        lead = _flat(next(x for x in sample if x["status_label"] == label))
        row = _row("leads", lead, custom_columns=True, prefix="cr1a")
        assert row.table == "lead" and row.entity_set == "leads"
        assert row.payload["cr1a_closeoriginalstatus"] == label  # INT-01: prefix + name, never __c
        assert row.payload["statuscode"] == status and row.follow_up is None
        assert row.payload["subject"] == lead["display_name"]
        assert row.payload["overriddencreatedon"].startswith(lead["date_created"][:19])


def test_CLOSE_01_custom_columns_left_out_until_the_schema_is_provisioned(
    sample: list[dict[str, Any]],
) -> None:
    row = _row("leads", _flat(sample[0]))
    assert not [c for c in row.payload if c.startswith("new_")]


def test_INT_07_qualified_lead_created_open_then_qualified_after_insert(sample: list[dict[str, Any]]) -> None:
    lead = _flat(next(x for x in sample if x["status_label"] == "Qualified"))
    overrides = {"objects": [{"name": "leads", "split": [{"otherwise": "lead"}]}]}
    row = _row("leads", lead, overrides=overrides)
    assert row.table == "lead"
    assert row.payload["statuscode"] == 1 and "statecode" not in row.payload  # state is not valid on create
    assert row.reopen == {"statecode": 0, "statuscode": 1}
    assert row.follow_up is not None
    assert (row.follow_up.kind, row.follow_up.state, row.follow_up.status) == ("set_state", 1, 3)


def test_CLOSE_02_company_lead_becomes_account_with_website_and_address(sample: list[dict[str, Any]]) -> None:
    lead = _flat(next(x for x in sample if x["status_label"] == "Qualified" and x["url"] and x["addresses"]))
    row = _row("leads", lead)
    assert row.table == "account"
    assert row.id == target_id(SCOPE, "close", "leads", lead["id"])
    assert row.payload["name"] == lead["display_name"]
    assert row.payload["websiteurl"] == lead["url"]
    assert row.payload["address1_city"] == lead["addresses"][0]["city"]


def _entry(table: str | None) -> Any:
    return lambda obj, sid: None if table is None else (table, f"id-of-{sid}")


def test_CLOSE_03_contact_links_to_the_account_its_lead_became(sample: list[dict[str, Any]]) -> None:
    row = _row("contacts", sample[0]["contacts"][0])
    parent = next(lk for lk in row.lookups if lk.to == "parentcustomerid")
    res = resolve_lookup(parent, _entry("account"))
    assert (res.kind, res.nav, res.table) == ("bound", "parentcustomerid_account", "account")


def test_CLOSE_04_contact_whose_lead_has_no_account_links_the_placeholder(
    sample: list[dict[str, Any]],
) -> None:
    row = _row("contacts", sample[0]["contacts"][0])
    parent = next(lk for lk in row.lookups if lk.to == "parentcustomerid")
    assert resolve_lookup(parent, _entry("lead")) == Resolution(kind="placeholder", placeholder="no_company")
    # the lead is kept: originatingleadid points at it
    origin = next(lk for lk in row.lookups if lk.to == "originatingleadid")
    assert resolve_lookup(origin, _entry("lead")).nav == "originatingleadid"
    # a lead that was not loaded at all: the contact is quarantined, not parked on the placeholder
    assert resolve_lookup(parent, _entry(None)).kind == "missing"
    ph = load_profile("close").placeholder("no_company")
    assert ph is not None and ph.rule == "no_company_placeholder" and ph.table == "account"


def test_CLOSE_05_close_contact_id_kept_in_a_custom_column(sample: list[dict[str, Any]]) -> None:
    contact = sample[0]["contacts"][0]
    row = _row("contacts", contact, custom_columns=True)
    assert row.payload["new_closecontactid"] == contact["id"]


def test_CLOSE_06_opportunity_value_from_cents_with_currency_and_close_date(
    sample: list[dict[str, Any]],
) -> None:
    opp = {**next(o for lead in sample for o in lead["opportunities"]), "date_won": "2022-03-31"}
    row = _row("opportunities", opp)
    assert row.payload["estimatedvalue"] == opp["value"] / 100
    assert row.payload["estimatedclosedate"] == "2022-03-31"
    assert row.payload["closeprobability"] == opp["confidence"]
    [cur] = row.references
    assert (cur.to, cur.entity_set, cur.key, cur.value) == (
        "transactioncurrencyid", "transactioncurrencies", "isocurrencycode", "USD",
    )  # fmt: skip
    account = next(lk for lk in row.lookups if lk.to == "parentaccountid")
    assert resolve_lookup(account, _entry("account")).nav == "parentaccountid"
    assert resolve_lookup(account, _entry("lead")).kind == "placeholder"  # a contact with no company


@pytest.mark.parametrize(("status_type", "kind", "state", "status"), [
    ("won", "win_opportunity", 1, 3), ("lost", "lose_opportunity", 2, 5),
])  # fmt: skip
def test_INT_06_won_and_lost_opportunities_close_through_win_lose(
    sample: list[dict[str, Any]], status_type: str, kind: str, state: int, status: int
) -> None:
    opp = {**next(o for lead in sample for o in lead["opportunities"]), "status_type": status_type}
    opp["date_won"] = "2022-05-01"
    row = _row("opportunities", opp)
    assert row.payload["statuscode"] == 1  # created open: Dataverse closes opportunities only by message
    assert row.follow_up is not None
    assert (row.follow_up.kind, row.follow_up.state, row.follow_up.status) == (kind, state, status)
    assert row.follow_up.close["actualrevenue"] == opp["value"] / 100
    assert row.follow_up.close["actualend"] == "2022-05-01"


def test_CLOSE_06_active_opportunity_stays_open_without_follow_up(sample: list[dict[str, Any]]) -> None:
    row = _row("opportunities", next(o for lead in sample for o in lead["opportunities"]))
    assert row.follow_up is None and row.payload["statuscode"] == 1


def test_CLOSE_09_INT_11_call_is_a_phonecall_with_direction_and_minutes(sample: list[dict[str, Any]]) -> None:
    call = _activity(sample, "Call")
    row = _row("activities", call)
    assert (row.table, row.entity_set) == ("phonecall", "phonecalls")
    assert row.payload["directioncode"] is True  # outbound
    assert row.payload["actualdurationminutes"] == -(-call["duration"] // 60)
    assert row.follow_up is not None and (row.follow_up.state, row.follow_up.status) == (1, 2)  # Made
    inbound = _row("activities", {**call, "direction": "inbound"})
    assert inbound.payload["directioncode"] is False
    assert inbound.follow_up is not None and inbound.follow_up.status == 4  # Received


def test_CLOSE_10_INT_12_email_is_one_email_activity(edge: list[dict[str, Any]]) -> None:
    email = _activity(edge, "Email")
    row = _row("activities", email)
    assert row.table == "email"
    assert row.payload["subject"] == email["subject"] and row.payload["description"] == email["body_text"]
    assert row.payload["directioncode"] is True
    assert row.follow_up is not None and (row.follow_up.state, row.follow_up.status) == (1, 3)  # Sent


def test_CLOSE_10_INT_12_email_sender_and_recipients_become_activity_parties(
    edge: list[dict[str, Any]],
) -> None:
    emails = [a for lead in edge for a in lead["activities"] if a["_type"] == "Email"]
    archived = next(e for e in emails if e["bcc"] and e["cc"])
    row = _row("activities", archived)
    parties = row.payload["email_activity_parties"]
    sender = archived["sender"].split("<")[1].rstrip(">")
    assert parties[0] == {"participationtypemask": 1, "addressused": sender}
    assert {"participationtypemask": 2, "addressused": archived["to"][0]} in parties
    cc = [p["addressused"] for p in parties if p["participationtypemask"] == 3]
    assert cc == [c.split("<")[1].rstrip(">").lower() for c in archived["cc"]]
    # the archive is blind-copied twice in the source (display form and plain): one party
    assert [p for p in parties if p["participationtypemask"] == 4] == [
        {"participationtypemask": 4, "addressused": "records@contoso.example"}
    ]
    assert row.parties_dropped == 0
    # a malformed recipient (a contact's planted `-at-nowhere` address) is left out and counted
    bad = next(e for e in emails if any("-at-nowhere" in c for c in e["to"] + e["cc"]))
    bad_row = _row("activities", bad)
    assert bad_row.parties_dropped == 1
    assert not any("-at-nowhere" in p["addressused"] for p in bad_row.payload["email_activity_parties"])
    # no address fields at all (a JSON export's email): no parties, nothing dropped
    plain = _row("activities", {k: v for k, v in bad.items() if k not in ("sender", "to", "cc", "bcc")})
    assert plain.payload["email_activity_parties"] == [] and plain.parties_dropped == 0


def test_CLOSE_11_sms_is_a_task_with_the_text_in_description(edge: list[dict[str, Any]]) -> None:
    sms = _activity(edge, "SMS")
    row = _row("activities", sms)
    assert (row.table, row.target) == ("task", "sms")
    assert row.payload["description"] == sms["text"] and row.payload["subject"] == "SMS"


def test_CLOSE_12_task_is_a_task_completed_after_insert(sample: list[dict[str, Any]]) -> None:
    done = next(t for lead in sample for t in lead["tasks"] if t["is_complete"])
    row = _row("tasks", done)
    assert row.table == "task" and row.payload["subject"] == done["text"]
    assert row.payload["statuscode"] == 2 and row.follow_up is not None
    assert (row.follow_up.state, row.follow_up.status) == (1, 5)
    open_task = next(t for lead in sample for t in lead["tasks"] if not t["is_complete"])
    assert _row("tasks", open_task).follow_up is None


def test_CLOSE_13_activity_regards_the_contact_else_the_lead_landing_table(
    edge: list[dict[str, Any]],
) -> None:
    row = _row("activities", _activity(edge, "Meeting"))
    [regarding] = row.lookups
    assert [o for o, _ in regarding.candidates] == ["contacts", "leads"]

    def entries(contact: str | None, lead: str) -> Any:
        return lambda obj, sid: (
            (contact, "c") if obj == "contacts" and contact else ((lead, "l") if obj == "leads" else None)
        )

    assert (
        resolve_lookup(regarding, entries("contact", "lead")).nav == "regardingobjectid_contact_appointment"
    )
    assert resolve_lookup(regarding, entries(None, "lead")).nav == "regardingobjectid_lead_appointment"
    assert resolve_lookup(regarding, entries(None, "account")).nav == "regardingobjectid_account_appointment"
    lost = PendingLookup(to="regardingobjectid", bind="x", candidates=[("leads", "gone")], required=True)
    assert resolve_lookup(lost, lambda o, s: None).kind == "missing"  # quarantined, never an orphan


def test_COM_04_activities_keep_their_original_timestamps(edge: list[dict[str, Any]]) -> None:
    for kind in ("Call", "Email", "SMS", "Meeting"):
        act = _activity(edge, kind)
        row = _row("activities", act)
        assert row.payload["overriddencreatedon"].startswith(act["date_created"][:19]), kind
        start = row.payload.get("actualstart") or row.payload.get("scheduledstart")
        assert start.startswith(act["activity_at"][:19]), kind


def test_CON_23_meeting_is_an_appointment(edge: list[dict[str, Any]]) -> None:
    meeting = _activity(edge, "Meeting")
    row = _row("activities", meeting)
    assert row.table == "appointment" and row.payload["subject"] == meeting["title"]
    assert row.payload["actualdurationminutes"] == 30
    assert row.follow_up is not None and row.follow_up.state == 1  # a past meeting is completed


def test_COM_05_note_is_an_annotation_on_its_parent(edge: list[dict[str, Any]]) -> None:
    note = _activity(edge, "Note")
    row = _row("activities", note)
    assert row.table == "annotation" and row.payload["notetext"] == note["note"]
    [obj] = row.lookups
    assert resolve_lookup(obj, _entry("account")).nav == "objectid_account"


def test_CLOSE_14_custom_activity_skipped_by_a_named_rule_for_now(edge: list[dict[str, Any]]) -> None:
    o = load_profile("close").object("activities")
    assert o is not None
    out = transform_record(o, _activity(edge, "CustomActivity"), source="close", scope=SCOPE, owners=None)
    assert out == Skipped(
        source_id=_activity(edge, "CustomActivity")["id"], rule="custom_activity_type_not_provisioned"
    )


def test_COM_16_unknown_activity_type_is_quarantined_naming_the_field(sample: list[dict[str, Any]]) -> None:
    o = load_profile("close").object("activities")
    assert o is not None
    with pytest.raises(UnmappedValue) as err:
        transform_record(
            o, {**_activity(sample, "Call"), "_type": "Fax"}, source="close", scope=SCOPE, owners=None
        )
    assert (err.value.object, err.value.field) == ("activities", "_type")


def test_COM_16_lead_status_without_a_pair_is_quarantined_never_another_status(
    sample: list[dict[str, Any]],
) -> None:
    lead = {**_flat(sample[0]), "status_label": "Bad Timing"}
    overrides = {"objects": [{"name": "leads", "split": [{"otherwise": "lead"}]}]}
    profile = load_profile("close", overrides)
    with pytest.raises(UnmappedValue) as err:
        transform_record(profile.objects[0], lead, source="close", scope=SCOPE, owners=None)
    assert (err.value.object, err.value.field) == ("leads", "status_label")
    assert "Bad Timing" not in err.value.reason  # messages name fields, never values


def test_CLOSE_25_INT_01_custom_columns_are_declared_in_the_schema_plan_with_the_seed_names() -> None:
    profile = load_profile("close")
    plan = profile.schema_
    assert plan is not None
    by_table = {(c.table, plan.column_logical_name(c.name, "new")): c.seed_name for c in plan.columns}
    assert by_table == {
        ("lead", "new_closeoriginalstatus"): "close_original_status__c",
        ("account", "new_closeoriginalstatus"): "close_original_status__c",
        ("contact", "new_closecontactid"): "close_contact_id__c",
        ("account", "new_closeleadid"): "close_lead_id__c",
        ("lead", "new_closeleadid"): "close_lead_id__c",
        ("opportunity", "new_closeopportunityid"): "close_opportunity_id__c",
    }
    written = {
        (t.table, f"new_{c}")
        for o in profile.objects
        for t in o.targets.values()
        for c in profile.custom_columns(t)
    }
    assert written == set(by_table)


def test_a_custom_column_missing_from_the_schema_plan_is_refused() -> None:
    from shared.errors import ConfigError

    with pytest.raises(
        ConfigError,
        match=r"schema plan does not declare on account: \['closeleadid', 'closeoriginalstatus'\]",
    ):
        load_profile("close", {"schema": {"columns": []}})
