"""statecode/statuscode rules, WinOpportunity/LoseOpportunity, read-only columns, owners.

Sources (one per test, named in its comment):
- CreateRequest.Target (Microsoft SDK reference): "If the entity instance includes properties where
  IsValidForCreate is false, the values are ignored."
- 0x80048408 "<status> is not a valid status code for state code <Schema>State.<Label> on <table> with
  Id <id>." — captured from a live org (Stack Overflow "Create inactive account", 65294197).
- powerapps-docs reference/web-service-error-codes.md: CannotUseOpportunitySetStateMessage 0x80100005.
- Web API reference: WinOpportunity / LoseOpportunity actions (Status, OpportunityClose).
"""

from __future__ import annotations

import uuid

import httpx

from .conftest import ACTIVE_USER_ID, DISABLED_USER_ID, entity_id, error_of


def _lead(client: httpx.Client, **extra: object) -> httpx.Response:
    return client.post("leads", json={"lastname": f"L{uuid.uuid4().hex[:6]}", "subject": "s", **extra})


def _opportunity(client: httpx.Client) -> str:
    return entity_id(client.post("opportunities", json={"name": f"O{uuid.uuid4().hex[:6]}"}))


def test_statecode_on_create_is_ignored(client: httpx.Client) -> None:
    # CreateRequest.Target: IsValidForCreate false → ignored; lead statecode is not valid for create
    lead = entity_id(_lead(client, statecode=2))
    assert client.get(f"leads({lead})").json()["statecode"] == 0


def test_status_of_another_state_on_create_is_rejected(client: httpx.Client) -> None:
    # 0x80048408 (live capture, Stack Overflow 65294197): lead statuscode 4 (Lost) belongs to Disqualified
    status, code, message = error_of(_lead(client, statecode=2, statuscode=4))
    assert (status, code) == (400, "0x80048408")
    assert message.startswith("4 is not a valid status code for state code LeadState.Open on lead with Id ")


def test_status_of_the_initial_state_on_create_is_accepted(client: httpx.Client) -> None:
    # lead statuscode 2 (Contacted) belongs to Open (notes/dataverse.md, entity reference)
    lead = entity_id(_lead(client, statuscode=2))
    row = client.get(f"leads({lead})").json()
    assert (row["statecode"], row["statuscode"]) == (0, 2)


def test_update_status_must_belong_to_the_state(client: httpx.Client) -> None:
    # 0x80048408 on update: statuscode alone must belong to the current state
    lead = entity_id(_lead(client))
    r = client.patch(f"leads({lead})", json={"statuscode": 5})
    assert error_of(r)[:2] == (400, "0x80048408")
    ok = client.patch(f"leads({lead})", json={"statecode": 2, "statuscode": 5})
    assert ok.status_code == 204
    row = client.get(f"leads({lead})").json()
    assert (row["statecode"], row["statuscode"]) == (2, 5)


def test_opportunity_cannot_be_won_by_update(client: httpx.Client) -> None:
    # web-service-error-codes.md: CannotUseOpportunitySetStateMessage 0x80100005
    opp = _opportunity(client)
    status, code, message = error_of(
        client.patch(f"opportunities({opp})", json={"statecode": 1, "statuscode": 3})
    )
    assert (status, code) == (400, "0x80100005")
    assert message == (
        "This message can not be used to set the state of opportunity to won. In order to set state of "
        "opportunity to won, use the won message instead."
    )


def test_win_opportunity_closes_it_and_creates_opportunityclose(client: httpx.Client) -> None:
    # WinOpportunity action: Status + OpportunityClose; returns no value (204)
    opp = _opportunity(client)
    r = client.post(
        "WinOpportunity",
        json={
            "Status": 3,
            "OpportunityClose": {
                "subject": "Won it",
                "opportunityid@odata.bind": f"/opportunities({opp})",
                "actualrevenue": 1200.5,
                "actualend": "2024-03-01",
            },
        },
    )
    assert r.status_code == 204, r.text
    row = client.get(f"opportunities({opp})").json()
    assert (row["statecode"], row["statuscode"], row["actualvalue"]) == (1, 3, 1200.5)
    closes = client.get("opportunitycloses", params={"$filter": f"_opportunityid_value eq {opp}"}).json()[
        "value"
    ]
    assert len(closes) == 1 and closes[0]["subject"] == "Won it" and closes[0]["statecode"] == 1


def test_lose_opportunity_needs_a_lost_status(client: httpx.Client) -> None:
    # LoseOpportunity action; Status 3 (Won) does not belong to Lost → 0x80048408
    opp = _opportunity(client)
    body = {
        "Status": 3,
        "OpportunityClose": {"subject": "x", "opportunityid@odata.bind": f"/opportunities({opp})"},
    }
    assert error_of(client.post("LoseOpportunity", json=body))[:2] == (400, "0x80048408")
    body["Status"] = 4
    assert client.post("LoseOpportunity", json=body).status_code == 204
    row = client.get(f"opportunities({opp})").json()
    assert (row["statecode"], row["statuscode"]) == (2, 4)


def test_closed_opportunity_is_not_updatable(client: httpx.Client) -> None:
    # notes/dataverse.md "Closed activities cannot be updated afterwards" (code/wording: emulator's)
    opp = _opportunity(client)
    body = {
        "Status": 4,
        "OpportunityClose": {"subject": "x", "opportunityid@odata.bind": f"/opportunities({opp})"},
    }
    client.post("LoseOpportunity", json=body)
    assert client.patch(f"opportunities({opp})", json={"name": "renamed"}).status_code == 400


def test_closed_task_is_not_updatable_but_can_be_reopened(client: httpx.Client) -> None:
    # notes/dataverse.md: closed activities cannot be updated; setting statecode 0 reopens
    task = entity_id(client.post("tasks", json={"subject": "t"}))
    assert client.patch(f"tasks({task})", json={"statecode": 1, "statuscode": 5}).status_code == 204
    assert client.patch(f"tasks({task})", json={"subject": "changed"}).status_code == 400
    assert client.patch(f"tasks({task})", json={"statecode": 0, "statuscode": 2}).status_code == 204
    assert client.patch(f"tasks({task})", json={"subject": "changed"}).status_code == 204


def test_read_only_columns_are_ignored(client: httpx.Client) -> None:
    # CreateRequest.Target: IsValidForCreate false → ignored (createdon, versionnumber, fullname)
    r = client.post(
        "contacts",
        json={"lastname": "Ro", "createdon": "2001-01-01T00:00:00Z", "fullname": "Nope", "versionnumber": 5},
    )
    row = client.get(f"contacts({entity_id(r)})").json()
    assert not row["createdon"].startswith("2001") and row["fullname"] != "Nope" and row["versionnumber"] != 5


def test_overriddencreatedon_only_on_create(client: httpx.Client) -> None:
    # notes/dataverse.md: overriddencreatedon keeps the source's created date, create only
    contact = entity_id(client.post("contacts", json={"lastname": "Od", "overriddencreatedon": "2010-05-06"}))
    assert client.get(f"contacts({contact})").json()["createdon"].startswith("2010-05-06")
    client.patch(f"contacts({contact})", json={"overriddencreatedon": "2012-01-01"})
    assert client.get(f"contacts({contact})").json()["createdon"].startswith("2010-05-06")


def test_owner_disabled_user_rejected_team_allowed(client: httpx.Client) -> None:
    # notes/dataverse.md Users: disabled users must not own records (UserNotEnabled 0x80040225)
    r = client.post("accounts", json={"name": "o", "ownerid@odata.bind": f"/systemusers({DISABLED_USER_ID})"})
    assert error_of(r)[:2] == (400, "0x80040225")
    team = entity_id(client.post("teams", json={"name": f"T{uuid.uuid4().hex[:6]}"}))
    acc = entity_id(client.post("accounts", json={"name": "t", "ownerid@odata.bind": f"/teams({team})"}))
    row = client.get(f"accounts({acc})").json()
    assert row["_ownerid_value"] == team and row["_owningteam_value"] == team
    ok = client.post("accounts", json={"name": "u", "ownerid@odata.bind": f"/systemusers({ACTIVE_USER_ID})"})
    assert ok.status_code == 204
