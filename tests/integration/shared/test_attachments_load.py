"""The load step writes notes with their files (COM-05, COM-41, PROFI-13, PRAC-11, X2-17, CLOSE-17)
against the Dataverse emulator over HTTP, with staging and the id map in Azurite: small files inline in
the bulk write, big ones in 4 MB blocks, a file over the org's `maxuploadfilesize` quarantined with a
reason naming record, file, size and limit — never the content — while the rest of the chunk loads."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from emulators.dataverse import ServerHandle, start_server
from shared.dataverse import DataverseClient, StaticToken
from shared.mapping.profile import Profile
from shared.migration import load
from shared.migration.models import LoadInput, RunRef
from shared.spec import parse_spec
from shared.storage import AuditLog, IdMap, IdMapEntry, StagingStore, StorageSettings

PROFILE = Profile.model_validate(
    {
        "source": "profi",
        "version": 1,
        "objects": [
            {
                "name": "clients",
                "phase": 1,
                "table": "contact",
                "entity_set": "contacts",
                "primary_id": "contactid",
                "fields": [{"to": "lastname", "from": "name"}],
            },
            {
                "name": "attachments",
                "phase": 2,
                "table": "annotation",
                "entity_set": "annotations",
                "primary_id": "annotationid",
                "fields": [{"to": "subject", "from": "file_name"}],
                "file": {"name_from": "file_name", "mime_from": "mime_type"},
                "lookups": [
                    {"to": "objectid", "bind": "objectid_contact", "object": "clients", "from": "client_id"}
                ],
            },
        ],
    }
)
MB = 1024 * 1024


@pytest.fixture(scope="module")
def emulator() -> Iterator[ServerHandle]:
    handle = start_server(port=0, limits=False)
    yield handle
    handle.close()


@pytest.fixture
def http(emulator: ServerHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.api_url, headers={"Authorization": "Bearer t"}, timeout=30) as c:
        yield c


def _set_limit(http: httpx.Client, value: int) -> None:
    org = http.get("organizations", params={"$select": "organizationid"}).json()["value"][0]
    r = http.patch(
        f"organizations({org['organizationid']})",
        json={"maxuploadfilesize": value},
        headers={"If-Match": "*"},
    )
    assert r.status_code == 204


class Env:
    def __init__(self, azurite: Any, emulator: ServerHandle, http: httpx.Client, scope: str) -> None:
        self.settings = StorageSettings(azurite.connection_string, "itest", f"t{scope.replace('-', '')}")
        self.store = StagingStore(self.settings)
        self.http = http
        spec = parse_spec(
            {
                "migration": {"id": scope},
                "source": {"kind": "profi", "path": "unused"},
                "target": {"url": emulator.base_url, "auth": {"kind": "static_token", "token": "${T}"}},
                "storage": {"connection_string": "${S}"},
            }
        )
        self.run = RunRef(migration_id=scope, run_id="r1", spec=spec)
        self.contact = str(uuid.uuid4())
        assert (
            http.post("contacts", json={"contactid": self.contact, "lastname": "Parent"}).status_code == 204
        )
        IdMap(self.settings, scope).upsert([IdMapEntry("clients", "c1", "contact", self.contact, "r1")])
        self.base_url = emulator.base_url
        self.rows: list[dict[str, Any]] = []
        self.files: dict[str, bytes] = {}

    def note(self, sid: str, data: bytes | None, *, size: int | None = None, name: str | None = None) -> str:
        """A staged note row with a file (`data` None: the file never reached staging)."""
        nid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.run.migration_id}/{sid}"))
        blob = None
        if data is not None:
            blob = f"{self.run.prefix}/files/attachments/{sid}"
            self.store.put_stream(blob, io.BytesIO(data))
            self.files[sid] = data
        name = name or f"{sid}.pdf"
        self.rows.append(
            {
                "source_id": sid,
                "table": "annotation",
                "entity_set": "annotations",
                "id": nid,
                "primary_id": "annotationid",
                "payload": {
                    "annotationid": nid,
                    "subject": name,
                    "filename": name,
                    "mimetype": "application/pdf",
                },
                "lookups": [
                    {
                        "to": "objectid",
                        "bind": "objectid_contact",
                        "candidates": [["clients", "c1"]],
                        "tables": ["contact"],
                    }
                ],
                "file": {
                    "column": "documentbody",
                    "blob": blob,
                    "size": len(data) if data is not None else size,
                    "name": name,
                    "mime_type": "application/pdf",
                    "path": f"notes/{sid}/{name}",
                },
            }
        )
        return nid

    def load(self) -> Any:
        path = f"{self.run.prefix}/target/attachments/00000.ndjson.gz"
        self.store.put_records(path, self.rows)
        inp = LoadInput(
            run=self.run, object="attachments", phase=2, chunk_no=0, target_path=path, records=len(self.rows)
        )
        with DataverseClient(self.base_url, StaticToken("t")) as dv:
            return load.load_chunk(inp, self.store, self.settings, dv)

    def quarantine(self) -> list[dict[str, Any]]:
        path = f"{self.run.prefix}/quarantine/load/attachments/00000.ndjson.gz"
        return list(self.store.get_records(path)) if self.store.list(path) else []

    def request_log(self) -> list[dict[str, Any]]:
        return self.store.get_json(f"{self.run.prefix}/load/attachments/00000.requests.json")

    def note_row(self, nid: str) -> dict[str, Any] | None:
        r = self.http.get(f"annotations({nid})")
        return r.json() if r.status_code == 200 else None


@pytest.fixture
def env(
    azurite: Any, emulator: ServerHandle, http: httpx.Client, scope_id: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Env]:
    monkeypatch.setattr(load, "profile_for", lambda spec: PROFILE)
    _set_limit(http, 5_242_880)
    yield Env(azurite, emulator, http, scope_id)
    _set_limit(http, 5_242_880)


def test_COM_05_small_files_go_inline_with_the_note(env: Env) -> None:
    ids = {
        "a1": env.note("a1", b"%PDF-1.4 " + bytes(range(256)) * 10),
        "a2": env.note("a2", b"plain text contract\n" * 100),
        "a3": env.note("a3", b""),
    }
    out = env.load()
    assert (out.loaded, out.quarantined) == (3, 0)
    for sid, nid in ids.items():
        row = env.note_row(nid)
        assert row is not None and row["_objectid_value"] == env.contact
        assert base64.b64decode(row["documentbody"] or "") == env.files[sid]
        assert row["filesize"] == len(env.files[sid]) and row["filename"] == f"{sid}.pdf"
    assert all(r["kind"] != load.BLOCK_UPLOAD for r in env.request_log())
    assert {e.source_id for e in IdMap(env.settings, env.run.migration_id).entries("attachments")} == set(ids)


def test_COM_41_a_file_over_the_org_limit_is_quarantined_naming_record_file_size_and_limit(env: Env) -> None:
    _set_limit(env.http, 1000)  # Base64 characters
    secret = b"SECRET-CONTENT-" * 60  # 900 bytes → 1,200 as Base64: over
    over = env.note("a-big", secret, name="Vertrag.pdf")
    fits = env.note("a-small", b"ok" * 300)  # 600 bytes → 800 as Base64
    out = env.load()
    assert (out.loaded, out.quarantined) == (1, 1)  # the rest of the chunk loads
    assert env.note_row(over) is None and env.note_row(fits) is not None
    (q,) = env.quarantine()
    assert (q["error"], q["source_id"], q["field"], q["stage"]) == (
        "AttachmentTooLarge",
        "a-big",
        "documentbody",
        "load",
    )
    assert "a-big" in q["reason"] and "'Vertrag.pdf'" in q["reason"]
    assert "900 bytes" in q["reason"] and "1,200 as Base64" in q["reason"] and "1,000 bytes" in q["reason"]
    assert (q["size_bytes"], q["limit_bytes"]) == (900, 1000)
    dumped = json.dumps(q)
    assert "SECRET" not in dumped and base64.b64encode(secret).decode()[:40] not in dumped
    assert "SECRET" not in json.dumps(env.request_log())


def test_COM_41_the_limit_is_read_once_per_load(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[str] = []
    real = DataverseClient.request

    def counting(self: DataverseClient, method: str, path: str, **kw: Any) -> httpx.Response:
        if path == "organizations":
            reads.append(path)
        return real(self, method, path, **kw)

    monkeypatch.setattr(DataverseClient, "request", counting)
    for n in range(5):
        env.note(f"a{n}", b"x" * 10)
    assert env.load().loaded == 5 and reads == ["organizations"]


def test_PROFI_13_a_big_note_file_is_uploaded_in_4_MB_blocks(env: Env) -> None:
    _set_limit(env.http, 20_000_000)
    data = hashlib.sha256(b"seed").digest() * (9 * MB // 32) + b"end"  # 9 MB + 3 bytes → 3 blocks
    big = env.note("a-large", data, name="recording.pdf")
    small = env.note("a-small", b"small file")
    out = env.load()
    assert (out.loaded, out.quarantined) == (2, 0)
    row = env.note_row(big)
    assert row is not None and row["_objectid_value"] == env.contact and row["filesize"] == len(data)
    assert base64.b64decode(row["documentbody"]) == data and row["filename"] == "recording.pdf"
    (upload,) = [r for r in env.request_log() if r["kind"] == load.BLOCK_UPLOAD]
    assert (upload["blocks"], upload["requests"], upload["loaded"]) == (3, 5, 1)  # initialize + 3 + commit
    assert env.note_row(small) is not None
    audited = {
        e.source_id for e in AuditLog(env.settings, env.run.migration_id).entries() if e.op == "upsert"
    }
    assert audited == {"a-large", "a-small"}  # written ahead, so rollback deletes the big one too
    assert out.items >= 5 + 1  # the entitlement counts every block request


def test_COM_05_a_re_run_rewrites_the_same_notes_not_new_ones(env: Env) -> None:
    _set_limit(env.http, 20_000_000)
    big = env.note("a-large", b"L" * (5 * MB))
    small = env.note("a-small", b"small")
    assert env.load().loaded == 2
    assert env.load().loaded == 2  # the durable retry of the same chunk
    for nid in (big, small):
        found = env.http.get("annotations", params={"$filter": f"annotationid eq {nid}"}).json()["value"]
        assert len(found) == 1


def test_COM_05_a_file_that_never_reached_staging_is_quarantined_with_the_reason(env: Env) -> None:
    env.note("a-missing", None, size=2048, name="lost.pdf")
    env.note("a-ok", b"fine")
    out = env.load()
    assert (out.loaded, out.quarantined) == (1, 1)
    (q,) = env.quarantine()
    assert (q["error"], q["source_id"], q["field"]) == ("AttachmentNotStaged", "a-missing", "documentbody")
    assert "'lost.pdf'" in q["reason"] and "2,048 bytes" in q["reason"] and "extraction" in q["reason"]


def test_COM_05_a_staged_file_deleted_before_the_load_is_quarantined(env: Env) -> None:
    env.note("a-gone", b"was here")
    env.note("a-ok", b"fine")
    env.store._clients.container.delete_blob(f"{env.run.prefix}/files/attachments/a-gone")
    out = env.load()
    assert (out.loaded, out.quarantined) == (1, 1)
    (q,) = env.quarantine()
    assert (q["error"], q["source_id"]) == ("AttachmentNotStaged", "a-gone") and "staging" in q["reason"]
