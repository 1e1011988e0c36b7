"""End to end on the local host: the SmartDesk sample export — generated afresh, so it carries its
> 5 MB attachment — through every stage into a Dataverse emulator seeded with the sample's target org.

SD-13: SmartDesk owners block (`unmatched_owner: block`). The first run stops at preflight before
anything is written, naming exactly the planted problems that block: the disabled owner, the owner
with no Dynamics 365 user, and the attachment over the org's upload limit (COM-41). The admin then
enables and provisions the users and raises the limit; the run goes through: the schema is
provisioned (custom columns, custom-field columns, the generated Pipeline/Stage choices), every
object balances with counts computed from the sample itself, and every quarantined record is a
planted one, with a reason naming record and field. Running again changes nothing; a rollback
removes what the migration wrote.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from activities._io import target
from intact import commands
from intact.demo import demo_spec
from intact.services import REPO, DataverseEmulator
from samples.smartdesk.generate import generate
from shared.dataverse.schema import provision
from shared.ids import target_id
from shared.mapping import load_profile
from shared.mapping.generators import GENERATORS
from shared.mapping.profile import merge_overrides, raw_profile
from shared.migration.joins import build_indexes, run_plan
from shared.sources.exports import ExportSource, load_layout
from shared.spec import MigrationSpec
from tests.e2e.support import (
    API,
    HEADERS,
    follow_migration,
    seeded_dataverse,
    staged_quarantine,
    staging,
    table_rows,
)
from tests.unit.shared.mapping.support import bad_email

pytestmark = pytest.mark.e2e
TARGET_ORG = REPO / "samples" / "smartdesk" / "target_org.json"
OPTION = 10_000 * 10_000
REP5 = "5a3c1e2d-0005-4000-8000-000000000006"  # rep5@…: disabled in the target org
REP6 = "5a3c1e2d-0005-4000-8000-000000000007"  # rep6@…: no user in the target org until provisioned
PARENTS = {
    "contact": "contacts",
    "account": "accounts",
    "deal": "deals",
    "lead": "leads",
    "ticket": "tickets",
}
Records = dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DataverseEmulator]:
    """Its own org, seeded with the sample's target org (one owner disabled, one missing)."""
    yield from seeded_dataverse(TARGET_ORG, tmp_path_factory.mktemp("dv") / "org.sqlite")


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("smartdesk") / "export").out


def _spec(url: str, mid: str, export: Path) -> MigrationSpec:
    spec = demo_spec(url, migration_id=mid, source="smartdesk")
    return spec.model_copy(
        update={
            "source": spec.source.model_copy(update={"path": str(export)}),
            # SD-13: an owner without an enabled user blocks; no fallback owner
            "options": spec.options.model_copy(update={"unmatched_owner": "block", "fallback_owner": None}),
        }
    )


def _read(export: Path) -> tuple[Records, set[tuple[str, str]]]:
    """The export as the migration reads it: good records per object, and the malformed rows."""
    src = ExportSource(export, load_layout("smartdesk"))
    good: Records = {}
    malformed: set[tuple[str, str]] = set()
    for name in src.layout.files:
        good[name] = []
        for page in src.read(name):
            for r in page.records:
                if r.record is not None:
                    good[name].append(r.record)
                else:
                    assert r.error is not None
                    malformed.add((name, str(r.error.source_id)))
    return good, malformed


def _expected(
    sd: Records, malformed: set[tuple[str, str]]
) -> tuple[dict[str, dict[str, int]], set[tuple[str, str]]]:
    """Per object: source = loaded + quarantined + skipped as the profile must produce them from this
    export, and every (object, source id) that must be quarantined — each one planted."""
    counts: dict[str, dict[str, int]] = {}
    bad: set[tuple[str, str]] = set(malformed)
    loaded: dict[str, set[str]] = {}

    def tally(obj: str, key: str, outcome: Any, records: list[dict[str, Any]] | None = None) -> None:
        rows = sd[obj] if records is None else records
        c = {"source": len(rows), "loaded": 0, "quarantined": 0, "skipped": 0}
        if records is None:  # malformed rows count in their own object
            extra = sum(1 for o, _ in malformed if o == obj)
            c["source"] += extra
            c["quarantined"] += extra
        loaded[obj] = set()
        for r in rows:
            what = outcome(r)
            c[what] += 1
            if what == "loaded":
                loaded[obj].add(str(r[key]))
            elif what == "quarantined":
                bad.add((obj, str(r[key])))
        counts[obj] = c

    def parent_ok(kind: str, rid: Any) -> bool:
        return str(rid) in loaded.get(PARENTS[kind], set())

    def ok(flag: bool) -> str:
        return "loaded" if flag else "quarantined"

    for obj in ("users", "custom_field_definitions", "custom_field_values"):
        counts[obj] = {"source": len(sd[obj]), "loaded": 0, "quarantined": 0, "skipped": len(sd[obj])}
    tally("accounts", "account_id", lambda r: "loaded")
    tally("pipelines", "pipeline_id", lambda r: "loaded")
    tally("pipeline_stages", "stage_id", lambda r: "loaded")
    tally("leads", "lead_id", lambda r: ok(not bad_email(r)))
    tally("contacts", "contact_id", lambda r: ok(not bad_email(r)))
    tally(
        "deals",
        "deal_id",
        lambda r: ok(parent_ok("account", r["account_id"]) or parent_ok("contact", r["contact_id"])),
    )
    tally("tasks", "task_id", lambda r: ok(parent_ok(r["regarding_type"], r["regarding_id"])))
    tally(
        "activities",
        "activity_id",
        lambda r: "skipped" if r["type"] == "note" else ok(parent_ok(r["regarding_type"], r["regarding_id"])),
    )
    tally(
        "tickets",
        "ticket_id",
        lambda r: ok(parent_ok("contact", r["contact_id"]) or parent_ok("account", r["account_id"])),
    )
    tally(
        "activity_notes",
        "activity_id",
        lambda r: "skipped" if r["type"] != "note" else ok(parent_ok(r["regarding_type"], r["regarding_id"])),
        sd["activities"],
    )
    tally("ticket_comments", "comment_id", lambda r: "skipped")
    tally(
        "attachments",
        "attachment_id",
        lambda r: (
            "skipped"
            if r["regarding_type"] == "ticket"
            else ok(parent_ok(r["regarding_type"], r["regarding_id"]))
        ),
    )
    return counts, bad


def _staged(spec: MigrationSpec, suffix: str) -> list[str]:
    return [p for p in staging(spec).list(f"staging/{spec.migration.id}/") if p.endswith(suffix)]


def _plan(sd: Records) -> Any:
    """The schema plan the run provisions: the profile's own, generated stages, custom-field columns."""
    overrides: dict[str, Any] = {}
    for gen in load_profile("smartdesk").generate:
        out, _ = GENERATORS[gen.kind](gen, raw_profile("smartdesk"), lambda n: sd.get(n, []), 10_000)
        overrides = merge_overrides(overrides, out)
    profile = load_profile("smartdesk", overrides)
    indexes, _ = build_indexes(profile, lambda n: sd.get(n, []), 10_000)
    return run_plan(profile, indexes)


def test_SD_13_COM_41_blocked_then_provisioned_then_migrated_reconciled_rerun_rolled_back(
    org: DataverseEmulator, export: Path, env: None, scope_id: str, tmp_path: Path
) -> None:
    sd, malformed = _read(export)
    spec = _spec(org.url, scope_id, export)
    rt = commands.open_runtime(tmp_path / "state")
    try:
        # --- 1. SD-13 / COM-41: preflight blocks before any record moves, naming the planted problems
        body = follow_migration(rt, spec)
        assert body["runtime_status"] == "Failed", body
        assert "PreflightBlocked" in json.dumps(body.get("output"))
        [path] = _staged(spec, "reports/preflight.json")
        report = staging(spec).get_json(path)
        blocking = {
            (f["code"], f["details"].get("source_user_id") or ",".join(f["source_ids"]))
            for f in report["blocking"]
        }
        assert blocking == {
            ("owner_disabled", "us000005"),
            ("owner_unmatched", "us000006"),
            ("attachment_over_limit", "fi000001"),
        }
        owned = {
            u: sum(1 for o in ("accounts", "contacts", "deals", "tasks") for r in sd[o] if r["owner_id"] == u)
            for u in ("us000005", "us000006")
        }
        for f in report["blocking"]:
            if f["check"] == "owners":
                assert f["records"] >= owned[f["details"]["source_user_id"]] > 0
        warnings = {(f["code"], f.get("object"), f.get("value")) for f in report["warnings"]}
        assert ("unmapped_label", "leads", "cold_call") in warnings  # COM-16: label kept, a warning
        assert ("lookup_unresolvable", "tasks", None) in warnings  # the task on a deleted deal
        ours = {target_id(scope_id, "smartdesk", "accounts", a["account_id"]) for a in sd["accounts"]}
        assert not ours & {
            r["accountid"] for r in table_rows(org.url, "accounts", "accountid")
        }  # nothing written

        # --- the admin enables rep5, provisions rep6 and raises the upload limit (COM-41)
        users = f"{org.url}{API}/systemusers"
        assert httpx.patch(f"{users}({REP5})", json={"isdisabled": False}, headers=HEADERS).status_code == 204
        new_user = {
            "systemuserid": REP6,
            "fullname": "Rep Six",
            "internalemailaddress": "rep6@smartdesk-customer.example",
            "domainname": "rep6@smartdesk-customer.example",
            "isdisabled": False,
        }
        assert httpx.post(users, json=new_user, headers=HEADERS).status_code == 204
        [organization] = table_rows(org.url, "organizations", "organizationid")
        limit = {"maxuploadfilesize": 8 * 1024 * 1024}
        resp = httpx.patch(
            f"{org.url}{API}/organizations({organization['organizationid']})", json=limit, headers=HEADERS
        )
        assert resp.status_code == 204

        # --- 2. the run goes through
        body = follow_migration(rt, spec)
        assert body["runtime_status"] == "Completed", body.get("output")
        first = commands.result_json(body)
        counts, quarantined = _expected(sd, malformed)
        for name, c in first["objects"].items():
            assert c["source"] == c["loaded"] + c["quarantined"] + c["skipped"], name
        assert first["objects"] == counts
        rows = staged_quarantine(spec, first["run_id"])
        assert {(r["object"], r["source_id"]) for r in rows} == quarantined
        assert all(r["field"] and r["reason"] for r in rows)
        planted = {
            ("contacts", "email"),  # malformed emails
            ("contacts", "created_at"),  # a malformed row
            ("activities", "duration_sec"),  # a malformed row
            ("attachments", "path"),  # a file missing from the export
            ("tasks", "regardingobjectid"),  # a deleted deal, or a refused contact
            ("activities", "regardingobjectid"),  # regarding a refused contact
            ("activity_notes", "objectid"),  # on a refused contact
        }
        assert {(r["object"], r["field"]) for r in rows} <= planted
        assert ("tasks", "tk000002") in quarantined  # regarding dl_deleted
        owners = first["owners"]
        assert owners["records_to_fallback"] == 0
        assert {u["status"] for u in owners["users"].values()} == {"matched"}

        _check_rows(org.url, scope_id, sd, quarantined)

        # --- 3. again: the same counts, no duplicate, and provisioning has nothing left to do
        body = follow_migration(rt, spec)
        assert body["runtime_status"] == "Completed", body.get("output")
        assert commands.result_json(body)["objects"] == first["objects"]
        assert len(table_rows(org.url, "accounts", "accountid")) == len(sd["accounts"]) + 1
        with target(spec) as dv:
            again = provision(dv, _plan(sd), prefix="new", option_prefix=10_000, solution="IntactMigration")
        assert again.created == [] and again.changed == [] and again.present

        # --- rollback: nothing the migration wrote is left, the org's own account is
        iid = commands.start_rollback(rt, scope_id)
        rolled = commands.follow(rt, iid, None, 600)
        assert rolled["runtime_status"] == "Completed", rolled.get("output")
        left = {r["accountid"] for r in table_rows(org.url, "accounts", "accountid")}
        assert not ours & left and len(left) == 1
        for entity_set, key in (("opportunities", "opportunityid"), ("annotations", "annotationid")):
            assert table_rows(org.url, entity_set, key) == [], entity_set
    finally:
        rt.close()


def _check_rows(url: str, scope: str, sd: Records, quarantined: set[tuple[str, str]]) -> None:
    def tid(obj: str, sid: str) -> str:
        return target_id(scope, "smartdesk", obj, sid)

    # SD-01, SD-12: accounts with their ids, owners and custom-field columns
    accounts = {
        r["accountid"]: r
        for r in table_rows(url, "accounts", "accountid,name,new_smartdeskid,new_tier,_ownerid_value")
    }
    # COM-14: the Tier dropdown is a choice column whose options are the definition's, in order
    [tier_def] = [d for d in sd["custom_field_definitions"] if d["field_key"] == "tier"]
    options = tier_def["options"] if isinstance(tier_def["options"], list) else tier_def["options"].split(";")
    option = {label: 100_000_000 + n for n, label in enumerate(options)}
    tiers = {
        v["record_id"]: option[v["value"]] for v in sd["custom_field_values"] if v["field_key"] == "tier"
    }
    owner_of = {
        "us000001": "5a3c1e2d-0005-4000-8000-000000000002",
        "us000002": "5a3c1e2d-0005-4000-8000-000000000003",
        "us000003": "5a3c1e2d-0005-4000-8000-000000000004",
        "us000004": "5a3c1e2d-0005-4000-8000-000000000005",
        "us000005": REP5,
        "us000006": REP6,
    }
    for a in sd["accounts"]:
        row = accounts[tid("accounts", a["account_id"])]
        assert (row["name"], row["new_smartdeskid"], row["new_tier"]) == (
            a["name"],
            a["account_id"],
            tiers.get(a["account_id"]),
        )
        assert row["_ownerid_value"] == owner_of[a["owner_id"]]  # SD-13: matched by email, no fallback

    # SD-02: the contact's account by id; custom fields typed
    contacts = {
        r["contactid"]: r
        for r in table_rows(
            url, "contacts", "contactid,_parentcustomerid_value,new_npsscore,new_smartdesklifecyclestage"
        )
    }
    nps = {
        v["record_id"]: float(v["value"]) for v in sd["custom_field_values"] if v["field_key"] == "nps_score"
    }
    for c in sd["contacts"]:
        if ("contacts", c["contact_id"]) in quarantined:
            continue
        row = contacts[tid("contacts", c["contact_id"])]
        parent = tid("accounts", c["account_id"]) if c["account_id"] else None
        assert row["_parentcustomerid_value"] == parent
        assert row["new_npsscore"] == nps.get(c["contact_id"])
        assert row["new_smartdesklifecyclestage"] == c["lifecycle_stage"]

    # SD-04/05/06: deals with value, close date, state, the discovered stage and pipeline
    stages = sorted(sd["pipeline_stages"], key=lambda s: (s["pipeline_id"], s["order"]))
    order = [s["stage_id"] for s in stages]
    pipelines = [p["pipeline_id"] for p in sd["pipelines"]]
    opps = {
        r["opportunityid"]: r
        for r in table_rows(
            url,
            "opportunities",
            "opportunityid,estimatedvalue,estimatedclosedate,statecode,new_stage,new_pipeline,_customerid_value",
        )
    }
    for d in sd["deals"]:
        row = opps[tid("deals", d["deal_id"])]
        assert row["estimatedvalue"] == float(d["amount"])
        assert str(row["estimatedclosedate"]).startswith(d["expected_close"])
        assert row["statecode"] == {"open": 0, "won": 1, "lost": 2}[d["status"]]
        assert row["new_stage"] == OPTION + order.index(d["stage_id"])
        assert row["new_pipeline"] == OPTION + pipelines.index(d["pipeline_id"])
        assert row["_customerid_value"] == tid("accounts", d["account_id"])
    # SD-06: the pipelines and their stages as rows, each opportunity linked to its stage
    stage_rows = {
        r["new_smartdeskid"]: r
        for r in table_rows(
            url, "new_smartdeskstages", "new_smartdeskid,new_name,new_probability,_new_pipelineid_value"
        )
    }
    assert {
        k: (r["new_name"], r["new_probability"], r["_new_pipelineid_value"]) for k, r in stage_rows.items()
    } == {s["stage_id"]: (s["name"], s["probability"], tid("pipelines", s["pipeline_id"])) for s in stages}
    names = {
        r["new_smartdeskid"]: r["new_name"]
        for r in table_rows(url, "new_smartdeskpipelines", "new_smartdeskid,new_name")
    }
    assert names == {p["pipeline_id"]: p["name"] for p in sd["pipelines"]}
    links = {
        r["opportunityid"]: r["_new_smartdeskstageid_value"]
        for r in table_rows(url, "opportunities", "opportunityid,_new_smartdeskstageid_value")
    }
    for d in sd["deals"]:
        assert links[tid("deals", d["deal_id"])] == tid("pipeline_stages", d["stage_id"])
    meta = httpx.get(
        f"{url}{API}/EntityDefinitions(LogicalName='opportunity')/Attributes(LogicalName='new_stage')"
        "/Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
        params={"$select": "LogicalName", "$expand": "OptionSet"},
        headers=HEADERS,
        timeout=30,
    ).json()
    labels = [o["Label"]["UserLocalizedLabel"]["Label"] for o in meta["OptionSet"]["Options"]]
    assert labels == [s["name"] for s in stages]  # SD-19: the account's own stages, in order

    # SD-07: tasks regard the typed parent
    tasks = {
        r["activityid"]: r for r in table_rows(url, "tasks", "activityid,_regardingobjectid_value,statecode")
    }
    for t in sd["tasks"]:
        if ("tasks", t["task_id"]) in quarantined:
            continue
        row = tasks[tid("tasks", t["task_id"])]
        assert row["_regardingobjectid_value"] == tid(PARENTS[t["regarding_type"]], t["regarding_id"])
        assert row["statecode"] == (1 if t["status"] == "done" else 0)

    # SD-08/09/10: calls with their duration, meetings with start/end/location, emails on their parent
    calls = {
        r["activityid"]: r
        for r in table_rows(url, "phonecalls", "activityid,actualdurationminutes,new_smartdeskcallseconds")
    }
    meetings = {
        r["activityid"]: r
        for r in table_rows(url, "appointments", "activityid,scheduledstart,scheduledend,location")
    }
    emails = {r["activityid"]: r for r in table_rows(url, "emails", "activityid,_regardingobjectid_value")}
    for a in sd["activities"]:
        if ("activities", a["activity_id"]) in quarantined or a["type"] == "note":
            continue
        key = tid("activities", a["activity_id"])
        if a["type"] == "call":
            assert calls[key]["new_smartdeskcallseconds"] == a["duration_sec"]
            assert calls[key]["actualdurationminutes"] == -(-a["duration_sec"] // 60)
        elif a["type"] == "meeting":
            assert (meetings[key]["location"], meetings[key]["scheduledstart"][:19]) == (
                a["location"],
                a["start_at"][:19],
            )
        else:
            assert emails[key]["_regardingobjectid_value"] == tid(
                PARENTS[a["regarding_type"]], a["regarding_id"]
            )

    # SD-11, SD-15, COM-05: notes, tickets as notes, attachments with their files
    notes = {
        r["annotationid"]: r
        for r in table_rows(
            url, "annotations", "annotationid,subject,notetext,filename,filesize,_objectid_value"
        )
    }
    long = max((a for a in sd["activities"] if a["type"] == "note"), key=lambda a: len(a["body"]))
    assert notes[tid("activity_notes", long["activity_id"])]["notetext"] == long["body"]
    for t in sd["tickets"]:
        row = notes[tid("tickets", t["ticket_id"])]
        assert row["subject"] == f"SmartDesk ticket {t['ticket_id']}: {t['subject']}"
        assert f"Status: {t['status']}" in row["notetext"] and f"Channel: {t['channel']}" in row["notetext"]
    for att in sd["attachments"]:
        row = notes[tid("attachments", att["attachment_id"])]
        assert (row["filename"], row["_objectid_value"]) == (
            att["file_name"],
            tid("deals", att["regarding_id"]),
        )
        assert row["filesize"] == att["size_bytes"]  # the > 5 MB file too, in blocks, once the limit rose


SERVICE_LICENCE: dict[str, Any] = {
    "objects": [
        {"name": "tickets", "split": [{"otherwise": "case"}]},
        {
            "name": "ticket_comments",
            "split": [
                {"when": {"field": "is_public", "equals": False}, "table": "internal_note"},
                {"otherwise": "email"},
            ],
        },
        {"name": "attachments", "split": [{"otherwise": "annotation"}]},
    ]
}
"""SD-14: the switch the profile documents for an org with a Customer Service licence."""


@pytest.fixture
def service_org(tmp_path: Path) -> Iterator[DataverseEmulator]:
    with DataverseEmulator() as dv:
        dv.start(
            seed=TARGET_ORG, db=tmp_path / "service.sqlite", extra_args=["--max-upload-bytes", "8388608"]
        )
        yield dv


def test_SD_14_with_a_service_licence_tickets_are_cases_and_their_thread_emails_on_them(
    service_org: DataverseEmulator, export: Path, env: None, scope_id: str, tmp_path: Path
) -> None:
    sd, _ = _read(export)
    spec = demo_spec(service_org.url, migration_id=scope_id, source="smartdesk")
    options = spec.options.model_copy(update={"profile_overrides": SERVICE_LICENCE})
    spec = MigrationSpec.model_validate(
        {
            **spec.model_dump(mode="json"),
            "source": {**spec.source.model_dump(mode="json"), "path": str(export)},
            "options": options.model_dump(mode="json"),
        }
    )
    rt = commands.open_runtime(tmp_path / "state")
    try:
        body = follow_migration(rt, spec)
    finally:
        rt.close()
    assert body["runtime_status"] == "Completed", body.get("output")
    result = commands.result_json(body)
    for name, c in result["objects"].items():
        assert c["source"] == c["loaded"] + c["quarantined"] + c["skipped"], name
    assert result["objects"]["tickets"]["loaded"] == len(sd["tickets"])
    assert result["objects"]["ticket_comments"] == {
        "source": len(sd["ticket_comments"]),
        "loaded": len(sd["ticket_comments"]),
        "quarantined": 0,
        "skipped": 0,
    }

    def tid(obj: str, sid: str) -> str:
        return target_id(scope_id, "smartdesk", obj, sid)

    cases = {
        r["incidentid"]: r
        for r in table_rows(
            service_org.url, "incidents", "incidentid,title,prioritycode,statecode,_customerid_value"
        )
    }
    for t in sd["tickets"]:
        row = cases[tid("tickets", t["ticket_id"])]
        assert row["title"] == t["subject"]
        assert row["prioritycode"] == {"urgent": 1, "normal": 2, "low": 3}[t["priority"]]
        customer = tid("accounts", t["account_id"]) if t["account_id"] else tid("contacts", t["contact_id"])
        assert row["_customerid_value"] == customer
    emails = {
        r["activityid"]: r
        for r in table_rows(service_org.url, "emails", "activityid,_regardingobjectid_value")
    }
    notes = {
        r["annotationid"]: r
        for r in table_rows(service_org.url, "annotations", "annotationid,_objectid_value")
    }
    for c in sd["ticket_comments"]:
        where = emails if c["is_public"] else notes
        row = where[tid("ticket_comments", c["comment_id"])]
        assert row.get("_regardingobjectid_value", row.get("_objectid_value")) == tid(
            "tickets", c["ticket_id"]
        )
