"""Dedupe against records already in Dynamics (X2-04, CLOSE-02, COM-10): a source company equal, by
name and website, to an account already in the target is not written again — the record is linked to
the existing row, its contacts bind to it, the link is audited with a pre-image, reconciliation counts
it as loaded (and linked), and rollback leaves the existing row in place.

Runs the real steps — extract, transform, load, reconcile, rollback — on a small Close export whose
profile gets `dedupe` on the account target through `options.profile_overrides`, against Azurite and
the Dataverse emulator seeded with the demo's target org."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from samples.close.generate import make_export
from shared.migration import extract, load, reconcile, rollback, transform
from shared.migration.context import dataverse_client, storage_settings
from shared.migration.models import ChunkRef, LoadInput, LoadOutput, ObjectCounts, ReconcileInput, RunRef
from shared.spec import parse_spec
from shared.storage import AuditLog, IdMap, StagingStore

DEDUPE = {"match": {"name": "display_name", "websiteurl": "url"}}


class Run:
    """One migration over a small Close export, step by step."""

    def __init__(self, tmp: Path, dataverse: Any, scope: str, leads: list[dict[str, Any]]) -> None:
        path = tmp / "close.json.gz"
        path.write_bytes(gzip.compress(json.dumps(leads).encode()))
        self.spec = parse_spec(
            {
                "migration": {"id": scope},
                "source": {"kind": "close", "path": str(path)},
                "target": {"url": dataverse.url, "auth": {"kind": "static_token", "token": "${DV_TOKEN}"}},
                "storage": {"connection_string": "${STORE}"},
                "options": {
                    "extract_chunk_size": 1,  # one lead a chunk: later chunks see earlier writes
                    "profile_overrides": {
                        "write_custom_columns": False,
                        "objects": [{"name": "leads", "targets": {"account": {"dedupe": DEDUPE}}}],
                    },
                },
            }
        )
        self.scope = scope
        self.run = RunRef(migration_id=scope, run_id="r1", spec=self.spec)
        self.settings = storage_settings(self.spec)
        self.store = StagingStore(self.settings)
        self.http = httpx.Client(
            base_url=f"{dataverse.url}/api/data/v9.2/", headers={"Authorization": "Bearer t"}, timeout=30
        )
        self.extracted = extract.extract_source(self.run, self.store)
        self.targets: dict[str, list[str]] = {}
        for name in ("leads", "contacts"):
            self.targets[name] = []
            for n, path in enumerate(self.extracted.objects[name].chunks):
                out = transform.transform_chunk(
                    ChunkRef(run=self.run, object=name, chunk_no=n, path=path), self.store
                )
                assert out.quarantined == 0 and out.target_path
                self.targets[name].append(out.target_path)

    def staged_account(self, source_id: str) -> dict[str, Any]:
        """The account row transform staged for a lead (its converted name and website)."""
        for path in self.targets["leads"]:
            for row in self.store.get_records(path):
                if row["source_id"] == source_id:
                    return row
        raise AssertionError(source_id)

    def load(self, name: str, phase: int, run_id: str = "r1") -> list[LoadOutput]:
        run = self.run.model_copy(update={"run_id": run_id})
        outs = []
        with dataverse_client(self.spec) as dv:
            for n, path in enumerate(self.targets[name]):
                inp = LoadInput(run=run, object=name, phase=phase, chunk_no=n, target_path=path)
                outs.append(load.load_chunk(inp, self.store, self.settings, dv))
        return outs

    def create_account(self, name: str, website: str, created: str | None = None) -> str:
        body = {"name": name, "websiteurl": website, "description": "kept by the customer"}
        if created:
            body["overriddencreatedon"] = created
        r = self.http.post("accounts", json=body)
        assert r.status_code == 204
        return r.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")

    def accounts_named(self, name: str) -> list[dict[str, Any]]:
        literal = name.replace("'", "''")
        return self.http.get("accounts", params={"$filter": f"name eq '{literal}'"}).json()["value"]

    def rollback(self) -> Any:
        plan = rollback.plan_rollback(self.scope, self.store, self.settings)
        with dataverse_client(self.spec) as dv:
            for group in plan.groups:
                for path in group.chunks:
                    chunk = rollback.RollbackChunk(
                        migration_id=self.scope, spec=self.spec, entity_set=group.entity_set, path=path
                    )
                    rollback.rollback_chunk(chunk, self.store, dv)
        rollback.finish_rollback(self.scope, self.spec, self.settings)
        return plan


@pytest.fixture
def leads(scope_id: str) -> list[dict[str, Any]]:
    out = make_export(4)
    for lead in out:
        lead["status_label"] = "Qualified"  # every lead lands as an account (CLOSE-01 split)
    out[0]["display_name"] = out[0]["name"] = f"Acme {scope_id}"
    out[0]["url"] = f"https://acme-{scope_id}.example"
    for twin in out[1:3]:  # two source companies equal to each other, none in the target
        twin["display_name"] = twin["name"] = f"Twin {scope_id}"
        twin["url"] = f"https://twin-{scope_id}.example"
    return out


@pytest.fixture
def run(
    tmp_path: Path,
    azurite: Any,
    dataverse: Any,
    scope_id: str,
    leads: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    monkeypatch.setenv("STORE", azurite.connection_string)
    monkeypatch.setenv("DV_TOKEN", "dedupe-token")
    r = Run(tmp_path, dataverse, scope_id, leads)
    yield r
    r.http.close()


def test_X2_04_a_company_already_in_dynamics_is_linked_not_duplicated_and_rollback_keeps_it(
    run: Run, leads: list[dict[str, Any]], scope_id: str
) -> None:
    acme = leads[0]
    staged = run.staged_account(acme["id"])["payload"]
    existing = run.create_account(staged["name"].upper(), staged["websiteurl"])  # case differs: still equal

    lead_outs = run.load("leads", 1)
    assert sum(o.loaded for o in lead_outs) == 4 and sum(o.quarantined for o in lead_outs) == 0
    assert sum(o.linked for o in lead_outs) == 1
    found = run.accounts_named(staged["name"])
    assert [a["accountid"] for a in found] == [existing]  # no second Acme
    assert found[0]["description"] == "kept by the customer"  # the existing row is not written to

    entry = IdMap(run.settings, scope_id).get("leads", acme["id"])
    assert entry is not None and entry.linked and entry.target_id == existing and entry.table == "account"
    (link,) = [e for e in AuditLog(run.settings, scope_id).entries() if e.op == "link"]
    assert (link.source_id, link.target_id, link.table) == (acme["id"], existing, "account")
    pre = json.loads(link.pre_image)
    assert pre["columns"] == {"name": staged["name"].upper(), "websiteurl": staged["websiteurl"]}
    assert pre["matches"] == 1 and pre["createdon"]

    contact_outs = run.load("contacts", 2)
    assert sum(o.quarantined for o in contact_outs) == 0
    acme_contacts = [c["id"] for c in acme["contacts"]]
    assert acme_contacts
    idmap = IdMap(run.settings, scope_id)
    for cid in acme_contacts:
        contact = idmap.get("contacts", cid)
        assert contact is not None and not contact.linked
        row = run.http.get(f"contacts({contact.target_id})").json()
        assert row["_parentcustomerid_value"] == existing  # the children bind to the existing account

    # reconciliation: linked records count as loaded; read-back skips them (they were not written)
    counts = {
        "leads": ObjectCounts(source=4, loaded=4, linked=1),
        "contacts": ObjectCounts(
            source=sum(len(lead["contacts"]) for lead in leads), loaded=sum(o.loaded for o in contact_outs)
        ),
    }
    with dataverse_client(run.spec) as dv:
        rec = reconcile.reconcile(
            ReconcileInput(run=run.run, phase=1, objects=counts), run.store, run.settings, dv
        )
    report = run.store.get_json(rec.report_path)
    assert report["objects"]["leads"]["linked"] == 1 and report["problems"] == []
    assert rec.verified["leads"] == 3  # the three written accounts read back; the linked one is not theirs

    plan = run.rollback()
    assert plan.kept == {"account": 1}
    assert run.http.get(f"accounts({existing})").status_code == 200  # rollback leaves the existing row
    assert run.accounts_named(f"Twin {scope_id}") == []  # … and deletes what the migration wrote
    still_bound = run.http.get("contacts", params={"$filter": f"_parentcustomerid_value eq {existing}"})
    assert still_bound.json()["value"] == []  # its migrated contacts are gone
    assert IdMap(run.settings, scope_id).get("leads", acme["id"]) is None


def test_X2_04_records_this_migration_wrote_are_never_matches(run: Run, scope_id: str) -> None:
    outs = run.load("leads", 1)
    assert sum(o.linked for o in outs) == 0
    twins = run.accounts_named(f"Twin {scope_id}")
    assert len(twins) == 2  # the second twin did not link to the first: that row is the migration's own
    assert sum(o.linked for o in run.load("leads", 1, run_id="r2")) == 0
    assert len(run.accounts_named(f"Twin {scope_id}")) == 2  # re-runs update their own rows, add none


def test_X2_04_a_re_run_keeps_the_link(run: Run, leads: list[dict[str, Any]]) -> None:
    staged = run.staged_account(leads[0]["id"])["payload"]
    existing = run.create_account(staged["name"], staged["websiteurl"])
    assert sum(o.linked for o in run.load("leads", 1)) == 1
    assert sum(o.linked for o in run.load("leads", 1, run_id="r2")) == 1  # the delta / retry
    assert [a["accountid"] for a in run.accounts_named(staged["name"])] == [existing]


def test_X2_04_several_matches_link_to_the_oldest_and_are_flagged(
    run: Run, leads: list[dict[str, Any]]
) -> None:
    staged = run.staged_account(leads[0]["id"])["payload"]
    newer = run.create_account(staged["name"], staged["websiteurl"], created="2021-03-01T00:00:00Z")
    older = run.create_account(staged["name"].lower(), staged["websiteurl"], created="2019-05-01T00:00:00Z")
    outs = run.load("leads", 1)
    entry = IdMap(run.settings, run.scope).get("leads", leads[0]["id"])
    assert entry is not None and entry.target_id == older and entry.target_id != newer
    assert sum(o.flags.get("dedupe_several_matches", 0) for o in outs) == 1
    flagged = [
        row
        for path in run.store.list(f"{run.run.prefix}/flags/leads/")
        for row in run.store.get_records(path)
        if row["rule"] == "dedupe_several_matches"
    ]
    assert flagged == [
        {
            "rule": "dedupe_several_matches",
            "source_id": leads[0]["id"],
            "table": "account",
            "id": older,
            "matches": 2,
        }
    ]


def test_X2_04_a_name_alone_is_not_a_match(run: Run, leads: list[dict[str, Any]]) -> None:
    staged = run.staged_account(leads[0]["id"])["payload"]
    other = run.create_account(staged["name"], "https://someone-else.example")
    assert sum(o.linked for o in run.load("leads", 1)) == 0
    assert {a["accountid"] for a in run.accounts_named(staged["name"])} - {other}  # a new account too
