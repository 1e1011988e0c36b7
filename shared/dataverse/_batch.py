"""The OData `$batch` wire format: build a multipart request of independent operations and read
the multipart response back into one result per operation.

Used to isolate bad rows: after an atomic bulk request fails, the same rows go as one `$batch`
with `Prefer: odata.continue-on-error`, so every good row is written and every bad one comes back
with its own status, error code and message — in one request instead of a bisection.
Format: execute-batch-operations-using-web-api.md (parts are `application/http`, binary encoded).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

_STATUS = re.compile(r"^HTTP/1\.1 (\d{3})")


@dataclass(frozen=True)
class BatchOperation:
    method: str
    url: str  # relative to the service root, e.g. "accounts(<guid>)"
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchResult:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error(self) -> tuple[str | None, str]:
        err = self.body.get("error") if isinstance(self.body, dict) else None
        if not isinstance(err, dict):
            return None, f"HTTP {self.status}"
        return (str(err["code"]) if err.get("code") is not None else None), str(err.get("message", ""))


def build_batch(ops: list[BatchOperation], service_root_path: str) -> tuple[str, bytes]:
    """(Content-Type header, body) for a `$batch` of independent operations (no change set)."""
    boundary = f"batch_{uuid.uuid4()}"
    lines: list[str] = []
    for n, op in enumerate(ops, start=1):
        lines += [
            f"--{boundary}",
            "Content-Type: application/http",
            "Content-Transfer-Encoding: binary",
            f"Content-ID: {n}",
            "",
            f"{op.method} {service_root_path.rstrip('/')}/{op.url} HTTP/1.1",
        ]
        headers = dict(op.headers)
        if op.body is not None:
            headers.setdefault("Content-Type", "application/json; type=entry")
        lines += [f"{k}: {v}" for k, v in headers.items()]
        lines += ["", json.dumps(op.body, separators=(",", ":")) if op.body is not None else ""]
    lines.append(f"--{boundary}--")
    return f"multipart/mixed; boundary={boundary}", ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _boundary(content_type: str) -> str:
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if m is None:
        raise ValueError("multipart response without a boundary")
    return m.group(1)


def _split(body: str, boundary: str) -> list[str]:
    parts = re.split(rf"\r?\n?--{re.escape(boundary)}(?:--)?[ \t]*\r?\n?", body)
    return [p for p in parts if p.strip() and p.strip() != "--"]


def _headers_and_rest(text: str) -> tuple[dict[str, str], str]:
    """Split a MIME/HTTP block at its first blank line into lower-cased headers and the rest."""
    m = re.search(r"\r?\n\r?\n", text)
    head, rest = (text, "") if m is None else (text[: m.start()], text[m.end() :])
    headers = {}
    for line in head.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return headers, rest


def parse_batch_response(content_type: str, payload: bytes) -> list[BatchResult]:
    """One BatchResult per operation, in order (change-set responses flattened)."""
    results: list[BatchResult] = []
    for part in _split(payload.decode("utf-8"), _boundary(content_type)):
        headers, rest = _headers_and_rest(part)
        inner_type = headers.get("content-type", "")
        if inner_type.startswith("multipart/mixed"):
            results.extend(parse_batch_response(inner_type, rest.encode("utf-8")))
            continue
        rest = rest.lstrip("\r\n")
        status_line, _, http_rest = rest.partition("\n")
        m = _STATUS.match(status_line.strip())
        if m is None:
            raise ValueError("a $batch response part has no HTTP status line")
        part_headers, body_text = _headers_and_rest(http_rest)
        body_text = body_text.strip()
        body: Any = None
        if body_text:
            try:
                body = json.loads(body_text)
            except json.JSONDecodeError:
                body = body_text
        results.append(BatchResult(int(m.group(1)), part_headers, body))
    return results
