"""Activity parties written with their activity (`<activity>_activity_parties`), over real HTTP.

Sources (MicrosoftDocs/powerapps-docs, developer/data-platform/):
- activityparty-entity.md: the party types (participationtypemask 1-13) and which each activity takes
  ("Activity Party types available for each activity"; "A custom activity supports all activity party
  types"); `addressused` holds the address used.
- reference/entities/activityparty.md: the table takes RetrieveMultiple only; columns activityid,
  partyid, addressused, participationtypemask.
- reference/web-service-error-codes (data-service-error-codes): 0x80094006
  ActivityPartyParticipationTypeMaskNotFound "The Activity Party type Mask '{0}' not found.";
  0x80040800 SdkEntityDoesNotSupportMessage; 0x80048d19 payload errors; 0x80040217 ObjectDoesNotExist.
Emulator choices (README): a party with neither partyid nor addressused → 0x80040203.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from emulators.dataverse import ServerHandle, start_server
from tests.integration.custom_tables import table_body

from .batchkit import Op, parts, send
from .conftest import entity_id, error_of


def _user(mask: int, user_id: str) -> dict[str, Any]:
    return {"participationtypemask": mask, "partyid_systemuser@odata.bind": f"/systemusers({user_id})"}


def _contact(mask: int, contact_id: str) -> dict[str, Any]:
    return {"participationtypemask": mask, "partyid_contact@odata.bind": f"/contacts({contact_id})"}


def _address(mask: int, address: str) -> dict[str, Any]:
    return {"participationtypemask": mask, "addressused": address}


def _post(client: httpx.Client, entity_set: str, subject: str, *parties: dict[str, Any]) -> httpx.Response:
    """One activity with its party collection (`<table>_activity_parties`), in one POST."""
    table = entity_set.removesuffix("s")
    return client.post(entity_set, json={"subject": subject, f"{table}_activity_parties": list(parties)})


@pytest.fixture(scope="module")
def server() -> Iterator[ServerHandle]:
    with start_server(port=0, limits=False) as handle:
        yield handle


@pytest.fixture(scope="module")
def client(server: ServerHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.api_url, headers={"Authorization": "Bearer t"}, timeout=10) as c:
        yield c


@pytest.fixture(scope="module")
def user_id(client: httpx.Client) -> str:
    return str(client.get("WhoAmI").json()["UserId"])


@pytest.fixture(scope="module")
def contact_id(client: httpx.Client) -> str:
    return entity_id(client.post("contacts", json={"lastname": "Roe", "emailaddress1": "jane@roe.example"}))


@pytest.fixture(scope="module")
def visit_set(client: httpx.Client) -> str:
    """A custom activity table (publisher prefix `new`, the Default solution)."""
    body = table_body("new_Visit", "Visit", "Visits", activity=True)
    assert client.post("EntityDefinitions", json=body).status_code == 204
    return "new_visits"


def _parties(client: httpx.Client, activity_id: str) -> list[dict[str, Any]]:
    r = client.get(
        "activityparties",
        params={
            "$filter": f"_activityid_value eq {activity_id}",
            "$select": "participationtypemask,addressused,_partyid_value,_activityid_value,partyidname",
        },
    )
    assert r.status_code == 200, r.text
    return list(r.json()["value"])


def _shape(rows: list[dict[str, Any]]) -> set[tuple[Any, Any, Any]]:
    return {(p["participationtypemask"], p["addressused"], p["_partyid_value"]) for p in rows}


def test_email_with_sender_and_recipients_stores_one_party_row_each(
    client: httpx.Client, user_id: str, contact_id: str
) -> None:
    r = _post(
        client,
        "emails",
        "Parties",
        _user(1, user_id),
        _address(2, "x@y.example"),
        _contact(3, contact_id),
        _address(4, "hidden@y.example"),
    )
    assert r.status_code == 204, r.text
    email = entity_id(r)
    rows = _parties(client, email)
    assert _shape(rows) == {
        (1, None, user_id),
        (2, "x@y.example", None),
        (3, None, contact_id),
        (4, "hidden@y.example", None),
    }
    assert {p["_activityid_value"] for p in rows} == {email}
    sender = next(p for p in rows if p["participationtypemask"] == 1)
    assert sender["partyidname"]  # the user's full name, like Dataverse's partyidname
    # $expand of the collection, with a nested $select, on a single retrieve and on a collection
    one = client.get(
        f"emails({email})",
        params={"$select": "subject", "$expand": "email_activity_parties($select=participationtypemask)"},
    ).json()
    assert sorted(p["participationtypemask"] for p in one["email_activity_parties"]) == [1, 2, 3, 4]
    assert set(one["email_activity_parties"][0]) == {
        "@odata.etag",
        "participationtypemask",
        "activitypartyid",
    }
    many = client.get(
        "emails",
        params={"$filter": f"activityid eq {email}", "$expand": "email_activity_parties"},
    ).json()["value"]
    assert len(many) == 1 and len(many[0]["email_activity_parties"]) == 4


def test_phonecall_and_appointment_take_their_own_party_types(
    client: httpx.Client, user_id: str, contact_id: str
) -> None:
    call = _post(client, "phonecalls", "Call", _user(1, user_id), _contact(2, contact_id))
    assert call.status_code == 204, call.text
    meeting = _post(
        client,
        "appointments",
        "Meet",
        _user(7, user_id),
        _contact(5, contact_id),
        _address(6, "maybe@y.example"),
    )
    assert meeting.status_code == 204, meeting.text
    assert len(_parties(client, entity_id(meeting))) == 3


@pytest.mark.parametrize(
    ("entity_set", "mask"),
    [("emails", 5), ("emails", 99), ("emails", 0), ("phonecalls", 3), ("appointments", 1), ("tasks", 1)],
)
def test_a_party_type_the_activity_does_not_take_is_refused(
    client: httpx.Client, entity_set: str, mask: int
) -> None:
    # activityparty-entity.md: not every party type is available for every activity (task takes none)
    table = entity_set.removesuffix("s")
    subject = f"Refused {uuid.uuid4().hex[:8]}"
    r = client.post(
        entity_set,
        json={
            "subject": subject,
            f"{table}_activity_parties": [{"participationtypemask": mask, "addressused": "a@b.example"}],
        },
    )
    assert error_of(r) == (400, "0x80094006", f"The Activity Party type Mask '{mask}' not found.")
    # nothing was written: the activity and its parties are one operation
    assert client.get(entity_set, params={"$filter": f"subject eq '{subject}'"}).json()["value"] == []


def test_a_custom_activity_takes_every_party_type(
    client: httpx.Client, visit_set: str, contact_id: str
) -> None:
    r = _post(
        client,
        visit_set,
        "Visit",
        _contact(11, contact_id),
        _address(5, "guest@y.example"),
        _address(13, "related@y.example"),
    )
    assert r.status_code == 204, r.text
    assert {p["participationtypemask"] for p in _parties(client, entity_id(r))} == {11, 5, 13}


def test_each_party_names_a_row_or_an_address(client: httpx.Client) -> None:
    r = _post(client, "emails", "x", {"participationtypemask": 2})
    assert error_of(r)[:2] == (400, "0x80040203")
    r = _post(client, "emails", "x", _address(2, " "))
    assert error_of(r)[:2] == (400, "0x80040203")
    r = _post(client, "emails", "x", {"addressused": "a@b.example"})
    assert error_of(r)[:2] == (400, "0x80040203") and "participationtypemask" in error_of(r)[2]


def test_party_payload_errors_are_the_usual_ones(client: httpx.Client) -> None:
    def post(party: Any) -> tuple[int, str, str]:
        return error_of(client.post("emails", json={"subject": "x", "email_activity_parties": party}))

    status, code, message = post(
        [{"participationtypemask": 2, "addressused": "a@b.example", "colour": "red"}]
    )
    assert (status, code) == (400, "0x80048d19")
    assert "The property 'colour' does not exist on type 'Microsoft.Dynamics.CRM.activityparty'" in message
    assert "Entity :'emails'" in message
    status, code, message = post(
        [
            {
                "participationtypemask": 2,
                "partyid_team@odata.bind": "/teams(00000000-0000-0000-0000-000000000001)",
            }
        ]
    )
    assert (status, code) == (400, "0x80048d19") and "partyid_team" in message
    assert post([{"participationtypemask": "2", "addressused": "a@b.example"}])[:2] == (400, "0x80048d19")
    assert post({"participationtypemask": 2})[:2] == (400, "0x80048d19")  # not a collection
    assert post(["a@b.example"])[:2] == (400, "0x80048d19")
    assert post([{"participationtypemask": 2, "addressused": "a" * 201}])[:2] == (400, "0x80044331")


def test_a_party_must_point_at_an_existing_row(client: httpx.Client) -> None:
    missing = str(uuid.uuid4())
    r = _post(client, "emails", "x", _contact(2, missing))
    assert error_of(r) == (404, "0x80040217", f"contact With Id = {missing} Does Not Exist")


def test_an_update_with_the_collection_replaces_the_parties(
    client: httpx.Client, server: ServerHandle, contact_id: str
) -> None:
    email = str(uuid.uuid4())
    first = [
        _address(1, "me@y.example"),
        _contact(2, contact_id),
    ]
    assert (
        client.patch(
            f"emails({email})", json={"subject": "Upsert", "email_activity_parties": first}
        ).status_code
        == 204
    )
    before = {p["activitypartyid"]: p for p in _parties(client, email)}
    assert len(before) == 2
    # the same list again changes nothing (a re-run of a migration leaves no trace)
    snap = httpx.post(server.base_url + "/_emulator/snapshot").json()["id"]
    assert client.patch(f"emails({email})", json={"email_activity_parties": first}).status_code == 204
    diff = httpx.get(server.base_url + "/_emulator/diff", params={"from": snap}).json()["tables"]
    assert "activityparty" not in diff
    # an update without the collection leaves the parties alone
    assert client.patch(f"emails({email})", json={"subject": "Renamed"}).status_code == 204
    assert set(before) == {p["activitypartyid"] for p in _parties(client, email)}
    # another list replaces them
    second = [_address(3, "Copy@Y.example"), first[1]]
    assert client.patch(f"emails({email})", json={"email_activity_parties": second}).status_code == 204
    after = _parties(client, email)
    assert _shape(after) == {(3, "Copy@Y.example", None), (2, None, contact_id)}
    kept = next(p for p in after if p["participationtypemask"] == 2)
    assert kept["activitypartyid"] in before  # an unchanged party keeps its row
    # an empty list removes them all
    assert client.patch(f"emails({email})", json={"email_activity_parties": []}).status_code == 204
    assert _parties(client, email) == []


def test_deleting_the_activity_deletes_its_parties(client: httpx.Client) -> None:
    r = _post(client, "emails", "Gone", _address(2, "a@b.example"))
    email = entity_id(r)
    assert len(_parties(client, email)) == 1
    assert client.delete(f"emails({email})").status_code == 204
    assert _parties(client, email) == []


def test_activityparty_rows_are_read_only(client: httpx.Client) -> None:
    # reference/entities/activityparty.md lists RetrieveMultiple only
    r = client.post("activityparties", json=_address(2, "a@b.example"))
    assert error_of(r)[:2] == (400, "0x80040800") and "'Create'" in error_of(r)[2]
    email = entity_id(_post(client, "emails", "RO", _address(2, "a@b.example")))
    [party] = _parties(client, email)
    pid = party["activitypartyid"]
    assert error_of(client.patch(f"activityparties({pid})", json={"addressused": "b@b.example"}))[:2] == (
        400,
        "0x80040800",
    )
    assert error_of(client.delete(f"activityparties({pid})"))[:2] == (400, "0x80040800")
    bulk = client.post(
        "activityparties/Microsoft.Dynamics.CRM.CreateMultiple",
        json={
            "Targets": [{"@odata.type": "Microsoft.Dynamics.CRM.activityparty", "participationtypemask": 2}]
        },
    )
    assert error_of(bulk)[:2] == (400, "0x80040800")


def test_a_closed_activity_refuses_new_parties_unless_reopened(client: httpx.Client) -> None:
    email = str(uuid.uuid4())
    party = [_address(2, "a@b.example")]
    assert (
        client.patch(
            f"emails({email})", json={"subject": "Closed", "email_activity_parties": party}
        ).status_code
        == 204
    )
    assert client.patch(f"emails({email})", json={"statecode": 1, "statuscode": 3}).status_code == 204
    r = client.patch(f"emails({email})", json={"email_activity_parties": []})
    assert error_of(r)[:2] == (400, "0x80040203")
    reopened = client.patch(
        f"emails({email})", json={"statecode": 0, "statuscode": 1, "email_activity_parties": party}
    )
    assert reopened.status_code == 204, reopened.text


def test_bulk_targets_carry_parties_and_fail_atomically(
    client: httpx.Client, visit_set: str, contact_id: str
) -> None:
    ok, bad = str(uuid.uuid4()), str(uuid.uuid4())
    target = "Microsoft.Dynamics.CRM.new_visit"
    good_party = _contact(5, contact_id)
    r = client.post(
        f"{visit_set}/Microsoft.Dynamics.CRM.UpsertMultiple",
        json={
            "Targets": [
                {
                    "@odata.type": target,
                    "activityid": ok,
                    "subject": "A",
                    "new_visit_activity_parties": [good_party],
                },
                {
                    "@odata.type": target,
                    "activityid": bad,
                    "subject": "B",
                    "new_visit_activity_parties": [{"participationtypemask": 2}],
                },
            ]
        },
    )
    status, code, _ = error_of(r)
    assert (status, code) == (400, "0x80040203") and r.json()["error"]["@emulator.TargetIndex"] == 1
    assert _parties(client, ok) == []  # the whole request rolled back, parties too
    r = client.post(
        f"{visit_set}/Microsoft.Dynamics.CRM.CreateMultiple",
        json={
            "Targets": [
                {
                    "@odata.type": target,
                    "activityid": ok,
                    "subject": "A",
                    "new_visit_activity_parties": [good_party],
                }
            ]
        },
    )
    assert r.status_code == 200, r.text
    assert _shape(_parties(client, ok)) == {(5, None, contact_id)}
    r = client.post(
        f"{visit_set}/Microsoft.Dynamics.CRM.UpsertMultiple",
        json={
            "Targets": [
                {
                    "@odata.type": target,
                    "activityid": ok,
                    "new_visit_activity_parties": [_address(1, "s@y.example")],
                }
            ]
        },
    )
    assert r.status_code == 204, r.text
    assert _shape(_parties(client, ok)) == {(1, "s@y.example", None)}


def test_batch_parts_carry_parties_and_isolate_a_bad_one(client: httpx.Client) -> None:
    # the loader's isolation path: PATCH by id, continue-on-error
    good, bad = str(uuid.uuid4()), str(uuid.uuid4())
    r = send(
        client,
        [
            Op(
                "PATCH",
                f"emails({good})",
                {
                    "subject": "G",
                    "email_activity_parties": [_address(2, "g@y.example")],
                },
            ),
            Op(
                "PATCH",
                f"emails({bad})",
                {
                    "subject": "B",
                    "email_activity_parties": [_address(9, "b@y.example")],
                },
            ),
        ],
        prefer="odata.continue-on-error",
    )
    assert r.status_code == 200
    answers = parts(r)
    assert [p.status for p in answers] == [204, 400]
    assert answers[1].body["error"]["code"] == "0x80094006"
    assert _shape(_parties(client, good)) == {(2, "g@y.example", None)}
    assert client.get(f"emails({bad})").status_code == 404


def test_other_expansions_and_party_side_writes_are_not_implemented(client: httpx.Client) -> None:
    assert client.get("emails", params={"$expand": "regardingobjectid_contact_email"}).status_code == 501
    assert client.get("accounts", params={"$expand": "account_activity_parties"}).status_code == 501
    r = client.post("accounts", json={"name": "x", "account_activity_parties": []})
    assert r.status_code == 501


def test_deleting_a_custom_activity_table_deletes_its_parties(client: httpx.Client) -> None:
    body = table_body("new_Ping", "Ping", "Pings", activity=True)
    assert client.post("EntityDefinitions", json=body).status_code == 204
    ping = entity_id(_post(client, "new_pings", "p", _address(2, "a@b.example")))
    assert len(_parties(client, ping)) == 1
    assert client.delete("EntityDefinitions(LogicalName='new_ping')").status_code == 204
    assert _parties(client, ping) == []
