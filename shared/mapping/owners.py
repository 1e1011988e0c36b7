"""Owner matching: source users → Dataverse systemusers by email (internalemailaddress or UPN).

Disabled users never own migrated records (activities of inactive owners fail silently, COM-20):
their records, like those of unmatched users, go to the fallback owner — or the run is blocked,
as the spec says.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel

from shared.sources import SourceUser

OwnerStatus = Literal["matched", "unmatched", "disabled", "no_email", "no_owner"]


class SystemUser(BaseModel):
    systemuserid: str
    internalemailaddress: str | None = None
    domainname: str | None = None
    isdisabled: bool = False


class OwnerMatch(BaseModel):
    source_user_id: str
    status: OwnerStatus
    systemuserid: str | None = None  # the matched user, when status == "matched"


class OwnerMap(BaseModel):
    """The outcome of matching, saved as JSON and used by every transform."""

    matches: dict[str, OwnerMatch]
    fallback_owner_id: str | None = None

    def resolve(self, source_user_id: str | None) -> tuple[str | None, str]:
        """(systemuserid to own the record, status). None id means: let the caller decide."""
        if not source_user_id:
            return self.fallback_owner_id, "no_owner"
        match = self.matches.get(source_user_id)
        if match is None:
            return self.fallback_owner_id, "unmatched"
        if match.status == "matched":
            return match.systemuserid, "matched"
        return self.fallback_owner_id, match.status


def match_users(
    source_users: Iterable[SourceUser], system_users: Iterable[SystemUser]
) -> dict[str, OwnerMatch]:
    by_email: dict[str, SystemUser] = {}
    for su in system_users:
        for key in (su.internalemailaddress, su.domainname):
            if key:
                known = by_email.get(key.strip().lower())
                if known is None or (known.isdisabled and not su.isdisabled):
                    by_email[key.strip().lower()] = su
    out: dict[str, OwnerMatch] = {}
    for u in source_users:
        if not u.email:
            out[u.source_id] = OwnerMatch(source_user_id=u.source_id, status="no_email")
            continue
        su = by_email.get(u.email.strip().lower())
        if su is None:
            out[u.source_id] = OwnerMatch(source_user_id=u.source_id, status="unmatched")
        elif su.isdisabled:
            out[u.source_id] = OwnerMatch(source_user_id=u.source_id, status="disabled")
        else:
            out[u.source_id] = OwnerMatch(
                source_user_id=u.source_id, status="matched", systemuserid=su.systemuserid
            )
    return out
