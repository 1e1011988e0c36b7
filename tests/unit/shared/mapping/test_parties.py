"""Activity parties from source address fields (INT-12): shapes of addresses, types, de-duplication,
malformed addresses left out and counted."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.mapping.parties import PartyMap, addresses, build_parties, collection


def _maps(*pairs: tuple[object, object]) -> list[PartyMap]:
    return [PartyMap.model_validate({"mask": m, "from": f}) for m, f in pairs]


def test_INT_12_sender_and_recipients_become_parties_by_type() -> None:
    record = {
        "sender": '"Jane Roe" <Jane.Roe@X.example>',
        "to": ["bob@y.example", "Carol <carol@y.example>"],
        "cc": "dan@y.example, Eve Example <eve@y.example>",
        "bcc": [],
    }
    parties, dropped = build_parties(
        _maps(("sender", "sender"), ("to", "to"), ("cc", "cc"), ("bcc", "bcc")), record
    )
    assert dropped == 0
    assert parties == [
        {"participationtypemask": 1, "addressused": "jane.roe@x.example"},
        {"participationtypemask": 2, "addressused": "bob@y.example"},
        {"participationtypemask": 2, "addressused": "carol@y.example"},
        {"participationtypemask": 3, "addressused": "dan@y.example"},
        {"participationtypemask": 3, "addressused": "eve@y.example"},
    ]


def test_INT_12_duplicates_collapse_per_type_but_not_across_types() -> None:
    record = {
        "to": ["a@y.example", "A@Y.example", "<a@y.example>"],
        "cc": ["a@y.example"],
        "extra": "a@y.example",
    }
    parties, _ = build_parties(_maps(("to", ["to", "extra"]), ("cc", "cc")), record)
    assert parties == [
        {"participationtypemask": 2, "addressused": "a@y.example"},
        {"participationtypemask": 3, "addressused": "a@y.example"},
    ]


def test_INT_12_a_malformed_address_is_left_out_and_counted() -> None:
    record = {
        "to": ["ok@y.example", "jane-at-nowhere", "two@@y.example", "no-domain@", 42, "", None],
        "cc": "x" * 191 + "@y.example",  # over addressused's 200 characters
    }
    parties, dropped = build_parties(_maps(("to", "to"), ("cc", "cc")), record)
    assert parties == [{"participationtypemask": 2, "addressused": "ok@y.example"}]
    assert dropped == 5


def test_INT_12_objects_with_an_email_and_missing_fields() -> None:
    assert addresses([{"email": "A@b.example", "name": "A"}, {"name": "no address"}]) == (["a@b.example"], 0)
    assert build_parties(_maps(("bcc", "bcc")), {}) == ([], 0)


def test_INT_12_a_resolver_binds_the_party_to_a_user() -> None:
    users = {"jane@x.example": "0a2b7c1e-0000-4000-8000-0000000d1502"}
    parties, _ = build_parties(
        _maps(("sender", "from")), {"from": "Jane <jane@x.example>"}, resolve=users.get
    )
    assert parties == [
        {
            "participationtypemask": 1,
            "addressused": "jane@x.example",
            "partyid_systemuser@odata.bind": "/systemusers(0a2b7c1e-0000-4000-8000-0000000d1502)",
        }
    ]


def test_party_types_by_name_or_value() -> None:
    assert [m.mask for m in _maps(("sender", "a"), ("To", "a"), ("BCC", "a"), (7, "a"), ("11", "a"))] == [
        1,
        2,
        4,
        7,
        11,
    ]
    for bad in ("sent", 0, 14, True):
        with pytest.raises(ValidationError):
            PartyMap.model_validate({"mask": bad, "from": "a"})
    with pytest.raises(ValidationError):
        PartyMap.model_validate({"mask": "to", "from": []})
    assert collection("email") == "email_activity_parties"
