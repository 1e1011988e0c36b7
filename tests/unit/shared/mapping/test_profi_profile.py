"""The Profi profile, row by row of the seed's object-mapping table (PROFI-01 … PROFI-22), on the
committed sample export read through the export reader (records typed exactly as a migration stages
them), with the joins the run builds after extraction (session counts, custom field values)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from samples.profi.generate import UNMAPPED_STAGE, generate
from shared.errors import InvalidField, UnmappedValue
from shared.ids import target_id
from shared.mapping import load_profile, transform_record
from shared.mapping.joins import JOIN_FIELD, JoinIndex, column_name
from shared.mapping.owners import OwnerMap, SystemUser, match_users
from shared.mapping.profile import Profile, TargetMap, raw_profile
from shared.mapping.transform import Skipped, TargetRow, resolve_lookup
from shared.migration.joins import run_plan
from shared.preflight import check_custom_tables
from shared.sources.exports import ExportSource, load_layout
from tests.unit.shared.mapping.support import as_row, bad_email, entry, good_records, typed_index

REPO = Path(__file__).resolve().parents[4]
SAMPLE = REPO / "samples" / "profi" / "export"
TARGET_ORG = REPO / "samples" / "profi" / "target_org.json"
METADATA = REPO / "emulators" / "dataverse" / "metadata" / "standard_tables.json"
SCOPE = "acme-profi"
FALLBACK = "admin-id"
Records = dict[str, list[dict[str, Any]]]
STAGES = {"lead": 100000000, "prospect": 100000001, "active": 100000002, "alumni": 100000003}


@pytest.fixture(scope="module")
def source() -> ExportSource:
    return ExportSource(SAMPLE, load_layout("profi"))


@pytest.fixture(scope="module")
def pf(source: ExportSource) -> Records:
    return good_records(source, load_layout("profi").files)


@pytest.fixture(scope="module")
def owners(source: ExportSource) -> OwnerMap:
    org = json.loads(TARGET_ORG.read_text(encoding="utf-8"))
    users = [SystemUser.model_validate(u) for u in org["systemusers"]]
    return OwnerMap(matches=match_users(source.users(), users), fallback_owner_id=FALLBACK)


def _indexes(profile: Profile, obj: str, pf: Records) -> dict[str, JoinIndex]:
    o = profile.object(obj)
    assert o is not None
    return {j.name: typed_index(j, pf) for j in o.joins}


def _out(obj: str, record: dict[str, Any], pf: Records, **kw: Any) -> TargetRow | Skipped:
    """One record through the profile as the transform step runs it: joins under `_join`, the child
    index for `has_children`, custom columns written with the publisher prefix."""
    profile = load_profile("profi", kw.pop("overrides", None))
    o = profile.object(obj)
    assert o is not None
    idx = _indexes(profile, obj, pf)
    if idx:
        record = {**record, JOIN_FIELD: {n: i.value_for(o.source_id(record)) for n, i in idx.items()}}
    counts = {j.object: idx[j.name] for j in o.joins if j.kind == "count"}
    kw.setdefault("owners", None)
    kw.setdefault("custom_columns", True)
    return transform_record(
        o,
        record,
        source="profi",
        scope=SCOPE,
        children=(lambda child, pid: counts[child].value_for(pid) > 0) if counts else None,
        property_types={n: dict(i.types) for n, i in idx.items() if i.kind == "pivot"},
        property_options={n: dict(i.options) for n, i in idx.items() if i.kind == "pivot"},
        **kw,
    )


def _row(obj: str, record: dict[str, Any], pf: Records, **kw: Any) -> TargetRow:
    return as_row(_out(obj, record, pf, **kw))


def _sessions(pf: Records) -> Counter[str]:
    return Counter(s["client_id"] for s in pf["sessions"])


def _client(pf: Records, *, contact: bool, **where: Any) -> dict[str, Any]:
    """A well-formed client that lands on the Contact (or Lead) side of the split."""
    sessions = _sessions(pf)
    return next(
        c
        for c in pf["clients"]
        if not bad_email(c)
        and bool(sessions[c["client_id"]]) == contact
        and all(c.get(k) == v for k, v in where.items())
    )


# --- PROFI-17, PROFI-18: load order and the coaching schema ---------------------------------------


def test_PROFI_17_load_order_accounts_clients_coaching_tables_then_activities_then_notes() -> None:
    phases = [[o.name for o in phase] for phase in load_profile("profi").phases()]
    assert phases == [
        ["companies"],
        ["clients"],
        ["coaches", "enrollments", "invoices"],
        ["payments"],  # after the invoices they settle (same table, a self lookup)
        ["sessions"],
        ["notes", "attachments"],
    ]


def test_PROFI_18_INT_01_the_coaching_schema_names_its_seed_tables_and_columns() -> None:
    plan = load_profile("profi").schema_
    assert plan is not None
    tables = {plan.table_logical_name(t.name, "new"): t.seed_name for t in plan.tables}
    assert tables == {
        "new_programenrollment": "Program_Enrollment__c",
        "new_coachingpayment": "Coaching_Payment__c",
        "new_coach": "Coach__c",
    }
    seeded = {(c.table, c.name): c.seed_name for c in plan.columns if c.seed_name}
    assert seeded[("contact", "ClientLifecycleStage")] == "Client_Lifecycle_Stage__c"
    assert seeded[("contact", "OriginalCreateDate")] == "Original_Create_Date__c"
    assert seeded[("account", "CompanyType")] == "Company_Type__c"
    assert {
        c: seeded[("task", c)] for c in ("SessionType", "DurationMinutes", "SessionDate", "SessionStatus")
    } == {
        "SessionType": "Session_Type__c",
        "DurationMinutes": "Duration_Minutes__c",
        "SessionDate": "Session_Date__c",
        "SessionStatus": "Session_Status__c",
    }
    for col in ("Amount", "Currency", "PaymentDate", "PaymentStatus"):
        assert ("CoachingPayment", col) in seeded
    assert all("__c" not in c.name and "_" not in c.name for c in plan.columns)  # INT-01


def test_PROFI_18_COM_11_the_three_coaching_tables_count_against_the_professional_cap() -> None:
    plan = load_profile("profi").schema_
    assert plan is not None
    planned = [plan.table_logical_name(t.name, "new") for t in plan.tables]
    findings, summary = check_custom_tables(planned, [f"new_other{i}" for i in range(12)], "professional")
    assert not findings and summary["total"] == 15  # 12 existing + 3 planned: exactly at the cap
    over, summary = check_custom_tables(planned, [f"new_other{i}" for i in range(13)], "professional")
    [(severity, finding)] = over
    assert severity == "blocking" and finding.code == "custom_table_cap_exceeded"
    assert finding.details["surplus"] == ["new_coach"] and "upgrade to Enterprise" in finding.message


# --- PROFI-04, PROFI-05: companies → accounts --------------------------------------------------------


def test_PROFI_04_company_is_an_account_with_industry_employees_revenue_and_address(pf: Records) -> None:
    co = next(c for c in pf["companies"] if c["employees"] and c["annual_revenue"] and c["industry"])
    row = _row("companies", co, pf)
    assert (row.table, row.id) == ("account", target_id(SCOPE, "profi", "companies", co["company_id"]))
    p = row.payload
    assert (p["name"], p["numberofemployees"], p["revenue"]) == (
        co["name"],
        co["employees"],
        float(co["annual_revenue"]),
    )
    assert p["new_industry"] == co["industry"] and p["websiteurl"] == co["website"]
    assert (p["address1_line1"], p["address1_city"], p["address1_stateorprovince"]) == (
        co["address_1"],
        co["city"],
        co["region"],
    )
    assert (p["address1_postalcode"], p["address1_country"]) == (co["postal_code"], co["country"])
    assert p["overriddencreatedon"] == co["created_at"] and p["new_profiid"] == co["company_id"]
    assert row.dedupe == {"name": co["name"], "websiteurl": co["website"]}  # COM-10


def test_PROFI_05_COM_16_every_company_type_maps_to_a_planned_option(pf: Records) -> None:
    plan = load_profile("profi").schema_
    assert plan is not None
    [column] = [c for c in plan.columns if (c.table, c.name) == ("account", "CompanyType")]
    options = {v for _, v in column.resolved_options(10_000)}
    for co in pf["companies"]:
        assert _row("companies", co, pf).payload["new_companytype"] in options
    with pytest.raises(UnmappedValue) as err:
        _out("companies", {**pf["companies"][0], "company_type": "nonprofit"}, pf)
    assert (err.value.object, err.value.field) == ("companies", "company_type")


# --- PROFI-06: the split by session history ---------------------------------------------------------


def test_PROFI_06_a_client_with_a_booked_session_is_a_contact_one_without_a_lead(pf: Records) -> None:
    sessions = _sessions(pf)
    landed = Counter()
    for c in pf["clients"]:
        if bad_email(c):
            continue
        row = _row("clients", c, pf)
        want = "contact" if sessions[c["client_id"]] else "lead"
        assert row.table == want, c["client_id"]
        assert row.id == target_id(SCOPE, "profi", "clients", c["client_id"])  # the same id either way
        landed[row.table] += 1
    assert landed["contact"] and landed["lead"]  # the sample has both


def test_PROFI_06_the_threshold_is_data_a_customer_overrides(pf: Records) -> None:
    once = next(c for c in pf["clients"] if _sessions(pf)[c["client_id"]] == 1 and not bad_email(c))
    assert _row("clients", once, pf).table == "contact"
    at_least_two = {
        "objects": [
            {
                "name": "clients",
                "split": [
                    {"when": {"field": "_join.sessions", "in": [0, 1]}, "table": "lead"},
                    {"otherwise": "contact"},
                ],
            }
        ]
    }
    assert _row("clients", once, pf, overrides=at_least_two).table == "lead"
    by_enrollment = {
        "objects": [
            {
                "name": "clients",
                "split": [
                    {"when": {"has_children": "enrollments"}, "table": "contact"},
                    {"otherwise": "lead"},
                ],
            }
        ]
    }
    enrolled = {e["client_id"] for e in pf["enrollments"]}
    for c in pf["clients"][:40]:
        if not bad_email(c):
            want = "contact" if c["client_id"] in enrolled else "lead"
            assert _row("clients", c, pf, overrides=by_enrollment).table == want


def test_PROFI_06_only_held_sessions_count_when_the_join_says_so(pf: Records) -> None:
    completed = Counter(s["client_id"] for s in pf["sessions"] if s["status"] == "completed")
    c = next(
        c
        for c in pf["clients"]
        if _sessions(pf)[c["client_id"]] and not completed[c["client_id"]] and not bad_email(c)
    )
    clients = next(o for o in raw_profile("profi")["objects"] if o["name"] == "clients")
    joins = [  # a list in an override replaces the profile's: the other joins are kept as they are
        {**j, "where": {"field": "status", "equals": "completed"}} if j["name"] == "sessions" else j
        for j in clients["joins"]
    ]
    held = {"objects": [{"name": "clients", "joins": joins}]}
    assert _row("clients", c, pf).table == "contact"
    assert _row("clients", c, pf, overrides=held).table == "lead"


# --- PROFI-01, -02, -03: the client's row ------------------------------------------------------------


def test_PROFI_01_contact_name_email_phone_and_company(pf: Records) -> None:
    c = _client(pf, contact=True)
    row = _row("clients", c, pf)
    p = row.payload
    assert (p["firstname"], p["lastname"], p["emailaddress1"], p["telephone1"]) == (
        c["first_name"],
        c["last_name"],
        c["email"],
        c["phone"],
    )
    assert p["new_profiid"] == c["client_id"]
    [parent] = row.lookups
    assert parent.candidates == [("companies", c["company_id"])]
    assert resolve_lookup(parent, entry("account")).nav == "parentcustomerid_account"
    assert resolve_lookup(parent, entry(None)).kind == "none"  # a deleted company: no link, no loss


def test_PROFI_01_a_lead_has_subject_name_and_its_company(pf: Records) -> None:
    c = _client(pf, contact=False)
    row = _row("clients", c, pf)
    p = row.payload
    assert p["subject"] == f"{c['first_name']} {c['last_name']}" and p["lastname"] == c["last_name"]
    assert resolve_lookup(row.lookups[0], entry("account")).nav == "parentaccountid"


def test_PROFI_01_COM_16_a_malformed_client_email_is_quarantined_naming_the_field(pf: Records) -> None:
    bad = next(c for c in pf["clients"] if bad_email(c))
    with pytest.raises(InvalidField) as err:
        _out("clients", bad, pf)
    assert (err.value.object, err.value.source_id, err.value.field) == ("clients", bad["client_id"], "email")


def test_PROFI_02_lifecycle_stage_lands_in_its_choice_on_contact_and_lead(pf: Records) -> None:
    for contact in (True, False):
        for stage, option in STAGES.items():
            c = _client(pf, contact=contact, lifecycle_stage=stage)
            p = _row("clients", c, pf).payload
            assert p["new_clientlifecyclestage"] == option and "new_clientlifecyclestagetext" not in p


def test_PROFI_02_COM_16_every_stage_maps_to_an_option_of_the_planned_option_set(pf: Records) -> None:
    plan = load_profile("profi").schema_
    assert plan is not None
    [gos] = [o for o in plan.option_sets if o.name == "ClientLifecycleStage"]
    options = dict(gos.resolved_options(10_000))
    assert set(STAGES.values()) == set(options.values())
    seen = {c["lifecycle_stage"] for c in pf["clients"]}
    assert seen - set(STAGES) == {UNMAPPED_STAGE}  # every sample label is mapped but the planted one


def test_PROFI_02_COM_16_a_stage_without_an_option_is_kept_as_text_never_another_option(pf: Records) -> None:
    planted = next(c for c in pf["clients"] if c["lifecycle_stage"] == UNMAPPED_STAGE)
    p = _row("clients", planted, pf).payload
    assert "new_clientlifecyclestage" not in p and p["new_clientlifecyclestagetext"] == UNMAPPED_STAGE


def test_PROFI_03_INT_30_original_create_date_in_its_column_and_as_createdon(pf: Records) -> None:
    for contact in (True, False):
        c = _client(pf, contact=contact)
        p = _row("clients", c, pf).payload
        assert p["new_originalcreatedate"] == p["overriddencreatedon"] == c["created_at"]


def test_PROFI_01_INT_07_archived_clients_become_inactive_contacts_and_disqualified_leads(
    pf: Records,
) -> None:
    for contact, pair in ((True, (1, 2)), (False, (2, 6))):
        row = _row("clients", _client(pf, contact=contact, status="archived"), pf)
        assert row.follow_up is not None and (row.follow_up.state, row.follow_up.status) == pair
        assert row.payload["statuscode"] == 1 and "statecode" not in row.payload
        active = _row("clients", _client(pf, contact=contact, status="active"), pf)
        assert active.follow_up is None and active.payload["statuscode"] == 1


# --- PROFI-14: custom fields → typed columns --------------------------------------------------------


def test_PROFI_14_COM_14_every_custom_field_becomes_a_typed_column_on_its_table(pf: Records) -> None:
    profile = load_profile("profi")
    indexes = {(o.name, j.name): typed_index(j, pf) for o in profile.objects for j in o.joins}
    plan = run_plan(profile, indexes)
    added = {
        (c.table, c.name): c.type
        for c in plan.columns
        if c.seed_name in {d["field_key"] for d in pf["custom_fields"]}
    }
    client_fields = {d["field_key"] for d in pf["custom_fields"] if d["entity"] == "client"}
    company_fields = {d["field_key"] for d in pf["custom_fields"] if d["entity"] == "company"}
    assert {(t, n) for t, n in added} == {
        (t, column_name(k)) for k in client_fields for t in ("contact", "lead")
    } | {("account", column_name(k)) for k in company_fields}
    kinds = {"text": "string", "date": "date", "number": "decimal", "select": "choice", "boolean": "boolean"}
    for d in pf["custom_fields"]:  # typed by the definitions, not guessed from the values
        for table in ("contact", "lead") if d["entity"] == "client" else ("account",):
            assert added[(table, column_name(d["field_key"]))] == kinds[d["type"]], d["field_key"]
    [focus] = [c for c in plan.columns if (c.table, c.name) == ("contact", "CoachingFocus")]
    assert [o.label for o in focus.options] == ["career", "leadership", "wellbeing"]
    assert focus.display_name == "Coaching focus"


def test_PROFI_14_custom_values_are_written_into_their_columns(pf: Records) -> None:
    values = {(v["entity_id"], v["field_key"]): v["value"] for v in pf["custom_field_values"]}
    good = {c["client_id"]: c for c in pf["clients"] if not bad_email(c)}
    cid = next(e for (e, k) in values if k == "goal_date" and e in good)
    c = good[cid]
    p = _row("clients", c, pf).payload
    assert p["new_goaldate"] == values[(cid, "goal_date")]
    for (entity, key), value in values.items():
        if key == "session_budget" and entity == cid:
            assert p["new_sessionbudget"] == float(value)
    coid = next(e for (e, k) in values if k == "corporate_contract")
    co = next(c for c in pf["companies"] if c["company_id"] == coid)
    assert _row("companies", co, pf).payload["new_corporatecontract"] is (
        values[(coid, "corporate_contract")] == "true"
    )
    cf = next(c for (e, k) in values if k == "coaching_focus" and (c := good.get(e)))
    options = _indexes(load_profile("profi"), "clients", pf)["client_fields"].options["coaching_focus"]
    label = values[(cf["client_id"], "coaching_focus")]
    assert _row("clients", cf, pf).payload["new_coachingfocus"] == options[label]


def test_PROFI_14_COM_16_a_custom_select_value_outside_its_options_is_quarantined(pf: Records) -> None:
    values = {(v["entity_id"], v["field_key"]) for v in pf["custom_field_values"]}
    c = next(c for c in pf["clients"] if (c["client_id"], "coaching_focus") in values and not bad_email(c))
    profile = load_profile("profi")
    idx = _indexes(profile, "clients", pf)
    o = profile.object("clients")
    assert o is not None
    joined = {n: i.value_for(c["client_id"]) for n, i in idx.items()}
    joined["client_fields"]["coaching_focus"] = "astrology"
    with pytest.raises(UnmappedValue) as err:
        transform_record(
            o,
            {**c, JOIN_FIELD: joined},
            source="profi",
            scope=SCOPE,
            owners=None,
            custom_columns=True,
            children=lambda child, pid: True,
            property_types={"client_fields": dict(idx["client_fields"].types)},
            property_options={"client_fields": dict(idx["client_fields"].options)},
        )
    assert err.value.field == "client_fields.coaching_focus"


# --- PROFI-07, PROFI-08: sessions → tasks -------------------------------------------------------------


def test_PROFI_07_session_is_a_task_with_its_session_columns_regarding_the_client(pf: Records) -> None:
    s = next(s for s in pf["sessions"] if s["status"] == "completed")
    row = _row("sessions", s, pf)
    p = row.payload
    assert (row.table, p["subject"]) == ("task", s["title"])
    assert (p["scheduledstart"], p["scheduledend"]) == (s["start_at"], s["end_at"])
    assert p["new_durationminutes"] == p["actualdurationminutes"] == s["duration_min"]
    assert p["new_sessiondate"] == s["start_at"] and p["overriddencreatedon"] == s["created_at"]
    assert (
        p["new_sessiontype"]
        == {"video": 100000000, "in_person": 100000001, "phone": 100000002}[s["session_type"]]
    )
    assert p["new_sessionstatus"] == 100000001
    [regarding] = row.lookups
    assert regarding.candidates == [("clients", s["client_id"])] and regarding.required
    assert resolve_lookup(regarding, entry("contact")).nav == "regardingobjectid_contact_task"
    assert resolve_lookup(regarding, entry("lead")).nav == "regardingobjectid_lead_task"
    assert resolve_lookup(regarding, entry(None)).kind == "missing"  # never an orphan activity


@pytest.mark.parametrize(("status", "option", "pair"), [
    ("scheduled", 100000000, None), ("completed", 100000001, (1, 5)),
    ("cancelled", 100000002, (2, 6)), ("no_show", 100000003, (2, 6)),
])  # fmt: skip
def test_PROFI_07_session_status_keeps_its_label_and_sets_the_task_state(
    pf: Records, status: str, option: int, pair: tuple[int, int] | None
) -> None:
    row = _row("sessions", next(s for s in pf["sessions"] if s["status"] == status), pf)
    assert row.payload["new_sessionstatus"] == option and row.payload["statuscode"] == 2
    assert (None if row.follow_up is None else (row.follow_up.state, row.follow_up.status)) == pair


def test_PROFI_08_PROFI_15_the_session_coach_owns_the_task_by_email(pf: Records, owners: OwnerMap) -> None:
    org = {u["internalemailaddress"].lower(): u for u in json.loads(TARGET_ORG.read_text())["systemusers"]}
    email = {k["coach_id"]: k["email"] for k in pf["coaches"]}
    seen = set()
    for s in pf["sessions"]:
        row = _row("sessions", s, pf, owners=owners)
        user = org.get(email[s["coach_id"]].lower())
        if user is not None and not user["isdisabled"]:
            assert (row.owner_id, row.owner_status) == (user["systemuserid"], "matched")
        else:  # PROFI-16, COM-20: a disabled or unknown coach's sessions go to the fallback owner
            assert row.owner_id == FALLBACK and row.owner_status in ("disabled", "unmatched")
        seen.add(row.owner_status)
    assert seen == {"matched", "disabled", "unmatched"}


def test_PROFI_15_every_owned_object_takes_its_owner_from_the_coach(pf: Records, owners: OwnerMap) -> None:
    profile = load_profile("profi")
    owned = {o.name: o.owner.from_ for o in profile.objects if o.owner is not None}
    assert owned == {
        "clients": ["coach_id"],
        "coaches": ["coach_id"],
        "sessions": ["coach_id"],
        "notes": ["author_id"],
    }
    c = _client(pf, contact=True)
    assert _row("clients", c, pf, owners=owners).owner_status in ("matched", "disabled", "unmatched")


def test_PROFI_16_COM_18_the_coach_email_audit_names_matched_disabled_and_unknown_coaches(
    owners: OwnerMap, pf: Records
) -> None:
    status = {k: m.status for k, m in owners.matches.items()}
    inactive = next(k["coach_id"] for k in pf["coaches"] if k["status"] == "inactive")
    assert status[inactive] == "disabled"  # a coach who left: disabled in Dynamics too
    assert Counter(status.values()) == Counter({"matched": 4, "disabled": 1, "unmatched": 1})


# --- PROFI-09, PROFI-10: the coaching tables ------------------------------------------------------------


def test_PROFI_09_enrollment_row_with_status_progress_and_its_client(pf: Records) -> None:
    e = next(e for e in pf["enrollments"] if e["status"] == "active")
    row = _row("enrollments", e, pf)
    p = row.payload
    assert (row.table, row.entity_set) == ("new_programenrollment", "new_programenrollments")
    assert p["new_enrollmentstatus"] == 100000000 and p["new_progresspercent"] == float(e["progress_pct"])
    assert (p["new_enrolledon"], p["new_programid"], p["new_profiid"]) == (
        e["enrolled_at"],
        e["program_id"],
        e["enrollment_id"],
    )
    done = _row("enrollments", next(e for e in pf["enrollments"] if e["status"] == "completed"), pf)
    assert done.payload["new_enrollmentstatus"] == 100000001 and done.payload["new_completedon"]
    _check_client_links(row, e["client_id"])


def _check_client_links(row: TargetRow, client: str) -> None:
    """PROFI-09/10 + GAP-01: the client's Contact, or the Lead it became — exactly one is bound."""
    contact, lead = row.lookups[:2]
    assert contact.candidates == lead.candidates == [("clients", client)]
    for table, bound in (("contact", contact), ("lead", lead)):
        other = lead if bound is contact else contact
        assert resolve_lookup(bound, entry(table)).nav == f"new_Client{table.capitalize()}"
        assert resolve_lookup(other, entry(table)).kind == "none"
    assert {resolve_lookup(lk, entry(None)).kind for lk in (contact, lead)} == {"none"}


def test_PROFI_10_payment_row_with_amount_currency_date_status_and_its_invoice(pf: Records) -> None:
    pay = next(p for p in pf["payments"] if p["status"] == "refunded")
    row = _row("payments", pay, pf)
    p = row.payload
    assert (row.table, p["new_recordtype"]) == ("new_coachingpayment", 100000000)
    assert (p["new_amount"], p["new_currency"], p["new_paymentdate"]) == (
        float(pay["amount"]),
        pay["currency"],
        pay["paid_at"],
    )
    assert p["new_paymentstatus"] == 100000001 and p["new_paymentmethod"] == pay["method"]
    _check_client_links(row, pay["client_id"])
    invoice = row.lookups[2]
    assert invoice.candidates == [("invoices", pay["invoice_id"])]
    assert resolve_lookup(invoice, entry("new_coachingpayment")).nav == "new_Invoice"


def test_PROFI_10_an_invoice_is_a_coaching_payment_row_of_type_invoice(pf: Records) -> None:
    inv = next(i for i in pf["invoices"] if i["status"] == "overdue")
    p = _row("invoices", inv, pf).payload
    assert (p["new_recordtype"], p["new_name"], p["new_invoicenumber"]) == (
        100000001,
        inv["number"],
        inv["number"],
    )
    assert (p["new_amount"], p["new_currency"], p["new_duedate"]) == (
        float(inv["total_amount"]),
        inv["currency"],
        inv["due_at"],
    )
    assert p["new_paymentstatus"] == 100000006


def test_PROFI_10_COM_16_every_payment_and_invoice_status_maps_to_a_planned_option(pf: Records) -> None:
    plan = load_profile("profi").schema_
    assert plan is not None
    [column] = [c for c in plan.columns if c.name == "PaymentStatus"]
    options = {v for _, v in column.resolved_options(10_000)}
    for obj in ("payments", "invoices"):
        for r in pf[obj]:
            assert _row(obj, r, pf).payload["new_paymentstatus"] in options
    with pytest.raises(UnmappedValue) as err:
        _out("payments", {**pf["payments"][0], "status": "chargeback"}, pf)
    assert err.value.field == "status"


# --- PROFI-11: coaches ------------------------------------------------------------------------------


def test_PROFI_11_coach_profile_row_linked_to_the_user_with_the_coachs_email(pf: Records) -> None:
    k = next(k for k in pf["coaches"] if k["credentials"])
    row = _row("coaches", k, pf)
    p = row.payload
    assert (row.table, row.entity_set) == ("new_coach", "new_coaches")
    assert p["new_name"] == f"{k['first_name']} {k['last_name']}"
    assert (p["new_specialty"], p["new_credentials"], p["new_bio"]) == (
        k["specialty"],
        k["credentials"],
        k["bio"],
    )
    [user] = row.references
    assert (user.entity_set, user.key, user.value, user.bind) == (
        "systemusers",
        "internalemailaddress",
        k["email"],
        "new_User",
    )
    assert not user.required  # a coach without a Dynamics user keeps the profile, without the link


def test_PROFI_11_a_coach_who_left_is_an_inactive_coach_row(pf: Records) -> None:
    gone = _row("coaches", next(k for k in pf["coaches"] if k["status"] == "inactive"), pf)
    assert gone.follow_up is not None and (gone.follow_up.state, gone.follow_up.status) == (1, 2)
    assert _row("coaches", {**pf["coaches"][0], "status": None}, pf).follow_up is None


# --- PROFI-12, PROFI-13: notes and their files --------------------------------------------------------


def test_PROFI_12_client_note_is_an_annotation_with_its_text_time_and_author(
    pf: Records, owners: OwnerMap
) -> None:
    n = next(n for n in pf["notes"] if not n["session_id"])
    row = _row("notes", n, pf, owners=owners)
    p = row.payload
    assert (row.table, row.target, p["subject"]) == ("annotation", "client_note", "Profi client note")
    assert (p["notetext"], p["overriddencreatedon"]) == (n["body"], n["created_at"])
    assert row.owner_status in ("matched", "disabled", "unmatched")
    [parent] = row.lookups
    assert resolve_lookup(parent, entry("lead")).nav == "objectid_lead"


def test_PROFI_12_CON_06_rich_text_is_kept_as_written(pf: Records) -> None:
    html = '<p>Goals: <b>delegation</b> &amp; <a href="https://x.example">plan</a></p><ul><li>a</li></ul>'
    n = {**next(n for n in pf["notes"] if not n["session_id"]), "body": html}
    assert _row("notes", n, pf).payload["notetext"] == html
    long = max(pf["notes"], key=lambda n: len(n["body"] or ""))
    assert len(long["body"]) > 30_000 and _row("notes", long, pf).payload["notetext"] == long["body"]


def test_PROFI_12_session_note_hangs_on_the_session_task_else_on_the_client(pf: Records) -> None:
    n = next(n for n in pf["notes"] if n["session_id"])
    row = _row("notes", n, pf)
    assert row.target == "session_note"
    [parent] = row.lookups
    assert parent.candidates == [("sessions", n["session_id"]), ("clients", n["client_id"])]
    assert resolve_lookup(parent, entry("task")).nav == "objectid_task"

    def session_gone(obj: str, sid: str) -> tuple[str, str] | None:
        return None if obj == "sessions" else ("contact", f"id-of-{sid}")

    res = resolve_lookup(parent, session_gone)
    assert (res.kind, res.nav) == ("bound", "objectid_contact")


def test_PROFI_13_COM_05_a_file_embedded_in_a_note_is_a_note_attachment(pf: Records) -> None:
    a = next(a for a in pf["attachments"] if a["size_bytes"] < 5 * 1024 * 1024)
    row = _row("attachments", a, pf)
    p = row.payload
    assert (row.table, p["subject"], p["filename"], p["mimetype"]) == (
        "annotation",
        a["file_name"],
        a["file_name"],
        a["mime_type"],
    )
    assert p["notetext"] == f"Attached to Profi note {a['note_id']}"
    assert row.file is not None and (row.file.column, row.file.size) == ("documentbody", a["size_bytes"])
    [parent] = row.lookups
    assert parent.candidates == [("clients", a["client_id"])] and parent.required
    note_client = {n["note_id"]: n["client_id"] for n in pf["notes"]}
    assert all(
        x["client_id"] == note_client[x["note_id"]] for x in pf["attachments"] if x["note_id"] in note_client
    )


def test_PROFI_13_COM_41_the_file_over_the_limit_carries_its_size_for_preflight_and_load(
    pf: Records, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The > 5 MB file is git-ignored in the repo: generate the sample to see its row as staged."""
    gen = generate(tmp_path_factory.mktemp("profi") / "export")
    src = ExportSource(gen.out, load_layout("profi"))
    staged = [r.record for page in src.read("attachments") for r in page.records if r.record is not None]
    big = next(a for a in staged if a["size_bytes"] > 5 * 1024 * 1024)
    row = _row("attachments", big, pf)
    assert row.file is not None and row.file.size == big["size_bytes"] == big["_file"]["size"]


# --- PROFI-19 … PROFI-22: the source ----------------------------------------------------------------


def test_PROFI_19_every_profile_object_reads_a_layout_file_by_its_primary_key() -> None:
    layout = load_layout("profi")
    for o in load_profile("profi").objects:
        assert o.staged in layout.files, o.name
        assert o.id_from == layout.files[o.staged].primary_key, o.name


def test_PROFI_21_PROFI_22_discovery_reports_broken_package_links_and_recordings(
    source: ExportSource,
) -> None:
    d = source.discover()
    [links] = [w for w in d.warnings if w.startswith("PROFI-21")]
    assert "sessions whose package/enrollment link is missing" in links
    recordings = [i for i in d.inventory if "PROFI-22" in i.detail]
    assert recordings and all("file-level export" in i.recommendation for i in recordings)


def test_COM_12_every_staged_object_is_mapped_or_skipped_by_a_named_rule() -> None:
    profile = load_profile("profi")
    mapped = {o.staged for o in profile.objects}
    skipped = {s.object: s.rule for s in profile.skip}
    assert mapped | set(skipped) == set(load_layout("profi").files)
    assert not mapped & set(skipped)
    assert skipped == {
        "programs": "profi_catalog",
        "services": "profi_catalog",
        "custom_fields": "custom_field_definitions",
        "custom_field_values": "custom_field_values_as_columns",
    }
    assert all(profile.skip_rules[rule] for rule in skipped.values())


def test_PROFI_20_sample_every_record_lands_or_is_quarantined_only_for_planted_defects(pf: Records) -> None:
    outcomes: Counter[str] = Counter()
    for o in load_profile("profi").objects:
        for r in pf[o.staged]:
            planted = o.name == "clients" and bad_email(r)
            try:
                out = _out(o.name, r, pf)
            except InvalidField as err:
                assert planted and err.field == "email", (o.name, r)
                continue
            assert isinstance(out, TargetRow) and not planted, (o.name, r)
            outcomes[o.name] += 1
    for name in ("companies", "clients", "sessions", "enrollments", "payments", "invoices", "notes"):
        assert outcomes[name] > 0, name  # the sample spans every entity the review covers


# --- the columns the profile writes exist -----------------------------------------------------------


def _tables() -> dict[str, dict[str, Any]]:
    return json.loads(METADATA.read_text(encoding="utf-8"))["tables"]


def _written(t: TargetMap) -> list[str]:
    cols = [f.to for f in t.fields] + ([t.source_id_to] if t.source_id_to else [])
    for vm in t.value_maps:
        cols.append(vm.to)
        if vm.unmapped.startswith("keep_label_in:"):
            cols.append(vm.unmapped.removeprefix("keep_label_in:"))
    if t.file is not None:
        cols += [t.file.body, t.file.name_to, t.file.mime_to]
    if t.state is not None:
        cols += ["statecode", "statuscode"]
    return [c.replace("{prefix}", "new") for c in cols]


def test_COM_13_every_column_and_navigation_the_profile_writes_exists_or_is_planned() -> None:
    profile = load_profile("profi")
    plan = profile.schema_
    assert plan is not None
    standard = _tables()
    planned = {
        (plan.table_logical_name(c.table, "new"), plan.column_logical_name(c.name, "new")): c
        for c in plan.columns
    }
    custom = {plan.table_logical_name(t.name, "new"): t for t in plan.tables}
    for o in profile.objects:
        for name, t in o.targets.items():
            where = (o.name, name)
            if t.table in custom:
                assert t.primary_id == f"{t.table}id", where
                cols = {c for (tab, c) in planned if tab == t.table} | {"new_name", "overriddencreatedon"}
                cols |= {"statecode", "statuscode"}
            else:
                meta = standard[t.table]
                assert (t.entity_set, t.primary_id) == (meta["entity_set"], meta["primary_id"]), where
                cols = {c for c, a in meta["attributes"].items() if a.get("create")}
                state = {c: meta["attributes"].get(c, {}) for c in ("statecode", "statuscode")}
                cols |= {c for c, a in state.items() if a.get("update")}
                cols |= {c for (tab, c) in planned if tab == t.table}
            for col in _written(t):
                assert col in cols, (*where, col)
            for lk in t.lookups:
                to = lk.to.replace("{prefix}", "new")
                if to.startswith("new_"):  # a planned lookup: its navigation is its schema name
                    col = planned[(t.table, to)]
                    assert col.type == "lookup" and lk.bind == f"new_{col.name}", (*where, to)
                else:
                    nav = standard[t.table]["attributes"][to]["nav"]
                    assert lk.bind.replace("{to}", to).replace("{table}", "contact") in nav.values(), where
            for ref in t.references:
                col = planned[(t.table, ref.to.replace("{prefix}", "new"))]
                assert col.type == "lookup" and col.target == "systemuser" and ref.bind == f"new_{col.name}"
