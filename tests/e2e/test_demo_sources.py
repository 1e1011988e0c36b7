"""`python -m intact demo --source S --json` for every bundled sample, as a user runs it.

A sample whose mapping profile exists runs end to end (its own Azurite, Dataverse emulator seeded with
its target org, and for X2CRM the API mock) and every object balances; a sample without a profile
yet exits 2 with one line saying so. The test flips by itself when a profile lands.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from intact.demo_sources import SOURCES, X2CRM_KEY_VAR, X2CRM_SAMPLE_KEY, DemoSource
from shared.mapping.owners import SystemUser, match_users
from shared.sources import SourceUser

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]

MAIN_OBJECTS: dict[str, tuple[str, ...]] = {
    "close": ("leads", "contacts", "opportunities", "tasks", "activities"),
    "x2crm": ("Accounts", "Contacts", "Opportunity", "Actions"),
    "profi": ("companies", "clients"),
    "thepractice": ("clients",),
    "smartdesk": ("accounts", "contacts", "deals"),
}


def _emulator_forgets_rolled_back_tables() -> bool:
    """The Dataverse emulator's store marks a table as created inside a transaction that then rolls
    back (an UpsertMultiple refused for one row), so the `$batch` retry of that chunk answers 500
    `no such table` instead of isolating the row. The X2CRM sample hits it (contacts refused at load)."""
    from emulators.dataverse.store import Store

    store = Store()
    try:
        try:
            with store.transaction():
                store.insert("contact", "1", {})
                raise RuntimeError("refused")
        except RuntimeError:
            pass
        try:
            store.get("contact", "1")
        except sqlite3.OperationalError:
            return True
        return False
    finally:
        store.close()


_EMULATOR_BUG = _emulator_forgets_rolled_back_tables()


def _demo(source: str, out: Path) -> tuple[int, Any, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "intact", "demo", "--source", source, "--json", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    try:
        body = json.loads(proc.stdout)
    except json.JSONDecodeError:
        body = None
    return proc.returncode, body, proc.stderr


def _source_users(demo: DemoSource) -> list[SourceUser]:
    if demo.kind == "x2crm":  # through the connector, from the mock without a socket
        from emulators.x2crm.app import MockConfig, X2Mock
        from emulators.x2crm.store import Store
        from emulators.x2crm.transport import mock_transport
        from shared.sources.x2crm import X2Client, X2CRMSource

        data = json.loads((demo.sample / "data.json").read_text(encoding="utf-8"))
        transport = mock_transport(X2Mock(Store(data), MockConfig()))
        client = X2Client("http://x2.test", "admin", X2CRM_SAMPLE_KEY, transport=transport)
        source: Any = X2CRMSource(client)
    else:
        from shared.sources import open_source
        from shared.spec import SourceSpec

        source = open_source(SourceSpec.model_validate(demo.source_section()))
    try:
        return source.users()
    finally:
        source.close()


@pytest.mark.parametrize("name", list(SOURCES))
def test_target_org_plants_the_owner_defects_of_the_close_demo(name: str) -> None:
    """Each sample's target org: the source's users by email, one disabled, one missing, and an
    enabled admin as the fallback owner; no user the sample does not know but the admin."""
    demo = SOURCES[name]
    org = json.loads(demo.target_org.read_text(encoding="utf-8"))
    users = [SystemUser.model_validate(u) for u in org["systemusers"]]
    admin = [u for u in users if u.internalemailaddress == demo.fallback_owner]
    assert len(admin) == 1 and not admin[0].isdisabled
    source_users = _source_users(demo)
    statuses = {m.status for m in match_users(source_users, users).values()}
    assert {"matched", "disabled", "unmatched"} <= statuses, statuses
    emails = {u.email for u in source_users if u.email} | {demo.fallback_owner}
    assert {(u.internalemailaddress or "").lower() for u in users} <= emails
    assert org["transactioncurrencies"], "a currency for money columns"


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            n,
            marks=pytest.mark.xfail(
                n == "x2crm" and _EMULATOR_BUG,
                reason="emulators/dataverse/store.py keeps a table created in a rolled-back "
                "transaction as known: the $batch isolation of a refused chunk answers 500",
                run=False,
            ),
        )
        for n in SOURCES
    ],
)
def test_demo_source_runs_or_says_the_profile_is_missing(name: str, tmp_path: Path) -> None:
    demo = SOURCES[name]
    out = tmp_path / "out"
    code, body, err = _demo(name, out)
    if not demo.profile_path.exists():
        assert code == 2 and body is None, err
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert f"--source {name}" in lines[0] and "no mapping profile" in lines[0]
        assert f"{demo.kind}.yaml" in lines[0]
        assert not out.exists(), "nothing starts without a profile"
        return

    assert code == 0, err
    assert body["runtime_status"] == "Completed", body["error"]
    assert body["id"] == f"demo-{name}"
    for obj, c in body["objects"].items():
        assert set(c) == {"source", "loaded", "quarantined", "skipped"}, obj
        assert c["source"] == c["loaded"] + c["quarantined"] + c["skipped"], (obj, c)
    for obj in MAIN_OBJECTS[name]:
        assert body["objects"][obj]["loaded"] > 0, (obj, body["objects"][obj])

    # the planted owner defects show in the owner report; the reports land in out/
    owners = json.loads((out / "owners.json").read_text(encoding="utf-8"))
    statuses = {u["status"] for u in owners["users"].values()}
    assert {"matched", "disabled", "unmatched"} <= statuses, owners["users"]
    assert owners["records_to_fallback"] > 0
    assert {"run.md", "run.json", "quarantine.jsonl"} <= {p.name for p in out.iterdir()}
    if name == "close":  # CLOSE-04: the placeholder links are flagged for the admin, with what to do
        run = json.loads((out / "run.json").read_text(encoding="utf-8"))
        flagged = {(g["object"], g["rule"]): g for g in run["flagged"]["groups"]}
        group = flagged[("contacts", "no_company_placeholder")]
        assert group["records"] > 0 and "placeholder" in group["what_to_do"]
        assert "## Flagged for the admin" in (out / "run.md").read_text(encoding="utf-8")

    # the spec that ran refers to its credentials; it never holds them
    spec = yaml.safe_load((out / "demo-spec.yaml").read_text(encoding="utf-8"))
    assert spec["source"]["kind"] == demo.kind
    if demo.env:
        text = (out / "demo-spec.yaml").read_text(encoding="utf-8")
        assert all(value not in text for value in demo.env.values())
        assert spec["source"]["api_key"] == f"${{{X2CRM_KEY_VAR}}}"
        assert spec["source"]["api_url"].startswith("http://127.0.0.1:")
