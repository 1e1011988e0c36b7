"""Preflight against the Dataverse emulator on a Sales Professional org (custom-table cap 15) with a
1 MB upload limit: it catches exactly the five planted problems — an unmapped pick-list label, a
disabled owner, an unknown owner (a warning with a fallback owner, blocking without one), a 16th
custom table, and an attachment over the limit — and writes its report beside the run's reports."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from intact.demo import DEMO_TOKEN_VAR, STORAGE_VAR, demo_spec
from intact.services import DataverseEmulator
from shared.errors import PreflightBlocked
from shared.mapping import Profile
from shared.mapping.schema_plan import parse_schema_plan
from shared.migration import owners
from shared.migration.context import dataverse_client, storage_settings
from shared.migration.models import ExtractOutput, ObjectExtract, RunRef
from shared.preflight import PreflightReport, ValueMapRef, run_preflight, write_preflight_reports
from shared.storage import StagingStore
from tests.conftest import TARGET_ORG

LIMIT = 1_000_000
# the Close sample's users: alice matched, carol disabled in the target, dave unknown to it
LEADS = [
    {"id": "lead_a", "display_name": "A", "created_by": "user_alice", "status_label": "Potential"},
    {"id": "lead_b", "display_name": "B", "created_by": "user_alice", "status_label": "Qualified"},
    {"id": "lead_c", "display_name": "C", "created_by": "user_carol", "status_label": "Potential"},
    {"id": "lead_d", "display_name": "D", "created_by": "user_dave", "status_label": "Gone cold"},
]
CONTACTS = [{"id": "cont_a", "name": "Ann Archer", "lead_id": "lead_a", "created_by": "user_alice"}]
FILES = [
    {"id": "file_small", "lead_id": "lead_a", "_file": {"path": "files/a.pdf", "size": 10_000}},
    {"id": "file_big", "lead_id": "lead_b", "_file": {"path": "files/b.zip", "size": LIMIT + 1}},
]
STATUS = ValueMapRef(
    object="leads",
    field="status_label",
    table="account",
    column="customertypecode",
    values={"Potential": 6, "Qualified": 3},  # Prospect, Customer
)
PLAN = parse_schema_plan(
    {
        "tables": [
            {
                "name": "Session",
                "seed_name": "new_Session",
                "display_name": "Session",
                "plural_name": "Sessions",
            }
        ]
    }
)


def _profile() -> Profile:
    return Profile.model_validate(
        {
            "source": "close",
            "version": 1,
            "objects": [
                {
                    "name": "leads",
                    "table": "account",
                    "entity_set": "accounts",
                    "primary_id": "accountid",
                    "phase": 1,
                    "fields": [{"to": "name", "from": "display_name", "required": True}],
                    "owner": {"from": ["created_by"]},
                },
                {
                    "name": "contacts",
                    "table": "contact",
                    "entity_set": "contacts",
                    "primary_id": "contactid",
                    "phase": 2,
                    "fields": [{"to": "lastname", "from": "name", "convert": "last_name", "required": True}],
                    "lookups": [
                        {
                            "to": "parentcustomerid",
                            "bind": "parentcustomerid_account",
                            "object": "leads",
                            "from": "lead_id",
                            "required": True,
                        }
                    ],
                    "owner": {"from": ["created_by"]},
                },
                {
                    "name": "files",
                    "table": "annotation",
                    "entity_set": "annotations",
                    "primary_id": "annotationid",
                    "phase": 2,
                    "fields": [{"to": "subject", "from": "id"}],
                    "file": {"from": "_file", "name_from": "_file.path"},
                },
            ],
        }
    )


def _custom_table(n: int) -> dict[str, Any]:
    label = {"LocalizedLabels": [{"Label": f"Existing {n}", "LanguageCode": 1033}]}
    return {
        "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata",
        "SchemaName": f"new_Existing{n}",
        "DisplayName": label,
        "DisplayCollectionName": label,
        "OwnershipType": "UserOwned",
        "HasNotes": False,
        "HasActivities": False,
        "Attributes": [
            {
                "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
                "SchemaName": "new_Name",
                "IsPrimaryName": True,
                "MaxLength": 100,
                "DisplayName": {"LocalizedLabels": [{"Label": "Name", "LanguageCode": 1033}]},
                "RequiredLevel": {"Value": "None"},
            }
        ],
    }


@pytest.fixture(scope="module")
def professional(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DataverseEmulator]:
    """A Sales Professional org already holding 15 custom tables: the profile's one makes 16."""
    with DataverseEmulator() as dv:
        dv.start(
            seed=TARGET_ORG,
            db=tmp_path_factory.mktemp("professional") / "org.sqlite",
            extra_args=["--licence", "professional", "--max-upload-bytes", str(LIMIT), "--limits", "off"],
        )
        for n in range(15):
            r = httpx.post(
                f"{dv.url}/api/data/v9.2/EntityDefinitions",
                json=_custom_table(n),
                headers={"Authorization": "Bearer setup"},
            )
            assert r.status_code == 204, r.text
        yield dv


def _preflight(
    azurite: Any,
    professional: DataverseEmulator,
    scope_id: str,
    options: dict[str, Any],
    mp: pytest.MonkeyPatch,
) -> tuple[PreflightReport, RunRef, StagingStore, Any]:
    mp.setenv(STORAGE_VAR, azurite.connection_string)
    mp.setenv(DEMO_TOKEN_VAR, "preflight-token")
    spec = demo_spec(professional.url, migration_id=scope_id)
    spec = spec.model_copy(update={"options": spec.options.model_copy(update=options)})
    run = RunRef(migration_id=scope_id, run_id="r1", spec=spec)
    store = StagingStore(storage_settings(spec))
    objects = {}
    for name, rows in (("leads", LEADS), ("contacts", CONTACTS), ("files", FILES)):
        path = f"{run.prefix}/raw/{name}/00000.ndjson.gz"
        store.put_records(path, rows)
        objects[name] = ObjectExtract(records=len(rows), chunks=[path])
    extract = ExtractOutput(manifest_path=f"{run.prefix}/raw/manifest.json", objects=objects)
    with dataverse_client(spec) as dv:
        owner_report = owners.match_owners(run, extract, store, dv, enforce=False)
        report = run_preflight(
            run, extract, owner_report, store, dv, profile=_profile(), plan=PLAN, value_maps=[STATUS]
        )
    return report, run, store, extract


def _codes(findings: list[Any]) -> list[tuple[str, str | None]]:
    return sorted((f.code, f.value or (f.details.get("source_user_id"))) for f in findings)


def test_COM_11_16_20_41_preflight_with_a_fallback_owner(
    azurite: Any, professional: DataverseEmulator, scope_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    report, run, store, _ = _preflight(
        azurite, professional, scope_id, {"licence": "professional"}, monkeypatch
    )
    assert _codes(report.blocking) == [
        ("attachment_over_limit", None),
        ("custom_table_cap_exceeded", None),
        ("unmapped_label", "Gone cold"),
    ]
    assert _codes(report.warnings) == [("owner_disabled", "user_carol"), ("owner_unmatched", "user_dave")]
    by_code = {f.code: f for f in [*report.blocking, *report.warnings]}
    assert by_code["custom_table_cap_exceeded"].details["surplus"] == ["new_session"]
    assert by_code["custom_table_cap_exceeded"].details["existing"] == 15
    assert (by_code["unmapped_label"].records, by_code["unmapped_label"].source_ids) == (1, ["lead_d"])
    assert by_code["attachment_over_limit"].source_ids == ["file_big"]
    assert by_code["attachment_over_limit"].details["limit_bytes"] == LIMIT
    assert by_code["owner_disabled"].source_ids == ["lead_c"]
    assert by_code["owner_unmatched"].source_ids == ["lead_d"]
    assert report.summary["owners"]["users"]["matched"] == 1

    paths = write_preflight_reports(report, run.prefix, store)
    assert paths == [f"{run.prefix}/reports/preflight.json", f"{run.prefix}/reports/preflight.md"]
    assert PreflightReport.model_validate(store.get_json(paths[0])) == report
    md = store.get_bytes(paths[1]).decode()
    assert "**Blocked**" in md and "new_session" in md and "carol" not in md.replace("user_carol", "")


def test_COM_19_an_unknown_owner_without_a_fallback_blocks(
    azurite: Any, professional: DataverseEmulator, scope_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    report, run, store, extract = _preflight(
        azurite, professional, scope_id, {"licence": "professional", "fallback_owner": None}, monkeypatch
    )
    assert _codes(report.blocking) == [
        ("attachment_over_limit", None),
        ("custom_table_cap_exceeded", None),
        ("owner_disabled", "user_carol"),
        ("owner_unmatched", "user_dave"),
        ("unmapped_label", "Gone cold"),
    ]
    assert report.warnings == []
    # the owners step on its own (enforce, as before preflight existed) still refuses to go on
    with dataverse_client(run.spec) as dv, pytest.raises(PreflightBlocked, match="no fallback_owner is set"):
        owners.match_owners(run, extract, store, dv)
