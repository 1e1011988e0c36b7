"""Notes with files. Source: MicrosoftDocs/powerapps-docs developer/data-platform/
attachment-annotation-files.md ("Annotation files", "File size limits": default 5242880 bytes, the limit
applies to the Base64 size, too large → 0x80044a02 "Attachment file size is too big.", read and update
`organization.maxuploadfilesize` through `organizations`)."""

from __future__ import annotations

import base64
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from .conftest import entity_id, error_of


@pytest.fixture
def small_limit(client: httpx.Client) -> Iterator[int]:
    org = client.get("organizations", params={"$select": "maxuploadfilesize"}).json()["value"][0]
    client.patch(
        f"organizations({org['organizationid']})", json={"maxuploadfilesize": 100}, headers={"If-Match": "*"}
    )
    yield 100
    client.patch(
        f"organizations({org['organizationid']})",
        json={"maxuploadfilesize": org["maxuploadfilesize"]},
        headers={"If-Match": "*"},
    )


def _note(client: httpx.Client, account: str, body: str) -> httpx.Response:
    return client.post(
        "annotations",
        json={
            "subject": "Contract",
            "notetext": "see file",
            "filename": "a.txt",
            "mimetype": "text/plain",
            "documentbody": body,
            "objectid_account@odata.bind": f"/accounts({account})",
        },
    )


def _account(client: httpx.Client) -> str:
    return entity_id(client.post("accounts", json={"name": "with notes"}))


def test_organization_has_default_max_upload_file_size(client: httpx.Client) -> None:
    # "File size limits": default 5 MB (5242880 bytes), read via GET organizations?$select=maxuploadfilesize
    org = client.get("organizations", params={"$select": "maxuploadfilesize"}).json()["value"]
    assert len(org) == 1 and org[0]["maxuploadfilesize"] == 5_242_880


def test_note_with_file_computes_filesize(client: httpx.Client) -> None:
    # "Annotation files": documentbody is Base64; filesize is the file's byte size (read-only column)
    data = b"hello intact"
    note = entity_id(_note(client, _account(client), base64.b64encode(data).decode()))
    row = client.get(f"annotations({note})").json()
    assert row["filesize"] == len(data) and row["isdocument"] is True and row["filename"] == "a.txt"


def test_invalid_base64_is_rejected(client: httpx.Client) -> None:
    # documentbody holds Base64 (the page's "Using file data"); code/wording are the emulator's
    status, code, _ = error_of(_note(client, _account(client), "not base64 !!"))
    assert (status, code) == (400, "0x80040203")


def test_too_large_file_is_rejected(client: httpx.Client, small_limit: int) -> None:
    # "File size limits": 0x80044a02 "Attachment file size is too big." on the Base64 size
    body = base64.b64encode(b"x" * 90).decode()  # 120 Base64 chars > 100, though the file is 90 bytes
    status, code, message = error_of(_note(client, _account(client), body))
    assert (status, code, message) == (400, "0x80044a02", "Attachment file size is too big.")


def test_max_upload_bytes_flag_sets_the_organization_value() -> None:
    # "File size limits" (configurable up to 131072000); the CLI flag sets the org row at start
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulators.dataverse", "--port", "0", "--max-upload-bytes", "1000"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip()
        r = httpx.get(f"{base}/api/data/v9.2/organizations", headers={"Authorization": "Bearer t"})
        assert r.json()["value"][0]["maxuploadfilesize"] == 1000
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()
