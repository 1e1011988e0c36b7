"""Blob staging, id map, audit log and registry against real Azurite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.migration.lifecycle import finish_run, open_delta_windows, register_run
from shared.migration.models import RunRef
from shared.spec import parse_spec
from shared.storage import AuditEntry, AuditLog, IdMap, IdMapEntry, StagingStore, StorageSettings


@pytest.fixture
def settings(azurite: Any, scope_id: str) -> StorageSettings:
    return StorageSettings(azurite.connection_string, "itest", f"t{scope_id.replace('-', '')}")


def test_chunks_round_trip_and_list_in_order(settings: StorageSettings) -> None:
    store = StagingStore(settings)
    rows = [{"id": f"lead_{i}", "name": "Zoë ✓", "n": i} for i in range(1200)]
    assert store.put_records("staging/m/r/raw/leads/00001.ndjson.gz", rows[600:]) == 600
    assert store.put_records("staging/m/r/raw/leads/00000.ndjson.gz", rows[:600]) == 600
    paths = store.list("staging/m/r/raw/leads/")
    assert paths == ["staging/m/r/raw/leads/00000.ndjson.gz", "staging/m/r/raw/leads/00001.ndjson.gz"]
    assert [r for p in paths for r in store.get_records(p)] == rows
    assert store.get_json("staging/m/r/missing.json") is None


def test_COM_24_id_map_resolves_source_ids_with_awkward_characters(settings: StorageSettings) -> None:
    idmap = IdMap(settings, "m1")
    ids = [f"lead/{i}#?\\%!" for i in range(150)]  # > one 100-row table transaction
    idmap.upsert([IdMapEntry("leads", sid, "account", f"guid-{n}", "r1") for n, sid in enumerate(ids)])
    assert idmap.get("leads", ids[7]) == IdMapEntry("leads", ids[7], "account", "guid-7", "r1")
    assert {e.source_id for e in idmap.entries("leads")} == set(ids)
    assert IdMap(settings, "other-migration").get("leads", ids[7]) is None
    idmap.remove("leads", ids[:100])
    assert len(list(idmap.entries("leads"))) == 50


def test_COM_38_audit_log_is_append_only_and_a_retried_chunk_does_not_duplicate(
    settings: StorageSettings,
) -> None:
    log = AuditLog(settings, "m1")

    def entries(run: str) -> list[AuditEntry]:
        return [
            AuditEntry(
                run_id=run,
                phase=1,
                object="leads",
                chunk=0,
                seq=n,
                op="upsert",
                table="account",
                entity_set="accounts",
                target_id=f"g{n}",
                source_id=f"lead_{n}",
                batch="b",
                at="2026-01-01T00:00:00+00:00",
            )
            for n in range(120)
        ]

    log.append(entries("r1"))
    log.append(entries("r1"))  # the same chunk retried by the durable retry
    assert len(list(log.entries())) == 120
    log.append(entries("r2"))  # a re-run appends its own rows
    assert len(list(log.entries())) == 240
    assert {e.source_id for e in log.entries()} == {f"lead_{n}" for n in range(120)}


def test_COM_36_delta_window_opens_after_a_full_run_and_watermark_only_advances(
    settings: StorageSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("S", settings.connection_string)
    spec = parse_spec(
        {
            "migration": {"id": "delta-m"},
            "source": {"kind": "close", "path": "x.json"},
            "target": {"url": "http://127.0.0.1:9", "auth": {"kind": "static_token", "token": "${T}"}},
            "storage": {
                "connection_string": "${S}",
                "container": "itest",
                "table_prefix": settings.table_prefix,
            },
            "options": {"delta_window_hours": 24},
        }
    )
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    run = RunRef(migration_id="delta-m", run_id="r1", spec=spec)
    register_run(run, settings)
    assert open_delta_windows(settings, now.isoformat()) == []  # running: no pickup yet
    rec = finish_run(run, settings, now_iso=now.isoformat(), max_cursor="2026-02-28T10:00:00+00:00")
    assert rec.watermark == "2026-02-28T10:00:00+00:00"
    assert [
        r.migration_id for r in open_delta_windows(settings, (now + timedelta(hours=23)).isoformat())
    ] == ["delta-m"]
    assert open_delta_windows(settings, (now + timedelta(hours=25)).isoformat()) == []
    # a delta run that saw nothing newer never moves the watermark back
    delta = RunRef(migration_id="delta-m", run_id="d1", spec=spec, kind="delta", since=rec.watermark)
    again = finish_run(delta, settings, now_iso=(now + timedelta(hours=1)).isoformat(), max_cursor=None)
    assert again.watermark == rec.watermark and again.delta_until == rec.delta_until


def test_id_map_get_many_answers_like_get_for_present_and_missing_keys(settings: StorageSettings) -> None:
    idmap = IdMap(settings, "m-many")
    idmap.upsert([IdMapEntry("leads", f"lead_{n}", "account", f"g{n}", "r1") for n in range(30)])
    keys = [("leads", f"lead_{n}") for n in range(0, 40, 3)] + [("contacts", "lead_1"), ("leads", "lead_3")]
    found = idmap.get_many(keys)
    assert set(found) == set(keys)
    assert all(found[k] == idmap.get(*k) for k in keys)
    assert found[("leads", "lead_33")] is None and found[("contacts", "lead_1")] is None
