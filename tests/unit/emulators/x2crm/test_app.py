"""The X2CRM mock answers as Api2Controller does (the source lines are named in emulators/x2crm/README.md)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from emulators.x2crm.app import MockConfig, X2Mock
from emulators.x2crm.store import Store
from emulators.x2crm.transport import BASE, mock_transport

KEY = "k"


@pytest.fixture
def http() -> httpx.Client:
    data: dict[str, Any] = {
        "users": [{"id": 1, "username": "admin", "userKey": KEY, "password": "x", "status": 1}],
        "fields": [
            {"modelName": "Contacts", "fieldName": "firstName", "type": "varchar", "required": 1},
            {"modelName": "Contacts", "fieldName": "lastName", "type": "varchar", "required": 1},
        ],
        "records": {
            "Contacts": [
                {
                    "id": i,
                    "firstName": f"N{i}",
                    "lastName": "X",
                    "email": "dup@x.example" if i < 3 else f"{i}@x",
                    "lastUpdated": str(1000 + i),
                }
                for i in range(1, 6)
            ],
            "Actions": [
                {"id": 1, "associationType": "contacts", "associationId": "2", "actionDescription": "t"}
            ],
        },
        "tags": [{"id": 1, "type": "Contacts", "itemId": 2, "tag": "#vip"}],
    }
    return httpx.Client(
        transport=mock_transport(X2Mock(Store(data), MockConfig())), base_url=BASE, auth=("admin", KEY)
    )


def test_lists_are_bare_arrays_and_a_page_past_the_end_repeats_the_last(http: httpx.Client) -> None:
    assert [r["id"] for r in http.get("/index.php/api2/Contacts", params={"_limit": 2}).json()] == [1, 2]
    past = http.get("/index.php/api2/Contacts", params={"_limit": 2, "_page": 9}).json()
    assert [r["id"] for r in past] == [5]  # CPagination validateCurrentPage clamps to the last page


def test_comparison_filters_and_order(http: httpx.Client) -> None:
    got = http.get("/index.php/api2/Contacts", params={"lastUpdated": ">1003", "_order": "-id"}).json()
    assert [r["id"] for r in got] == [5, 4]
    bad = http.get("/index.php/api2/Contacts", params={"_order": "+nope"})
    assert bad.status_code == 400 and bad.json()["error"] is True


def test_count_by_id_json_and_by_email(http: httpx.Client) -> None:
    assert http.get("/index.php/api2/Contacts/count").json() == 5
    assert http.get("/index.php/api2/Contacts/4.json").json()["firstName"] == "N4"
    assert http.get("/index.php/api2/Contacts/by:email=4@x.json").json()["id"] == 4
    many = http.get("/index.php/api2/Contacts/by:email=dup@x.example.json")
    assert many.status_code == 300 and len(many.json()["directUris"]) == 2
    missing = http.get("/index.php/api2/Contacts/99.json")
    assert (
        missing.status_code == 404 and missing.json()["message"] == 'Record 99 of class "Contacts" not found.'
    )


def test_actions_tags_and_relationships_of_a_record(http: httpx.Client) -> None:
    assert [a["id"] for a in http.get("/index.php/api2/Contacts/2/Actions").json()] == [1]
    assert http.get("/index.php/api2/Contacts/2/tags").json() == ["#vip"]
    assert http.get("/index.php/api2/Contacts/2/relationships").json() == []
    assert http.get("/index.php/api2/Contacts/77/Actions").status_code == 404


def test_writes_need_json_and_validate(http: httpx.Client) -> None:
    assert (
        http.post(
            "/index.php/api2/Contacts", content=b"a=b", headers={"Content-Type": "text/plain"}
        ).status_code
        == 415
    )
    invalid = http.post("/index.php/api2/Contacts", json={"firstName": "A"})
    assert invalid.status_code == 422 and "lastName" in invalid.json()["errors"]
    created = http.post("/index.php/api2/Contacts", json={"firstName": "A", "lastName": "B"})
    assert created.status_code == 201 and created.json()["id"] == 6


def test_users_never_show_keys_or_passwords(http: httpx.Client) -> None:
    assert "userKey" not in json.dumps(http.get("/index.php/api2/users").json())


def test_rate_limit_answers_429_with_retry_after() -> None:
    mock = X2Mock(
        Store({"users": [{"id": 1, "username": "a", "userKey": KEY}]}),
        MockConfig(rate_limit=1, rate_interval=9),
    )
    http = httpx.Client(transport=mock_transport(mock), base_url=BASE, auth=("a", KEY))
    assert http.get("/index.php/api2/Contacts").status_code == 200
    r = http.get("/index.php/api2/Contacts")
    assert r.status_code == 429 and r.headers["Retry-After"] == "9"
