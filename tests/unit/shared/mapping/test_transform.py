"""Record transformation: deterministic ids, converters, required fields, lookups, owners."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from samples.close.generate import make_export
from shared.errors import InvalidField, UnresolvedLookup
from shared.ids import INTACT_NAMESPACE, target_id
from shared.mapping import ObjectMap, OwnerMap, OwnerMatch, TargetRow, load_profile, transform_record

SCOPE = "acme-close"
FALLBACK = "00000000-0000-0000-0000-0000000000ff"


def _obj(name: str) -> ObjectMap:
    obj = load_profile("close").object(name)
    assert obj is not None
    return obj


@pytest.fixture
def lead() -> dict[str, Any]:
    record = make_export(2)[1]  # a Qualified lead: the Close profile's split sends it to account
    assert record["status_label"] == "Qualified"
    return {k: v for k, v in record.items() if k not in ("contacts", "opportunities", "tasks", "activities")}


@pytest.fixture
def contact() -> dict[str, Any]:
    return dict(make_export(1)[0]["contacts"][0])


def test_same_input_same_target_id(lead: dict[str, Any]) -> None:
    first = transform_record(_obj("leads"), lead, source="close", scope=SCOPE, owners=None)
    again = transform_record(_obj("leads"), dict(lead), source="close", scope=SCOPE, owners=None)
    assert first.id == again.id
    assert first.payload["accountid"] == first.id


def test_target_id_is_uuid5_of_scope_source_object_and_id(lead: dict[str, Any]) -> None:
    row = transform_record(_obj("leads"), lead, source="close", scope=SCOPE, owners=None)
    expected = uuid.uuid5(INTACT_NAMESPACE, f"{SCOPE}\x1fclose\x1fleads\x1f{lead['id']}")
    assert row.id == target_id(SCOPE, "close", "leads", lead["id"]) == str(expected)
    assert uuid.UUID(row.id).version == 5


def test_different_scope_gives_different_target_id(lead: dict[str, Any]) -> None:
    a = transform_record(_obj("leads"), lead, source="close", scope="scope-a", owners=None)
    b = transform_record(_obj("leads"), lead, source="close", scope="scope-b", owners=None)
    assert a.id != b.id


@pytest.mark.parametrize(
    ("args_a", "args_b"),
    [
        (("s", "close", "leads", "x"), ("s", "x2crm", "leads", "x")),
        (("s", "close", "leads", "x"), ("s", "close", "contacts", "x")),
        (("s", "close", "leads", "x"), ("s", "close", "leads", "y")),
    ],
)
def test_target_id_differs_when_any_part_differs(args_a: tuple[str, ...], args_b: tuple[str, ...]) -> None:
    assert target_id(*args_a) != target_id(*args_b)


def test_target_id_refuses_empty_parts() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        target_id(SCOPE, "close", "leads", "")


def test_lead_payload_converted(lead: dict[str, Any]) -> None:
    lead.update(
        url="acme.example",
        description="",
        date_created="2023-05-01T12:00:00.123456+02:00",
        addresses=[{"city": "Springfield", "address_1": "1 Main St"}],
    )
    row = transform_record(_obj("leads"), lead, source="close", scope=SCOPE, owners=None)
    assert row.table == "account" and row.entity_set == "accounts"
    assert row.source_id == lead["id"]
    assert row.payload["name"] == lead["display_name"]
    assert row.payload["websiteurl"] == "https://acme.example"
    assert row.payload["overriddencreatedon"] == "2023-05-01T10:00:00Z"
    assert row.payload["address1_city"] == "Springfield"
    assert "description" not in row.payload  # empty strings are not written
    assert "address1_line2" not in row.payload


def test_invalid_email_is_invalid_field_naming_paths_not_value(contact: dict[str, Any]) -> None:
    bad = "ann.private-at-nowhere"
    contact["emails"] = [{"type": "office", "email": bad}]
    with pytest.raises(InvalidField) as info:
        transform_record(_obj("contacts"), contact, source="close", scope=SCOPE, owners=None)
    err = info.value
    assert err.field == "emails[0].email"
    assert (err.source, err.object, err.source_id) == ("close", "contacts", contact["id"])
    assert "emails[0].email" in str(err)
    assert "contact.emailaddress1" in str(err)
    assert bad not in str(err)
    assert bad not in repr(err.attrs())


def test_required_empty_field_is_invalid_field(lead: dict[str, Any]) -> None:
    lead["display_name"] = ""
    with pytest.raises(InvalidField) as info:
        transform_record(_obj("leads"), lead, source="close", scope=SCOPE, owners=None)
    assert info.value.field == "display_name"
    assert "account.name is required" in str(info.value)


def test_required_field_missing_is_invalid_field(contact: dict[str, Any]) -> None:
    del contact["name"]
    with pytest.raises(InvalidField) as info:
        transform_record(_obj("contacts"), contact, source="close", scope=SCOPE, owners=None)
    assert info.value.field == "name"


@pytest.mark.parametrize("lead_id", [None, ""])
def test_CLOSE_04_contact_without_a_lead_is_left_for_the_placeholder(
    contact: dict[str, Any], lead_id: str | None
) -> None:
    contact["lead_id"] = lead_id
    row = transform_record(_obj("contacts"), contact, source="close", scope=SCOPE, owners=None)
    assert isinstance(row, TargetRow)
    (parent,) = [lk for lk in row.lookups if lk.to == "parentcustomerid"]
    assert parent.candidates == [] and parent.placeholder == "no_company"


def test_COM_24_required_lookup_without_placeholder_is_unresolved_lookup(contact: dict[str, Any]) -> None:
    obj = load_profile("close", {"objects": [{"name": "contacts", "lookups": [
        {"to": "parentcustomerid", "bind": "parentcustomerid_account", "object": "leads", "from": "lead_id",
         "required": True},
    ]}]}).object("contacts")  # fmt: skip
    assert obj is not None
    contact["lead_id"] = None
    with pytest.raises(UnresolvedLookup) as info:
        transform_record(obj, contact, source="close", scope=SCOPE, owners=None)
    assert info.value.field == "lead_id"
    assert info.value.source_id == contact["id"]


def test_COM_24_lookup_left_pending_for_the_id_map(contact: dict[str, Any]) -> None:
    row = transform_record(_obj("contacts"), contact, source="close", scope=SCOPE, owners=None)
    assert isinstance(row, TargetRow)
    lookup = next(lk for lk in row.lookups if lk.to == "parentcustomerid")
    assert (lookup.to, lookup.bind, lookup.object, lookup.source_id) == (
        "parentcustomerid",
        "parentcustomerid_{table}",  # the table the lead landed in, read from the id map
        "leads",
        contact["lead_id"],
    )
    assert lookup.required and lookup.tables == ["account"]


def test_contact_name_split_into_first_and_last(contact: dict[str, Any]) -> None:
    contact["name"] = "Anna Maria  van Dijk"
    row = transform_record(_obj("contacts"), contact, source="close", scope=SCOPE, owners=None)
    assert (row.payload["firstname"], row.payload["lastname"]) == ("Anna Maria van", "Dijk")


def test_single_word_name_goes_to_last_name(contact: dict[str, Any]) -> None:
    contact["name"] = "Cher"
    row = transform_record(_obj("contacts"), contact, source="close", scope=SCOPE, owners=None)
    assert row.payload["lastname"] == "Cher"
    assert "firstname" not in row.payload


def test_owner_taken_from_literal_dotted_custom_key(lead: dict[str, Any]) -> None:
    lead.pop("custom", None)
    lead["custom.Lead Owner"] = "user_alice"
    lead["created_by"] = "user_bob"
    owners = OwnerMap(
        matches={
            "user_alice": OwnerMatch(source_user_id="user_alice", status="matched", systemuserid="su-a"),
            "user_bob": OwnerMatch(source_user_id="user_bob", status="matched", systemuserid="su-b"),
        },
        fallback_owner_id=FALLBACK,
    )
    row = transform_record(_obj("leads"), lead, source="close", scope=SCOPE, owners=owners)
    assert (row.owner_id, row.owner_status) == ("su-a", "matched")


def test_owner_falls_through_to_next_field_then_fallback(lead: dict[str, Any]) -> None:
    lead["custom"] = {}
    lead["created_by"] = "user_carol"
    owners = OwnerMap(
        matches={"user_carol": OwnerMatch(source_user_id="user_carol", status="disabled")},
        fallback_owner_id=FALLBACK,
    )
    row = transform_record(_obj("leads"), lead, source="close", scope=SCOPE, owners=owners)
    assert (row.owner_id, row.owner_status) == (FALLBACK, "disabled")


def test_COM_19_record_with_no_owner_gets_fallback(lead: dict[str, Any]) -> None:
    lead["custom"] = {}
    lead["created_by"] = None
    row = transform_record(
        _obj("leads"),
        lead,
        source="close",
        scope=SCOPE,
        owners=OwnerMap(matches={}, fallback_owner_id=FALLBACK),
    )
    assert (row.owner_id, row.owner_status) == (FALLBACK, "no_owner")
