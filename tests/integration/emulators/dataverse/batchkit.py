"""Build `$batch` bodies and read batch responses for tests, independently of the emulator's parser
(responses are read with the stdlib `email` MIME parser)."""

from __future__ import annotations

import email
import email.policy
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

API = "/api/data/v9.2/"


@dataclass
class Op:
    method: str
    url: str
    body: Any = None
    content_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _op_lines(op: Op) -> list[str]:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if op.content_id is not None:
        lines.append(f"Content-ID: {op.content_id}")
    url = op.url if op.url.startswith(("$", "http")) else API + op.url
    lines += ["", f"{op.method} {url} HTTP/1.1"]
    if op.body is not None:
        lines.append("Content-Type: application/json; type=entry")
    lines += [f"{k}: {v}" for k, v in op.headers.items()]
    lines.append("")
    lines.append(json.dumps(op.body) if op.body is not None else "")
    return lines


def build(items: list[Op | list[Op]]) -> tuple[str, bytes]:
    """Ops outside change sets, lists of ops as change sets → (Content-Type, body)."""
    boundary = f"batch_{uuid.uuid4().hex[:12]}"
    lines: list[str] = []
    for item in items:
        lines.append(f"--{boundary}")
        if isinstance(item, list):
            cs = f"changeset_{uuid.uuid4().hex[:12]}"
            lines += [f"Content-Type: multipart/mixed; boundary={cs}", ""]
            for op in item:
                lines.append(f"--{cs}")
                lines += _op_lines(op)
            lines.append(f"--{cs}--")
        else:
            lines += _op_lines(item)
    lines.append(f"--{boundary}--")
    return f'multipart/mixed; boundary="{boundary}"', "\r\n".join(lines).encode()


@dataclass
class Part:
    status: int
    headers: dict[str, str]
    body: Any
    content_id: str | None
    in_changeset: bool


def send(client: httpx.Client, items: list[Op | list[Op]], prefer: str | None = None) -> httpx.Response:
    ctype, body = build(items)
    headers = {"Content-Type": ctype}
    if prefer:
        headers["Prefer"] = prefer
    return client.post("$batch", content=body, headers=headers)


def parts(response: httpx.Response) -> list[Part]:
    raw = f"Content-Type: {response.headers['Content-Type']}\r\n\r\n".encode() + response.content
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    out: list[Part] = []

    def read(msg: Any, in_cs: bool) -> None:
        for sub in msg.get_payload():
            if sub.is_multipart():
                read(sub, True)
                continue
            http = sub.get_payload(decode=False)
            head, _, body = http.replace("\r\n", "\n").partition("\n\n")
            status_line, *header_lines = head.split("\n")
            headers = {}
            for line in header_lines:
                name, _, value = line.partition(":")
                headers[name.strip()] = value.strip()
            text = body.strip()
            out.append(
                Part(
                    int(status_line.split()[1]),
                    headers,
                    json.loads(text) if text else None,
                    sub.get("Content-ID"),
                    in_cs,
                )
            )

    read(message, False)
    return out
