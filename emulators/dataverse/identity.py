"""Who is calling: bearer tokens → application users (systemuser rows), plus the org and root BU.

Real Dataverse validates an Entra ID token; the emulator only maps the opaque token string to a
user. Without `--users`, every token maps to one default application user; with it, only listed
tokens are accepted (others get 401), which lets tests exercise per-user limits and ownership.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_ORGANIZATION_ID = "8f0b6c1e-0000-4000-8000-00000000a001"
DEFAULT_BUSINESS_UNIT_ID = "8f0b6c1e-0000-4000-8000-00000000b001"
DEFAULT_USER_ID = "8f0b6c1e-0000-4000-8000-00000000c001"


@dataclass(frozen=True)
class AppUser:
    user_id: str
    row: dict[str, Any]


@dataclass
class Directory:
    organization_id: str = DEFAULT_ORGANIZATION_ID
    business_unit_id: str = DEFAULT_BUSINESS_UNIT_ID
    default_user: AppUser | None = None
    by_token: dict[str, AppUser] = field(default_factory=dict)

    def resolve(self, authorization: str | None) -> AppUser | None:
        if not authorization:
            return None
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        if self.by_token:
            return self.by_token.get(token)
        return self.default_user

    def users(self) -> list[AppUser]:
        seen: dict[str, AppUser] = {}
        for user in [self.default_user, *self.by_token.values()]:
            if user is not None:
                seen.setdefault(user.user_id, user)
        return list(seen.values())


def _user_row(raw: dict[str, Any], fallback_id: str) -> AppUser:
    row = {
        "systemuserid": str(raw.get("systemuserid") or fallback_id).lower(),
        "fullname": raw.get("fullname", "# Intact Emulator App User"),
        "internalemailaddress": raw.get("internalemailaddress"),
        "domainname": raw.get("domainname"),
        "isdisabled": bool(raw.get("isdisabled", False)),
        "accessmode": raw.get("accessmode", 4),
    }
    row.update({k: v for k, v in raw.items() if k not in row and k != "token"})
    return AppUser(row["systemuserid"], row)


def build_directory(users_file: str | Path | None) -> Directory:
    """`--users FILE`: `{"<token>": {"systemuserid": ..., "fullname": ...}, ...}` (or a list with "token")."""
    directory = Directory()
    if users_file is None:
        directory.default_user = _user_row(
            {"fullname": "# Intact Emulator App User", "domainname": "app@emulator.local"}, DEFAULT_USER_ID
        )
        return directory
    data = json.loads(Path(users_file).read_text(encoding="utf-8"))
    entries = data.items() if isinstance(data, dict) else [(u["token"], u) for u in data]
    for i, (token, raw) in enumerate(entries):
        fallback = f"8f0b6c1e-0000-4000-8000-{0xC100 + i:012x}"
        directory.by_token[str(token)] = _user_row(dict(raw), fallback)
    return directory
