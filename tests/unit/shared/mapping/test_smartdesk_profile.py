"""The SmartDesk profile, row by row of the seed's object-mapping table (SD-01 … SD-19), on the
committed sample export read through the export reader (records typed exactly as a migration stages
them), with the mapping the run generates from the export's own pipelines and stages."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from shared.errors import InvalidField, UnmappedValue
from shared.ids import target_id
from shared.mapping import load_profile, transform_record
from shared.mapping.generators import GENERATORS
from shared.mapping.joins import JOIN_FIELD, JoinIndex
from shared.mapping.owners import SystemUser, match_users
from shared.mapping.profile import merge_overrides, raw_profile
from shared.mapping.splits import choose
from shared.mapping.transform import Skipped, TargetRow, resolve_lookup
from shared.migration.joins import run_plan
from shared.migration.models import OwnerReport
from shared.preflight import TargetFacts, assess, check_owners, planned_schema
from shared.sources.exports import ExportSource, load_layout
from shared.spec import OptionsSpec
from tests.unit.shared.mapping.support import as_row, bad_email, entry, good_records, typed_index

REPO = Path(__file__).resolve().parents[4]
SAMPLE = REPO / "samples" / "smartdesk" / "export"
TARGET_ORG = REPO / "samples" / "smartdesk" / "target_org.json"
ENTITIES = Path("/work/shared/reference/dataverse/entities.json")
SCOPE = "acme-smartdesk"
OPTION_PREFIX = 10_000
OPTION = OPTION_PREFIX * 10_000
Records = dict[str, list[dict[str, Any]]]

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
"""SD-14: the override the profile documents for an org with a Customer Service licence."""


@pytest.fixture(scope="module")
def source() -> ExportSource:
    return ExportSource(SAMPLE, load_layout("smartdesk"))


@pytest.fixture(scope="module")
def sd(source: ExportSource) -> Records:
    return good_records(source, load_layout("smartdesk").files)


def _generated(sd: Records, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the run generates after extraction (SD-05/06/19), merged over `overrides`."""
    out = dict(overrides or {})
    for gen in load_profile("smartdesk", out or None).generate:
        made, _ = GENERATORS[gen.kind](
            gen, merge_overrides(raw_profile("smartdesk"), out), lambda name: sd.get(name, []), OPTION_PREFIX
        )
        if made:
            out = merge_overrides(out, made)
    return out


def _indexes(obj: str, sd: Records) -> dict[str, JoinIndex]:
    o = load_profile("smartdesk").object(obj)
    assert o is not None
    return {j.name: typed_index(j, sd) for j in o.joins}


def _joined(obj: str, record: dict[str, Any], sd: Records, key: str) -> dict[str, Any]:
    """The record as the transform sees it: with its joins under `_join`."""
    idx = _indexes(obj, sd)
    return {**record, JOIN_FIELD: {n: i.value_for(str(record[key])) for n, i in idx.items()}}


def _out(obj: str, record: dict[str, Any], sd: Records | None = None, **kw: Any) -> TargetRow | Skipped:
    overrides = kw.pop("overrides", None)
    profile = load_profile("smartdesk", _generated(sd, overrides) if sd is not None else overrides)
    o = profile.object(obj)
    assert o is not None
    kw.setdefault("owners", None)
    return transform_record(o, record, source="smartdesk", scope=SCOPE, **kw)


def _row(obj: str, record: dict[str, Any], sd: Records | None = None, **kw: Any) -> TargetRow:
    return as_row(_out(obj, record, sd, **kw))


def _first(records: Iterable[dict[str, Any]], **where: Any) -> dict[str, Any]:
    return next(r for r in records if all(r.get(k) == v for k, v in where.items()))


# --- SD-17: load order ---------------------------------------------------------------------------


def test_SD_17_load_order_accounts_leads_contacts_deals_activities_then_notes_and_files() -> None:
    phases = [sorted(o.name for o in phase) for phase in load_profile("smartdesk").phases()]
    assert phases == [
        ["accounts", "pipelines"],
        ["leads", "pipeline_stages"],
        ["contacts"],
        ["deals"],
        ["activities", "tasks", "tickets"],
        ["activity_notes", "attachments", "ticket_comments"],
    ]


def test_SD_17_CON_20_leads_load_after_accounts_and_before_contacts() -> None:
    phase = {o.name: o.phase for o in load_profile("smartdesk").objects}
    assert phase["accounts"] < phase["leads"] < phase["contacts"] < phase["deals"] < phase["tasks"]


# --- SD-01 accounts ------------------------------------------------------------------------------


def test_SD_01_account_name_industry_employees_website_address_and_owner(sd: Records) -> None:
    acc = _first(sd["accounts"], account_id="ac000001")
    row = _row("accounts", acc, custom_columns=True)
    assert (row.table, row.entity_set) == ("account", "accounts")
    assert row.id == target_id(SCOPE, "smartdesk", "accounts", "ac000001")
    p = row.payload
    assert p["name"] == acc["name"] and p["websiteurl"] == acc["website"]
    assert p["numberofemployees"] == acc["employees"] or acc["employees"] is None
    assert (p["address1_line1"], p["address1_city"], p["address1_stateorprovince"]) == (
        acc["address_1"],
        acc["city"],
        acc["region"],
    )
    assert (p["address1_postalcode"], p["address1_country"]) == (acc["postal_code"], acc["country"])
    assert p["overriddencreatedon"] == acc["created_at"]  # COM-04: the original creation date
    assert p["new_smartdeskid"] == "ac000001"
    with_industry = next(a for a in sd["accounts"] if a["industry"])
    assert (
        _row("accounts", with_industry, custom_columns=True).payload["new_smartdeskindustry"]
        == (with_industry["industry"])
    )
    assert not [k for k in _row("accounts", acc).payload if k.startswith("new_")]  # until provisioned


def test_SD_01_SD_12_account_custom_properties_land_in_typed_columns(sd: Records) -> None:
    idx = _indexes("accounts", sd)["custom"]
    acc = next(a for a in sd["accounts"] if idx.value_for(a["account_id"]).get("tier"))
    row = _row(
        "accounts",
        _joined("accounts", acc, sd, "account_id"),
        custom_columns=True,
        property_types={"custom": idx.types},
        property_options={"custom": idx.options},
    )
    # COM-14: the dropdown is a choice column; its label is written as its option
    assert idx.types["tier"] == "choice"
    assert row.payload["new_tier"] == idx.options["tier"][idx.value_for(acc["account_id"])["tier"]]


# --- SD-02 contacts ------------------------------------------------------------------------------


def test_SD_02_contact_fields_lifecycle_stage_and_account_by_id(sd: Records) -> None:
    c = next(c for c in sd["contacts"] if c["account_id"] and not bad_email(c) and c["title"])
    row = _row("contacts", c, custom_columns=True)
    p = row.payload
    assert (p["firstname"], p["lastname"], p["jobtitle"]) == (c["first_name"], c["last_name"], c["title"])
    assert (p.get("emailaddress1"), p.get("telephone1")) == (c["email"], c["phone"])
    assert p["new_smartdesklifecyclestage"] == c["lifecycle_stage"]
    [parent] = row.lookups
    assert parent.candidates == [("accounts", c["account_id"])]
    assert resolve_lookup(parent, entry("account")).nav == "parentcustomerid_account"
    assert resolve_lookup(parent, entry(None)).kind == "none"  # optional (INT-08): loads unlinked


def test_SD_02_without_account_id_the_sample_has_nothing_to_match_by_name_or_domain(sd: Records) -> None:
    """The seed's fallback (account by name or domain) needs a company or domain on the contact: the
    export has neither, so a contact without account_id loads without a parent account."""
    columns = set(load_layout("smartdesk").files["contacts"].columns)
    assert not columns & {"company", "company_name", "account_name", "domain", "website"}
    orphans = [c for c in sd["contacts"] if not c["account_id"] and not bad_email(c)]
    assert orphans
    for c in orphans:
        assert _row("contacts", c).lookups == []


def test_SD_02_COM_16_malformed_contact_email_is_quarantined_naming_the_field(sd: Records) -> None:
    bad = next(c for c in sd["contacts"] if bad_email(c))
    with pytest.raises(InvalidField) as err:
        _out("contacts", bad)
    assert (err.value.object, err.value.source_id, err.value.field) == (
        "contacts",
        bad["contact_id"],
        "email",
    )


# --- SD-03 leads ---------------------------------------------------------------------------------


def test_SD_03_lead_source_and_status_kept_verbatim_with_standard_columns_where_they_fit(sd: Records) -> None:
    web = _first(sd["leads"], source="web", status="working")
    row = _row("leads", web, custom_columns=True)
    p = row.payload
    assert (p["leadsourcecode"], p["new_smartdeskleadsource"]) == (8, "web")  # Web
    assert (p["statuscode"], p["new_smartdeskleadstatus"]) == (2, "working") and row.follow_up is None
    assert p["subject"] == f"{web['first_name']} {web['last_name']}" and p["lastname"] == web["last_name"]
    assert p.get("companyname") == web["company"]


def test_SD_03_COM_16_lead_source_without_a_standard_option_keeps_its_label_only(sd: Records) -> None:
    cold = _first(sd["leads"], source="cold_call")
    p = _row("leads", cold, custom_columns=True).payload
    assert "leadsourcecode" not in p  # never written as some other option
    assert p["new_smartdeskleadsource"] == "cold_call"


def test_SD_03_INT_07_unqualified_lead_is_created_open_then_disqualified(sd: Records) -> None:
    row = _row("leads", _first(sd["leads"], status="unqualified"))
    assert row.payload["statuscode"] == 1 and "statecode" not in row.payload
    assert row.follow_up is not None and (row.follow_up.kind, row.follow_up.state, row.follow_up.status) == (
        "set_state",
        2,
        6,
    )
    with pytest.raises(UnmappedValue) as err:  # a status the map does not know: quarantined
        _out("leads", {**_first(sd["leads"], status="new"), "status": "recycled"})
    assert err.value.field == "status"


# --- SD-04/05/06/19 deals, stages, pipelines -----------------------------------------------------


def test_SD_04_deal_amount_expected_close_owner_currency_account_and_contact(sd: Records) -> None:
    deal = next(d for d in sd["deals"] if d["status"] == "open" and d["contact_id"])
    row = _row("deals", deal, sd, custom_columns=True)
    p = row.payload
    assert (row.table, p["name"]) == ("opportunity", deal["name"])
    assert p["estimatedvalue"] == float(deal["amount"]) and p["estimatedclosedate"] == deal["expected_close"]
    assert p["statuscode"] == 1 and row.follow_up is None and p["new_smartdeskid"] == deal["deal_id"]
    [cur] = row.references
    assert (cur.to, cur.key, cur.value) == ("transactioncurrencyid", "isocurrencycode", deal["currency"])
    lk = {x.to: x for x in row.lookups}
    assert lk["parentaccountid"].candidates == [("accounts", deal["account_id"])]
    assert lk["customerid"].candidates == [("accounts", deal["account_id"]), ("contacts", deal["contact_id"])]
    assert resolve_lookup(lk["customerid"], entry("account")).nav == "customerid_account"
    assert resolve_lookup(lk["parentcontactid"], entry("contact")).nav == "parentcontactid"


@pytest.mark.parametrize(("status", "kind", "state", "code"), [
    ("won", "win_opportunity", 1, 3), ("lost", "lose_opportunity", 2, 5),
])  # fmt: skip
def test_SD_04_INT_06_won_and_lost_deals_close_through_win_lose(
    sd: Records, status: str, kind: str, state: int, code: int
) -> None:
    deal = _first(sd["deals"], status=status)
    row = _row("deals", deal, sd)
    assert row.payload["statuscode"] == 1 and row.follow_up is not None
    assert (row.follow_up.kind, row.follow_up.state, row.follow_up.status) == (kind, state, code)
    assert row.follow_up.close["actualrevenue"] == float(deal["amount"])
    assert row.follow_up.close["actualend"] == deal["expected_close"]


def test_SD_05_SD_19_stage_options_are_the_discovered_stages_in_pipeline_order(sd: Records) -> None:
    profile = load_profile("smartdesk", _generated(sd))
    assert profile.schema_ is not None
    cols = {c.name: c for c in profile.schema_.columns if c.table == "opportunity"}
    stages = sorted(sd["pipeline_stages"], key=lambda s: (s["pipeline_id"], s["order"]))
    assert [o.label for o in cols["Stage"].options] == [s["name"] for s in stages]  # verbatim labels
    order = [s["stage_id"] for s in stages]
    for deal in sd["deals"]:
        row = _row("deals", deal, sd, custom_columns=True)
        assert row.payload["new_stage"] == OPTION + order.index(deal["stage_id"]), deal["deal_id"]


def test_SD_19_another_account_with_other_stages_gets_its_own_options_never_a_fixed_list(
    sd: Records,
) -> None:
    other = {
        **sd,
        "pipelines": [{"pipeline_id": "p9", "name": "Enterprise"}],
        "pipeline_stages": [
            {"stage_id": "x1", "pipeline_id": "p9", "name": "Discovery", "order": 1, "probability": 10},
            {"stage_id": "x2", "pipeline_id": "p9", "name": "Security review", "order": 2, "probability": 50},
        ],
    }
    profile = load_profile("smartdesk", _generated(other))
    assert profile.schema_ is not None
    stage = next(c for c in profile.schema_.columns if (c.table, c.name) == ("opportunity", "Stage"))
    assert [o.label for o in stage.options] == ["Discovery", "Security review"]
    deal = {**sd["deals"][0], "stage_id": "x2"}
    assert _row("deals", deal, other, custom_columns=True).payload["new_stage"] == OPTION + 1


def test_SD_05_COM_16_a_deal_whose_stage_is_not_discovered_is_flagged_before_migration(sd: Records) -> None:
    stray = {**sd["deals"][0], "stage_id": "st_deleted"}
    with pytest.raises(UnmappedValue) as err:  # never written as some other stage
        _out("deals", stray, sd, custom_columns=True)
    assert (err.value.object, err.value.field) == ("deals", "stage_id")
    report = _preflight(sd, {"deals": [*sd["deals"], stray]})
    flagged = [f for f in report.blocking if f.code == "unmapped_label" and f.object == "deals"]
    # both generated maps read the stage: the Stage and the Pipeline column
    assert [(f.field, f.value, f.source_ids) for f in flagged] == [
        ("stage_id", "st_deleted", ["dl000001"])
    ] * 2
    assert sorted(f.message.split(" → ")[1].split(":")[0] for f in flagged) == [
        "opportunity.new_pipeline",
        "opportunity.new_stage",
    ]
    assert not [f for f in report.blocking if f.check == "picklists" and f not in flagged]


def test_SD_06_each_pipeline_is_a_pipeline_option_its_name_kept(sd: Records) -> None:
    profile = load_profile("smartdesk", _generated(sd))
    assert profile.schema_ is not None
    pipeline = next(c for c in profile.schema_.columns if (c.table, c.name) == ("opportunity", "Pipeline"))
    assert [o.label for o in pipeline.options] == [p["name"] for p in sd["pipelines"]]
    ids = [p["pipeline_id"] for p in sd["pipelines"]]
    for deal in sd["deals"]:
        row = _row("deals", deal, sd, custom_columns=True)
        assert row.payload["new_pipeline"] == OPTION + ids.index(deal["pipeline_id"])


def test_SD_06_pipelines_and_stages_are_kept_as_rows_with_name_order_and_probability(sd: Records) -> None:
    pipe = sd["pipelines"][0]
    row = _row("pipelines", pipe, custom_columns=True)
    assert (row.table, row.entity_set, row.primary_id) == (
        "new_smartdeskpipeline",
        "new_smartdeskpipelines",
        "new_smartdeskpipelineid",
    )
    assert row.payload["new_name"] == pipe["name"] and row.payload["new_isdefault"] is pipe["is_default"]
    for stage in sd["pipeline_stages"]:
        row = _row("pipeline_stages", stage, custom_columns=True)
        p = row.payload
        assert (p["new_name"], p["new_stageorder"], p["new_probability"]) == (
            stage["name"],
            stage["order"],
            stage["probability"],
        )
        assert (p["new_iswon"], p["new_islost"]) == (stage["is_won"], stage["is_lost"])
        [parent] = row.lookups
        assert parent.candidates == [("pipelines", stage["pipeline_id"])]
        assert resolve_lookup(parent, entry("new_smartdeskpipeline")).nav == "new_PipelineId"
    deal = sd["deals"][0]
    lk = {x.to: x for x in _row("deals", deal, sd, custom_columns=True).lookups}
    assert lk["new_smartdeskstageid"].candidates == [("pipeline_stages", deal["stage_id"])]
    assert lk["new_smartdeskpipelineid"].candidates == [("pipelines", deal["pipeline_id"])]
    assert resolve_lookup(lk["new_smartdeskstageid"], entry("new_smartdeskstage")).nav == (
        "new_SmartDeskStageId"
    )


def test_SD_06_INT_04_stage_probability_sets_closeprobability(sd: Records) -> None:
    prob = {s["stage_id"]: s["probability"] for s in sd["pipeline_stages"]}
    label = {s["stage_id"]: s["name"] for s in sd["pipeline_stages"]}
    for deal in sd["deals"][:10]:
        if deal["stage_id"] not in prob:
            continue
        payload = _row("deals", deal, sd, custom_columns=True).payload
        assert payload["closeprobability"] == round(float(prob[deal["stage_id"]]))
        assert payload["stepname"] == label[deal["stage_id"]]  # the discovered label (INT-03)


# --- SD-07 tasks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "obj", "table"), [
    ("contact", "contacts", "contact"), ("deal", "deals", "opportunity"),
    ("account", "accounts", "account"), ("lead", "leads", "lead"),
])  # fmt: skip
def test_SD_07_INT_14_task_regards_its_contact_or_deal_by_the_regarding_type(
    sd: Records, kind: str, obj: str, table: str
) -> None:
    task = _first(sd["tasks"], regarding_type=kind)
    row = _row("tasks", task)
    [regarding] = row.lookups
    assert regarding.candidates == [(obj, task["regarding_id"])]  # only the typed parent is a candidate
    assert resolve_lookup(regarding, entry(table)).nav == f"regardingobjectid_{table}_task"
    assert resolve_lookup(regarding, entry(None)).kind == "missing"  # never an orphan task


def test_SD_07_task_subject_description_due_date_priority_and_status(sd: Records) -> None:
    done = _first(sd["tasks"], status="done", priority="high")
    row = _row("tasks", done)
    p = row.payload
    assert (p["subject"], p["description"]) == (done["subject"], done["description"])
    assert (p["scheduledend"], p["prioritycode"]) == (done["due_at"], 2)
    assert p["statuscode"] == 2 and row.follow_up is not None
    assert (row.follow_up.state, row.follow_up.status) == (1, 5)  # Completed after insert
    assert _row("tasks", _first(sd["tasks"], status="open")).follow_up is None


# --- SD-08/09/10/11 activities -------------------------------------------------------------------


def test_SD_08_INT_11_call_is_a_phonecall_with_its_duration(sd: Records) -> None:
    call = _first(sd["activities"], type="call", direction="inbound")
    row = _row("activities", call, custom_columns=True)
    p = row.payload
    assert (row.target, row.table) == ("phonecall", "phonecall")
    assert p["new_smartdeskcallseconds"] == call["duration_sec"]  # exact, in seconds
    assert p["actualdurationminutes"] == -(-call["duration_sec"] // 60)  # whole minutes, rounded up
    assert p["directioncode"] is False and p["actualstart"] == call["occurred_at"]
    assert row.follow_up is not None and (row.follow_up.state, row.follow_up.status) == (1, 4)  # Received
    nav = resolve_lookup(row.lookups[0], entry("contact")).nav
    assert nav == "regardingobjectid_contact_phonecall"


def test_SD_09_INT_10_meeting_is_an_appointment_with_start_end_and_location(sd: Records) -> None:
    meeting = _first(sd["activities"], type="meeting")
    row = _row("activities", meeting)
    p = row.payload
    assert row.table == "appointment"
    assert (p["scheduledstart"], p["scheduledend"], p["location"]) == (
        meeting["start_at"],
        meeting["end_at"],
        meeting["location"],
    )
    assert row.follow_up is not None and (row.follow_up.state, row.follow_up.status) == (1, 3)
    assert resolve_lookup(row.lookups[0], entry("lead")).nav == "regardingobjectid_lead_appointment"


def test_SD_10_INT_12_email_is_one_email_activity_regarding_its_parent(sd: Records) -> None:
    email = _first(sd["activities"], type="email", direction="outbound", regarding_type="deal")
    row = _row("activities", email)
    assert row.table == "email" and row.payload["directioncode"] is True
    assert (row.payload["subject"], row.payload["description"]) == (email["subject"], email["body"])
    assert row.follow_up is not None and (row.follow_up.state, row.follow_up.status) == (1, 3)  # Sent
    [regarding] = row.lookups
    assert regarding.candidates == [("deals", email["regarding_id"])]
    assert resolve_lookup(regarding, entry("opportunity")).nav == "regardingobjectid_opportunity_email"


@pytest.mark.parametrize(
    ("kind", "table"), [("contact", "contact"), ("account", "account"), ("deal", "opportunity")]
)
def test_SD_11_INT_15_note_is_an_annotation_on_its_contact_account_or_opportunity(
    sd: Records, kind: str, table: str
) -> None:
    note = _first(sd["activities"], type="note", regarding_type=kind)
    assert _out("activities", note) == Skipped(source_id=note["activity_id"], rule="loaded_with_notes")
    row = _row("activity_notes", note)
    assert row.table == "annotation" and row.payload["notetext"] == note["body"]
    assert row.id == target_id(SCOPE, "smartdesk", "activity_notes", note["activity_id"])
    assert resolve_lookup(row.lookups[0], entry(table)).nav == f"objectid_{table}"


def test_SD_11_a_very_long_note_keeps_its_whole_text(sd: Records) -> None:
    long = max((a for a in sd["activities"] if a["type"] == "note"), key=lambda a: len(a["body"]))
    assert len(long["body"]) > 40_000
    assert _row("activity_notes", long).payload["notetext"] == long["body"]


def test_SD_17_each_activity_lands_once_notes_in_the_last_phase(sd: Records) -> None:
    for a in sd["activities"]:
        first, notes = _out("activities", a), _out("activity_notes", a)
        landed = [o for o in (first, notes) if isinstance(o, TargetRow)]
        assert len(landed) == 1, a["activity_id"]
        assert (landed[0].table == "annotation") == (a["type"] == "note")
    with pytest.raises(UnmappedValue):  # an unknown activity type: quarantined, never guessed
        _out("activities", {**sd["activities"][0], "type": "sms"})


def test_COM_04_activities_keep_their_original_timestamps(sd: Records) -> None:
    for kind in ("call", "email", "meeting"):
        a = _first(sd["activities"], type=kind)
        assert _row("activities", a).payload["overriddencreatedon"] == a["created_at"], kind
    note = _first(sd["activities"], type="note")
    assert _row("activity_notes", note).payload["overriddencreatedon"] == note["created_at"]


# --- SD-12 custom fields -------------------------------------------------------------------------


def test_SD_12_CON_01_every_custom_field_gets_a_typed_column_in_the_run_plan_the_manifest(
    sd: Records,
) -> None:
    """The run's schema plan is the custom-field manifest: per object's table, each custom field's
    column (logical name, type) with the SmartDesk field key as its seed name."""
    profile = load_profile("smartdesk")
    indexes = {(o.name, j.name): typed_index(j, sd) for o in profile.objects for j in o.joins}
    plan = run_plan(profile, indexes)
    manifest = {
        (c.seed_name, c.table): (plan.column_logical_name(c.name, "new"), c.type)
        for c in plan.columns
        if c.seed_name and c.description and "property" in c.description
    }
    tables = {"contact": "contact", "account": "account", "deal": "opportunity"}
    kinds = {"number": "decimal", "date": "date", "dropdown": "choice", "checkbox": "boolean"}
    valued = {(v["field_key"], v["object"]) for v in sd["custom_field_values"]}
    expected = {
        (d["field_key"], tables[d["object"]]): (f"new_{d['field_key'].replace('_', '')}", kinds[d["type"]])
        for d in sd["custom_field_definitions"]
        if (d["field_key"], d["object"]) in valued
    }
    assert manifest == expected
    assert len(expected) == len(sd["custom_field_definitions"])  # the sample has values for each


def test_SD_12_custom_values_are_written_typed_on_contacts_and_deals(sd: Records) -> None:
    for obj, key, field in (("contacts", "contact_id", "nps_score"), ("deals", "deal_id", "renewal_date")):
        idx = _indexes(obj, sd)["custom"]
        rec = next(r for r in sd[obj] if idx.value_for(r[key]).get(field) and not bad_email(r))
        row = _row(
            obj, _joined(obj, rec, sd, key), sd, custom_columns=True, property_types={"custom": idx.types}
        )
        value = idx.value_for(rec[key])[field]
        col = f"new_{field.replace('_', '')}"
        assert row.payload[col] == (float(value) if field == "nps_score" else value), obj


# --- SD-13 owners --------------------------------------------------------------------------------


def _owner_report(sd: Records, source: ExportSource) -> OwnerReport:
    org = json.loads(TARGET_ORG.read_text(encoding="utf-8"))
    matches = match_users(source.users(), [SystemUser.model_validate(u) for u in org["systemusers"]])
    owned: dict[str, int] = {}
    for o in load_profile("smartdesk").objects:
        if o.owner is not None and o.source is None:
            for r in sd[o.staged]:
                user = next(str(r[f]) for f in o.owner.from_ if r.get(f))
                owned[user] = owned.get(user, 0) + 1
    return OwnerReport(
        owner_map_path="owners/owner_map.json",
        fallback_owner_id="5a3c1e2d-0005-4000-8000-000000000001",
        users={u: {"status": matches[u].status, "records": n} for u, n in owned.items()},
    )


def test_SD_13_COM_19_unmatched_and_disabled_owners_block_when_the_spec_says_block(
    sd: Records, source: ExportSource
) -> None:
    report = _owner_report(sd, source)
    outcomes, summary = check_owners(report, OptionsSpec(unmatched_owner="block"))
    blocking = {(f.code, f.details["source_user_id"]) for s, f in outcomes if s == "blocking"}
    assert blocking == {("owner_disabled", "us000005"), ("owner_unmatched", "us000006")}
    assert summary["records_to_fallback"] == 0
    # the same owners with the fallback policy: warnings, records to the fallback owner
    outcomes, summary = check_owners(report, OptionsSpec(fallback_owner="admin@smartdesk-customer.example"))
    assert {s for s, _ in outcomes} == {"warning"} and summary["records_to_fallback"] > 0


def test_SD_13_every_owned_object_takes_its_owner_from_the_source_user(sd: Records) -> None:
    owners = {
        "accounts": "owner_id",
        "leads": "owner_id",
        "contacts": "owner_id",
        "deals": "owner_id",
        "tasks": "owner_id",
        "activities": "owner_id",
        "activity_notes": "owner_id",
        "tickets": "assignee_id",
        "ticket_comments": "author_id",
    }
    for o in load_profile("smartdesk").objects:
        if o.name in owners:
            assert o.owner is not None and o.owner.from_ == [owners[o.name]], o.name


# --- SD-14/15 tickets ----------------------------------------------------------------------------


def test_SD_15_CON_21_ticket_is_a_note_on_its_contact_with_metadata_and_conversation(sd: Records) -> None:
    ticket = next(t for t in sd["tickets"] if t["resolved_at"] and t["account_id"])
    comments = sorted((c for c in sd["ticket_comments"] if c["ticket_id"] == ticket["ticket_id"]), key=str)
    row = _row("tickets", _joined("tickets", ticket, sd, "ticket_id"))
    p = row.payload
    assert row.table == "annotation"
    assert p["subject"] == f"SmartDesk ticket {ticket['ticket_id']}: {ticket['subject']}"
    for line in (
        f"Status: {ticket['status']}",
        f"Priority: {ticket['priority']}",
        f"Channel: {ticket['channel']}",
        f"Resolved: {ticket['resolved_at']}",
        ticket["description"],
        f"({len(comments)} comment(s)",
    ):
        assert line in p["notetext"]
    for c in comments:
        assert f"{c['comment_id']}: {c['body']}" in p["notetext"]
    [on] = row.lookups
    assert on.candidates == [("contacts", ticket["contact_id"]), ("accounts", ticket["account_id"])]
    assert resolve_lookup(on, entry("contact")).nav == "objectid_contact"
    assert resolve_lookup(on, entry("account")).nav == "objectid_account"
    open_ticket = next(t for t in sd["tickets"] if not t["resolved_at"])
    assert (
        "Resolved:"
        not in _row("tickets", _joined("tickets", open_ticket, sd, "ticket_id")).payload["notetext"]
    )


def test_SD_15_without_a_service_licence_comments_and_ticket_files_are_skipped_by_name(sd: Records) -> None:
    c = sd["ticket_comments"][0]
    assert _out("ticket_comments", c) == Skipped(source_id=c["comment_id"], rule="ticket_thread_in_note")
    att = {**sd["attachments"][0], "regarding_type": "ticket", "regarding_id": "tc000001"}
    assert _out("attachments", att) == Skipped(
        source_id=att["attachment_id"], rule="ticket_attachment_without_case"
    )


def test_SD_14_INT_19_with_a_service_licence_a_ticket_is_a_case(sd: Records) -> None:
    ticket = next(t for t in sd["tickets"] if t["status"] == "resolved" and t["priority"] == "urgent")
    row = _row("tickets", ticket, overrides=SERVICE_LICENCE)
    p = row.payload
    assert row.table == "incident" and p["title"] == ticket["subject"] and p["prioritycode"] == 1
    assert f"SmartDesk channel: {ticket['channel']}" in p["description"]
    assert p["statuscode"] == 1 and row.follow_up is not None
    assert (row.follow_up.state, row.follow_up.status) == (1, 5)  # Resolved / Problem Solved
    lk = {x.to: x for x in row.lookups}
    assert resolve_lookup(lk["customerid"], entry("account")).nav == "customerid_account"
    assert resolve_lookup(lk["primarycontactid"], entry("contact")).nav == "primarycontactid"
    pending = _row("tickets", _first(sd["tickets"], status="pending"), overrides=SERVICE_LICENCE)
    assert pending.payload["statuscode"] == 3 and pending.follow_up is None


def test_SD_14_with_a_service_licence_the_thread_is_emails_on_the_case(sd: Records) -> None:
    public = _first(sd["ticket_comments"], is_public=True)
    row = _row("ticket_comments", public, overrides=SERVICE_LICENCE)
    assert row.table == "email" and row.payload["description"] == public["body"]
    [regarding] = row.lookups
    assert regarding.candidates == [("tickets", public["ticket_id"])]
    assert resolve_lookup(regarding, entry("incident")).nav == "regardingobjectid_incident_email"
    assert resolve_lookup(regarding, entry("annotation")).kind == "missing"  # never on a note
    internal = _first(sd["ticket_comments"], is_public=False)
    note = _row("ticket_comments", internal, overrides=SERVICE_LICENCE)
    assert note.table == "annotation" and resolve_lookup(note.lookups[0], entry("incident")).nav == (
        "objectid_incident"
    )
    att = {**sd["attachments"][1], "regarding_type": "ticket", "regarding_id": "tc000001"}
    on_case = _row("attachments", att, overrides=SERVICE_LICENCE)
    assert resolve_lookup(on_case.lookups[0], entry("incident")).nav == "objectid_incident"


# --- attachments (COM-05, COM-41) ------------------------------------------------------------------


def test_COM_05_attachment_is_a_note_with_its_file_on_its_parent(sd: Records) -> None:
    att = sd["attachments"][0]
    row = _row("attachments", att)
    assert row.table == "annotation" and row.file is not None
    assert (row.payload["filename"], row.payload["mimetype"]) == (att["file_name"], att["mime_type"])
    assert (row.file.column, row.file.size, row.file.path) == (
        "documentbody",
        att["_file"]["size"],
        att["_file"]["path"],
    )
    [on] = row.lookups
    assert on.candidates == [("deals", att["regarding_id"])]
    assert resolve_lookup(on, entry("opportunity")).nav == "objectid_opportunity"


# --- SD-16/18: discovery and what does not migrate ------------------------------------------------


def test_SD_16_discovery_counts_objects_custom_fields_pipelines_stages_and_users(
    source: ExportSource,
) -> None:
    d = source.discover()
    counts = {o.name: o.count for o in d.objects}
    manifest = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))["files"]
    for obj in (
        "contacts",
        "accounts",
        "deals",
        "activities",
        "tickets",
        "pipelines",
        "pipeline_stages",
        "users",
    ):
        assert counts[obj] == manifest[f"{obj}.csv"], obj
    custom = {f.name: f for o in d.objects if o.name == "custom_field_values" for f in o.fields if f.custom}
    assert {k: (f.type, f.options) for k, f in custom.items()} == {
        "newsletter": ("boolean", []),
        "nps_score": ("decimal", []),
        "renewal_date": ("date", []),
        "tier": ("enum", ["gold", "silver"]),
    }


def test_SD_18_COM_12_nothing_is_left_unaccounted_every_object_is_mapped_or_skipped_by_a_named_rule(
    source: ExportSource,
) -> None:
    profile = load_profile("smartdesk")
    mapped = {o.staged for o in profile.objects}
    skipped = {s.object: s.rule for s in profile.skip}
    assert set(load_layout("smartdesk").files) == mapped | set(skipped)
    assert all(rule in profile.skip_rules for rule in skipped.values())
    inventory = source.discover().inventory  # the written inventory of what never migrates
    assert {i.kind for i in inventory} == {"workflow", "email_template", "campaign_send"}
    assert all(i.recommendation for i in inventory)


# --- the whole profile ---------------------------------------------------------------------------


def _entities() -> dict[str, set[str]]:
    tables = json.loads(ENTITIES.read_text(encoding="utf-8"))["Tables"]
    return {t: {a["LogicalName"] for a in spec["Attributes"]} for t, spec in tables.items()}


def _planned(plan: Any) -> set[tuple[str, str]]:
    """(table, column) logical names the schema plan provisions, primary name columns included."""
    cols = {
        (plan.table_logical_name(c.table, "new"), plan.column_logical_name(c.name, "new"))
        for c in plan.columns
    }
    return cols | {
        (plan.table_logical_name(t.name, "new"), f"new_{t.primary_name.name.lower()}") for t in plan.tables
    }


def _written(t: Any) -> list[str]:
    cols = [f.to for f in t.fields] + [vm.to for vm in t.value_maps] + [lk.to for lk in t.lookups]
    cols += [r.to for r in t.references] + ([t.source_id_to] if t.source_id_to else [])
    if t.file is not None:
        cols += [t.file.body, t.file.name_to, t.file.mime_to]
    for vm in t.value_maps:
        if vm.unmapped.startswith("keep_label_in:"):
            cols.append(vm.unmapped.removeprefix("keep_label_in:"))
    return [c.replace("{prefix}", "new") for c in cols]


def test_every_column_the_profile_writes_exists_in_dataverse_or_in_its_schema_plan(sd: Records) -> None:
    columns = _entities()
    for overrides in (None, SERVICE_LICENCE):
        profile = load_profile("smartdesk", _generated(sd, overrides))
        plan = profile.schema_
        assert plan is not None
        planned = _planned(plan)
        tables = {plan.table_logical_name(t.name, "new"): t for t in plan.tables}
        for o in profile.objects:
            for name, t in o.targets.items():
                if t.table in tables:  # a table of the plan: its id, name and planned columns
                    assert t.primary_id == f"{t.table}id" and t.entity_set == f"{t.table}s"
                    assert all((t.table, c) in planned for c in _written(t)), (o.name, name)
                    continue
                for col in _written(t):
                    assert col in columns[t.table] or (t.table, col) in planned, (o.name, name, col)
                if t.state is not None:
                    assert {"statecode", "statuscode"} <= columns[t.table], (o.name, name)
                    assert {f.to for f in t.state.close} <= {
                        "subject",
                        "description",
                        "actualrevenue",
                        "actualend",
                    }


def test_INT_01_custom_columns_are_declared_with_the_seed_names_and_no_salesforce_suffix() -> None:
    profile = load_profile("smartdesk")
    plan = profile.schema_
    assert plan is not None
    written = {(t.table, c) for o in profile.objects for t in o.targets.values() for c in _written(t)}
    assert {w for w in written if w[1].startswith("new_")} == _planned(plan)  # nothing planned unused
    assert all(c.seed_name and "__c" not in c.name for c in [*plan.columns, *plan.tables])


def test_sample_every_record_transforms_or_is_quarantined_only_for_planted_defects(sd: Records) -> None:
    for obj in ("accounts", "leads", "contacts", "deals", "tasks", "tickets", "attachments"):
        for r in sd[obj]:
            planted = obj in ("leads", "contacts") and bad_email(r)
            try:
                assert isinstance(_out(obj, r, sd), TargetRow) and not planted, (obj, r)
            except InvalidField as err:  # planted: a malformed email, named
                assert planted and err.field == "email", (obj, r)
    for a in sd["activities"]:
        assert isinstance(_out("activities", a), TargetRow | Skipped)
        assert isinstance(_out("activity_notes", a), TargetRow | Skipped)
    split = load_profile("smartdesk").object("activities").split  # type: ignore[union-attr]
    assert {choose(split, a) for a in sd["activities"]} == {
        ("target", "phonecall"),
        ("target", "email"),
        ("target", "appointment"),
        ("skip", "loaded_with_notes"),
    }


# --- preflight over the sample -------------------------------------------------------------------


def _option_values() -> dict[str, list[int] | None]:
    tables = json.loads(ENTITIES.read_text(encoding="utf-8"))["Tables"]
    out: dict[str, list[int] | None] = {}
    for t, spec in tables.items():
        for a in spec["Attributes"]:
            if a.get("Options"):
                out[f"{t}.{a['LogicalName']}"] = [int(o["Value"]) for o in a["Options"]]
    return out


def _preflight(sd: Records, replace: Records | None = None) -> Any:
    """Every preflight check over the sample (no I/O): the target's options as entities.json has them,
    the generated and planned columns as provisioning will create them."""
    profile = load_profile("smartdesk", _generated(sd))
    data = {**sd, **(replace or {})}
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
        records=lambda name: data.get(name, []),
        owners=None,
        options=OptionsSpec(),
        target=TargetFacts(options={key: known.get(key) for key in standard}),
        planned=planned_schema(profile.schema_, "new", OPTION_PREFIX),
    )


def test_COM_16_preflight_over_the_sample_flags_only_the_lead_source_without_a_standard_option(
    sd: Records,
) -> None:
    report = _preflight(sd)
    picks = [f for f in [*report.blocking, *report.warnings] if f.check == "picklists"]
    assert [(f.code, f.object, f.field, f.value) for f in picks] == [
        ("unmapped_label", "leads", "source", "cold_call")
    ]
    assert picks[0] in report.warnings  # its label is kept in a text column: a warning, not a block
    assert picks[0].records == sum(1 for lead in sd["leads"] if lead["source"] == "cold_call")
