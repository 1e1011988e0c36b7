"""Per-object extraction: chunks at page boundaries, manifests with checksums, resume after a crash
with no record twice, malformed rows quarantined and counted, the delta watermark."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from samples.close.generate import make_export
from shared.migration.extract import extract_object, extract_source, finish_extract, parse_cursor
from shared.migration.models import RunRef
from shared.spec import parse_spec
from shared.storage import read_ndjson_gz


class MemoryStore:
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def put_bytes(self, path: str, data: bytes) -> None:
        self.blobs[path] = data

    def put_json(self, path: str, document: Any) -> None:
        self.blobs[path] = json.dumps(document).encode()

    def get_json(self, path: str) -> Any:
        return json.loads(self.blobs[path]) if path in self.blobs else None

    def records(self, paths: list[str]) -> list[dict[str, Any]]:
        return [r for p in paths for r in read_ndjson_gz(self.blobs[p])]


def _run(path: Path, chunk: int = 10, since: str | None = None) -> RunRef:
    spec = parse_spec(
        {
            "migration": {"id": "acme"},
            "source": {"kind": "close", "path": str(path)},
            "target": {"url": "http://127.0.0.1:1", "auth": {"kind": "static_token", "token": "${T}"}},
            "storage": {"connection_string": "${S}"},
            "options": {"extract_chunk_size": chunk},
        }
    )
    return RunRef(migration_id="acme", run_id="r1", spec=spec, since=since)


@pytest.fixture
def export(tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    leads = make_export(250)
    path = tmp_path / "export.json.gz"
    path.write_bytes(gzip.compress(json.dumps(leads).encode()))
    return path, leads


def test_object_staged_in_chunks_with_checksummed_manifest(export: tuple[Path, list[dict[str, Any]]]) -> None:
    path, leads = export
    store = MemoryStore()
    out = extract_object(_run(path, chunk=40), "contacts", store)
    expected = [c["id"] for lead in leads for c in lead["contacts"]]
    assert [r["id"] for r in store.records(out.chunks)] == expected
    assert out.records == len(expected) and out.malformed == 0
    manifest = store.get_json(out.manifest_path)
    assert manifest["complete"] is True
    for chunk in manifest["chunks"]:
        assert hashlib.sha256(store.blobs[chunk["path"]]).hexdigest() == chunk["sha256"]
        assert chunk["records"] <= 40
    assert (
        out.max_cursor
        == max(parse_cursor(c["date_updated"]) for lead in leads for c in lead["contacts"]).isoformat()
    )


def test_resume_after_a_crash_stages_every_record_exactly_once(
    export: tuple[Path, list[dict[str, Any]]],
) -> None:
    path, leads = export
    store = MemoryStore()
    run = _run(path, chunk=25)
    partial = extract_object(run, "activities", store, page_limit=1)  # "crash" after the first page
    manifest = store.get_json(partial.manifest_path)
    assert manifest["complete"] is False and manifest["checkpoint"] == {"lead": 100}
    out = extract_object(run, "activities", store)  # the durable retry
    ids = [r["id"] for r in store.records(out.chunks)]
    assert ids == [a["id"] for lead in leads for a in lead["activities"]]
    assert len(ids) == len(set(ids)) == out.records
    again = extract_object(run, "activities", store)  # a completed object is not read again
    assert again == out


def test_malformed_rows_counted_and_quarantined_with_their_place(tmp_path: Path) -> None:
    leads = make_export(3)
    leads[1]["contacts"] = [{"name": "no id"}, *leads[1]["contacts"]]
    path = tmp_path / "export.json"
    path.write_text(json.dumps([*leads, 7]), encoding="utf-8")
    store = MemoryStore()
    contacts = extract_object(_run(path), "contacts", store)
    lead_out = extract_object(_run(path), "leads", store)
    assert contacts.malformed == 1 and contacts.records == 1 + sum(len(x["contacts"]) for x in leads) - 1
    assert lead_out.malformed == 1 and lead_out.records == 4
    rows = [
        r
        for p, b in store.blobs.items()
        if p.startswith("staging/acme/r1/quarantine/")
        for r in read_ndjson_gz(b)
    ]
    assert {(r["object"], r["source_id"], r["field"], r["stage"]) for r in rows} == {
        ("contacts", f"{leads[1]['id']}/contacts[0]", "id", "extract"),
        ("leads", "#3", "id", "extract"),
    }


def test_delta_run_stages_only_changed_records_and_keeps_the_watermark(
    export: tuple[Path, list[dict[str, Any]]],
) -> None:
    path, leads = export
    watermark = sorted(lead["date_updated"] for lead in leads)[len(leads) // 2]
    store = MemoryStore()
    out = extract_object(_run(path, since=watermark), "leads", store)
    expected = [x["id"] for x in leads if parse_cursor(x["date_updated"]) > parse_cursor(watermark)]
    assert [r["id"] for r in store.records(out.chunks)] == expected


def test_run_manifest_joins_the_object_manifests(export: tuple[Path, list[dict[str, Any]]]) -> None:
    path, _ = export
    store = MemoryStore()
    out = extract_source(_run(path, chunk=500), store)
    assert set(out.objects) == {"leads", "contacts", "opportunities", "tasks", "activities"}
    doc = store.get_json(out.manifest_path)
    assert doc["object_manifests"]["leads"] == "staging/acme/r1/raw/leads/manifest.json"
    assert out.max_cursor == max(
        o["max_cursor"] for o in (store.get_json(p) for p in doc["object_manifests"].values())
    )
    assert finish_extract(_run(path), [], store).max_cursor is None


def test_cursor_parsing_takes_iso_and_unix_seconds() -> None:
    assert parse_cursor("2024-01-02T03:04:05Z").isoformat() == "2024-01-02T03:04:05+00:00"
    assert parse_cursor(1704164645) == parse_cursor("1704164645") == parse_cursor("2024-01-02T03:04:05Z")
    assert parse_cursor("nonsense") is None and parse_cursor(None) is None and parse_cursor(True) is None
