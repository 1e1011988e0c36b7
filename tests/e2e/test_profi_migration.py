"""End to end on the local host: the Profi sample export through every stage into a Dataverse
emulator seeded with the sample's target org (samples/profi/target_org.json), on real Azurite.

The story a customer lives through: the first run stops at preflight — the one planted blocking
problem is a note file over the org's 5 MB upload limit (COM-41), beside warnings for exactly the
other planted problems (a disabled and an unknown coach, a lifecycle label with no option, references
to deleted records) — and nothing is written. The admin raises `organization.maxuploadfilesize`; the
next run provisions the coaching schema (PROFI-18), loads every object in order and balances; the
same migration again changes nothing in the schema and creates no duplicate.

Expected counts are computed from the generated sample itself, never typed in.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from intact.demo import demo_spec
from intact.services import DataverseEmulator
from samples._export_kit import Generated
from samples.profi.generate import UNMAPPED_STAGE, generate
from shared.dataverse import DataverseClient, StaticToken
from shared.dataverse.schema import provision
from shared.ids import target_id
from shared.mapping import load_profile
from shared.mapping.convert import CONVERTERS
from shared.mapping.schema_plan import SchemaPlan
from shared.migration.joins import build_indexes, run_plan
from shared.spec import MigrationSpec, parse_spec
from tests.e2e.support import (
    TOKEN,
    migration_result,
    raise_upload_limit,
    report_quarantine,
    rows_by_id,
    run_reports,
    seeded_dataverse,
)

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
TARGET_ORG = REPO / "samples" / "profi" / "target_org.json"
FALLBACK = "5a3c1e2d-0003-4000-8000-000000000001"  # admin@profi-coaching.example
RAISED_LIMIT = 10 * 1024 * 1024
OBJECTS = ("companies", "clients", "coaches", "enrollments", "invoices", "payments", "sessions", "notes")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """The committed sample, generated afresh (the > 5 MB file is git-ignored in the repo)."""
    return generate(tmp_path_factory.mktemp("profi") / "export")


@pytest.fixture(scope="module")
def dataverse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DataverseEmulator]:
    yield from seeded_dataverse(TARGET_ORG, tmp_path_factory.mktemp("dataverse") / "org.sqlite")


def _spec(dv: DataverseEmulator, scope_id: str, export: Path) -> MigrationSpec:
    data = demo_spec(dv.url, migration_id=scope_id, source="profi").model_dump(mode="json")
    data["source"]["path"] = str(export)
    data["options"]["licence"] = "professional"  # PROFI-18: the coaching tables count against 15
    return parse_spec(data)


@dataclass
class Expect:
    """What the sample must produce, worked out from its records (the mapping's rules, by hand)."""

    gen: Generated
    malformed: Counter[str] = field(default_factory=Counter)
    bad_email: set[str] = field(default_factory=set)
    landed: dict[str, str] = field(default_factory=dict)  # loaded client → contact | lead
    loaded: dict[str, set[str]] = field(default_factory=dict)
    orphans: dict[str, set[str]] = field(default_factory=dict)  # quarantined: parent not loaded
    unlinked: dict[str, set[str]] = field(default_factory=dict)  # loaded, their client not loaded

    def ids(self, obj: str, key: str) -> list[str]:
        return [r[key] for r in self.gen.records[obj]]


def _expected(gen: Generated) -> Expect:
    exp = Expect(gen, malformed=Counter(m[0] for m in gen.malformed))
    recs = gen.records
    sessions = Counter(s["client_id"] for s in recs["sessions"])
    for c in recs["clients"]:
        try:
            CONVERTERS["email"](c["email"])
        except ValueError:
            exp.bad_email.add(c["client_id"])
            continue
        # PROFI-06: at least one booked session → Contact, none → Lead
        exp.landed[c["client_id"]] = "contact" if sessions[c["client_id"]] else "lead"

    def by_client(obj: str, key: str, ok: Any = lambda r: False) -> None:
        rows = recs[obj]
        exp.loaded[obj] = {r[key] for r in rows if r["client_id"] in exp.landed or ok(r)}
        exp.orphans[obj] = {r[key] for r in rows} - exp.loaded[obj]

    exp.loaded["companies"] = set(exp.ids("companies", "company_id"))
    exp.loaded["coaches"] = set(exp.ids("coaches", "coach_id"))
    for obj, key in (
        ("enrollments", "enrollment_id"),
        ("invoices", "invoice_id"),
        ("payments", "payment_id"),
    ):
        by_client(obj, key, lambda r: True)  # a client not in the extract: loaded without the link
        exp.unlinked[obj] = {r[key] for r in recs[obj] if r["client_id"] not in exp.landed}
    by_client("sessions", "session_id")
    # a session note hangs on its session's task, else on its client (the session was deleted)
    by_client("notes", "note_id", lambda n: n["session_id"] in exp.loaded["sessions"])
    by_client("attachments", "attachment_id")
    exp.orphans["clients"] = set()
    exp.loaded["clients"] = set(exp.landed)
    return exp


def test_PROFI_17_PROFI_18_COM_41_blocked_then_migrated_then_a_noop(
    runtime: Any, dataverse: DataverseEmulator, sample: Generated, scope_id: str, tmp_path: Path
) -> None:
    exp = _expected(sample)
    spec = _spec(dataverse, scope_id, sample.out)
    recs = sample.records

    # --- run 1: preflight stops it; exactly the planted problems are reported ----------------------
    blocked = migration_result(runtime, spec)
    assert blocked["runtime_status"] == "Failed" and "PreflightBlocked" in blocked["error"]
    pre = json.loads((run_reports(spec, blocked, tmp_path / "run1") / "preflight.json").read_text())
    big = next(a["attachment_id"] for a in recs["attachments"] if a["size_bytes"] > 5 * 1024 * 1024)
    assert [(f["code"], f["source_ids"]) for f in pre["blocking"]] == [("attachment_over_limit", [big])]
    warned = {(w["code"], w.get("object"), w.get("field")): w for w in pre["warnings"]}
    unmapped = warned[("unmapped_label", "clients", "lifecycle_stage")]
    stage_of = {c["client_id"]: c["lifecycle_stage"] for c in recs["clients"]}
    assert unmapped["value"] == UNMAPPED_STAGE
    assert unmapped["source_ids"] == [c for c, s in stage_of.items() if s == UNMAPPED_STAGE]
    assert {w["code"] for w in pre["warnings"] if w["check"] == "owners"} == {
        "owner_disabled",
        "owner_unmatched",
    }
    # references to records not in the extract (deleted in Profi, or a malformed row) are named
    extracted = {
        obj: {r[key] for r in recs[obj]}
        for obj, key in (("clients", "client_id"), ("sessions", "session_id"))
    }
    dangling = {w["object"] for w in pre["warnings"] if w["code"] == "lookup_unresolvable"}
    assert dangling == {
        obj
        for obj in ("enrollments", "invoices", "payments", "sessions", "notes", "attachments")
        if any(
            r["client_id"] not in extracted["clients"]
            and (obj != "notes" or r["session_id"] not in extracted["sessions"])
            for r in recs[obj]
        )
    } | {"clients"}  # c000005 → a deleted company: loaded without the link
    assert set(pre["summary"]) >= {"custom_tables", "picklists", "owners", "attachments"}
    assert pre["summary"]["custom_tables"]["planned_new"] == 3  # PROFI-18: well under 15
    assert not [w for w in pre["warnings"] if w["check"] == "custom_tables"]  # licence given
    ours = {target_id(scope_id, "profi", "clients", c) for c in exp.landed}
    for entity_set, key in (("contacts", "contactid"), ("leads", "leadid")):
        assert not ours & set(rows_by_id(dataverse.url, entity_set, key)), (
            "nothing is written before preflight passes"
        )

    # --- the admin raises the upload limit (COM-41 resolved with the admin) ------------------------
    raise_upload_limit(dataverse.url, RAISED_LIMIT)

    # --- run 2: provisioned, loaded in order, balanced -------------------------------------------
    first = migration_result(runtime, spec)
    assert first["runtime_status"] == "Completed", first["error"]
    out = run_reports(spec, first, tmp_path / "run2")
    objects = first["objects"]
    for name, c in objects.items():
        assert c["source"] == c["loaded"] + c["quarantined"] + c["skipped"], name
    for name in (*OBJECTS, "attachments"):
        source = len(recs[name]) + exp.malformed[name]
        assert objects[name] == {
            "source": source,
            "loaded": len(exp.loaded[name]),
            "quarantined": source - len(exp.loaded[name]),
            "skipped": 0,
        }, name
    for name in ("programs", "services", "custom_fields", "custom_field_values"):  # skipped by a named rule
        assert objects[name]["skipped"] == len(recs[name]) and objects[name]["loaded"] == 0, name
    assert first["skip_rules"] == {
        "programs": "profi_catalog",
        "services": "profi_catalog",
        "custom_fields": "custom_field_definitions",
        "custom_field_values": "custom_field_values_as_columns",
    }

    # every quarantined record is a planted one, with a reason naming the record and the field
    quarantined = [q for q in report_quarantine(out) if not str(q.get("source_id", "")).endswith("#manifest")]
    by_object: dict[str, set[str]] = {}
    for q in quarantined:
        assert q["source_id"] and q["object"] and q.get("field"), q
        by_object.setdefault(q["object"], set()).add(q["source_id"])
    assert exp.bad_email <= by_object["clients"]
    for name, orphans in exp.orphans.items():
        assert orphans <= by_object.get(name, set()), name
        assert len(by_object.get(name, set())) == len(orphans) + exp.malformed[name] + (
            len(exp.bad_email) if name == "clients" else 0
        ), name
    for q in quarantined:  # an orphan names the lookup column it could not fill
        if q["object"] != "clients" and q.get("stage") == "load":
            assert q["field"] in ("regardingobjectid", "objectid"), q

    _check_rows(dataverse, scope_id, exp)

    # --- run 3: the same migration again — the schema is a no-op, no row is duplicated ------------
    before = {es: set(rows_by_id(dataverse.url, es, pid)) for es, pid in _TABLES}
    again = migration_result(runtime, spec)
    assert again["runtime_status"] == "Completed", again["error"]
    assert again["objects"] == first["objects"]
    assert {es: set(rows_by_id(dataverse.url, es, pid)) for es, pid in _TABLES} == before
    with DataverseClient(dataverse.url, StaticToken(TOKEN)) as client:
        result = provision(
            client, _run_plan(sample), prefix="new", option_prefix=10000, solution="IntactMigration"
        )
    assert result.noop, result


_TABLES = (
    ("accounts", "accountid"),
    ("contacts", "contactid"),
    ("leads", "leadid"),
    ("tasks", "activityid"),
    ("annotations", "annotationid"),
    ("new_coaches", "new_coachid"),
    ("new_programenrollments", "new_programenrollmentid"),
    ("new_coachingpayments", "new_coachingpaymentid"),
)


def _run_plan(gen: Generated) -> SchemaPlan:
    """The run's schema plan: the profile's own plus a typed column per custom field (PROFI-14)."""
    profile = load_profile("profi")
    indexes, _ = build_indexes(profile, lambda name: gen.records[name], 10_000)
    return run_plan(profile, indexes)


def _check_rows(dv: DataverseEmulator, scope: str, exp: Expect) -> None:
    recs = exp.gen.records

    def tid(obj: str, sid: str) -> str:
        return target_id(scope, "profi", obj, sid)

    coach_user = {
        u["internalemailaddress"].lower(): u
        for u in json.loads(TARGET_ORG.read_text(encoding="utf-8"))["systemusers"]
    }
    coach_email = {k["coach_id"]: k["email"].lower() for k in recs["coaches"]}

    def owner_of(coach: str) -> str:
        user = coach_user.get(coach_email.get(coach, ""))
        return user["systemuserid"] if user and not user["isdisabled"] else FALLBACK

    # PROFI-04/05: companies → accounts with the company type choice and the custom fields as columns
    accounts = rows_by_id(
        dv.url, "accounts", "accountid,name,new_companytype,numberofemployees,new_corporatecontract"
    )
    types = {"individual_coach": 100000000, "coaching_firm": 100000001, "corporate_client": 100000002}
    for co in recs["companies"]:
        row = accounts[tid("companies", co["company_id"])]
        assert (row["name"], row["new_companytype"]) == (co["name"], types[co["company_type"]])
        assert row["numberofemployees"] == co["employees"]
    cf = {(v["entity_id"], v["field_key"]): v["value"] for v in recs["custom_field_values"]}
    for (entity, key), value in cf.items():
        if key == "corporate_contract":
            assert accounts[tid("companies", entity)]["new_corporatecontract"] is (value == "true")

    # PROFI-01/02/03/06/15: clients → contacts or leads, lifecycle choice, original create date, owner
    cols = "{},lastname,new_clientlifecyclestage,new_clientlifecyclestagetext,new_originalcreatedate,"
    cols += "createdon,_ownerid_value,new_goaldate,new_sessionbudget"
    contacts = rows_by_id(dv.url, "contacts", cols.format("contactid") + ",_parentcustomerid_value,statecode")
    leads = rows_by_id(dv.url, "leads", cols.format("leadid"))
    stages = {"lead": 100000000, "prospect": 100000001, "active": 100000002, "alumni": 100000003}
    companies = {co["company_id"] for co in recs["companies"]}
    for c in recs["clients"]:
        cid = c["client_id"]
        if cid not in exp.landed:
            assert tid("clients", cid) not in contacts and tid("clients", cid) not in leads
            continue
        table = contacts if exp.landed[cid] == "contact" else leads
        other = leads if table is contacts else contacts
        row = table[tid("clients", cid)]
        assert tid("clients", cid) not in other  # each client lands exactly once
        assert row["lastname"] == c["last_name"]
        assert row["new_clientlifecyclestage"] == stages.get(c["lifecycle_stage"])
        assert row["new_clientlifecyclestagetext"] == (
            None if c["lifecycle_stage"] in stages else c["lifecycle_stage"]
        )
        assert row["new_originalcreatedate"].startswith(c["created_at"][:19])
        assert row["createdon"].startswith(c["created_at"][:19])  # INT-30
        assert row["_ownerid_value"] == owner_of(c["coach_id"])
        if (cid, "goal_date") in cf:
            assert row["new_goaldate"].startswith(cf[(cid, "goal_date")])
        if (cid, "session_budget") in cf:
            assert float(row["new_sessionbudget"]) == float(cf[(cid, "session_budget")])
        if table is contacts:
            parent = tid("companies", c["company_id"]) if c["company_id"] in companies else None
            assert row["_parentcustomerid_value"] == parent
            assert row["statecode"] == (1 if c["status"] == "archived" else 0)

    # PROFI-11: coaches → Coach rows linked to their user; one who left is inactive
    coaches = rows_by_id(
        dv.url, "new_coaches", "new_coachid,new_name,new_specialty,_new_user_value,statecode"
    )
    for k in recs["coaches"]:
        row = coaches[tid("coaches", k["coach_id"])]
        assert row["new_specialty"] == k["specialty"]
        user = coach_user.get(k["email"].lower())
        assert row["_new_user_value"] == (user["systemuserid"] if user else None)
        assert row["statecode"] == (1 if k["status"] == "inactive" else 0)

    # PROFI-09/10: enrollments and payments link to the client's contact (or lead, GAP-01)
    def client_link(row: dict[str, Any], client: str) -> None:
        lands = exp.landed.get(client)
        if lands is None:  # the client is not in the extract: no link (preflight named it)
            assert row["_new_clientcontact_value"] is None and row["_new_clientlead_value"] is None
            return
        assert row[f"_new_client{lands}_value"] == tid("clients", client)
        assert row[f"_new_client{'lead' if lands == 'contact' else 'contact'}_value"] is None

    enrollments = rows_by_id(
        dv.url,
        "new_programenrollments",
        "new_programenrollmentid,new_progresspercent,_new_clientcontact_value,_new_clientlead_value",
    )
    for e in recs["enrollments"]:
        if e["enrollment_id"] in exp.loaded["enrollments"]:
            row = enrollments[tid("enrollments", e["enrollment_id"])]
            client_link(row, e["client_id"])
            assert float(row["new_progresspercent"]) == float(e["progress_pct"])
    payments = rows_by_id(
        dv.url,
        "new_coachingpayments",
        "new_coachingpaymentid,new_amount,new_recordtype,new_paymentstatus,"
        "_new_invoice_value,_new_clientcontact_value,_new_clientlead_value",
    )
    for p in recs["payments"]:
        if p["payment_id"] in exp.loaded["payments"]:
            row = payments[tid("payments", p["payment_id"])]
            client_link(row, p["client_id"])
            assert float(row["new_amount"]) == float(p["amount"]) and row["new_recordtype"] == 100000000
            invoice = p["invoice_id"] if p["invoice_id"] in exp.loaded["invoices"] else None
            assert row["_new_invoice_value"] == (tid("invoices", invoice) if invoice else None)

    # PROFI-07/08: sessions → tasks regarding the client, owned by the coach, with the session columns
    tasks = rows_by_id(
        dv.url,
        "tasks",
        "activityid,subject,_regardingobjectid_value,_ownerid_value,new_durationminutes,"
        "new_sessionstatus,statecode,createdon",
    )
    for s in recs["sessions"]:
        if s["session_id"] in exp.loaded["sessions"]:
            row = tasks[tid("sessions", s["session_id"])]
            assert row["subject"] == s["title"] and row["new_durationminutes"] == s["duration_min"]
            assert row["_regardingobjectid_value"] == tid("clients", s["client_id"])
            assert row["_ownerid_value"] == owner_of(s["coach_id"])
            assert row["statecode"] == {"scheduled": 0, "completed": 1}.get(s["status"], 2)
            assert row["createdon"].startswith(s["created_at"][:19])  # COM-04

    # PROFI-12/13: notes and their files → annotations (the big one uploaded once the limit was raised)
    notes = rows_by_id(
        dv.url, "annotations", "annotationid,notetext,_objectid_value,filename,mimetype,filesize"
    )
    for n in recs["notes"]:
        if n["note_id"] in exp.loaded["notes"]:
            row = notes[tid("notes", n["note_id"])]
            assert row["notetext"] == n["body"]
            on_session = n["session_id"] in exp.loaded["sessions"]
            parent = tid("sessions", n["session_id"]) if on_session else tid("clients", n["client_id"])
            assert row["_objectid_value"] == parent
    for a in recs["attachments"]:
        if a["attachment_id"] in exp.loaded["attachments"]:
            row = notes[tid("attachments", a["attachment_id"])]
            assert (row["filename"], row["mimetype"]) == (a["file_name"], a["mime_type"])
            assert row["_objectid_value"] == tid("clients", a["client_id"])
