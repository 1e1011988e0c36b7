"""The Practice profile, row by row of the seed's object-mapping table (PRAC-01 … PRAC-24), on the
sample export generated afresh (so it carries its > 5 MB attachment) and read exactly as a migration
stages it; the joins (client properties, session revenue) are built from the sample's own rows."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from samples._export_kit import Generated
from samples.practice.generate import UNMAPPED_SERVICE, generate
from shared.errors import InvalidField, UnmappedValue
from shared.ids import target_id
from shared.mapping import OwnerMap, load_profile, transform_record
from shared.mapping.joins import JOIN_FIELD, JoinIndex, build_index
from shared.mapping.owners import SystemUser, match_users
from shared.mapping.profile import ObjectMap, Profile
from shared.mapping.transform import Skipped, TargetRow, resolve_lookup
from shared.migration.attachments import plan_files
from shared.migration.joins import run_plan
from shared.sources.exports import ExportSource, load_layout
from tests.unit.shared.mapping.support import as_row, bad_email, entry

REPO = Path(__file__).resolve().parents[4]
TARGET_ORG = REPO / "samples" / "practice" / "target_org.json"
STANDARD = REPO / "emulators" / "dataverse" / "metadata" / "standard_tables.json"
SCOPE = "acme-practice"
OPTION = 100_000_000  # the profile's explicit option values start at the default prefix block
UPLOAD_LIMIT = 5_242_880  # Dataverse's default organization.maxuploadfilesize
Records = dict[str, list[dict[str, Any]]]

OPT_IN_REVENUE: dict[str, Any] = {
    "objects": [
        {
            "name": "session_revenue",
            "split": [
                {"when": {"field": "_join.paid_sessions", "equals": 0}, "skip": "no_paid_sessions"},
                {"otherwise": "opportunity"},
            ],
        }
    ]
}
NO_INVOICE_MODULE: dict[str, Any] = {
    "objects": [
        {"name": "invoices", "split": [{"otherwise": "skip:invoice_module_not_licensed"}]},
        {"name": "invoice_line_items", "split": [{"otherwise": "skip:invoice_module_not_licensed"}]},
    ]
}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    return generate(tmp_path_factory.mktemp("practice") / "export")


@pytest.fixture(scope="module")
def rec(sample: Generated) -> Records:
    return sample.records


@pytest.fixture(scope="module")
def owners(sample: Generated) -> OwnerMap:
    org = json.loads(TARGET_ORG.read_text(encoding="utf-8"))
    users = [SystemUser.model_validate(u) for u in org["systemusers"]]
    src = ExportSource(sample.out, load_layout("practice"))
    try:
        matches = match_users(src.users(), users)
    finally:
        src.close()
    admin = next(u.systemuserid for u in users if u.internalemailaddress == "admin@the-practice.example")
    return OwnerMap(matches=matches, fallback_owner_id=admin)


def _profile(overrides: dict[str, Any] | None = None) -> Profile:
    return load_profile("practice", overrides)


def _obj(name: str, overrides: dict[str, Any] | None = None) -> ObjectMap:
    o = _profile(overrides).object(name)
    assert o is not None, name
    return o


def _indexes(obj: ObjectMap, rec: Records) -> dict[str, JoinIndex]:
    return {j.name: build_index(j, rec[j.object]) for j in obj.joins}


def _out(name: str, record: dict[str, Any], rec: Records | None = None, **kw: Any) -> TargetRow | Skipped:
    obj = _obj(name, kw.pop("overrides", None))
    if obj.joins:
        assert rec is not None, "an object with joins needs the sample's rows"
        indexes = _indexes(obj, rec)
        sid = obj.source_id(record)
        record = {**record, JOIN_FIELD: {n: i.value_for(sid) for n, i in indexes.items()}}
        kw.setdefault("property_types", {n: dict(i.types) for n, i in indexes.items() if i.kind == "pivot"})
    kw.setdefault("owners", None)
    return transform_record(obj, record, source="practice", scope=SCOPE, **kw)


def _row(name: str, record: dict[str, Any], rec: Records | None = None, **kw: Any) -> TargetRow:
    return as_row(_out(name, record, rec, **kw))


def _client(rec: Records, kind: str, **where: Any) -> dict[str, Any]:
    return next(
        c
        for c in rec["clients"]
        if c["client_type"] == kind and not bad_email(c) and all(c.get(k) == v for k, v in where.items())
    )


# --- load order ------------------------------------------------------------------------------------


def test_PRAC_19_load_order_clients_before_sessions_before_notes() -> None:
    phases = [sorted(o.name for o in phase) for phase in _profile().phases()]
    assert phases == [
        ["organizations", "service_types"],
        ["clients"],
        ["invoices", "session_revenue", "sessions"],
        ["attachments", "invoice_line_items", "session_notes"],
    ]


# --- clients (PRAC-01, PRAC-02, CON-07) ------------------------------------------------------------


def test_PRAC_01_person_client_is_a_contact_with_name_email_phone(rec: Records, owners: OwnerMap) -> None:
    c = _client(rec, "person", status="active")
    row = _row("clients", c, rec, owners=owners)
    assert (row.table, row.entity_set, row.target) == ("contact", "contacts", "contact")
    assert row.id == target_id(SCOPE, "practice", "clients", c["client_id"])
    p = row.payload
    assert (p["firstname"], p["lastname"], p["emailaddress1"]) == (
        c["first_name"],
        c["last_name"],
        c["email"],
    )
    assert p.get("telephone1") == c["phone"]
    assert (p["address1_city"], p["address1_country"]) == (c["city"], c["country"])
    assert p["overriddencreatedon"] == c["created_at"]  # COM-04: the original creation time
    assert not row.lookups  # no account: a person is a Contact only
    assert row.owner_id == owners.resolve(c["coach_user_id"])[0]  # PRAC-13: the coach
    # the person is not an Account: the organisation mapping skips it by name
    assert _out("organizations", c, rec) == Skipped(
        source_id=c["client_id"], rule="person_client_has_no_account"
    )


def test_PRAC_01_client_status_kept_and_inactive_set_after_insert(rec: Records) -> None:
    for status, state in (("active", None), ("waitlist", None), ("inactive", (1, 2))):
        c = _client(rec, "person", status=status)
        row = _row("clients", c, rec, custom_columns=True)
        assert row.payload["new_clientstatus"] == status  # the label, verbatim (waitlist has no status)
        assert row.payload["new_practiceclientid"] == c["client_id"]
        if state is None:
            assert row.follow_up is None and row.payload["statuscode"] == 1
        else:
            assert row.follow_up is not None
            assert (row.follow_up.kind, row.follow_up.state, row.follow_up.status) == ("set_state", *state)


def test_PRAC_02_organisation_client_is_an_account_with_coach_service_and_industry(
    rec: Records, owners: OwnerMap
) -> None:
    c = _client(rec, "organization", primary_service="Coaching")
    row = _row("organizations", c, rec, custom_columns=True, owners=owners)
    assert (row.table, row.entity_set) == ("account", "accounts")
    assert row.id == target_id(SCOPE, "practice", "organizations", c["client_id"])
    p = row.payload
    assert p["name"] == c["organization_name"]
    assert p["new_coach"] == c["coach_user_id"] and p["new_primaryservice"] == "Coaching"  # custom columns
    assert p["industrycode"] == 7  # the practice vertical, value-mapped: Coaching → Consulting
    assert row.owner_id == owners.resolve(c["coach_user_id"])[0]
    assert "emailaddress1" not in p  # the client's email is its contact person's


def test_PRAC_02_the_organisation_has_a_related_contact_linked_to_its_account(rec: Records) -> None:
    c = _client(rec, "organization")
    row = _row("clients", c, rec, custom_columns=True)
    assert (row.table, row.target) == ("contact", "organization_contact")
    assert row.id == target_id(SCOPE, "practice", "clients", c["client_id"])
    assert (row.payload["lastname"], row.payload["emailaddress1"]) == (c["last_name"], c["email"])
    [parent] = row.lookups
    assert parent.candidates == [("organizations", c["client_id"])] and parent.required
    res = resolve_lookup(parent, entry("account"))
    assert (res.kind, res.nav) == ("bound", "parentcustomerid_account")
    assert resolve_lookup(parent, entry(None)).kind == "missing"  # the account was refused: quarantined


def test_PRAC_02_COM_16_a_vertical_with_no_industry_keeps_its_label(rec: Records) -> None:
    client_id, label = UNMAPPED_SERVICE
    c = next(x for x in rec["clients"] if x["client_id"] == client_id)
    assert c["client_type"] == "organization" and c["primary_service"] == label
    row = _row("organizations", c, rec, custom_columns=True)
    assert "industrycode" not in row.payload  # never written as some other option
    assert row.payload["new_primaryservice"] == label


def test_CON_07_client_type_decides_and_an_unknown_type_is_quarantined(rec: Records) -> None:
    c = {**_client(rec, "person"), "client_type": "couple"}
    with pytest.raises(UnmappedValue) as err:
        _row("clients", c, rec)
    assert (err.value.object, err.value.field) == ("clients", "client_type")
    assert isinstance(_out("organizations", c, rec), Skipped)


def test_COM_16_malformed_client_email_is_quarantined_naming_the_field(rec: Records) -> None:
    bad = [c for c in rec["clients"] if bad_email(c)]
    assert bad, "the sample plants malformed emails"
    with pytest.raises(InvalidField) as err:
        _row("clients", bad[0], rec)
    assert (err.value.source_id, err.value.field) == (bad[0]["client_id"], "email")
    assert str(bad[0]["email"]) not in err.value.reason  # messages name fields, never values


# --- custom properties (PRAC-08, PRAC-09) ----------------------------------------------------------


def test_PRAC_08_PRAC_09_properties_become_typed_columns_on_contact_and_account(rec: Records) -> None:
    profile = _profile()
    indexes = {(o.name, j.name): build_index(j, rec[j.object]) for o in profile.objects for j in o.joins}
    plan = run_plan(profile, indexes)
    typed = {
        (c.table, c.name): c.type for c in plan.columns if c.seed_name in {"birthday", "hourly_rate", "goal"}
    }
    for table in ("contact", "account"):
        assert typed[(table, "Birthday")] == "date"  # DateOnly
        assert typed[(table, "HourlyRate")] == "decimal"
        assert typed[(table, "Goal")] == "string"
    props = Counter(p["client_id"] for p in rec["client_properties"])
    person = next(c for c in rec["clients"] if c["client_type"] == "person" and props[c["client_id"]] >= 2)
    values = {p["key"]: p["value"] for p in rec["client_properties"] if p["client_id"] == person["client_id"]}
    row = _row("clients", person, rec, custom_columns=True, prefix="cr1a")
    for key, value in values.items():
        column = "cr1a_" + key.replace("_", "")  # PRAC-09: snake_case → PascalCase, prefixed
        assert column in row.payload, key
        if key in ("hourly_rate", "sessions_prepaid"):
            assert row.payload[column] == float(Decimal(value))
        elif key in ("birthday", "intake_date"):
            assert row.payload[column] == value
        else:
            assert row.payload[column] == value.strip()
    org = next(c for c in rec["clients"] if c["client_type"] == "organization" and props[c["client_id"]])
    account = _row("organizations", org, rec, custom_columns=True)
    org_keys = {p["key"] for p in rec["client_properties"] if p["client_id"] == org["client_id"]}
    assert {f"new_{k.replace('_', '')}" for k in org_keys} <= set(account.payload)
    contact = _row("clients", org, rec, custom_columns=True)  # the contact person takes none
    assert not {f"new_{k.replace('_', '')}" for k in org_keys} & set(contact.payload)


# --- sessions (PRAC-03) ----------------------------------------------------------------------------


def test_PRAC_03_session_custom_table_with_client_lookup_status_choice_and_coach_owner(
    rec: Records, owners: OwnerMap
) -> None:
    s = next(x for x in rec["sessions"] if x["status"] == "completed" and x["user_id"] == "u00001")
    row = _row("sessions", s, custom_columns=True, owners=owners)
    assert (row.table, row.entity_set, row.primary_id) == ("new_session", "new_sessions", "new_sessionid")
    p = row.payload
    assert p["new_name"] == s["title"] and p["new_sessionstatus"] == OPTION + 1  # Completed
    assert p["new_sessiontype"] == OPTION + ["in_person", "video", "phone"].index(s["session_type"])
    assert (p["new_starttime"], p["new_endtime"]) == (s["start_at"], s["end_at"])
    assert p["new_durationminutes"] == s["duration_min"] and p["new_paid"] is s["paid"]
    assert p["new_amount"] == float(Decimal(s["amount"])) and p["new_currencycode"] == s["currency"]
    assert row.owner_id == owners.resolve("u00001")[0] and row.owner_status == "matched"
    [client] = row.lookups
    assert client.candidates == [("clients", s["client_id"])] and client.required
    res = resolve_lookup(client, entry("contact"))
    assert (res.kind, res.nav) == ("bound", "new_ClientId")  # the lookup's navigation property
    for status, option in (("scheduled", OPTION), ("cancelled", OPTION + 2)):
        other = next(x for x in rec["sessions"] if x["status"] == status)
        assert _row("sessions", other, custom_columns=True).payload["new_sessionstatus"] == option


def test_PRAC_03_COM_19_COM_20_sessions_of_a_disabled_or_unknown_coach_go_to_the_fallback(
    rec: Records, owners: OwnerMap
) -> None:
    for coach, status in (("u00003", "disabled"), ("u00005", "unmatched")):
        s = next(x for x in rec["sessions"] if x["user_id"] == coach)
        row = _row("sessions", s, owners=owners)
        assert (row.owner_id, row.owner_status) == (owners.fallback_owner_id, status)


def test_COM_16_session_status_without_an_option_is_quarantined(rec: Records) -> None:
    s = {**rec["sessions"][0], "status": "no_show"}
    with pytest.raises(UnmappedValue) as err:
        _row("sessions", s, custom_columns=True)
    assert (err.value.object, err.value.field) == ("sessions", "status")


# --- session revenue (PRAC-04, PRAC-05; CON-09) ----------------------------------------------------


def test_PRAC_04_session_revenue_is_opt_in_and_skipped_by_name_by_default(rec: Records) -> None:
    for c in rec["clients"][:10]:
        assert _out("session_revenue", c, rec) == Skipped(
            source_id=c["client_id"], rule="session_revenue_not_opted_in"
        )


def test_PRAC_04_PRAC_05_opted_in_paid_sessions_summed_counted_and_won(rec: Records) -> None:
    paid = [s for s in rec["sessions"] if s["paid"]]
    assert all(s["status"] == "completed" for s in paid)  # a paid session is a completed one
    by_client = Counter(s["client_id"] for s in paid)
    cid = next(c for c, n in by_client.most_common() if n >= 2)
    c = next(x for x in rec["clients"] if x["client_id"] == cid)
    row = _row("session_revenue", c, rec, custom_columns=True, overrides=OPT_IN_REVENUE)
    assert (row.table, row.entity_set) == ("opportunity", "opportunities")
    total = sum(Decimal(s["amount"]) for s in paid if s["client_id"] == cid)
    assert row.payload["estimatedvalue"] == float(total)  # each session adds its amount
    assert row.payload["new_sessioncount"] == by_client[cid]  # SessionCount__c (CON-09: n:1)
    [currency] = {s["currency"] for s in paid if s["client_id"] == cid}
    [ref] = row.references
    assert (ref.to, ref.value) == ("transactioncurrencyid", currency)
    # PRAC-05: paid revenue is won, through WinOpportunity with its actual revenue
    assert row.follow_up is not None and row.follow_up.kind == "win_opportunity"
    assert (row.follow_up.state, row.follow_up.status) == (1, 3)
    assert row.follow_up.close["actualrevenue"] == float(total)
    assert row.payload["statuscode"] == 1  # created open, closed after the insert
    customer = next(lk for lk in row.lookups if lk.to == "customerid")
    assert customer.candidates == [("organizations", cid), ("clients", cid)]
    assert resolve_lookup(customer, lambda o, s: ("contact", "x") if o == "clients" else None).nav == (
        "customerid_contact"
    )
    nobody = next(x for x in rec["clients"] if x["client_id"] not in by_client)
    assert _out("session_revenue", nobody, rec, overrides=OPT_IN_REVENUE) == Skipped(
        source_id=nobody["client_id"], rule="no_paid_sessions"
    )


# --- invoices and their lines (PRAC-06, PRAC-07; INT-29) ------------------------------------------


def test_PRAC_06_invoice_with_number_total_due_date_currency_and_customer(rec: Records) -> None:
    inv = next(i for i in rec["invoices"] if i["status"] == "overdue")
    row = _row("invoices", inv, custom_columns=True)
    assert (row.table, row.entity_set) == ("invoice", "invoices")
    p = row.payload
    assert p["name"] == f"Invoice {inv['number']}" and p["invoicenumber"] == inv["number"]
    assert p["duedate"] == inv["due_at"] and p["overriddencreatedon"] == inv["issued_at"]
    # INT-29: totalamount is computed from lines; the source total is kept beside it
    assert "totalamount" not in p and p["new_practicetotalamount"] == float(Decimal(inv["total_amount"]))
    assert p["new_practiceinvoicestatus"] == "overdue" and p["statuscode"] == 4  # Billed: no overdue
    assert row.follow_up is None
    refs = {r.to: r for r in row.references}
    assert (refs["transactioncurrencyid"].value, refs["transactioncurrencyid"].required) == ("USD", True)
    assert (refs["pricelevelid"].value, refs["pricelevelid"].required) == ("The Practice", False)
    [customer] = row.lookups
    assert customer.candidates == [("organizations", inv["client_id"]), ("clients", inv["client_id"])]
    org = resolve_lookup(
        customer, lambda o, s: ("account", "a") if o == "organizations" else ("contact", "c")
    )
    person = resolve_lookup(customer, lambda o, s: None if o == "organizations" else ("contact", "c"))
    assert (org.nav, person.nav) == ("customerid_account", "customerid_contact")


@pytest.mark.parametrize(("status", "state", "code"), [("paid", 2, 100001), ("void", 3, 100003)])
def test_PRAC_06_paid_and_void_invoices_are_set_after_insert(
    rec: Records, status: str, state: int, code: int
) -> None:
    inv = next(i for i in rec["invoices"] if i["status"] == status)
    row = _row("invoices", inv)
    assert row.payload["statuscode"] == 1 and row.reopen == {"statecode": 0, "statuscode": 1}
    assert row.follow_up is not None
    assert (row.follow_up.kind, row.follow_up.state, row.follow_up.status) == ("set_state", state, code)


def test_PRAC_06_GAP_02_without_the_sales_document_module_invoices_and_lines_are_skipped(
    rec: Records,
) -> None:
    inv, line = rec["invoices"][0], rec["invoice_line_items"][0]
    assert _out("invoices", inv, overrides=NO_INVOICE_MODULE) == Skipped(
        source_id=inv["invoice_id"], rule="invoice_module_not_licensed"
    )
    assert _out("invoice_line_items", line, overrides=NO_INVOICE_MODULE) == Skipped(
        source_id=line["line_id"], rule="invoice_module_not_licensed"
    )


def test_PRAC_07_invoice_line_is_a_custom_row_linked_to_invoice_service_type_and_session(
    rec: Records,
) -> None:
    line = next(x for x in rec["invoice_line_items"] if x["session_id"] and x["quantity"] == "0.5")
    row = _row("invoice_line_items", line, custom_columns=True)
    assert (row.table, row.entity_set) == ("new_invoicelineitem", "new_invoicelineitems")
    p = row.payload
    assert p["new_name"] == line["description"]
    assert (p["new_quantity"], p["new_unitprice"], p["new_amount"]) == (0.5, 120.0, 60.0)
    assert p["new_practicelineid"] == line["line_id"]
    links = {lk.to: lk for lk in row.lookups}
    assert links["new_invoiceid"].candidates == [("invoices", line["invoice_id"])]
    assert links["new_invoiceid"].required and links["new_invoiceid"].tables == ["invoice"]
    assert links["new_servicetypeid"].candidates == [("service_types", line["service_type"])]
    assert links["new_sessionid"].candidates == [("sessions", line["session_id"])]
    assert not links["new_sessionid"].required  # a package or product has no session
    nav = resolve_lookup(links["new_servicetypeid"], entry("new_servicetype")).nav
    assert nav == "new_ServiceTypeId"
    kinds = {x["service_type"] for x in rec["invoice_line_items"]}
    types = {t["service_type"]: t for t in rec["service_types"]}
    assert kinds <= set(types)  # every line finds its service type
    st = _row("service_types", types["package"], custom_columns=True)
    assert (st.table, st.payload["new_name"], st.payload["new_code"]) == (
        "new_servicetype",
        "Package",
        "package",
    )
    assert st.id == target_id(SCOPE, "practice", "service_types", "package")


# --- session notes (PRAC-10, PRAC-11) --------------------------------------------------------------


def test_PRAC_10_session_note_is_an_annotation_on_its_session(rec: Records, owners: OwnerMap) -> None:
    note = next(
        n for n in rec["session_notes"] if "<img" not in n["body_html"] and n["session_id"] != "se_deleted"
    )
    row = _row("session_notes", note, owners=owners)
    assert (row.table, row.entity_set) == ("annotation", "annotations")
    p = row.payload
    assert p["subject"] == f"{note['created_at'][:10]} Session Note"
    assert p["overriddencreatedon"] == note["created_at"]  # the original time in createdon
    assert "<" not in p["notetext"] and p["notetext"].strip()  # rich text stripped to plain text
    assert row.owner_id == owners.resolve(note["author_user_id"])[0]
    [parent] = row.lookups
    assert parent.candidates == [("sessions", note["session_id"])] and parent.required
    assert resolve_lookup(parent, entry("new_session")).nav == "objectid_new_session"
    assert resolve_lookup(parent, entry(None)).kind == "missing"  # se_deleted: quarantined


def test_PRAC_10_the_note_is_written_after_its_session_so_its_date_is_the_session_day(rec: Records) -> None:
    start = {s["session_id"]: s["start_at"] for s in rec["sessions"]}
    notes = [n for n in rec["session_notes"] if n["session_id"] in start]
    same_day = [n for n in notes if n["created_at"][:10] == start[n["session_id"]][:10]]
    assert len(same_day) >= 0.8 * len(notes)  # a note written past midnight carries the next day


def test_PRAC_10_a_40_KB_html_note_lands_whole_as_plain_text(rec: Records) -> None:
    long = max(rec["session_notes"], key=lambda n: len(n["body_html"]))
    assert len(long["body_html"]) > 30_000
    text = _row("session_notes", long).payload["notetext"]
    assert "<p>" not in text and len(text) > 30_000 and len(text) <= 100_000  # annotation.notetext


def test_PRAC_11_an_inline_image_stays_visible_in_the_note_never_dropped_silently(rec: Records) -> None:
    with_image = [n for n in rec["session_notes"] if "data:image/png" in n["body_html"]]
    assert with_image
    for note in with_image:
        text = _row("session_notes", note).payload["notetext"]
        assert text.count("[inline image: image/png]") == note["body_html"].count("<img")
        assert "base64" not in text


# --- documents (PRAC-12, CON-11, COM-41) -----------------------------------------------------------


def test_PRAC_12_client_document_is_a_note_with_its_file_on_the_client(rec: Records) -> None:
    doc = next(a for a in rec["attachments"] if not a["session_id"] and a["size_bytes"] < UPLOAD_LIMIT)
    row = _row("attachments", doc)
    assert (row.table, row.payload["subject"]) == ("annotation", f"Document: {doc['file_name']}")
    assert (row.payload["filename"], row.payload["mimetype"]) == (doc["file_name"], "application/pdf")
    assert row.file is not None and (row.file.column, row.file.size) == ("documentbody", doc["size_bytes"])
    assert row.payload["overriddencreatedon"] == doc["created_at"]
    [parent] = row.lookups
    assert parent.candidates == [("organizations", doc["client_id"]), ("clients", doc["client_id"])]
    to_contact = resolve_lookup(parent, lambda o, s: ("contact", "c") if o == "clients" else None)
    to_account = resolve_lookup(parent, lambda o, s: ("account", "a") if o == "organizations" else None)
    assert (to_contact.nav, to_account.nav) == ("objectid_contact", "objectid_account")


def test_PRAC_11_PRAC_12_a_document_shared_in_a_session_hangs_on_the_session(rec: Records) -> None:
    doc = next(a for a in rec["attachments"] if a["session_id"])
    session = next(s for s in rec["sessions"] if s["session_id"] == doc["session_id"])
    assert doc["client_id"] == session["client_id"]
    [parent] = _row("attachments", doc).lookups
    assert parent.candidates[0] == ("sessions", doc["session_id"])
    assert resolve_lookup(parent, entry("new_session")).nav == "objectid_new_session"


def test_PRAC_12_COM_41_a_document_over_the_upload_limit_is_quarantined_with_size_and_limit(
    rec: Records,
) -> None:
    big = next(a for a in rec["attachments"] if a["size_bytes"] > UPLOAD_LIMIT)
    small = next(
        a for a in rec["attachments"] if a["size_bytes"] < 4000 and a["file_name"] != big["file_name"]
    )
    rows = []
    for a in (big, small):
        staged = {**a, "_file": {**a["_file"], "blob": f"files/attachments/{a['attachment_id']}"}}
        rows.append(_row("attachments", staged))
    plan = plan_files(rows, UPLOAD_LIMIT, "practice", "attachments")  # the load step's own sorting
    [q] = plan.quarantine
    assert (q["source_id"], q["field"], q["limit_bytes"]) == (
        big["attachment_id"],
        "documentbody",
        UPLOAD_LIMIT,
    )
    assert big["file_name"] in q["reason"] and f"{big['size_bytes']:,} bytes" in q["reason"]
    assert plan.inline == {small["attachment_id"]}


# --- coaches (PRAC-13) -----------------------------------------------------------------------------


def test_PRAC_13_coaches_matched_by_email_to_enabled_users(owners: OwnerMap) -> None:
    status = {uid: m.status for uid, m in owners.matches.items()}
    assert status == {
        "u00001": "matched",
        "u00002": "matched",  # the target's address differs in case only
        "u00003": "disabled",
        "u00004": "matched",
        "u00005": "unmatched",
    }
    for uid in ("u00003", "u00005", None):
        assert owners.resolve(uid)[0] == owners.fallback_owner_id


# --- what is not migrated: discovery (PRAC-14 … 17, PRAC-22 … 24) ---------------------------------


@pytest.fixture(scope="module")
def inventory(sample: Generated) -> tuple[dict[str, list[Any]], list[str]]:
    """The discovery of the sample: its inventory items by requirement, and its warnings."""
    src = ExportSource(sample.out, load_layout("practice"))
    try:
        found = src.discover()
    finally:
        src.close()
    by_req: dict[str, list[Any]] = {}
    for item in found.inventory:
        by_req.setdefault(item.detail.split("]")[0].lstrip("["), []).append(item)
    return by_req, found.warnings


@pytest.mark.parametrize(
    ("requirement", "kind", "reference"),
    [
        ("PRAC-14", "workflow", "workflows"),
        ("PRAC-15", "email_template", "email_templates"),
        ("PRAC-16", "integration", "integrations"),
        ("PRAC-17", "report", "reports"),
    ],
)
def test_PRAC_14_PRAC_15_PRAC_16_PRAC_17_reference_files_are_inventoried_never_mapped(
    inventory: tuple[dict[str, list[Any]], list[str]], requirement: str, kind: str, reference: str
) -> None:
    items = inventory[0][requirement]
    assert items and {i.kind for i in items} == {kind} and all(i.recommendation for i in items)
    assert reference not in {o.staged for o in _profile().objects}  # CON-10: not migrated as data


def test_PRAC_22_recordings_and_large_files_are_listed_as_outside_the_extract(
    inventory: tuple[dict[str, list[Any]], list[str]],
) -> None:
    by_req, warnings = inventory
    recordings = by_req["PRAC-22"]
    assert {i.name for i in recordings} == {"Initial consultation (video)", "Follow-up (video)"}
    assert all(i.kind == "file_store" and "manual download" in i.recommendation for i in recordings)
    assert any("se000004" in i.detail for i in recordings)
    assert any("exceed Dataverse's default 5 MB" in w and "at000001" in w for w in warnings)


def test_PRAC_23_groups_and_tags_are_reported_as_not_carried(
    inventory: tuple[dict[str, list[Any]], list[str]],
) -> None:
    groups = inventory[0]["PRAC-23"]
    assert {i.name for i in groups} == {
        "Corporate programme",
        "Corporate programme / Leadership",
        "sliding-scale",
        "referral:GP",
    }
    assert all("Not carried" in i.recommendation for i in groups)
    assert any("parent: g1" in i.detail for i in groups)  # the inheritance the export drops


def test_PRAC_24_every_linked_contract_pdf_is_listed(
    inventory: tuple[dict[str, list[Any]], list[str]],
) -> None:
    contracts = inventory[0]["PRAC-24"]
    assert len(contracts) == 3
    assert all("https://files.the-practice.example/contracts/" in i.detail for i in contracts)
    assert all("linked file" in i.recommendation for i in contracts)


def test_PRAC_21_the_practice_is_read_from_its_manual_export_never_an_api(
    sample: Generated, tmp_path: Path
) -> None:
    from intact.demo import demo_spec
    from samples._export_kit import zip_export
    from shared.errors import ConfigError
    from shared.sources import open_source
    from shared.spec import SourceSpec, parse_spec

    data = demo_spec("https://contoso.crm.dynamics.com", source="thepractice").model_dump(mode="json")
    data["source"] = {"kind": "practice", "api_url": "https://api.the-practice.example", "api_key": "${KEY}"}
    with pytest.raises(ConfigError, match="has no API"):
        parse_spec(data)
    archive = zip_export(sample.out, tmp_path / "practice-export.zip")  # a folder or its .zip
    src = open_source(SourceSpec.model_validate({"kind": "practice", "path": str(archive)}))
    try:
        clients = [r.record for page in src.read("clients") for r in page.records if r.record]
    finally:
        src.close()
    assert clients == sample.records["clients"]


# --- the profile as a whole ------------------------------------------------------------------------


def test_PRAC_18_INT_01_custom_tables_and_columns_are_planned_with_the_seed_names() -> None:
    plan = _profile().schema_
    assert plan is not None
    tables = {t.name: t for t in plan.tables}
    assert {plan.table_logical_name(n, "new") for n in tables} == {
        "new_session",
        "new_servicetype",
        "new_invoicelineitem",
    }
    assert tables["Session"].seed_name == "new_Session" and tables["Session"].has_notes  # notes on it
    cols = {(c.table, c.name): c for c in plan.columns}
    client = cols[("Session", "ClientId")]
    assert (client.type, client.target, client.seed_name) == ("lookup", "contact", "new_ClientId")
    status = cols[("Session", "SessionStatus")]
    assert status.seed_name == "new_SessionStatus"
    assert status.resolved_options(10_000) == [
        ("Scheduled", OPTION),
        ("Completed", OPTION + 1),
        ("Cancelled", OPTION + 2),
    ]
    assert cols[("opportunity", "SessionCount")].seed_name == "SessionCount__c"
    assert (cols[("account", "Coach")].seed_name, cols[("account", "PrimaryService")].seed_name) == (
        "Coach__c",
        "Primary_Service__c",
    )
    assert cols[("InvoiceLineItem", "ServiceTypeId")].target == "ServiceType"
    assert not [c for c in plan.columns if "__c" in c.name]  # INT-01: prefix + name, never __c


def test_every_column_the_profile_writes_exists_in_dataverse_or_in_its_schema_plan(rec: Records) -> None:
    """Standard columns against the emulator's metadata (built from the shared entities.json), custom
    ones against the plan (and the property columns planned from the sample); lookups by their
    navigation property; choice values and state/status pairs against the table's options."""
    meta = json.loads(STANDARD.read_text(encoding="utf-8"))["tables"]
    profile = _profile()
    plan = profile.schema_
    assert plan is not None
    indexes = {(o.name, j.name): build_index(j, rec[j.object]) for o in profile.objects for j in o.joins}
    planned = {
        (plan.table_logical_name(c.table, "new"), f"new_{c.name.lower()}")
        for c in run_plan(profile, indexes).columns
    }
    planned |= {
        (plan.table_logical_name(t.name, "new"), f"new_{t.primary_name.name.lower()}") for t in plan.tables
    }
    plan_tables = {plan.table_logical_name(t.name, "new") for t in plan.tables}

    def exists(table: str, column: str) -> bool:
        if column.startswith("{prefix}_"):
            return (table, column.replace("{prefix}", "new")) in planned
        attrs = meta[table]["attributes"] if table in meta else {}
        if table in plan_tables:  # a custom table's system columns
            return column in {"overriddencreatedon", "statecode", "statuscode", "ownerid"}
        return column in attrs and attrs[column]["create"]

    problems = []
    for o in profile.objects:
        for name, t in o.targets.items():
            where = f"{o.name}.{name}"
            written = [f.to for f in t.fields] + [vm.to for vm in t.value_maps]
            written += [t.source_id_to] if t.source_id_to else []
            if t.file is not None:
                written += [t.file.body, t.file.name_to, t.file.mime_to]
            problems += [f"{where}: {t.table}.{c}" for c in written if not exists(t.table, c)]
            attrs = meta.get(t.table, {}).get("attributes", {})
            for vm in t.value_maps:
                if vm.to in attrs:
                    options = {v for v, _ in attrs[vm.to]["options"]}
                    problems += [f"{where}: {vm.to} option {v}" for v in vm.map.values() if v not in options]
            if t.state is not None and t.table in meta:
                state_of = attrs["statuscode"]["state_of"]
                for label, pair in t.state.map.items():
                    if state_of.get(str(pair.status)) != pair.state:
                        problems.append(f"{where}: {label} → state {pair.state}/status {pair.status}")
            for lk in t.lookups:
                column = lk.to.replace("{prefix}", "new")
                if column.startswith("new_"):  # a planned lookup column: its navigation is its SchemaName
                    assert (t.table, column) in planned, (where, lk.to)
                    lookup = next(c for c in plan.columns if f"new_{c.name.lower()}" == column)
                    assert lk.bind == f"new_{lookup.name}", (where, lk.bind)
                    continue
                navs = set(attrs[lk.to]["nav"].values()) if lk.to in attrs else set()
                parents = lk.tables or [meta_table for meta_table in attrs.get(lk.to, {}).get("targets", [])]
                for parent in parents:
                    nav = lk.bind.replace("{to}", lk.to).replace("{table}", parent)
                    if parent in meta and nav not in navs:
                        problems.append(f"{where}: {lk.to} binds {nav}")
            for ref in t.references:
                if ref.to not in attrs or ref.bind not in attrs[ref.to]["nav"].values():
                    problems.append(f"{where}: reference {ref.to}")
    assert problems == []


def test_COM_04_COM_16_every_sample_record_lands_or_is_a_planted_defect(
    rec: Records, owners: OwnerMap
) -> None:
    """Each record of the sample goes through its object's mapping: it lands, is skipped by a named
    rule, or is quarantined — and only the planted defects are quarantined here (the malformed
    emails); deleted parents and over-limit files are the load step's (their lookups and files)."""
    profile = _profile(OPT_IN_REVENUE)
    outcomes: dict[str, Counter[str]] = {}
    for o in profile.objects:
        indexes = _indexes(o, rec)
        types = {n: dict(i.types) for n, i in indexes.items() if i.kind == "pivot"}
        tally: Counter[str] = Counter()
        for r in rec[o.staged]:
            sid = o.source_id(r)
            record = {**r, JOIN_FIELD: {n: i.value_for(sid) for n, i in indexes.items()}} if indexes else r
            try:
                out = transform_record(
                    o,
                    record,
                    source="practice",
                    scope=SCOPE,
                    owners=owners,
                    custom_columns=True,
                    property_types=types,
                )
            except InvalidField as err:
                assert (o.name, err.field) == ("clients", "email"), err
                tally["quarantined"] += 1
                continue
            tally[out.rule if isinstance(out, Skipped) else out.table] += 1
        outcomes[o.name] = tally
    persons = sum(c["client_type"] == "person" for c in rec["clients"])
    bad = sum(bad_email(c) for c in rec["clients"])
    assert outcomes["clients"] == Counter({"contact": len(rec["clients"]) - bad, "quarantined": bad})
    assert outcomes["organizations"] == Counter(
        {"account": len(rec["clients"]) - persons, "person_client_has_no_account": persons}
    )
    paying = len({s["client_id"] for s in rec["sessions"] if s["paid"]})
    assert outcomes["session_revenue"] == Counter(
        {"opportunity": paying, "no_paid_sessions": len(rec["clients"]) - paying}
    )
    for name, table in (
        ("service_types", "new_servicetype"),
        ("sessions", "new_session"),
        ("invoices", "invoice"),
        ("invoice_line_items", "new_invoicelineitem"),
        ("session_notes", "annotation"),
        ("attachments", "annotation"),
    ):
        assert outcomes[name] == Counter({table: len(rec[name])}), name
