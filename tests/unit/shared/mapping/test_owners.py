"""Owner matching: Close users → Dataverse systemusers by email, with the fallback owner."""

from __future__ import annotations

import pytest

from shared.mapping import OwnerMap, OwnerMatch, SystemUser, match_users
from shared.sources import SourceUser

FALLBACK = "00000000-0000-0000-0000-0000000000ff"
ALICE = SystemUser(systemuserid="su-alice", internalemailaddress="Alice@Contoso.Example")
BOB = SystemUser(systemuserid="su-bob", internalemailaddress=None, domainname="bob@contoso.example")
CAROL = SystemUser(systemuserid="su-carol", internalemailaddress="carol@contoso.example", isdisabled=True)
SYSTEM_USERS = [ALICE, BOB, CAROL]


def _owner_map(*users: SourceUser) -> OwnerMap:
    return OwnerMap(matches=match_users(users, SYSTEM_USERS), fallback_owner_id=FALLBACK)


def test_COM_17_matched_by_internal_email_case_insensitively() -> None:
    matches = match_users([SourceUser("user_alice", " ALICE@contoso.example ")], SYSTEM_USERS)
    assert matches["user_alice"] == OwnerMatch(
        source_user_id="user_alice", status="matched", systemuserid="su-alice"
    )


def test_COM_17_matched_by_domainname_upn() -> None:
    owners = _owner_map(SourceUser("user_bob", "bob@contoso.example"))
    assert owners.resolve("user_bob") == ("su-bob", "matched")


def test_COM_20_disabled_user_never_owns_records() -> None:
    owners = _owner_map(SourceUser("user_carol", "carol@contoso.example"))
    assert owners.matches["user_carol"].status == "disabled"
    assert owners.matches["user_carol"].systemuserid is None
    assert owners.resolve("user_carol") == (FALLBACK, "disabled")


def test_COM_19_unmatched_user_falls_to_fallback_owner() -> None:
    owners = _owner_map(SourceUser("user_dave", "dave@contoso.example"))
    assert owners.matches["user_dave"].status == "unmatched"
    assert owners.resolve("user_dave") == (FALLBACK, "unmatched")


def test_COM_19_user_unknown_to_the_source_list_falls_to_fallback() -> None:
    assert _owner_map().resolve("user_never_listed") == (FALLBACK, "unmatched")


@pytest.mark.parametrize("source_user_id", [None, ""])
def test_COM_19_record_without_owner_gets_fallback_with_status_no_owner(source_user_id: str | None) -> None:
    assert _owner_map().resolve(source_user_id) == (FALLBACK, "no_owner")


def test_source_user_without_email() -> None:
    owners = _owner_map(SourceUser("user_ghost", None))
    assert owners.resolve("user_ghost") == (FALLBACK, "no_email")


def test_without_fallback_resolve_leaves_decision_to_caller() -> None:
    owners = OwnerMap(matches=match_users([SourceUser("user_dave", "dave@x.example")], SYSTEM_USERS))
    assert owners.resolve("user_dave") == (None, "unmatched")


def test_owner_map_round_trips_through_json() -> None:
    owners = _owner_map(SourceUser("user_alice", "alice@contoso.example"), SourceUser("user_dave", "d@x.y"))
    assert OwnerMap.model_validate_json(owners.model_dump_json()) == owners


def test_COM_17_enabled_user_preferred_over_disabled_duplicate() -> None:
    old = SystemUser(systemuserid="su-old", internalemailaddress="erin@contoso.example", isdisabled=True)
    new = SystemUser(systemuserid="su-new", internalemailaddress="erin@contoso.example")
    matches = match_users([SourceUser("user_erin", "erin@contoso.example")], [old, new])
    assert matches["user_erin"].systemuserid == "su-new"
