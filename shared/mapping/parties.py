"""Activity parties (INT-12): an email's sender and recipients as Dataverse activity parties.

A target declares where its parties come from:

    parties:
      - {mask: sender, from: sender}
      - {mask: to, from: to}
      - {mask: cc, from: [cc, envelope.cc]}

`mask` is a party type by name (sender/from, to, cc, bcc, required, optional, organizer, resource,
customer) or by its `participationtypemask` value (1-13, the "ActivityParty table" docs page); every
path of `from` contributes. A source value is one address or a list of them, each a plain address,
a display form (`"Jane Roe" <jane@x.example>`, several separated by commas) or an object with an
`email`. Each address becomes one party `{"participationtypemask": n, "addressused": "<address>"}`,
lower-cased and de-duplicated per type; a malformed address (or one longer than addressused's 200
characters) is left out and counted — it never fails the record. The transform puts the list into
the row under `<table>_activity_parties`, the collection Dataverse takes with the activity.

Parties carry the address only: binding one to a `systemuser` (`partyid_systemuser@odata.bind`) needs
the email of each matched source user, which the owner map does not keep — `build_parties(resolve=…)`
takes such a lookup when there is one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from email.utils import getaddresses
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.mapping.paths import get_path

MASKS = {
    "sender": 1,
    "from": 1,
    "to": 2,
    "cc": 3,
    "bcc": 4,
    "required": 5,
    "optional": 6,
    "organizer": 7,
    "resource": 10,
    "customer": 11,
}
ADDRESS_MAX = 200  # activityparty.addressused MaxLength
_ADDRESS = re.compile(r"^[^@\s<>(),;:\"\[\]\\]+@[^@\s<>(),;:\"\[\]\\]+\.[^@\s<>(),;:\"\[\]\\.]+$")

Resolve = Callable[[str], str | None]
"""An address → the systemuserid it belongs to (or None)."""


def collection(table: str) -> str:
    """The navigation property an activity's parties are written in (`email_activity_parties`)."""
    return f"{table}_activity_parties"


class PartyMap(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    mask: int = Field(description="participationtypemask (a name such as `to`, or 1-13)")
    from_: list[str] = Field(alias="from", min_length=1, description="Source paths; every one contributes")

    @field_validator("mask", mode="before")
    @classmethod
    def _mask(cls, v: Any) -> Any:
        if isinstance(v, str) and not v.strip().isdigit():
            name = v.strip().lower()
            if name not in MASKS:
                raise ValueError(f"unknown party type {v!r}; known: {sorted(MASKS)} or 1-13")
            return MASKS[name]
        value = int(v) if isinstance(v, str) else v
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 13:
            raise ValueError(f"a participationtypemask is 1-13, not {v!r}")
        return value

    @field_validator("from_", mode="before")
    @classmethod
    def _paths(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


def addresses(value: Any) -> tuple[list[str], int]:
    """The well-formed addresses in a source value (lower-cased, in order) and how many were not."""
    found: list[str] = []
    bad = 0
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, dict):
            item = item.get("email") or item.get("address")
        if item is None or (isinstance(item, str) and not item.strip()):
            continue
        if not isinstance(item, str):
            bad += 1
            continue
        parsed = [addr.strip() for _, addr in getaddresses([item]) if addr.strip()]
        if not parsed:
            bad += 1
        for addr in parsed:
            if len(addr) <= ADDRESS_MAX and _ADDRESS.match(addr):
                found.append(addr.lower())
            else:
                bad += 1
    return found, bad


def build_parties(
    maps: list[PartyMap], record: dict[str, Any], *, resolve: Resolve | None = None
) -> tuple[list[dict[str, Any]], int]:
    """(the `<table>_activity_parties` list, the number of malformed addresses left out)."""
    parties: list[dict[str, Any]] = []
    seen: set[tuple[int, str]] = set()
    dropped = 0
    for pm in maps:
        for path in pm.from_:
            found, bad = addresses(get_path(record, path))
            dropped += bad
            for address in found:
                if (pm.mask, address) in seen:
                    continue
                seen.add((pm.mask, address))
                party: dict[str, Any] = {"participationtypemask": pm.mask, "addressused": address}
                user = resolve(address) if resolve is not None else None
                if user:
                    party["partyid_systemuser@odata.bind"] = f"/systemusers({user})"
                parties.append(party)
    return parties, dropped
