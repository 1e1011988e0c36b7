"""Note files: the org's upload limit, and the chunked upload for files too big to send inline.

Source: powerapps-docs `developer/data-platform/attachment-annotation-files.md`.

- `organization.maxuploadfilesize` (one row, `GET organizations?$select=maxuploadfilesize`) limits a
  note's file — measured **as Base64**, which is 4/3 of the bytes — default 5,242,880, at most
  131,072,000; a larger one → 0x80044a02 "Attachment file size is too big.".
- Inline: `documentbody` holds the Base64 string; fine "as long as the files are not too large, for
  example under 4 MB".
- Chunked (`upload_note_file`): `POST InitializeAnnotationBlocksUpload {"Target": <annotation with its
  annotationid>}` → `{"FileContinuationToken"}`; `POST UploadBlock {"BlockId", "BlockData",
  "FileContinuationToken"}` per block of at most 4 MB (BlockId: Base64 of at most 64 bytes, the same
  length for every block of a file) → 204; `POST CommitAnnotationBlocksUpload {"Target", "BlockList",
  "FileContinuationToken"}` → `{"AnnotationId", "FileSizeInBytes"}`. The Target carries every column
  but the body; the commit creates the note, or updates the one with that `annotationid` — so a
  retried upload with the same deterministic id stays one note.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from shared.errors import TargetRequestFailed

if TYPE_CHECKING:
    from shared.dataverse._client import DataverseClient

BLOCK_BYTES = 4 * 1024 * 1024
"""UploadBlock's most: "The data block can be up to 4MB in size"."""
INLINE_MAX_BYTES = 4 * 1024 * 1024
"""Files up to this size go inline in the row (the page's "under 4 MB"); larger ones in blocks."""
MAX_UPLOAD_CEILING = 131_072_000
DEFAULT_MAX_UPLOAD = 5_242_880
TOO_BIG_CODE = "0x80044a02"


def base64_length(size: int) -> int:
    """How long `size` bytes are as Base64 — what maxuploadfilesize is compared with."""
    return 4 * ((size + 2) // 3)


def read_max_upload_bytes(dv: DataverseClient) -> int | None:
    """`organization.maxuploadfilesize`, or None when the org does not say (then Dataverse decides)."""
    try:
        rows = dv.request("GET", "organizations", params={"$select": "maxuploadfilesize"}).json()
    except TargetRequestFailed:
        return None
    values = rows.get("value") or []
    limit = values[0].get("maxuploadfilesize") if values else None
    return int(limit) if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0 else None


def block_id(annotation_id: str, n: int) -> str:
    """Deterministic (a retried block replaces itself), same length for every block of a file."""
    return base64.b64encode(f"{annotation_id.lower()}:{n:08d}".encode("ascii")).decode("ascii")


def upload_note_file(
    dv: DataverseClient, target: dict[str, Any], blocks: Iterable[bytes], *, expected_size: int
) -> dict[str, Any]:
    """Create or update the note `target` (it must carry `annotationid`) with the file given as
    blocks of at most 4 MB. Returns the commit's answer (`AnnotationId`, `FileSizeInBytes`).

    A commit whose answer was lost (the connection dropped after Dataverse committed) is recognised by
    reading the note back: same `filesize` → done."""
    annotation_id = str(target["annotationid"])
    body = {"@odata.type": "Microsoft.Dynamics.CRM.annotation", **target}
    body.pop("documentbody", None)
    init = dv.request("POST", "InitializeAnnotationBlocksUpload", json={"Target": body}).json()
    token = init["FileContinuationToken"]
    ids: list[str] = []
    for n, block in enumerate(blocks):
        if len(block) > BLOCK_BYTES:
            raise ValueError(f"block {n} is {len(block)} bytes, more than UploadBlock takes")
        bid = block_id(annotation_id, n)
        dv.request(
            "POST",
            "UploadBlock",
            json={
                "BlockId": bid,
                "BlockData": base64.b64encode(block).decode("ascii"),
                "FileContinuationToken": token,
            },
        )
        ids.append(bid)
    commit = {"Target": body, "BlockList": ids, "FileContinuationToken": token}
    try:
        return dict(dv.request("POST", "CommitAnnotationBlocksUpload", json=commit).json())
    except TargetRequestFailed as exc:
        if exc.status >= 500 or exc.error_code == TOO_BIG_CODE:
            raise
        resp = dv.request("GET", f"annotations({annotation_id})", params={"$select": "filesize"}, ok=(404,))
        if resp.status_code == 200 and resp.json().get("filesize") == expected_size:
            return {"AnnotationId": annotation_id, "FileSizeInBytes": expected_size}
        raise
