"""The X2CRM profile, row by row of the seed's object-mapping table (X2-01 … X2-20), on the committed
sample read through the connector from the in-process mock (records typed exactly as a migration
sees them), with each record's joins (its tags) as the run builds them."""

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
from shared.mapping.joins import JOIN_FIELD, JoinIndex, build_index
from shared.mapping.owners import OwnerMap, SystemUser, match_users
from shared.mapping.profile import Profile
from shared.mapping.splits import choose
from shared.mapping.transform import Skipped, TargetRow, resolve_lookup
from shared.migration.models import OwnerReport
from shared.preflight import TargetFacts, assess, check_owners, planned_schema
from shared.sources.x2crm import X2Client, X2CRMSource
from shared.spec import OptionsSpec
from tests.unit.shared.mapping.support import as_row, bad_email, entry

REPO = Path(__file__).resolve().parents[4]
SCOPE = "acme-x2"
SAMPLE = REPO / "samples" / "x2crm" / "data.json"
WORKFLOWS = REPO / "samples" / "x2crm" / "workflows.json"
ENTITIES = Path("/work/shared/reference/dataverse/entities.json")
OPTION = 100_000_000
OBJECTS = ("Accounts", "Contacts", "X2Leads", "Opportunity", "Product", "Services", "Campaign", "Actions")
META = ("Media", "tags", "relationships", "users", "dropdowns", "fields")
FILE_STORE: dict[str, Any] = {"objects": [{"name": "Media", "source": None}]}
"""X2-18: the override the profile documents once the X2CRM server's upload directory is reachable."""
Records = dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def source(raw: dict[str, Any]) -> X2CRMSource:
    mock = X2Mock(Store(raw), MockConfig())
    client = X2Client(
        "http://x2.test", "admin", "x2-sample-api-key", transport=mock_transport(mock), sleep=lambda s: None
    )
    return X2CRMSource(client, workflows_path=WORKFLOWS)


@pytest.fixture(scope="module")
def x2(source: X2CRMSource) -> Records:
    return {
        obj: [r.record for page in source.read(obj) for r in page.records if r.record]
        for obj in (*OBJECTS, *META)
    }


_INDEXES: dict[str, dict[str, JoinIndex]] = {}


def _joined(obj: str, record: dict[str, Any], x2: Records) -> dict[str, Any]:
    """The record as the transform sees it: with its joins (its tags) under `_join`."""
    o = load_profile("x2crm").object(obj)
    assert o is not None
    if obj not in _INDEXES:
        _INDEXES[obj] = {j.name: build_index(j, x2[j.object]) for j in o.joins}
    sid = o.source_id(record)
    return {**record, JOIN_FIELD: {n: i.value_for(sid) for n, i in _INDEXES[obj].items()}}


def _out(obj: str, record: dict[str, Any], x2: Records | None = None, **kw: Any) -> TargetRow | Skipped:
    profile = load_profile("x2crm", kw.pop("overrides", None))
    o = profile.object(obj)
    assert o is not None
    if x2 is not None and o.joins:
        record = _joined(obj, record, x2)
    kw.setdefault("owners", None)
    kw.setdefault("custom_columns", True)
    return transform_record(o, record, source="x2crm", scope=SCOPE, **kw)


def _row(obj: str, record: dict[str, Any], x2: Records | None = None, **kw: Any) -> TargetRow:
    return as_row(_out(obj, record, x2, **kw))


def _tags(x2: Records, cls: str, rid: str) -> set[str]:
    return {t["tag"] for t in x2["tags"] if t["type"] == cls and t["itemId"] == rid}


def _good_contact(x2: Records, **where: Any) -> dict[str, Any]:
    """A well-formed contact with a lead source and no tag that decides the split, matching `where`."""
    return next(
        c
        for c in x2["Contacts"]
        if not bad_email(c)
        and c["leadSource"] != "None"
        and not _tags(x2, "Contacts", c["id"]) & {"#customer", "#lead-qualified"}
        and all(c.get(k) == v for k, v in where.items())
    )


# --- X2-20: load order ------------------------------------------------------------------------------


def test_X2_20_CON_12_load_order_accounts_products_contacts_deals_actions_attachments() -> None:
    phases = [[o.name for o in phase] for phase in load_profile("x2crm").phases()]
    assert phases == [
        ["Accounts", "Product", "Campaign"],
        ["Contacts", "X2Leads", "PriceListItems"],
        ["Opportunity", "Services"],
        ["Actions"],
        ["Media"],
    ]


# --- X2-03, X2-04: accounts -------------------------------------------------------------------------


def test_X2_03_account_with_website_phone_address_revenue_and_lifetime_value(x2: Records) -> None:
    acc = x2["Accounts"][0]
    row = _row("Accounts", acc, x2)
    assert (row.table, row.entity_set) == ("account", "accounts")
    assert row.id == target_id(SCOPE, "x2crm", "Accounts", acc["id"])
    p = row.payload
    assert p["name"] == acc["name"] and p["telephone1"] == acc["phone"]
    assert p["websiteurl"] == f"https://{acc['website']}"
    assert (p["revenue"], p["numberofemployees"]) == (acc["annualRevenue"], acc["employees"])
    assert (p["address1_line1"], p["address1_city"]) == (acc["address"], acc["city"])
    assert p["overriddencreatedon"] == acc["createDate"]
    assert p["new_x2crmcontractvalue"] == acc["c_contractValue"]  # X2-14: a custom currency → money


@pytest.mark.parametrize(("kind", "option"), [("Customer", 3), ("Partner", 5), ("Prospect", 8)])
def test_X2_03_account_type_is_the_relationship_type(x2: Records, kind: str, option: int) -> None:
    acc = next(a for a in x2["Accounts"] if a["type"] == kind)
    p = _row("Accounts", acc, x2).payload
    assert p["customertypecode"] == option and "new_x2crmaccounttype" not in p


def test_X2_03_COM_16_an_account_type_without_an_option_keeps_its_label(x2: Records) -> None:
    acc = {**x2["Accounts"][0], "type": "Distributor"}
    p = _row("Accounts", acc, x2).payload
    assert "customertypecode" not in p and p["new_x2crmaccounttype"] == "Distributor"


def test_X2_04_accounts_dedupe_on_name_and_website_as_written(x2: Records) -> None:
    profile = load_profile("x2crm")
    o = profile.object("Accounts")
    assert o is not None and o.targets["account"].dedupe is not None
    assert o.targets["account"].dedupe.match == {"name": "name", "websiteurl": "website"}
    first, second = (next(a for a in x2["Accounts"] if a["id"] == i) for i in ("1", "2"))
    keys = [_row("Accounts", a, x2).dedupe for a in (first, second)]
    assert (
        keys[0]
        == keys[1]
        == {"name": "Pierre Office Supplies", "websiteurl": "https://www.pierre-office.example"}
    )
    no_site = _row("Accounts", {**first, "website": ""}, x2)
    assert no_site.dedupe == {}  # a blank key never matches


# --- X2-01, X2-02: contacts → contact or lead ---------------------------------------------------------


def test_X2_01_contacts_split_into_lead_or_contact_by_tags_source_and_status(x2: Records) -> None:
    split = load_profile("x2crm").object("Contacts").split  # type: ignore[union-attr]
    landed = {c["id"]: choose(split, _joined("Contacts", c, x2)) for c in x2["Contacts"]}
    assert set(landed.values()) == {("target", "lead"), ("target", "contact")}
    for c in x2["Contacts"]:
        tags = _tags(x2, "Contacts", c["id"])
        linked = isinstance(c.get("company"), dict) and c["company"].get("id")
        if not linked:
            want = "lead"
        elif "#customer" in tags:
            want = "contact"
        elif "#lead-qualified" in tags or c["leadSource"] == "None":
            want = "lead"
        else:
            want = "lead" if c["leadstatus"] in ("Unassigned", "Assigned") else "contact"
        assert landed[c["id"]] == ("target", want), c["id"]


def test_X2_01_a_customer_tag_makes_a_contact_whatever_its_lead_status(x2: Records) -> None:
    customer = next(
        c
        for c in x2["Contacts"]
        if "#customer" in _tags(x2, "Contacts", c["id"])
        and (c.get("company") or {}).get("id")
        and c["leadstatus"] in ("Unassigned", "Assigned")
        and not bad_email(c)
    )
    assert _row("Contacts", customer, x2).table == "contact"
    assert _row("Contacts", customer).table == "lead"  # without its tags it is an unqualified lead


def test_X2_01_the_split_is_data_a_customer_overrides(x2: Records) -> None:
    contact = _good_contact(x2, leadstatus="Working")
    assert _row("Contacts", contact, x2).table == "contact"
    overrides = {"objects": [{"name": "Contacts", "split": [{"otherwise": "lead"}]}]}
    assert _row("Contacts", contact, x2, overrides=overrides).table == "lead"


def test_X2_01_contact_without_an_account_becomes_a_lead_naming_its_company(x2: Records) -> None:
    typed = next(c for c in x2["Contacts"] if isinstance(c.get("company"), dict) and not c["company"]["id"])
    row = _row("Contacts", typed, x2)
    assert row.table == "lead" and row.payload["companyname"] == typed["company"]["name"]
    assert row.payload["subject"] == typed["name"] and row.payload["lastname"] == typed["lastName"]
    assert not row.lookups  # no account to link


def test_X2_03_contact_links_to_its_company_account(x2: Records) -> None:
    contact = _good_contact(x2, leadstatus="Accepted")
    row = _row("Contacts", contact, x2)
    assert row.table == "contact" and row.payload["lastname"] == contact["lastName"]
    [parent] = row.lookups
    assert parent.candidates == [("Accounts", contact["company"]["id"])]
    res = resolve_lookup(parent, entry("account"))
    assert (res.kind, res.nav) == ("bound", "parentcustomerid_account")
    assert resolve_lookup(parent, entry(None)).kind == "missing"  # a deleted account: quarantined


def test_X2_02_contact_id_kept_on_the_contact_and_on_the_lead(x2: Records) -> None:
    for status, table in (("Working", "contact"), ("Assigned", "lead")):
        c = _good_contact(x2, leadstatus=status)
        row = _row("Contacts", c, x2, prefix="cr1a")
        assert row.table == table and row.payload["cr1a_x2crmcontactid"] == c["id"]  # INT-01: no __c
        assert not [k for k in _row("Contacts", c, x2, custom_columns=False).payload if k.startswith("new_")]


def test_COM_01_long_background_info_is_kept_whole_beside_the_2000_character_description(x2: Records) -> None:
    c = next(c for c in x2["Contacts"] if len(c["backgroundInfo"]) > 2000 and not bad_email(c))
    p = _row("Contacts", c, x2).payload
    assert p["description"] == c["backgroundInfo"][:2000]
    assert p["new_x2crmbackgroundinfo"] == c["backgroundInfo"]


def test_X2_01_x2leads_are_leads_with_their_status_set_after_insert(x2: Records) -> None:
    rows = {lead["leadstatus"]: lead for lead in x2["X2Leads"]}
    row = _row("X2Leads", rows["Working"], x2)
    assert row.table == "lead" and row.payload["statuscode"] == 2 and row.follow_up is None
    assert row.payload["estimatedamount"] == rows["Working"]["quoteAmount"]
    dead = _row("X2Leads", rows["Dead"], x2)
    assert dead.payload["statuscode"] == 1 and "statecode" not in dead.payload  # INT-07
    assert dead.follow_up is not None and (dead.follow_up.state, dead.follow_up.status) == (2, 5)


def test_COM_16_x2_lead_status_outside_the_dropdown_is_quarantined(x2: Records, raw: dict[str, Any]) -> None:
    [dropdown] = [d for d in raw["dropdowns"] if d["name"] == "Lead Status"]
    outside = [lead for lead in x2["X2Leads"] if lead["leadstatus"] not in dropdown["options"]]
    assert {lead["leadstatus"] for lead in outside} == {"Hot Lead", "follow-up"}
    for lead in outside:
        with pytest.raises(UnmappedValue) as err:
            _out("X2Leads", lead, x2)
        assert (err.value.object, err.value.field) == ("X2Leads", "leadstatus")


def test_X2_03_malformed_contact_email_is_quarantined_naming_the_field(x2: Records) -> None:
    bad = next(c for c in x2["Contacts"] if bad_email(c))
    with pytest.raises(InvalidField) as err:
        _out("Contacts", bad, x2)
    assert err.value.field == "email"


# --- X2-05, X2-06: deals ----------------------------------------------------------------------------


def test_X2_05_deal_value_probability_close_date_stage_account_and_contact(x2: Records) -> None:
    opp = next(o for o in x2["Opportunity"] if o["salesStage"] == "Working" and o["contactName"])
    row = _row("Opportunity", opp, x2)
    p = row.payload
    assert (row.table, p["name"]) == ("opportunity", opp["name"])
    assert p["estimatedvalue"] == opp["quoteAmount"] and p["closeprobability"] == opp["probability"]
    assert p["estimatedclosedate"] == opp["expectedCloseDate"][:10]
    assert p["statuscode"] == 1 and row.follow_up is None
    # INT-03: the stage is a choice whose options are the Sales Stage dropdown, its label in stepname
    assert (p["new_x2crmsalesstage"], p["stepname"]) == (OPTION, "Working")
    refs = {r.to: r for r in row.references}
    assert (refs["transactioncurrencyid"].key, refs["transactioncurrencyid"].value) == (
        "isocurrencycode",
        "USD",
    )
    assert (refs["pricelevelid"].key, refs["pricelevelid"].value) == ("name", "USD")  # X2-07
    lk = {x.to: x for x in row.lookups}
    assert lk["parentaccountid"].candidates == [("Accounts", opp["accountName"]["id"])]
    assert resolve_lookup(lk["customerid"], entry("account")).nav == "customerid_account"
    assert resolve_lookup(lk["parentcontactid"], entry("contact")).nav == "parentcontactid"
    assert resolve_lookup(lk["parentcontactid"], entry("lead")).kind == "none"
    assert resolve_lookup(lk["originatingleadid"], entry("lead")).nav == "originatingleadid"


def test_X2_05_COM_16_a_stage_outside_the_sales_stage_dropdown_is_quarantined(x2: Records) -> None:
    opp = {**x2["Opportunity"][0], "salesStage": "Negotiation"}
    with pytest.raises(UnmappedValue) as err:
        _out("Opportunity", opp, x2)
    assert err.value.field == "salesStage"


@pytest.mark.parametrize(("stage", "kind", "state", "status", "option"), [
    ("Won", "win_opportunity", 1, 3, OPTION + 1), ("Lost", "lose_opportunity", 2, 5, OPTION + 2),
])  # fmt: skip
def test_X2_05_INT_06_won_and_lost_deals_close_through_win_lose(
    x2: Records, stage: str, kind: str, state: int, status: int, option: int
) -> None:
    opp = next(o for o in x2["Opportunity"] if o["salesStage"] == stage)
    row = _row("Opportunity", opp, x2)
    assert row.payload["statuscode"] == 1  # created open: closed only by the message
    assert row.payload["new_x2crmsalesstage"] == option
    assert row.follow_up is not None
    assert (row.follow_up.kind, row.follow_up.state, row.follow_up.status) == (kind, state, status)
    assert row.follow_up.close["actualrevenue"] == opp["quoteAmount"]
    assert row.follow_up.close["actualend"] == opp["expectedCloseDate"][:10]


def test_X2_06_lost_reason_goes_on_the_opportunity_close_and_in_a_custom_column(x2: Records) -> None:
    lost = next(o for o in x2["Opportunity"] if o["salesStage"] == "Lost" and o["c_lossReason"])
    row = _row("Opportunity", lost, x2)
    assert row.follow_up is not None
    assert row.follow_up.close["subject"] == row.follow_up.close["description"] == lost["c_lossReason"]
    assert row.payload["new_x2crmlossreason"] == lost["c_lossReason"]
    won = next(o for o in x2["Opportunity"] if o["salesStage"] == "Won")
    assert _row("Opportunity", won, x2).follow_up.close["subject"] == "Closed in X2CRM"  # type: ignore[union-attr]


# --- X2-07: products and the standard price list ------------------------------------------------------


def test_X2_07_INT_09_product_with_its_sku_price_currency_and_unit(x2: Records) -> None:
    for prod in x2["Product"]:
        row = _row("Product", prod)
        p = row.payload
        assert (row.table, p["name"], p["productnumber"]) == ("product", prod["name"], prod["type"])
        assert p["price"] == prod["price"] and p["quantityonhand"] == float(prod["inventory"])
        refs = {r.to: (r.entity_set, r.key, r.value) for r in row.references}
        assert refs == {
            "transactioncurrencyid": ("transactioncurrencies", "isocurrencycode", prod["currency"]),
            "defaultuomscheduleid": ("uomschedules", "name", "Default Unit"),
            "defaultuomid": ("uoms", "name", "Primary Unit"),
        }
        if prod["status"] == "Active":
            assert p["statuscode"] == 1 and row.follow_up is None
        else:  # Inactive: retired after insert
            assert row.follow_up is not None and (row.follow_up.state, row.follow_up.status) == (1, 2)


def test_X2_07_each_product_gets_its_standard_price_list_entry_in_its_currency(x2: Records) -> None:
    for prod in x2["Product"]:
        row = _row("PriceListItems", prod)
        assert row.table == "productpricelevel" and row.payload["amount"] == prod["price"]
        assert row.id == target_id(SCOPE, "x2crm", "PriceListItems", prod["id"])
        refs = {r.to: (r.entity_set, r.key, r.value, r.required) for r in row.references}
        assert refs["pricelevelid"] == ("pricelevels", "name", prod["currency"], True)
        assert refs["uomid"] == ("uoms", "name", "Primary Unit", True)
        [product] = row.lookups
        assert product.candidates == [("Product", prod["id"])] and product.required
    profile = load_profile("x2crm")
    phase = {o.name: o.phase for o in profile.objects}
    assert phase["Product"] < phase["PriceListItems"] < phase["Opportunity"]  # CON-12


# --- X2-08: services → a custom service contract table ------------------------------------------------


def test_X2_08_CON_14_service_is_a_service_contract_with_status_renewal_account_and_contact(
    x2: Records,
) -> None:
    svc = x2["Services"][0]
    row = _row("Services", svc, x2)
    assert (row.table, row.entity_set, row.primary_id) == (
        "new_servicecontract",
        "new_servicecontracts",
        "new_servicecontractid",
    )
    p = row.payload
    assert p["new_name"] == svc["name"] and p["new_subject"] == svc["subject"]
    assert p["new_x2crmserviceid"] == svc["id"]
    assert p["new_renewaldate"] == svc["c_renewalDate"][:10]
    assert p["new_status"] == OPTION + ["New", "WIP", "Closed - Resolved"].index(svc["status"])
    assert p["new_impact"] == OPTION + int(svc["impact"][0]) - 1
    lk = {x.to: x for x in row.lookups}
    assert lk["new_accountid"].candidates == [("Accounts", svc["c_account"]["id"])]
    assert resolve_lookup(lk["new_accountid"], entry("account")).nav == "new_AccountId"
    assert resolve_lookup(lk["new_contactid"], entry("contact")).nav == "new_ContactId"
    assert resolve_lookup(lk["new_leadid"], entry("lead")).nav == "new_LeadId"  # its contact became a lead
    assert resolve_lookup(lk["new_contactid"], entry("lead")).kind == "none"


def test_X2_08_INT_01_the_service_contract_table_is_planned_with_the_seed_name() -> None:
    plan = load_profile("x2crm").schema_
    assert plan is not None
    [table] = plan.tables
    assert (table.name, table.seed_name, table.ownership) == (
        "ServiceContract",
        "Service_Contract__c",
        "user",
    )
    assert table.has_notes and table.has_activities  # its notes and actions can regard it
    lookups = {c.name: c.target for c in plan.columns if c.table == "ServiceContract" and c.type == "lookup"}
    assert lookups == {"AccountId": "account", "ContactId": "contact", "LeadId": "lead"}


# --- X2-09, X2-10: actions ----------------------------------------------------------------------------


def _action(x2: Records, kind: str, association: str = "contacts") -> dict[str, Any]:
    """An action of that type, associated with a record of that module."""
    a = next(a for a in x2["Actions"] if a["type"] == kind)
    return {**a, "associationType": association}


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
    nav = resolve_lookup(regarding, entry("contact")).nav
    want = "objectid_contact" if table == "annotation" else f"regardingobjectid_contact_{table}"
    assert nav == want
    assert resolve_lookup(regarding, entry("lead")).nav == want.replace("contact", "lead", 1)
    assert resolve_lookup(regarding, entry(None)).kind == "missing"  # never an orphan


@pytest.mark.parametrize(("association", "obj", "table"), [
    ("accounts", "Accounts", "account"), ("opportunities", "Opportunity", "opportunity"),
    ("x2Leads", "X2Leads", "lead"), ("services", "Services", "new_servicecontract"),
])  # fmt: skip
def test_X2_09_CON_16_regarding_follows_the_association_type(
    x2: Records, association: str, obj: str, table: str
) -> None:
    for kind, activity in (("call", "phonecall"), ("note", "annotation")):
        act = _action(x2, kind, association)
        [regarding] = _row("Actions", act).lookups
        assert regarding.candidates == [(obj, act["associationId"])], (association, kind)
        nav = resolve_lookup(regarding, entry(table)).nav
        assert nav == (
            f"objectid_{table}" if activity == "annotation" else f"regardingobjectid_{table}_{activity}"
        )


def test_X2_09_the_samples_actions_on_accounts_and_deals_regard_them(x2: Records) -> None:
    objects = {"accounts": "Accounts", "opportunities": "Opportunity"}
    seen = set()
    for a in x2["Actions"]:
        out = _out("Actions", a)
        if a["associationType"] in objects and isinstance(out, TargetRow):
            [regarding] = out.lookups
            assert regarding.candidates == [(objects[a["associationType"]], a["associationId"])]
            seen.add((a["associationType"], out.table))
    assert seen == {("accounts", "phonecall"), ("accounts", "appointment"), ("opportunities", "annotation")}


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


def test_X2_10_actions_are_read_in_creation_order(x2: Records) -> None:
    stamps = [a["createDate"] for a in x2["Actions"]]
    assert [int(a["id"]) for a in x2["Actions"]] == sorted(int(a["id"]) for a in x2["Actions"])
    assert stamps == sorted(stamps)  # the connector reads by id: chronological, as X2CRM creates them


def test_COM_01_an_action_over_2000_characters_is_kept_whole(x2: Records) -> None:
    long = next(
        a for a in x2["Actions"] if len(a["actionDescription"]) > 20_000 and a["type"] in ("", "call")
    )
    p = _row("Actions", {**long, "associationType": "contacts"}).payload
    assert p["description"] == long["actionDescription"][:2000]
    assert p["new_x2crmdescription"] == long["actionDescription"]


def test_X2_09_entries_with_no_activity_or_parent_are_skipped_by_name(x2: Records) -> None:
    on_quote = {**_action(x2, "call"), "associationType": "quotes"}
    assert _out("Actions", on_quote) == Skipped(source_id=on_quote["id"], rule="parent_not_migrated")
    for kind in ("email", "emailFrom", "emailOpened", "workflow", "webactivity", "quotes"):
        act = _action(x2, kind)
        assert _out("Actions", act) == Skipped(source_id=act["id"], rule="x2_timeline_entry"), kind
    upload = _action(x2, "attachment")
    assert _out("Actions", upload) == Skipped(source_id=upload["id"], rule="attachment_entry")
    with pytest.raises(UnmappedValue) as err:
        _out("Actions", {**_action(x2, "call"), "type": "fax"})
    assert err.value.object == "Actions"  # an unknown type: quarantined, never a guessed table


# --- X2-11, X2-12: campaigns --------------------------------------------------------------------------


def test_X2_11_campaign_with_type_status_launch_date_message_currency_and_list(x2: Records) -> None:
    for camp in x2["Campaign"]:
        row = _row("Campaign", camp)
        p = row.payload
        assert (row.table, p["name"], p["message"]) == ("campaign", camp["name"], camp["subject"])
        assert p["typecode"] == 2 and p["new_x2crmcampaigntype"] == camp["type"]  # Direct Marketing
        assert p["actualstart"] == camp["launchDate"] and p["new_x2crmlist"] == camp["listId"]["name"]
        assert p["statuscode"] == (3 if camp["complete"] else 2)  # Completed / Launched
        assert [(r.to, r.value) for r in row.references] == [("transactioncurrencyid", "USD")]


def test_X2_12_CON_13_campaign_send_content_is_in_the_content_map_not_written(
    source: X2CRMSource, x2: Records
) -> None:
    sends = {i.name: i for i in source.discover().inventory if i.kind == "campaign_send"}
    assert set(sends) == {c["name"] for c in x2["Campaign"]}
    assert all("Customer Insights" in i.recommendation for i in sends.values())
    o = load_profile("x2crm").object("Campaign")
    assert o is not None and "content" not in {p for f in o.targets["campaign"].fields for p in f.paths}


# --- X2-13: tags --------------------------------------------------------------------------------------


def _library() -> dict[str, int]:
    plan = load_profile("x2crm").schema_
    assert plan is not None
    [tags] = [s for s in plan.option_sets if s.name == "X2crmTags"]
    return dict(tags.resolved_options(10_000))


def test_X2_13_INT_23_tags_are_a_global_multi_select_on_every_tagged_table() -> None:
    profile = load_profile("x2crm")
    plan = profile.schema_
    assert plan is not None
    columns = {c.table for c in plan.columns if c.name == "X2crmTags"}
    assert columns == {"contact", "lead", "account", "opportunity"}
    assert all(
        c.type == "multichoice" and c.global_option_set == "X2crmTags" and c.seed_name == "tag__c"
        for c in plan.columns
        if c.name == "X2crmTags"
    )
    # the converter's map is the option set: one tag library
    for o in profile.objects:
        for t in o.targets.values():
            for f in t.fields:
                if f.to == "{prefix}_x2crmtags":
                    arg = (f.convert or "").removeprefix("multi_choice:")
                    assert (
                        dict((k, int(v)) for k, v in (p.rsplit("=", 1) for p in arg.split("|"))) == _library()
                    )


@pytest.mark.parametrize(("obj", "cls"), [
    ("Contacts", "Contacts"), ("Accounts", "Accounts"), ("Opportunity", "Opportunity"),
])  # fmt: skip
def test_X2_13_each_record_keeps_its_tags(x2: Records, obj: str, cls: str) -> None:
    library = _library()
    seen = 0
    for rec in x2[obj]:
        tags = _tags(x2, cls, rec["id"])
        if not tags or (obj == "Contacts" and bad_email(rec)):
            continue
        p = _row(obj, rec, x2).payload
        assert p["new_x2crmtags"] == ",".join(str(v) for v in sorted(library[t] for t in tags))
        assert p["new_x2crmtaglist"] == ", ".join(sorted(tags, key=str.casefold))
        seen += 1
    assert seen > 0


def test_X2_13_a_tag_outside_the_library_is_kept_by_name_never_as_another_option(x2: Records) -> None:
    acc = x2["Accounts"][0]
    o = load_profile("x2crm").object("Accounts")
    assert o is not None
    rec = {**acc, JOIN_FIELD: {"tags": {"#vip": "#vip", "#golf": "#golf"}}}
    p = transform_record(o, rec, source="x2crm", scope=SCOPE, owners=None, custom_columns=True).payload  # type: ignore[union-attr]
    assert p["new_x2crmtags"] == str(_library()["#vip"]) and p["new_x2crmtaglist"] == "#golf, #vip"


# --- X2-14: custom fields ---------------------------------------------------------------------------


_X2_TYPES = {"dropdown": ("choice",), "currency": ("money",), "varchar": ("string",), "date": ("date",),
             "link": ("lookup",)}  # fmt: skip


def test_X2_14_CON_01_every_custom_field_is_aligned_to_a_typed_column(x2: Records) -> None:
    """Every module-builder field of the sample (`custom` in /fields) is written to a planned column of
    the type its X2 type asks for."""
    profile = load_profile("x2crm")
    plan = profile.schema_
    assert plan is not None
    custom = {(f["modelName"], f["fieldName"]): f["type"] for f in x2["fields"] if f.get("custom")}
    assert set(custom) == {
        ("Contacts", "c_segment"),
        ("Accounts", "c_contractValue"),
        ("Opportunity", "c_lossReason"),
        ("Services", "c_renewalDate"),
        ("Services", "c_account"),
    }
    planned = {(c.table, c.name.lower()): c.type for c in plan.columns}
    for (cls, name), x2type in custom.items():
        o = profile.object(cls)
        assert o is not None
        kinds: set[str] = set()
        for t in o.targets.values():
            table = "ServiceContract" if t.table.endswith("_servicecontract") else t.table
            writes = [f.to for f in t.fields if name in f.paths] + [
                v.to for v in t.value_maps if v.from_ == name
            ]
            writes += [
                lk.to.replace("new_", "{prefix}_")
                for lk in t.lookups
                for c in lk.candidates()
                if c.from_.startswith(name)
            ]
            for col in writes:
                kinds.add(planned[(table, col.removeprefix("{prefix}_"))])
        assert kinds == set(_X2_TYPES[x2type]), (cls, name, kinds)


def test_X2_14_COM_16_segment_labels_outside_the_dropdown_keep_their_text(
    x2: Records, raw: dict[str, Any]
) -> None:
    [dropdown] = [d for d in raw["dropdowns"] if d["name"] == "Segment"]
    inside = _good_contact(x2, c_segment="Enterprise")
    p = _row("Contacts", inside, x2).payload
    assert p["new_x2crmsegment"] == OPTION + 1 and "new_x2crmsegmentlabel" not in p
    public = _good_contact(x2, c_segment="Public")
    assert "Public" not in dropdown["options"]
    p = _row("Contacts", public, x2).payload
    assert "new_x2crmsegment" not in p and p["new_x2crmsegmentlabel"] == "Public"


# --- X2-15, X2-16: users ----------------------------------------------------------------------------


def _owners(source: X2CRMSource) -> OwnerMap:
    users = source.users()
    email = {u.source_id: u.email for u in users}
    systems = [SystemUser(systemuserid=f"su-{n}", internalemailaddress=e) for n, e in email.items() if e]
    return OwnerMap(matches=match_users(users, systems))


def test_X2_15_owners_from_assigned_to_usernames_matched_by_email(source: X2CRMSource, x2: Records) -> None:
    owners = _owners(source)
    acc = next(a for a in x2["Accounts"] if a["assignedTo"] == ["bob"])
    row = _row("Accounts", acc, x2, owners=owners)
    assert (row.owner_id, row.owner_status) == ("su-bob", "matched")
    shared = next(o for o in x2["Opportunity"] if o["assignedTo"] == ["jane", "bob"])
    assert _row("Opportunity", shared, x2, owners=owners).owner_id == "su-jane"  # the first assignee
    ghost = next(o for o in x2["Opportunity"] if o["assignedTo"] == ["ghost"])
    assert _row("Opportunity", ghost, x2, owners=owners).owner_status == "unmatched"
    nobody = next(o for o in x2["Opportunity"] if o["assignedTo"] == [])
    assert _row("Opportunity", nobody, x2, owners=owners).owner_status == "no_owner"
    for obj in ("Accounts", "Contacts", "Opportunity", "Actions", "Services", "Campaign"):
        o = load_profile("x2crm").object(obj)
        assert o is not None and o.owner is not None and o.owner.from_ == ["assignedTo[0]"], obj


def test_X2_16_COM_19_users_without_a_match_block_when_the_spec_says_block(
    source: X2CRMSource, x2: Records
) -> None:
    org = json.loads((REPO / "samples" / "x2crm" / "target_org.json").read_text(encoding="utf-8"))
    matches = match_users(source.users(), [SystemUser.model_validate(u) for u in org["systemusers"]])
    users = {u: {"status": m.status, "records": 1} for u, m in matches.items()}
    for obj in ("Accounts", "Contacts", "Opportunity", "Actions"):  # every user records name (X2-16)
        for r in x2[obj]:
            if r["assignedTo"] and r["assignedTo"][0] not in users:
                users[r["assignedTo"][0]] = {"status": "unmatched", "records": 1}  # deleted from X2CRM
    report = OwnerReport(
        owner_map_path="m", fallback_owner_id=org["systemusers"][0]["systemuserid"], users=users
    )
    block = OptionsSpec(fallback_owner="admin@northwind-x2.example", unmatched_owner="block")
    outcomes, _ = check_owners(report, block)
    blocked = {(f.code, f.message.split()[2]) for s, f in outcomes if s == "blocking"}
    assert blocked == {
        ("owner_disabled", "chloe"),
        ("owner_unmatched", "dmitrij"),
        ("owner_unmatched", "ghost"),
        ("owner_no_email", "olga"),
    }
    fallback, _ = check_owners(report, OptionsSpec(fallback_owner="admin@northwind-x2.example"))
    assert fallback and all(s == "warning" for s, _ in fallback)  # the demo's choice: the admin owns them


# --- X2-17, X2-18: attachments ------------------------------------------------------------------------


def test_X2_18_media_stay_on_the_server_until_the_file_store_is_arranged(source: X2CRMSource) -> None:
    profile = load_profile("x2crm")
    media = profile.object("Media")
    assert media is not None and media.staged != "Media"  # switched off: nothing of Media is staged for it
    rule = profile.skip_rule("Media")
    assert rule is not None and rule.rule == "file_store_not_arranged"
    assert "X2-18" in profile.skip_rules[rule.rule]
    [store] = [i for i in source.discover().inventory if i.kind == "file_store"]
    assert "not downloadable through API v2" in store.detail and "files_root" in store.recommendation


def test_X2_17_COM_05_with_the_file_store_a_media_file_is_a_note_on_its_parent(x2: Records) -> None:
    profile = load_profile("x2crm", FILE_STORE)
    assert profile.object("Media").staged == "Media"  # type: ignore[union-attr]
    m = next(m for m in x2["Media"] if m["associationType"] == "opportunities")
    staged = {**m, "_file": {"blob": "staging/x/files/Media/2", "size": m["filesize"], "path": m["fileName"]}}
    row = _row("Media", staged, overrides=FILE_STORE)
    assert (row.table, row.payload["subject"]) == ("annotation", m["name"])
    assert (row.payload["filename"], row.payload["mimetype"]) == (m["fileName"], m["mimetype"])
    assert row.file is not None and (row.file.column, row.file.blob, row.file.size) == (
        "documentbody",
        "staging/x/files/Media/2",
        m["filesize"],
    )
    [parent] = row.lookups
    assert parent.candidates == [("Opportunity", m["associationId"])]
    assert resolve_lookup(parent, entry("opportunity")).nav == "objectid_opportunity"
    # what the connector stages today (no file): skipped by name, never a note without its file
    assert _out("Media", m, overrides=FILE_STORE) == Skipped(source_id=m["id"], rule="file_not_staged")


def test_X2_17_COM_41_with_the_file_store_preflight_flags_the_file_over_the_upload_limit(x2: Records) -> None:
    profile = load_profile("x2crm", FILE_STORE)
    # with source.files_root set, the connector stages each Media file it finds (X2-18)
    staged = {
        **x2,
        "Media": [
            {**m, "_file": {"path": f"uploads/protected/{m['fileName']}", "size": m["filesize"]}}
            for m in x2["Media"]
        ],
    }
    report = _preflight(profile, staged, max_upload=5_242_880)
    [over] = [f for f in report.blocking if f.check == "attachments"]
    big = [m["id"] for m in x2["Media"] if m["filesize"] * 4 / 3 > 5_242_880]
    assert (over.code, over.object, over.source_ids) == ("attachment_over_limit", "Media", big) and big == [
        "1"
    ]
    assert not [f for f in _preflight(load_profile("x2crm"), x2, max_upload=5_242_880).blocking]


# --- the whole profile --------------------------------------------------------------------------------


def _entities() -> dict[str, set[str]]:
    tables = json.loads(ENTITIES.read_text(encoding="utf-8"))["Tables"]
    return {t: {a["LogicalName"] for a in spec["Attributes"]} for t, spec in tables.items()}


def test_every_column_the_profile_writes_exists_in_dataverse_or_in_its_schema_plan() -> None:
    columns = _entities()
    profile: Profile = load_profile("x2crm", FILE_STORE)
    plan = profile.schema_
    assert plan is not None
    planned = {
        (plan.table_logical_name(c.table, "new"), plan.column_logical_name(c.name, "new"))
        for c in plan.columns
    }
    planned |= {
        (plan.table_logical_name(t.name, "new"), f"new_{t.primary_name.name.lower()}") for t in plan.tables
    }
    custom_tables = {plan.table_logical_name(t.name, "new") for t in plan.tables}
    for o in profile.objects:
        for name, t in o.targets.items():
            written = [f.to for f in t.fields] + [vm.to for vm in t.value_maps] + [lk.to for lk in t.lookups]
            written += [r.to for r in t.references] + ([t.source_id_to] if t.source_id_to else [])
            written += [
                vm.unmapped.removeprefix("keep_label_in:")
                for vm in t.value_maps
                if "keep_label" in vm.unmapped
            ]
            if t.file is not None:
                written += [t.file.body, t.file.name_to, t.file.mime_to]
            for col in written:
                col = col.replace("{prefix}", "new")
                if t.table in custom_tables and col == "overriddencreatedon":
                    continue  # every created table has it
                assert col in columns.get(t.table, set()) or (t.table, col) in planned, (o.name, name, col)
            if t.state is not None and t.table not in custom_tables:
                assert {"statecode", "statuscode"} <= columns[t.table], (o.name, name)
                close = [f.to for f in t.state.close]
                assert set(close) <= {"subject", "description", "actualrevenue", "actualend"}


def test_X2_02_INT_01_custom_columns_are_declared_with_the_seed_names_and_no_salesforce_suffix() -> None:
    profile = load_profile("x2crm")
    plan = profile.schema_
    assert plan is not None
    declared = {
        (plan.table_logical_name(c.table, "new"), plan.column_logical_name(c.name, "new"))
        for c in plan.columns
        if c.type != "lookup"
    }
    written = {
        (t.table, f"new_{c}")
        for o in profile.objects
        for t in o.targets.values()
        for c in Profile.custom_columns(t)
        if not (t.table.endswith("_servicecontract") and c == "name")
    }
    assert written == declared
    assert all(c.seed_name and "__c" not in c.name for c in plan.columns)
    assert {("contact", "new_x2crmcontactid"), ("lead", "new_x2crmcontactid")} <= declared
    assert all(c.seed_name == "x2crm_contact_id__c" for c in plan.columns if c.name == "X2crmContactId")


def test_X2_19_COM_12_every_object_is_mapped_or_skipped_by_a_named_rule(source: X2CRMSource) -> None:
    profile = load_profile("x2crm")
    mapped = {o.staged for o in profile.objects}
    skipped = {s.object: s.rule for s in profile.skip}
    assert {o.name for o in source.objects()} <= mapped | set(skipped)
    assert all(rule in profile.skip_rules for rule in skipped.values())
    inventory = source.discover().inventory  # X2-21: what never migrates as data, each with its rebuild
    assert {i.kind for i in inventory} == {
        "other", "workflow", "email_template", "campaign_send", "report", "file_store",
    }  # fmt: skip
    assert all(i.recommendation for i in inventory)
    workflows = [i for i in inventory if i.kind == "workflow"]
    assert len(workflows) == len(json.loads(WORKFLOWS.read_text(encoding="utf-8")))
    assert all("Power Automate" in i.recommendation for i in workflows)


def test_X2_sample_every_record_transforms_or_is_quarantined_only_for_planted_defects(
    x2: Records, raw: dict[str, Any]
) -> None:
    [status] = [d for d in raw["dropdowns"] if d["name"] == "Lead Status"]
    for obj in OBJECTS:
        for r in x2[obj]:
            planted = (obj == "Contacts" and bad_email(r)) or (
                obj == "X2Leads" and r["leadstatus"] not in status["options"]
            )
            try:
                assert isinstance(_out(obj, r, x2), TargetRow | Skipped) and not planted, (obj, r["id"])
            except (InvalidField, UnmappedValue) as err:
                assert planted and err.field in ("email", "leadstatus"), (obj, r["id"])
    assert any(isinstance(_out("Actions", a), TargetRow) for a in x2["Actions"])


# --- preflight over the sample ------------------------------------------------------------------------


def _option_values() -> dict[str, list[int] | None]:
    tables = json.loads(ENTITIES.read_text(encoding="utf-8"))["Tables"]
    out: dict[str, list[int] | None] = {}
    for t, spec in tables.items():
        for a in spec["Attributes"]:
            if a.get("Options"):
                out[f"{t}.{a['LogicalName']}"] = [int(o["Value"]) for o in a["Options"]]
    return out


def _preflight(profile: Profile, x2: Records, max_upload: int | None = None) -> Any:
    known = _option_values()
    standard = {
        f"{t.table}.{vm.to}"
        for o in profile.objects
        for t in o.targets.values()
        for vm in t.value_maps
        if "{prefix}" not in vm.to
    }
    return assess(
        migration_id="m",
        run_id="r",
        profile=profile,
        records=lambda name: x2.get(name, []),
        owners=None,
        options=OptionsSpec(),
        target=TargetFacts(options={k: known.get(k) for k in standard}, max_upload_bytes=max_upload),
        planned=planned_schema(profile.schema_, "new", 10_000),
    )


def test_COM_16_preflight_over_the_sample_flags_only_the_segment_label_outside_the_dropdown(
    x2: Records,
) -> None:
    report = _preflight(load_profile("x2crm"), x2)
    picks = [f for f in [*report.blocking, *report.warnings] if f.check == "picklists"]
    assert {(f.code, f.object, f.field, f.value) for f in picks} == {
        ("unmapped_label", "Contacts", "c_segment", "Public")
    }
    assert all(f in report.warnings for f in picks)  # its label is kept in a text column: a warning
    assert sum(f.records for f in picks) == sum(1 for c in x2["Contacts"] if c["c_segment"] == "Public")
    assert not report.blocking
