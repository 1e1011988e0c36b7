"""The migration steps called directly (no orchestrator) against Azurite and the Dataverse
emulator: what each step leaves behind, and that read-back verification catches drift."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from intact.demo import DEMO_TOKEN_VAR, STORAGE_VAR, demo_spec
from shared.dataverse.schema import provision
from shared.mapping import load_profile
from shared.migration import extract, load, owners, transform
from shared.migration.context import dataverse_client, storage_settings
from shared.migration.models import ChunkRef, LoadInput, RunRef
from shared.migration.verify import verify_loaded
from shared.storage import IdMap, StagingStore


@pytest.fixture
def loaded(azurite: Any, dataverse: Any, scope_id: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv(STORAGE_VAR, azurite.connection_string)
    monkeypatch.setenv(DEMO_TOKEN_VAR, "steps-token")
    spec = demo_spec(dataverse.url, migration_id=scope_id)
    run = RunRef(migration_id=scope_id, run_id="r1", spec=spec)
    settings = storage_settings(spec)
    store = StagingStore(settings)
    dv = dataverse_client(spec)
    ex = extract.extract_source(run, store)
    ow = owners.match_owners(run, ex, store, dv)
    plan = load_profile("close").schema_
    assert plan is not None  # the profile's custom columns exist before any write (COM-13)
    opts = spec.options
    provision(
        dv, plan, prefix=opts.publisher_prefix, option_prefix=opts.option_value_prefix, solution=opts.solution
    )
    results = {}
    for phase in load_profile("close").phases():
        for obj in phase:
            for n, path in enumerate(ex.objects[obj.name].chunks):
                ref = ChunkRef(
                    run=run, object=obj.name, chunk_no=n, path=path, owner_map_path=ow.owner_map_path
                )
                t = transform.transform_chunk(ref, store)
                assert t.target_path
                inp = LoadInput(
                    run=run, object=obj.name, phase=obj.phase, chunk_no=n, target_path=t.target_path
                )
                results[obj.name] = load.load_chunk(inp, store, settings, dv)
    yield {"run": run, "store": store, "settings": settings, "dv": dv, "results": results}
    dv.close()


def test_COM_26_every_bulk_request_is_logged_with_its_outcome(loaded: dict[str, Any]) -> None:
    run, store = loaded["run"], loaded["store"]
    full_log = store.get_json(f"{run.prefix}/load/leads/00000.requests.json")
    assert sum(r["loaded"] for r in full_log) == loaded["results"]["leads"].loaded
    assert {r["table"] for r in full_log} == {"lead", "account"}  # the split writes both tables
    log = [r for r in full_log if r["table"] == "account"]  # the too-long company is an account
    assert any(r["status"] == 400 and r["error_code"] == "0x80044331" for r in log)
    # the failed bulk request was isolated with one $batch, not a bisection
    assert [r["kind"] for r in log] == ["UpsertMultiple", "$batch"]
    assert log[1]["rejected"] == loaded["results"]["leads"].quarantined == 1


def test_COM_01_read_back_matches_what_was_written(loaded: dict[str, Any]) -> None:
    run = loaded["run"]
    idmap = IdMap(loaded["settings"], run.migration_id)
    for name in ("leads", "contacts"):
        obj = load_profile("close").object(name)
        assert obj is not None
        check = verify_loaded(loaded["dv"], loaded["store"], idmap, run.prefix, "close", obj, run.run_id, 500)
        assert check.checked == loaded["results"][name].loaded
        assert check.missing == 0 and not check.mismatched


def test_COM_01_read_back_catches_a_changed_and_a_deleted_row(loaded: dict[str, Any], dataverse: Any) -> None:
    run = loaded["run"]
    idmap = IdMap(loaded["settings"], run.migration_id)
    entries = [e for e in idmap.entries("contacts") if e.run_id == run.run_id]
    headers = {"Authorization": "Bearer steps-token"}
    base = f"{dataverse.url}/api/data/v9.2"
    assert (
        httpx.patch(
            f"{base}/contacts({entries[0].target_id})",
            json={"lastname": "Changed by someone"},
            headers={**headers, "If-Match": "*"},
        ).status_code
        == 204
    )
    assert httpx.delete(f"{base}/contacts({entries[1].target_id})", headers=headers).status_code == 204
    obj = load_profile("close").object("contacts")
    assert obj is not None
    check = verify_loaded(loaded["dv"], loaded["store"], idmap, run.prefix, "close", obj, run.run_id, 500)
    assert check.missing == 1
    assert check.mismatched == {"lastname": 1}
    assert check.problems("contacts") == [
        f"contacts: 1 of {check.checked} sampled loaded rows are missing in Dataverse",
        f"contacts: 1 of {check.checked} sampled rows read back a different lastname",
    ]
