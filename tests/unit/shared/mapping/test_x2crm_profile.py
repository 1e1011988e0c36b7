"""The X2CRM profile, row by row of the seed's object-mapping table, on the committed sample read
through the connector from the in-process mock (records typed exactly as a migration sees them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from emulators.x2crm.app import MockConfig, X2Mock
from emulators.x2crm.store import Store
from emulators.x2crm.transport import mock_transport
from shared.errors import InvalidField, UnmappedValue
from shared.ids import target_id
from shared.mapping import load_profile, transform_record
from shared.mapping.convert import converter
from shared.mapping.owners import OwnerMap, SystemUser, match_users
from shared.mapping.splits import choose
from shared.mapping.transform import Skipped, TargetRow, resolve_lookup
from shared.sources.x2crm import X2Client, X2CRMSource

SCOPE = "acme-x2"
SAMPLE = Path(__file__).resolve().parents[4] / "samples" / "x2crm" / "data.json"
Records = dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def source() -> X2CRMSource:
    mock = X2Mock(Store(json.loads(SAMPLE.read_text(encoding="utf-8"))), MockConfig())
    client = X2Client(
        "http://x2.test", "admin", "x2-sample-api-key", transport=mock_transport(mock), sleep=lambda s: None
    )
    return X2CRMSource(client)


@pytest.fixture(scope="module")
def x2(source: X2CRMSource) -> Records:
    return {
        obj: [r.record for page in source.read(obj) for r in page.records if r.record]
        for obj in ("Accounts", "Contacts", "X2Leads", "Opportunity", "Actions")
    }


def _out(obj: str, record: dict[str, Any], **kw: Any) -> Any:
    profile = load_profile("x2crm", kw.pop("overrides", None))
    o = profile.object(obj)
    assert o is not None
    kw.setdefault("owners", None)
    return transform_record(o, record, source="x2crm", scope=SCOPE, **kw)


def _row(obj: str, record: dict[str, Any], **kw: Any) -> TargetRow:
    out = _out(obj, record, **kw)
    assert isinstance(out, TargetRow)
    return out


def _entry(table: str | None) -> Any:
    return lambda obj, sid: None if table is None else (table, f"id-of-{obj}-{sid}")


def _bad_email(record: dict[str, Any]) -> bool:
    """The sample's planted malformed emails (the email converter refuses them)."""
    try:
        converter("email")(record.get("email"))
    except ValueError:
        return True
    return False


def _good_contact(x2: Records, **where: Any) -> dict[str, Any]:
    return next(
        c for c in x2["Contacts"] if not _bad_email(c) and all(c.get(k) == v for k, v in where.items())
    )


def test_X2_20_load_order_accounts_then_contacts_and_leads_then_deals_then_actions() -> None:
    phases = [[o.name for o in phase] for phase in load_profile("x2crm").phases()]
    assert phases == [["Accounts"], ["Contacts", "X2Leads"], ["Opportunity"], ["Actions"]]


def test_X2_03_account_with_website_phone_address_and_revenue(x2: Records) -> None:
    acc = x2["Accounts"][0]
    row = _row("Accounts", acc)
    assert (row.table, row.entity_set) == ("account", "accounts")
    assert row.id == target_id(SCOPE, "x2crm", "Accounts", acc["id"])
    p = row.payload
    assert p["name"] == acc["name"] and p["telephone1"] == acc["phone"]
    assert p["websiteurl"].endswith(acc["website"])
    assert (p["revenue"], p["numberofemployees"]) == (acc["annualRevenue"], acc["employees"])
    assert (p["address1_line1"], p["address1_city"]) == (acc["address"], acc["city"])
    assert p["overriddencreatedon"] == acc["createDate"]


def test_X2_01_contacts_split_into_lead_or_contact_by_the_declared_rule(x2: Records) -> None:
    split = load_profile("x2crm").object("Contacts").split  # type: ignore[union-attr]
    landed = {c["id"]: choose(split, c) for c in x2["Contacts"]}
    assert set(landed.values()) == {("target", "lead"), ("target", "contact")}
    for c in x2["Contacts"]:
        linked = isinstance(c.get("company"), dict) and c["company"].get("id")
        lead = not linked or c["leadstatus"] in ("Unassigned", "Assigned")
        assert landed[c["id"]] == ("target", "lead" if lead else "contact"), c["id"]


def test_X2_01_the_split_is_data_a_customer_overrides(x2: Records) -> None:
    contact = _good_contact(x2, leadstatus="Working")
    assert _row("Contacts", contact).table == "contact"
    overrides = {"objects": [{"name": "Contacts", "split": [{"otherwise": "lead"}]}]}
    assert _row("Contacts", contact, overrides=overrides).table == "lead"


def test_X2_01_contact_without_an_account_becomes_a_lead_naming_its_company(x2: Records) -> None:
    typed = next(c for c in x2["Contacts"] if isinstance(c.get("company"), dict) and not c["company"]["id"])
    row = _row("Contacts", typed)
    assert row.table == "lead" and row.payload["companyname"] == typed["company"]["name"]
    assert row.payload["subject"] == typed["name"] and row.payload["lastname"] == typed["lastName"]
    assert not row.lookups  # no account to link


def test_X2_03_contact_links_to_its_company_account(x2: Records) -> None:
    contact = _good_contact(x2, leadstatus="Accepted")
    row = _row("Contacts", contact)
    assert row.table == "contact" and row.payload["lastname"] == contact["lastName"]
    [parent] = row.lookups
    assert parent.candidates == [("Accounts", contact["company"]["id"])]
    res = resolve_lookup(parent, _entry("account"))
    assert (res.kind, res.nav) == ("bound", "parentcustomerid_account")
    assert resolve_lookup(parent, _entry(None)).kind == "missing"  # a deleted account: quarantined


def test_X2_02_contact_id_kept_on_the_contact_and_on_the_lead(x2: Records) -> None:
    for status, table in (("Working", "contact"), ("Assigned", "lead")):
        c = _good_contact(x2, leadstatus=status)
        row = _row("Contacts", c, custom_columns=True, prefix="cr1a")
        assert row.table == table and row.payload["cr1a_x2crmcontactid"] == c["id"]  # INT-01: no __c
        assert not [k for k in _row("Contacts", c).payload if k.startswith("new_")]


def test_X2_02_INT_01_custom_columns_declared_in_the_schema_plan_with_the_seed_name() -> None:
    profile = load_profile("x2crm")
    plan = profile.schema_
    assert plan is not None
    declared = {(c.table, plan.column_logical_name(c.name, "new")): c.seed_name for c in plan.columns}
    assert declared == {
        ("contact", "new_x2crmcontactid"): "x2crm_contact_id__c",
        ("lead", "new_x2crmcontactid"): "x2crm_contact_id__c",
    }


def test_X2_01_x2leads_are_leads_with_their_status_set_after_insert(x2: Records) -> None:
    rows = {lead["leadstatus"]: lead for lead in x2["X2Leads"]}
    row = _row("X2Leads", rows["Working"])
    assert row.table == "lead" and row.payload["statuscode"] == 2 and row.follow_up is None
    assert row.payload["estimatedamount"] == rows["Working"]["quoteAmount"]
    dead = _row("X2Leads", rows["Dead"])
    assert dead.payload["statuscode"] == 1 and "statecode" not in dead.payload  # INT-07
    assert dead.follow_up is not None and (dead.follow_up.state, dead.follow_up.status) == (2, 5)


def test_COM_16_x2_lead_status_outside_the_dropdown_is_quarantined(x2: Records) -> None:
    hot = next(lead for lead in x2["X2Leads"] if lead["leadstatus"] == "Hot Lead")
    with pytest.raises(UnmappedValue) as err:
        _out("X2Leads", hot)
    assert (err.value.object, err.value.field) == ("X2Leads", "leadstatus")


def test_X2_03_malformed_contact_email_is_quarantined_naming_the_field(x2: Records) -> None:
    bad = next(c for c in x2["Contacts"] if _bad_email(c))
    with pytest.raises(InvalidField) as err:
        _out("Contacts", bad)
    assert err.value.field == "email"


def test_X2_05_deal_value_probability_close_date_account_and_contact(x2: Records) -> None:
    opp = next(o for o in x2["Opportunity"] if o["salesStage"] == "Working" and o["contactName"])
    row = _row("Opportunity", opp)
    p = row.payload
    assert (row.table, p["name"]) == ("opportunity", opp["name"])
    assert p["estimatedvalue"] == opp["quoteAmount"] and p["closeprobability"] == opp["probability"]
    assert p["estimatedclosedate"] == opp["expectedCloseDate"][:10]
    assert p["statuscode"] == 1 and row.follow_up is None
    [cur] = row.references
    assert (cur.to, cur.key, cur.value) == ("transactioncurrencyid", "isocurrencycode", "USD")
    lk = {x.to: x for x in row.lookups}
    assert lk["parentaccountid"].candidates == [("Accounts", opp["accountName"]["id"])]
    assert resolve_lookup(lk["customerid"], _entry("account")).nav == "customerid_account"
    assert resolve_lookup(lk["parentcontactid"], _entry("contact")).nav == "parentcontactid"
    assert resolve_lookup(lk["parentcontactid"], _entry("lead")).kind == "none"
    assert resolve_lookup(lk["originatingleadid"], _entry("lead")).nav == "originatingleadid"


@pytest.mark.parametrize(("stage", "kind", "state", "status"), [
    ("Won", "win_opportunity", 1, 3), ("Lost", "lose_opportunity", 2, 5),
])  # fmt: skip
def test_X2_05_INT_06_won_and_lost_deals_close_through_win_lose(
    x2: Records, stage: str, kind: str, state: int, status: int
) -> None:
    opp = next(o for o in x2["Opportunity"] if o["salesStage"] == stage)
    row = _row("Opportunity", opp)
    assert row.payload["statuscode"] == 1  # created open: closed only by the message
    assert row.follow_up is not None
    assert (row.follow_up.kind, row.follow_up.state, row.follow_up.status) == (kind, state, status)
    assert row.follow_up.close["actualrevenue"] == opp["quoteAmount"]
    assert row.follow_up.close["actualend"] == opp["expectedCloseDate"][:10]


def test_X2_06_lost_reason_goes_on_the_opportunity_close(x2: Records) -> None:
    lost = next(o for o in x2["Opportunity"] if o["salesStage"] == "Lost" and o["c_lossReason"])
    row = _row("Opportunity", lost)
    assert row.follow_up is not None
    assert row.follow_up.close["subject"] == row.follow_up.close["description"] == lost["c_lossReason"]
    won = next(o for o in x2["Opportunity"] if o["salesStage"] == "Won")
    assert _row("Opportunity", won).follow_up.close["subject"] == "Closed in X2CRM"  # type: ignore[union-attr]


def _action(x2: Records, kind: str) -> dict[str, Any]:
    """An action of that type, on a contact (the sample's actions of some types sit on accounts)."""
    a = next(a for a in x2["Actions"] if a["type"] == kind)
    return {**a, "associationType": "contacts"}


@pytest.mark.parametrize(("kind", "target", "table"), [
    ("", "task", "task"), ("time", "time", "task"), ("call", "phonecall", "phonecall"),
    ("event", "appointment", "appointment"), ("note", "annotation", "annotation"),
])  # fmt: skip
def test_X2_09_action_lands_by_type_regarding_its_contact(
    x2: Records, kind: str, target: str, table: str
) -> None:
    act = _action(x2, kind)
    row = _row("Actions", act)
    assert (row.target, row.table) == (target, table)
    [regarding] = row.lookups
    assert regarding.candidates == [("Contacts", act["associationId"])]
    nav = resolve_lookup(regarding, _entry("contact")).nav
    want = "objectid_contact" if table == "annotation" else f"regardingobjectid_contact_{table}"
    assert nav == want
    assert resolve_lookup(regarding, _entry("lead")).nav == want.replace("contact", "lead", 1)
    assert resolve_lookup(regarding, _entry(None)).kind == "missing"  # never an orphan


def test_X2_09_call_is_a_phonecall_with_duration_made(x2: Records) -> None:
    call = {**_action(x2, "call"), "complete": "Yes"}
    row = _row("Actions", call)
    assert row.payload["actualdurationminutes"] == -(-call["timeSpent"] // 60)
    assert row.payload["directioncode"] is True
    assert row.follow_up is not None and (row.follow_up.state, row.follow_up.status) == (1, 2)


def test_X2_09_todo_completed_after_insert_and_open_one_stays_open(x2: Records) -> None:
    todo = _action(x2, "")
    done = _row("Actions", {**todo, "complete": "Yes"})
    assert done.payload["statuscode"] == 2 and done.follow_up is not None
    assert (done.follow_up.state, done.follow_up.status) == (1, 5)
    assert _row("Actions", {**todo, "complete": "No"}).follow_up is None


def test_X2_10_COM_04_actions_keep_their_original_timestamps(x2: Records) -> None:
    for kind in ("", "time", "call", "event", "note"):
        act = _action(x2, kind)
        row = _row("Actions", act)
        assert row.payload["overriddencreatedon"] == act["createDate"], kind
    event = _action(x2, "event")
    assert _row("Actions", event).payload["scheduledstart"] == (event["dueDate"] or event["createDate"])


def test_X2_09_actions_not_on_a_contact_or_without_an_activity_type_are_skipped_by_name(
    x2: Records,
) -> None:
    on_account = next(a for a in x2["Actions"] if a["associationType"] == "accounts")
    assert _out("Actions", on_account) == Skipped(source_id=on_account["id"], rule="object_not_in_profile")
    for kind in ("email", "emailOpened", "workflow", "webactivity", "quotes", "attachment"):
        act = _action(x2, kind)
        assert _out("Actions", act) == Skipped(
            source_id=act["id"], rule="custom_activity_type_not_provisioned"
        ), kind
    with pytest.raises(UnmappedValue) as err:
        _out("Actions", {**_action(x2, "call"), "type": "fax"})
    assert err.value.object == "Actions"  # an unknown type: quarantined, never a guessed table


def test_X2_09_every_sample_action_lands_is_skipped_by_a_rule_never_lost(x2: Records) -> None:
    outcomes = [_out("Actions", a) for a in x2["Actions"]]
    assert all(isinstance(o, TargetRow | Skipped) for o in outcomes)
    assert any(isinstance(o, TargetRow) for o in outcomes)


def test_X2_15_owners_from_assigned_to_usernames_matched_by_email(source: X2CRMSource, x2: Records) -> None:
    users = source.users()
    email = {u.source_id: u.email for u in users}
    systems = [SystemUser(systemuserid=f"su-{n}", internalemailaddress=e) for n, e in email.items() if e]
    owners = OwnerMap(matches=match_users(users, systems))
    acc = next(a for a in x2["Accounts"] if a["assignedTo"] == ["bob"])
    row = _row("Accounts", acc, owners=owners)
    assert (row.owner_id, row.owner_status) == ("su-bob", "matched")
    shared = next(o for o in x2["Opportunity"] if o["assignedTo"] == ["jane", "bob"])
    assert _row("Opportunity", shared, owners=owners).owner_id == "su-jane"  # the first assignee
    ghost = next(o for o in x2["Opportunity"] if o["assignedTo"] == ["ghost"])
    assert _row("Opportunity", ghost, owners=owners).owner_status == "unmatched"
    nobody = next(o for o in x2["Opportunity"] if o["assignedTo"] == [])
    assert _row("Opportunity", nobody, owners=owners).owner_status == "no_owner"


def test_X2_sample_every_record_transforms_or_is_quarantined_only_for_planted_defects(x2: Records) -> None:
    for obj in ("Accounts", "Opportunity"):
        assert all(isinstance(_out(obj, r), TargetRow) for r in x2[obj]), obj
    for c in x2["Contacts"]:
        if _bad_email(c):
            continue  # planted: malformed email
        assert isinstance(_out("Contacts", c), TargetRow), c["id"]
