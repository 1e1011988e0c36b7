"""A note's file uploaded in blocks: InitializeAnnotationBlocksUpload, UploadBlock,
CommitAnnotationBlocksUpload. Source: MicrosoftDocs/powerapps-docs developer/data-platform/
attachment-annotation-files.md ("Upload Annotation files", Web API tab; "File size limits") and the
UploadBlock action reference ("The data block can be up to 4MB in size")."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import entity_id, error_of

MB4 = 4 * 1024 * 1024


def _bid(n: int) -> str:
    # the page's tip: Base64 of a GUID string, so every block id of a file has the same length
    return base64.b64encode(str(uuid.UUID(int=n)).encode()).decode()


def _target(note_id: str, account: str, **extra: Any) -> dict[str, Any]:
    return {
        "annotationid": note_id,
        "subject": "large PDF file",
        "filename": "25mb.pdf",
        "mimetype": "application/pdf",
        "objectid_account@odata.bind": f"/accounts({account})",
        "@odata.type": "Microsoft.Dynamics.CRM.annotation",
        **extra,
    }


def _init(client: httpx.Client, target: dict[str, Any]) -> httpx.Response:
    return client.post("InitializeAnnotationBlocksUpload", json={"Target": target})


def _block(client: httpx.Client, token: str, block_id: str, data: bytes) -> httpx.Response:
    return client.post(
        "UploadBlock",
        json={
            "BlockId": block_id,
            "BlockData": base64.b64encode(data).decode(),
            "FileContinuationToken": token,
        },
    )


def _commit(client: httpx.Client, token: str, target: dict[str, Any], ids: list[str]) -> httpx.Response:
    return client.post(
        "CommitAnnotationBlocksUpload",
        json={"Target": target, "BlockList": ids, "FileContinuationToken": token},
    )


@pytest.fixture
def account(client: httpx.Client) -> str:
    return entity_id(client.post("accounts", json={"name": "notes in blocks"}))


@pytest.fixture
def limit(client: httpx.Client) -> Iterator[Any]:
    """Sets organization.maxuploadfilesize for one test, then puts it back."""
    org = client.get("organizations", params={"$select": "maxuploadfilesize"}).json()["value"][0]
    original = org["maxuploadfilesize"]

    def set_to(value: int) -> None:
        r = client.patch(
            f"organizations({org['organizationid']})",
            json={"maxuploadfilesize": value},
            headers={"If-Match": "*"},
        )
        assert r.status_code == 204

    yield set_to
    set_to(original)


def test_blocks_make_one_note_in_block_list_order(client: httpx.Client, account: str, limit: Any) -> None:
    limit(20_000_000)
    note = str(uuid.uuid4())
    target = _target(note, account)
    init = _init(client, target)
    assert init.status_code == 200
    assert init.json()["@odata.context"].endswith(
        "$metadata#Microsoft.Dynamics.CRM.InitializeAnnotationBlocksUploadResponse"
    )
    token = init.json()["FileContinuationToken"]
    parts = [b"a" * MB4, b"b" * MB4, b"tail"]
    ids = [_bid(n) for n in range(3)]
    for bid, data in reversed(list(zip(ids, parts, strict=True))):  # sent in any order …
        assert _block(client, token, bid, data).status_code == 204
    commit = _commit(client, token, target, ids)  # … joined in BlockList order
    assert commit.status_code == 200
    assert commit.json()["AnnotationId"] == note
    assert commit.json()["FileSizeInBytes"] == 2 * MB4 + 4
    row = client.get(f"annotations({note})", params={"$select": "documentbody,filesize,isdocument,filename"})
    body = row.json()
    assert base64.b64decode(body["documentbody"]) == b"".join(parts)
    assert (body["filesize"], body["isdocument"], body["filename"]) == (2 * MB4 + 4, True, "25mb.pdf")
    assert (
        client.get(f"annotations({note})", params={"$select": "_objectid_value"}).json()["_objectid_value"]
        == account
    )


def test_commit_updates_the_note_with_that_annotationid(client: httpx.Client, account: str) -> None:
    note = str(uuid.uuid4())
    for content, subject in ((b"first", "v1"), (b"second version", "v2")):
        target = _target(note, account, subject=subject)
        token = _init(client, target).json()["FileContinuationToken"]
        assert _block(client, token, _bid(0), content).status_code == 204
        assert _commit(client, token, target, [_bid(0)]).status_code == 200
    row = client.get(f"annotations({note})").json()
    assert (base64.b64decode(row["documentbody"]), row["subject"]) == (b"second version", "v2")
    assert len(client.get("annotations", params={"$filter": f"annotationid eq {note}"}).json()["value"]) == 1


def test_target_needs_an_annotationid(client: httpx.Client, account: str) -> None:
    target = _target(str(uuid.uuid4()), account)
    del target["annotationid"]
    status, code, message = error_of(_init(client, target))
    assert (status, code) == (400, "0x80040203") and "annotationid" in message


def test_target_must_be_an_annotation(client: httpx.Client, account: str) -> None:
    target = _target(str(uuid.uuid4()), account, **{"@odata.type": "Microsoft.Dynamics.CRM.account"})
    status, code, _ = error_of(_init(client, target))
    assert (status, code) == (400, "0x80048d19")


def test_block_ids_are_base64_of_at_most_64_bytes_and_one_length_per_file(
    client: httpx.Client, account: str
) -> None:
    token = _init(client, _target(str(uuid.uuid4()), account)).json()["FileContinuationToken"]
    assert error_of(_block(client, token, "not base64 !", b"x"))[:2] == (400, "0x80040203")
    too_long = base64.b64encode(b"x" * 65).decode()
    assert error_of(_block(client, token, too_long, b"x"))[:2] == (400, "0x80040203")
    assert _block(client, token, base64.b64encode(b"x" * 64).decode(), b"x").status_code == 204
    status, code, message = error_of(_block(client, token, _bid(1), b"y"))  # another length
    assert (status, code) == (400, "0x80040203") and "same" in message


def test_a_block_is_at_most_4_mb(client: httpx.Client, account: str) -> None:
    token = _init(client, _target(str(uuid.uuid4()), account)).json()["FileContinuationToken"]
    assert _block(client, token, _bid(0), b"z" * MB4).status_code == 204
    status, code, _ = error_of(_block(client, token, _bid(1), b"z" * (MB4 + 1)))
    assert (status, code) == (400, "0x80040203")


def test_block_data_must_be_base64(client: httpx.Client, account: str) -> None:
    token = _init(client, _target(str(uuid.uuid4()), account)).json()["FileContinuationToken"]
    r = client.post(
        "UploadBlock", json={"BlockId": _bid(0), "BlockData": "@@@", "FileContinuationToken": token}
    )
    assert error_of(r)[:2] == (400, "0x80048d19")


def test_continuation_token_is_issued_by_initialize_and_used_once(client: httpx.Client, account: str) -> None:
    assert error_of(_block(client, "made-up", _bid(0), b"x"))[:2] == (400, "0x80040203")
    target = _target(str(uuid.uuid4()), account)
    token = _init(client, target).json()["FileContinuationToken"]
    _block(client, token, _bid(0), b"x")
    assert _commit(client, token, target, [_bid(0)]).status_code == 200
    assert error_of(_commit(client, token, target, [_bid(0)]))[:2] == (400, "0x80040203")


def test_block_list_names_only_uploaded_blocks(client: httpx.Client, account: str) -> None:
    target = _target(str(uuid.uuid4()), account)
    token = _init(client, target).json()["FileContinuationToken"]
    _block(client, token, _bid(0), b"x")
    status, code, _ = error_of(_commit(client, token, target, [_bid(0), _bid(1)]))
    assert (status, code) == (400, "0x80040203")


def test_committed_file_over_maxuploadfilesize_is_refused(
    client: httpx.Client, account: str, limit: Any
) -> None:
    # "File size limits": the limit applies to the Base64 size; 0x80044a02 "Attachment file size is too big."
    limit(100)
    note = str(uuid.uuid4())
    target = _target(note, account)
    token = _init(client, target).json()["FileContinuationToken"]
    _block(client, token, _bid(0), b"x" * 90)  # 120 Base64 characters
    status, code, message = error_of(_commit(client, token, target, [_bid(0)]))
    assert (status, code, message) == (400, "0x80044a02", "Attachment file size is too big.")
    assert client.get(f"annotations({note})").status_code == 404
