"""Fixtures for the preflight checks: a small profile, its records, a target and an owner report."""

from __future__ import annotations

from typing import Any

import pytest

from shared.mapping import Profile
from shared.migration.models import OwnerReport
from shared.preflight import TargetFacts, ValueMapRef

PROFILE = {
    "source": "close",
    "version": 1,
    "objects": [
        {
            "name": "leads",
            "table": "account",
            "entity_set": "accounts",
            "primary_id": "accountid",
            "phase": 1,
            "fields": [
                {"to": "name", "from": "display_name", "required": True},
                {"to": "industrycode", "from": "custom.Industry"},
            ],
            "owner": {"from": ["user_id"]},
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
            "owner": {"from": ["user_id"]},
        },
        {
            "name": "files",
            "table": "annotation",
            "entity_set": "annotations",
            "primary_id": "annotationid",
            "phase": 3,
            "fields": [{"to": "subject", "from": "file_name"}],
            "file": {"from": "_file", "name_from": "file_name"},
        },
    ],
}

INDUSTRY = ValueMapRef(
    object="leads",
    field="custom.Industry",
    table="account",
    column="industrycode",
    values={"Accounting": 1, "Consulting": 7},
)


@pytest.fixture
def profile() -> Profile:
    return Profile.model_validate(PROFILE)


@pytest.fixture
def records() -> dict[str, list[dict[str, Any]]]:
    return {
        "leads": [
            {"id": "lead_1", "display_name": "Acme", "custom": {"Industry": "Accounting"}, "user_id": "u_ok"},
            {
                "id": "lead_2",
                "display_name": "Beta",
                "custom": {"Industry": "Hot prospect"},
                "user_id": "u_off",
            },
            {"id": "lead_3", "display_name": "", "custom": {"Industry": "Hot prospect"}, "user_id": "u_gone"},
        ],
        "contacts": [
            {"id": "cont_1", "name": "Ann Smith", "lead_id": "lead_1", "user_id": "u_ok"},
            {"id": "cont_2", "name": "Bo Jones", "lead_id": "lead_deleted", "user_id": "u_gone"},
        ],
        "files": [
            {"id": "file_1", "file_name": "small.pdf", "_file": {"path": "files/a", "size": 1_000}},
            {"id": "file_2", "file_name": "huge.zip", "_file": {"path": "files/b", "size": 9_000_000}},
        ],
    }


@pytest.fixture
def target() -> TargetFacts:
    return TargetFacts(
        custom_tables=[f"new_t{i}" for i in range(14)],
        required={"account": ["name"], "contact": ["lastname"], "annotation": []},
        options={"account.industrycode": [1, 2, 3, 7]},
        max_upload_bytes=5_242_880,
    )


def owner_report(
    users: dict[str, tuple[str, int]], fallback: str | None = "fb-id", fallback_status: str | None = None
) -> OwnerReport:
    return OwnerReport(
        owner_map_path="o.json",
        fallback_owner_id=fallback,
        users={u: {"status": s, "records": n} for u, (s, n) in users.items()},
        records_to_fallback=sum(n for s, n in users.values() if s != "matched"),
        fallback_status=fallback_status or ("matched" if fallback else None),
    )
