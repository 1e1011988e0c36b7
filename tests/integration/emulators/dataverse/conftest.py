"""One emulator for the whole session (127.0.0.1, port 0) and an authenticated httpx client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from emulators.dataverse import ServerHandle, start_server

DISABLED_USER_ID = "0a2b7c1e-0000-4000-8000-0000000d1501"
ACTIVE_USER_ID = "0a2b7c1e-0000-4000-8000-0000000d1502"
SEED = {
    "systemusers": [
        {
            "systemuserid": DISABLED_USER_ID,
            "fullname": "Gone Away",
            "internalemailaddress": "gone@contoso.test",
            "domainname": "gone@contoso.test",
            "isdisabled": True,
            "accessmode": 0,
        },
        {
            "systemuserid": ACTIVE_USER_ID,
            "fullname": "Ada Active",
            "internalemailaddress": "ada@contoso.test",
            "domainname": "ada@contoso.test",
            "isdisabled": False,
            "accessmode": 0,
        },
    ],
    "accounts": [{"accountid": "0a2b7c1e-0000-4000-8000-00000000acc1", "name": "Seeded Account"}],
}


@pytest.fixture(scope="session")
def seed_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dataverse") / "seed.json"
    path.write_text(json.dumps(SEED), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def server(seed_file: Path) -> Iterator[ServerHandle]:
    handle = start_server(port=0, seed_file=str(seed_file))
    yield handle
    handle.close()


@pytest.fixture(scope="session")
def client(server: ServerHandle) -> Iterator[httpx.Client]:
    headers = {
        "Authorization": "Bearer test-token",
        "Accept": "application/json",
        "OData-MaxVersion": "4.0",
        "OData-Version": "4.0",
    }
    with httpx.Client(base_url=server.api_url, headers=headers, timeout=10) as c:
        yield c


def entity_id(response: httpx.Response) -> str:
    """The GUID at the end of an OData-EntityId header."""
    return response.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()["error"]
    return response.status_code, body["code"], body["message"]
