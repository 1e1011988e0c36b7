"""End to end on the local host: the X2CRM sample, read through API v2 from the X2CRM mock, through
every stage into a Dataverse emulator seeded with the sample's target org (its users — one disabled,
one missing —, EUR/GBP beside USD, the unit group, a price list per currency, and an account that is
already in Dynamics under the same name and website as two X2CRM accounts).

Preflight passes, reporting only the planted problems as warnings (the owners who fall back to the
admin, the Segment label outside its dropdown, links to deleted records); the schema is provisioned
(the service contract table, the tag and segment option sets, the custom columns) and written;
every object balances with counts computed from the sample itself, and every quarantined record is a
planted one, with a reason naming record and field. Running again changes nothing: the same counts,
no duplicate, and provisioning has nothing left to do.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from activities._io import target
from emulators.x2crm.app import MockConfig, X2Mock
from emulators.x2crm.server import start_server
from emulators.x2crm.store import Store
from emulators.x2crm.transport import mock_transport
from intact import commands
from intact.demo import demo_spec
from intact.demo_sources import X2CRM_KEY_VAR, X2CRM_SAMPLE_KEY
from intact.services import REPO, DataverseEmulator
from shared.dataverse.schema import provision
from shared.ids import target_id
from shared.mapping import load_profile
from shared.mapping.joins import JOIN_FIELD, build_index
from shared.mapping.splits import choose
from shared.sources.x2crm import X2Client, X2CRMSource
from shared.spec import MigrationSpec
from tests.e2e.support import (
    follow_migration,
    seeded_dataverse,
    staged_quarantine,
    staging,
    table_rows,
)
from tests.unit.shared.mapping.support import bad_email

pytestmark = pytest.mark.e2e
SAMPLE = REPO / "samples" / "x2crm" / "data.json"
TARGET_ORG = REPO / "samples" / "x2crm" / "target_org.json"
OPTION = 100_000_000
ORG = json.loads(TARGET_ORG.read_text(encoding="utf-8"))
ADMIN = ORG["systemusers"][0]["systemuserid"]  # admin@…: the fallback owner
USERS = {u["internalemailaddress"].lower(): u["systemuserid"] for u in ORG["systemusers"]}
EXISTING = [a for a in ORG["accounts"] if a.get("websiteurl")]  # in Dynamics before the migration
REGARDED = {"contacts": "Contacts", "accounts": "Accounts", "opportunities": "Opportunity"}
TIMELINE = {"email", "emailFrom", "emailOpened", "webactivity", "workflow", "quotes"}
ACTIVITY_TYPES = {"", "call", "time", "event", "note"}
SKIPPED_OBJECTS = {
    "Media": "file_store_not_arranged",
    "tags": "applied_on_records",
    "relationships": "relationship_links",
    "users": "matched_by_email",
    "dropdowns": "schema_metadata",
    "fields": "schema_metadata",
}
Records = dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DataverseEmulator]:
    """Its own org, seeded with the sample's target org."""
    yield from seeded_dataverse(TARGET_ORG, tmp_path_factory.mktemp("dv") / "org.sqlite")


@pytest.fixture(scope="module")
def mock() -> Iterator[Any]:
    with start_server(data=str(SAMPLE)) as server:
        yield server


@pytest.fixture(scope="module")
def x2() -> Records:
    """The sample as the migration reads it: through the connector, typed (in process, no socket)."""
    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    client = X2Client(
        "http://x2.test",
        "admin",
        X2CRM_SAMPLE_KEY,
        transport=mock_transport(X2Mock(Store(data), MockConfig())),
        sleep=lambda s: None,
    )
    source = X2CRMSource(client)
    try:
        return {
            o.name: [r.record for p in source.read(o.name) for r in p.records if r.record]
            for o in source.objects()
        }
    finally:
        source.close()


@pytest.fixture
def env(env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo environment and the sample's X2CRM API key."""
    monkeypatch.setenv(X2CRM_KEY_VAR, X2CRM_SAMPLE_KEY)


def _run(rt: Any, spec: MigrationSpec) -> dict[str, Any]:
    body = follow_migration(rt, spec, 900)
    assert body["runtime_status"] == "Completed", body.get("output")
    return body


def _landed(x2: Records) -> dict[str, str]:
    """X2-01: where each contact lands, by the profile's declared split over the contact and its tags."""
    o = load_profile("x2crm").object("Contacts")
    assert o is not None
    [tags] = [build_index(j, x2[j.object]) for j in o.joins]
    return {
        c["id"]: str(choose(o.split, {**c, JOIN_FIELD: {"tags": tags.value_for(c["id"])}})[1])
        for c in x2["Contacts"]
    }


def _expected(x2: Records) -> tuple[dict[str, dict[str, int]], set[tuple[str, str, str]], dict[str, Any]]:
    """What the sample must give, from its planted defects: per object the four counts, the quarantined
    (object, id, field), and facts the rows are checked against."""
    counts: dict[str, dict[str, int]] = {}
    bad: set[tuple[str, str, str]] = set()

    def tally(obj: str, source: int, quarantined: set[tuple[str, str]], skipped: int = 0) -> None:
        counts[obj] = {
            "source": source,
            "loaded": source - len(quarantined) - skipped,
            "quarantined": len(quarantined),
            "skipped": skipped,
        }
        bad.update((obj, sid, field) for sid, field in quarantined)

    accounts = {a["id"] for a in x2["Accounts"]}
    tally("Accounts", len(x2["Accounts"]), set())
    landed = _landed(x2)
    contacts: set[tuple[str, str]] = set()
    for c in x2["Contacts"]:
        if bad_email(c):  # planted: a malformed email
            contacts.add((c["id"], "email"))
        elif landed[c["id"]] == "contact" and c["company"]["id"] not in accounts:  # a deleted account
            contacts.add((c["id"], "parentcustomerid"))
    tally("Contacts", len(x2["Contacts"]), contacts)
    statuses = next(d for d in x2["dropdowns"] if d["name"] == "Lead Status")["options"]
    tally(
        "X2Leads",
        len(x2["X2Leads"]),
        {(lead["id"], "leadstatus") for lead in x2["X2Leads"] if lead["leadstatus"] not in statuses},
    )
    for obj in ("Opportunity", "Product", "Services", "Campaign"):
        tally(obj, len(x2[obj]), set())
    tally("PriceListItems", len(x2["Product"]), set())
    loaded = {
        "Contacts": {c["id"] for c in x2["Contacts"]} - {sid for sid, _ in contacts},
        "Accounts": accounts,
        "Opportunity": {o["id"] for o in x2["Opportunity"]},
    }
    actions: set[tuple[str, str]] = set()
    skipped = 0
    for a in x2["Actions"]:
        if a["associationType"] not in REGARDED or a["type"] not in ACTIVITY_TYPES:
            skipped += 1  # another module's record, an upload entry or an X2-only timeline entry
        elif a["associationId"] not in loaded[REGARDED[a["associationType"]]]:
            actions.add((a["id"], "regardingobjectid"))  # regarding a deleted or refused record
    tally("Actions", len(x2["Actions"]), actions, skipped)
    for obj in SKIPPED_OBJECTS:
        tally(obj, len(x2[obj]), set(), len(x2[obj]))
    linked = {
        a["id"]
        for a in x2["Accounts"]
        for e in EXISTING
        if a["name"].lower() == e["name"].lower()
        and f"https://{a['website']}".lower() == e["websiteurl"].lower()
    }
    return counts, bad, {"landed": landed, "linked": linked, "loaded_contacts": loaded["Contacts"]}


def _plan() -> Any:
    plan = load_profile("x2crm").schema_
    assert plan is not None
    return plan


def _preflight(spec: MigrationSpec, run_id: str) -> dict[str, Any]:
    report: dict[str, Any] = staging(spec).get_json(
        f"staging/{spec.migration.id}/{run_id}/reports/preflight.json"
    )
    return report


def test_X2_20_COM_13_the_x2crm_sample_end_to_end_reconciled_and_rerun_unchanged(
    org: DataverseEmulator, mock: Any, x2: Records, env: None, scope_id: str, tmp_path: Path
) -> None:
    spec = demo_spec(org.url, migration_id=scope_id, source="x2crm", source_url=mock.api_url)
    counts, quarantined, facts = _expected(x2)
    before = {r["accountid"] for r in table_rows(org.url, "accounts", "accountid")}
    rt = commands.open_runtime(tmp_path / "state")
    try:
        body = _run(rt, spec)
        first = commands.result_json(body)

        # --- preflight: nothing blocks; the warnings are the planted problems
        report = _preflight(spec, first["run_id"])
        assert report["blocking"] == []
        warned = {(f["check"], f["code"]) for f in report["warnings"]}
        owners = {
            f["message"].split()[2]
            for f in report["warnings"]
            if f["check"] == "owners" and "user" in f["message"]
        }
        assert {"chloe", "ghost", "dmitrij", "olga"} <= owners  # disabled, deleted, not in Dynamics, no email
        assert ("owners", "owner_disabled") in warned and ("owners", "owner_no_email") in warned
        picks = [f for f in report["warnings"] if f["check"] == "picklists"]
        assert {(f["code"], f["object"], f["value"]) for f in picks} == {
            ("unmapped_label", "Contacts", "Public")
        }
        assert ("lookups", "lookup_unresolvable") in warned  # links to deleted accounts and contacts

        # --- every object balances; the counts are the sample's
        for name, c in first["objects"].items():
            assert c["source"] == c["loaded"] + c["quarantined"] + c["skipped"], name
        assert first["objects"] == counts
        assert body["output"]["objects"]["Accounts"]["linked"] == len(facts["linked"]) == 2  # X2-04
        assert first["skip_rules"]["Actions"] == "attachment_entry, x2_timeline_entry"
        assert {k: v for k, v in first["skip_rules"].items() if k in SKIPPED_OBJECTS} == SKIPPED_OBJECTS
        rows = staged_quarantine(spec, first["run_id"])
        assert {(r["object"], r["source_id"], r["field"]) for r in rows} == quarantined
        assert all(r["reason"] and r["source_id"] and r["field"] for r in rows)

        _check_rows(org.url, scope_id, x2, facts, before)

        # --- again: the same counts, no duplicate, and provisioning has nothing left to do
        tables = {t: len(table_rows(org.url, s, k)) for t, s, k in _TABLES}
        body = _run(rt, spec)
        assert commands.result_json(body)["objects"] == first["objects"]
        assert {t: len(table_rows(org.url, s, k)) for t, s, k in _TABLES} == tables
        with target(spec) as dv:
            again = provision(dv, _plan(), prefix="new", option_prefix=10_000, solution="IntactMigration")
        assert again.noop and again.created == [] and again.changed == [] and again.present
    finally:
        rt.close()


_TABLES = [
    ("account", "accounts", "accountid"),
    ("contact", "contacts", "contactid"),
    ("lead", "leads", "leadid"),
    ("opportunity", "opportunities", "opportunityid"),
    ("product", "products", "productid"),
    ("productpricelevel", "productpricelevels", "productpricelevelid"),
    ("campaign", "campaigns", "campaignid"),
    ("new_servicecontract", "new_servicecontracts", "new_servicecontractid"),
    ("task", "tasks", "activityid"),
    ("phonecall", "phonecalls", "activityid"),
    ("appointment", "appointments", "activityid"),
    ("annotation", "annotations", "annotationid"),
]


def _check_rows(url: str, scope: str, x2: Records, facts: dict[str, Any], before: set[str]) -> None:
    def tid(obj: str, sid: str) -> str:
        return target_id(scope, "x2crm", obj, sid)

    def owner(record: dict[str, Any]) -> str:
        users = {u.source_id: u.email for u in _users()}
        email = users.get(record["assignedTo"][0]) if record["assignedTo"] else None
        sid = USERS.get(email or "")
        disabled = any(u["systemuserid"] == sid and u["isdisabled"] for u in ORG["systemusers"])
        return ADMIN if sid is None or disabled else sid  # COM-19/20: the rest fall back to the admin

    # X2-03/X2-04: accounts, the two duplicates of an existing account linked to it, never created
    accounts = {
        r["accountid"]: r
        for r in table_rows(
            url, "accounts", "accountid,name,websiteurl,new_x2crmcontractvalue,_ownerid_value,createdon"
        )
    }
    [existing] = EXISTING
    for a in x2["Accounts"]:
        if a["id"] in facts["linked"]:
            assert tid("Accounts", a["id"]) not in accounts
            continue
        row = accounts[tid("Accounts", a["id"])]
        assert row["name"] == a["name"] and row["new_x2crmcontractvalue"] == a["c_contractValue"]
        assert row["_ownerid_value"] == owner(a)
        assert row["createdon"].startswith(a["createDate"][:19])  # COM-04
    assert set(accounts) - before == {tid("Accounts", a["id"]) for a in x2["Accounts"]} - {
        tid("Accounts", i) for i in facts["linked"]
    }

    # X2-01/02/03/13/14: contacts and leads, with the X2CRM id, tags, segment, account
    contacts = {
        r["contactid"]: r
        for r in table_rows(
            url,
            "contacts",
            "contactid,new_x2crmcontactid,_parentcustomerid_value,new_x2crmtaglist,new_x2crmsegment,new_x2crmsegmentlabel",
        )
    }
    leads = {
        r["leadid"]: r
        for r in table_rows(url, "leads", "leadid,new_x2crmcontactid,new_x2crmtags,_parentaccountid_value")
    }
    [library_set] = [o for o in _plan().option_sets if o.name == "X2crmTags"]
    library = dict(library_set.resolved_options(10_000))
    tags: dict[tuple[str, str], list[str]] = {(t["type"], t["itemId"]): [] for t in x2["tags"]}
    for t in x2["tags"]:
        tags[(t["type"], t["itemId"])].append(t["tag"])
    for c in x2["Contacts"]:
        if c["id"] not in facts["loaded_contacts"]:
            assert tid("Contacts", c["id"]) not in contacts and tid("Contacts", c["id"]) not in leads
            continue
        if facts["landed"][c["id"]] == "contact":
            row = contacts[tid("Contacts", c["id"])]
            parent = (
                existing["accountid"]
                if c["company"]["id"] in facts["linked"]
                else tid("Accounts", c["company"]["id"])
            )
            assert row["_parentcustomerid_value"] == parent  # X2-04: children bind to the existing row
            assert row["new_x2crmtaglist"] == (
                ", ".join(sorted(tags.get(("Contacts", c["id"]), []), key=str.casefold)) or None
            )
            if c["c_segment"] in ("SMB", "Enterprise"):
                assert row["new_x2crmsegment"] == OPTION + ["SMB", "Enterprise"].index(c["c_segment"])
            else:
                assert (row["new_x2crmsegment"], row["new_x2crmsegmentlabel"]) == (None, c["c_segment"])
        else:
            row = leads[tid("Contacts", c["id"])]
            picked = sorted(library[t] for t in tags.get(("Contacts", c["id"]), []))
            assert row["new_x2crmtags"] == (",".join(map(str, picked)) or None)  # X2-13: the multi-select
        assert row["new_x2crmcontactid"] == c["id"]

    # X2-05/06: deals with their stage choice, price list and close
    opps = {
        r["opportunityid"]: r
        for r in table_rows(
            url,
            "opportunities",
            "opportunityid,new_x2crmsalesstage,stepname,statecode,_pricelevelid_value,new_x2crmtags",
        )
    }
    usd = next(p["pricelevelid"] for p in ORG["pricelevels"] if p["name"] == "USD")
    for o in x2["Opportunity"]:
        row = opps[tid("Opportunity", o["id"])]
        assert row["new_x2crmsalesstage"] == OPTION + ["Working", "Won", "Lost"].index(o["salesStage"])
        assert (row["stepname"], row["statecode"]) == (
            o["salesStage"],
            ["Working", "Won", "Lost"].index(o["salesStage"]),
        )
        assert row["_pricelevelid_value"] == usd

    # X2-07: products and their price list entries in the price list of their currency
    products = {
        r["productid"]: r for r in table_rows(url, "products", "productid,productnumber,price,statecode")
    }
    items = {
        r["productpricelevelid"]: r
        for r in table_rows(
            url, "productpricelevels", "productpricelevelid,amount,_pricelevelid_value,_productid_value"
        )
    }
    lists = {p["name"]: p["pricelevelid"] for p in ORG["pricelevels"]}
    for p in x2["Product"]:
        prod = products[tid("Product", p["id"])]
        assert (prod["productnumber"], prod["price"]) == (p["type"], p["price"])
        assert prod["statecode"] == (0 if p["status"] == "Active" else 1)
        item = items[tid("PriceListItems", p["id"])]
        assert (item["amount"], item["_pricelevelid_value"], item["_productid_value"]) == (
            p["price"],
            lists[p["currency"]],
            tid("Product", p["id"]),
        )

    # X2-08: service contracts in their custom table, linked to their account
    services = {
        r["new_servicecontractid"]: r
        for r in table_rows(
            url,
            "new_servicecontracts",
            "new_servicecontractid,new_name,new_status,new_renewaldate,_new_accountid_value,_new_contactid_value",
        )
    }
    for s in x2["Services"]:
        row = services[tid("Services", s["id"])]
        assert row["new_name"] == s["name"] and row["new_renewaldate"] == s["c_renewalDate"][:10]
        assert row["new_status"] == OPTION + ["New", "WIP", "Closed - Resolved"].index(s["status"])
        account = s["c_account"]["id"]
        want = (
            None
            if account not in {a["id"] for a in x2["Accounts"]}
            else (existing["accountid"] if account in facts["linked"] else tid("Accounts", account))
        )
        assert row["_new_accountid_value"] == want  # a deleted account: loaded without the link

    # X2-11: campaigns
    campaigns = {
        r["campaignid"]: r
        for r in table_rows(url, "campaigns", "campaignid,name,typecode,new_x2crmcampaigntype")
    }
    for camp in x2["Campaign"]:
        row = campaigns[tid("Campaign", camp["id"])]
        assert (row["name"], row["typecode"], row["new_x2crmcampaigntype"]) == (camp["name"], 2, camp["type"])

    # X2-09/CON-16: actions regard the account, deal or contact they are associated with
    regarding: dict[str, str | None] = {}
    activities = ["tasks", "phonecalls", "appointments", "annotations"]
    for entity_set in activities:
        column = "_objectid_value" if entity_set == "annotations" else "_regardingobjectid_value"
        key = "annotationid" if entity_set == "annotations" else "activityid"
        regarding.update({r[key]: r[column] for r in table_rows(url, entity_set, f"{key},{column}")})
    seen = set()
    for a in x2["Actions"]:
        got = regarding.get(tid("Actions", a["id"]))
        if got is None:
            continue
        obj = REGARDED[a["associationType"]]
        want = (
            existing["accountid"]
            if obj == "Accounts" and a["associationId"] in facts["linked"]
            else tid(obj, a["associationId"])
        )
        assert got == want, a["id"]
        seen.add(a["associationType"])
    assert seen == set(REGARDED)


_USERS: list[Any] = []


def _users() -> list[Any]:
    if not _USERS:
        data = json.loads(SAMPLE.read_text(encoding="utf-8"))
        client = X2Client(
            "http://x2.test",
            "admin",
            X2CRM_SAMPLE_KEY,
            transport=mock_transport(X2Mock(Store(data), MockConfig())),
        )
        source = X2CRMSource(client)
        try:
            _USERS.extend(source.users())
        finally:
            source.close()
    return _USERS
