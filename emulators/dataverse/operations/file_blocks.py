"""Chunked upload of a note's file: `InitializeAnnotationBlocksUpload`, `UploadBlock`,
`CommitAnnotationBlocksUpload` (unbound actions).

Source: powerapps-docs `developer/data-platform/attachment-annotation-files.md` ("Upload Annotation
files", Web API tab) and the action references (`webapi/reference/initializeannotationblocksupload`,
`uploadblock`, `commitannotationblocksupload`):

- Initialize: `{"Target": {annotation with "@odata.type": "Microsoft.Dynamics.CRM.annotation"}}` — "The
  annotation you pass as the Target parameter for these messages must have an annotationid value" —
  → 200 `{"@odata.context": "…$metadata#Microsoft.Dynamics.CRM.InitializeAnnotationBlocksUploadResponse",
  "FileContinuationToken": "…"}`.
- UploadBlock: `{"BlockId", "BlockData", "FileContinuationToken"}` → 204. BlockId: "A valid Base64 string
  value that identifies the block. Prior to encoding, the string must be less than or equal to 64
  bytes in size. For a given file, the length of the BlockId value must be the same size for each
  block." BlockData (Edm.Binary, Base64 in JSON): "The data block can be up to 4MB in size."
- Commit: `{"Target", "BlockList": [ids in file order], "FileContinuationToken"}` → 200
  `{"@odata.context": "…CommitAnnotationBlocksUploadResponse", "AnnotationId", "FileSizeInBytes"}`; the
  note is created, or the one with that annotationid updated ("This is how you can update existing
  annotation records"). The file's Base64 size is held to `organization.maxuploadfilesize` like an
  inline `documentbody` (0x80044a02, rules.py).

The pages give no error codes for a bad token, block id or block list; those below are the
emulator's (0x80040203 InvalidArgument, with a message naming the parameter). Tokens are single-use:
a committed upload's token is gone. Blocks are held in memory until the commit.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from .. import errors
from ..engine import Engine
from ..values import parse_guid
from .base import Request, Response, context_url

ACTIONS = ("InitializeAnnotationBlocksUpload", "UploadBlock", "CommitAnnotationBlocksUpload")
MAX_BLOCK_BYTES = 4 * 1024 * 1024
MAX_BLOCK_ID_BYTES = 64
ANNOTATION_TYPE = "Microsoft.Dynamics.CRM.annotation"


@dataclass
class _Upload:
    annotation_id: str
    blocks: dict[str, bytes] = field(default_factory=dict)
    id_length: int | None = None


class BlockUploads:
    """Uploads in progress, by FileContinuationToken."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._uploads: dict[str, _Upload] = {}

    def clear(self) -> None:
        with self._lock:
            self._uploads.clear()

    def handle(self, req: Request, action: str) -> Response:
        if req.method != "POST":
            raise errors.method_not_allowed(req.method, action)
        data = _body(req, action)
        if action == "InitializeAnnotationBlocksUpload":
            return self._initialize(req, data)
        if action == "UploadBlock":
            return self._upload(data)
        return self._commit(req, data)

    # --- the three messages -----------------------------------------------------------------------

    def _initialize(self, req: Request, data: dict[str, Any]) -> Response:
        target = _target(data, "InitializeAnnotationBlocksUpload")
        annotation_id = _annotation_id(target)
        table = self._table()
        self.engine.validate(table, _columns(target), "create")  # fail early on unknown columns
        token = base64.urlsafe_b64encode(secrets.token_bytes(48)).decode("ascii")
        with self._lock:
            self._uploads[token] = _Upload(annotation_id)
        body = {
            "@odata.context": context_url(
                req, "Microsoft.Dynamics.CRM.InitializeAnnotationBlocksUploadResponse"
            ),
            "FileContinuationToken": token,
        }
        return Response(200, body)

    def _upload(self, data: dict[str, Any]) -> Response:
        block_id = data.get("BlockId")
        block_data = data.get("BlockData")
        token = data.get("FileContinuationToken")
        upload = self._session(token, "UploadBlock")
        if not isinstance(block_id, str) or not block_id:
            raise _param_missing("UploadBlock", "BlockId", "Edm.String")
        raw_id = _b64(block_id)
        if raw_id is None:
            raise errors.invalid_argument(f"BlockId '{block_id}' is not a valid Base64 string.")
        if len(raw_id) > MAX_BLOCK_ID_BYTES:
            raise errors.invalid_argument(
                f"BlockId must be at most {MAX_BLOCK_ID_BYTES} bytes before Base64 encoding; "
                f"it is {len(raw_id)}."
            )
        if not isinstance(block_data, str):
            raise _param_missing("UploadBlock", "BlockData", "Edm.Binary")
        chunk = _b64(block_data)
        if chunk is None:
            raise errors.payload_error(
                "UploadBlock",
                "Microsoft.OData.ODataException: Cannot convert the literal to the expected type "
                "'Edm.Binary'.",
            )
        if len(chunk) > MAX_BLOCK_BYTES:
            raise errors.invalid_argument(
                f"The data block is {len(chunk)} bytes; a block can be up to {MAX_BLOCK_BYTES} bytes (4 MB)."
            )
        with self._lock:
            if upload.id_length is not None and len(block_id) != upload.id_length:
                raise errors.invalid_argument(
                    "For a given file, the length of the BlockId value must be the same for each block "
                    f"({upload.id_length} characters, not {len(block_id)})."
                )
            upload.id_length = len(block_id)
            upload.blocks[block_id] = chunk
        return Response(204, None)

    def _commit(self, req: Request, data: dict[str, Any]) -> Response:
        target = _target(data, "CommitAnnotationBlocksUpload")
        annotation_id = _annotation_id(target)
        token = data.get("FileContinuationToken")
        upload = self._session(token, "CommitAnnotationBlocksUpload")
        block_list = data.get("BlockList")
        if not isinstance(block_list, list) or not all(isinstance(b, str) for b in block_list):
            raise _param_missing("CommitAnnotationBlocksUpload", "BlockList", "Collection(Edm.String)")
        if annotation_id != upload.annotation_id:
            raise errors.invalid_argument(
                f"The Target's annotationid {annotation_id} is not the one the upload was initialized for."
            )
        with self._lock:
            missing = [b for b in block_list if b not in upload.blocks]
            if missing:
                raise errors.invalid_argument(
                    f"BlockList names {len(missing)} block(s) that were not uploaded with this "
                    f"FileContinuationToken (first: '{missing[0]}')."
                )
            content = b"".join(upload.blocks[b] for b in block_list)
        table = self._table()
        columns = {**_columns(target), "documentbody": base64.b64encode(content).decode("ascii")}
        with self.engine.store.transaction():
            existing = self.engine.store.get(table.logical_name, annotation_id)
            if existing is None:
                self.engine.create(table, columns, req.caller, record_id=annotation_id)
            else:
                self.engine.update(table, annotation_id, columns, req.caller, existing=existing)
        with self._lock:
            self._uploads.pop(str(token), None)
        body = {
            "@odata.context": context_url(req, "Microsoft.Dynamics.CRM.CommitAnnotationBlocksUploadResponse"),
            "AnnotationId": annotation_id,
            "FileSizeInBytes": len(content),
        }
        return Response(200, body, records=1)

    # --- helpers ----------------------------------------------------------------------------------

    def _table(self) -> Any:
        table = self.engine.registry.by_logical("annotation")
        if table is None:  # pragma: no cover - the standard metadata has notes
            raise errors.not_implemented("Notes")
        return table

    def _session(self, token: Any, action: str) -> _Upload:
        if not isinstance(token, str) or not token:
            raise _param_missing(action, "FileContinuationToken", "Edm.String")
        with self._lock:
            upload = self._uploads.get(token)
        if upload is None:
            raise errors.invalid_argument(
                "The FileContinuationToken is not valid: it was not issued by "
                "InitializeAnnotationBlocksUpload, or its upload was already committed."
            )
        return upload


def _body(req: Request, action: str) -> dict[str, Any]:
    try:
        data = json.loads(req.body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.payload_error(action, f"Microsoft.OData.ODataException: Invalid JSON. {exc}") from None
    if not isinstance(data, dict):
        raise errors.payload_error(action, "Microsoft.OData.ODataException: A JSON object was expected.")
    return data


def _param_missing(action: str, name: str, edm: str) -> errors.DataverseError:
    return errors.payload_error(
        action,
        f"Microsoft.OData.ODataException: The parameter '{name}' of '{action}' is missing or is not {edm}.",
    )


def _target(data: dict[str, Any], action: str) -> dict[str, Any]:
    target = data.get("Target")
    if not isinstance(target, dict):
        raise _param_missing(action, "Target", "a crmbaseentity")
    odata_type = str(target.get("@odata.type", "")).removeprefix("#")
    if odata_type != ANNOTATION_TYPE:
        raise errors.payload_error(
            action,
            f"Microsoft.OData.ODataException: The Target of '{action}' must carry \"@odata.type\": "
            f"\"{ANNOTATION_TYPE}\" (found '{target.get('@odata.type')}').",
        )
    return target


def _annotation_id(target: dict[str, Any]) -> str:
    value = target.get("annotationid")
    guid = parse_guid(str(value)) if isinstance(value, str) else None
    if guid is None:
        raise errors.invalid_argument(
            "The annotation passed as Target must have an annotationid value (generate a new GUID to "
            "create a note with these messages)."
        )
    return guid


def _columns(target: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in target.items() if k not in ("@odata.type", "documentbody")}


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
