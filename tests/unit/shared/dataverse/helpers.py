"""A DataverseClient on an httpx.MockTransport with a recorded, instant sleep."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from shared.dataverse import DataverseClient, RetryPolicy, StaticToken

URL = "https://acme.crm.dynamics.com"
BASE = f"{URL}/api/data/v9.2/"


def make_client(
    handler: Callable[[httpx.Request], httpx.Response],
    sleeps: list[float],
    policy: RetryPolicy | None = None,
    *,
    ask_bulk_support: bool = False,
) -> DataverseClient:
    """Fakes here answer the write paths only, so bulk support is assumed unless asked for."""
    client = DataverseClient(
        URL,
        StaticToken("test-token"),
        policy=policy,
        transport=httpx.MockTransport(handler),
        sleep=sleeps.append,
    )
    if not ask_bulk_support:
        client.assume_bulk_support()
    return client


def error_body(code: str, message: str) -> dict[str, object]:
    return {"error": {"code": code, "message": message}}
