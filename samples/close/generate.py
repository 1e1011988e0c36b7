"""Generate a Close JSON export (leads with nested contacts, opportunities, tasks, activities).

Deterministic for a seed, so the committed sample can be regenerated and benchmarks can make
large ones: `python -m samples.close.generate --leads 20000 --out /tmp/close.json.gz`.
The data is invented; it carries a few deliberate defects a real export has (see DEFECTS).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

USERS = [
    ("user_alice", "Alice", "Archer", "alice@contoso.example"),
    ("user_bob", "Bob", "Baker", "bob@contoso.example"),
    ("user_carol", "Carol", "Chen", "carol@contoso.example"),  # disabled in the target org
    ("user_dave", "Dave", "Diaz", "dave@contoso.example"),  # not in the target org
]
COMPANIES = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Wonka",
    "Tyrell",
    "Cyberdyne",
    "Hooli",
]
SUFFIXES = ["Ltd", "GmbH", "Inc", "BV", "SA", "Partners", "Labs", "Group"]
FIRST = ["Ann", "Ben", "Cleo", "Dan", "Eva", "Finn", "Gia", "Hal", "Ivy", "Jon", "Kai", "Lea"]
LAST = ["Smith", "Jones", "Müller", "García", "Rossi", "Novak", "Kim", "Singh", "Dubois", "Olsen"]
STATUSES = [("stat_potential", "Potential"), ("stat_contacted", "Contacted"), ("stat_qualified", "Qualified")]
DEFECTS = {
    "bad_email": "every 17th contact has an email without a domain",
    "long_name": "lead 11 has a name longer than Dataverse's 160-character account name",
}
_EPOCH = datetime(2022, 1, 3, 9, 0, tzinfo=UTC)


def _ts(dt: datetime) -> str:
    return dt.isoformat(timespec="microseconds")


def make_export(leads: int, seed: int = 7) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    out: list[dict[str, Any]] = []
    contact_n = 0
    for i in range(1, leads + 1):
        lead_id = f"lead_{i:06d}{rnd.randrange(16**6):06x}"
        company = f"{COMPANIES[i % len(COMPANIES)]} {SUFFIXES[(i // len(COMPANIES)) % len(SUFFIXES)]} {i}"
        if i == 11:
            company = "Very Long Holdings " * 10  # 190 characters: Dataverse refuses it
        created = _EPOCH + timedelta(days=i % 300, minutes=i)
        updated = created + timedelta(days=rnd.randrange(0, 30))
        owner = USERS[i % len(USERS)][0]
        status = STATUSES[i % len(STATUSES)]
        lead: dict[str, Any] = {
            "id": lead_id,
            "display_name": company,
            "name": company,
            "url": f"https://{company.split()[0].lower()}{i}.example" if i % 4 else None,
            "description": f"Imported account {i}" if i % 3 else "",
            "status_id": status[0],
            "status_label": status[1],
            "date_created": _ts(created),
            "date_updated": _ts(updated),
            "created_by": USERS[(i + 1) % len(USERS)][0],
            "updated_by": owner,
            "organization_id": "orga_sample",
            "addresses": [
                {
                    "label": "business",
                    "address_1": f"{i} Main Street",
                    "address_2": "",
                    "city": "Springfield",
                    "state": "IL",
                    "zipcode": f"{62700 + i % 99}",
                    "country": "US",
                }
            ]
            if i % 5
            else [],
            "custom": {"Lead Owner": owner},
            "contacts": [],
            "opportunities": [],
            "tasks": [],
            "activities": [],
        }
        for c in range(rnd.randrange(1, 4)):
            contact_n += 1
            first, last = FIRST[contact_n % len(FIRST)], LAST[(contact_n * 7) % len(LAST)]
            email = f"{first.lower()}.{contact_n}@{company.split()[0].lower()}.example"
            if contact_n % 17 == 0:
                email = f"{first.lower()}.{contact_n}-at-nowhere"
            c_created = created + timedelta(hours=c + 1)
            lead["contacts"].append(
                {
                    "id": f"cont_{contact_n:07d}{rnd.randrange(16**5):05x}",
                    "lead_id": lead_id,
                    "name": f"{first} {last}",
                    "title": ["CEO", "CTO", "Buyer", "Office manager", ""][contact_n % 5],
                    "emails": [{"type": "office", "email": email}],
                    "phones": [{"type": "office", "phone": f"+1312555{contact_n % 10000:04d}"}]
                    if c % 2 == 0
                    else [],
                    "urls": [],
                    "date_created": _ts(c_created),
                    "date_updated": _ts(c_created + timedelta(days=rnd.randrange(0, 20))),
                    "created_by": owner,
                    "organization_id": "orga_sample",
                }
            )
        if i % 2 == 0:
            lead["opportunities"].append(
                {
                    "id": f"oppo_{i:06d}",
                    "lead_id": lead_id,
                    "status_label": "Active",
                    "status_type": "active",
                    "value": rnd.randrange(1, 500) * 10000,
                    "value_currency": "USD",
                    "value_period": "one_time",
                    "confidence": 50,
                    "user_id": owner,
                    "date_created": _ts(created),
                    "date_updated": _ts(updated),
                }
            )
        lead["tasks"].append(
            {
                "id": f"task_{i:06d}",
                "_type": "lead",
                "lead_id": lead_id,
                "assigned_to": owner,
                "text": "Follow up",
                "date": _ts(updated)[:10],
                "is_complete": i % 3 == 0,
                "date_created": _ts(created),
                "date_updated": _ts(updated),
            }
        )
        lead["activities"].append(
            {
                "id": f"acti_{i:06d}c",
                "_type": "Call",
                "lead_id": lead_id,
                "user_id": owner,
                "direction": "outbound",
                "duration": 60 + i % 600,
                "status": "completed",
                "date_created": _ts(created + timedelta(days=1)),
                "date_updated": _ts(created + timedelta(days=1)),
                "activity_at": _ts(created + timedelta(days=1)),
            }
        )
        out.append(lead)
    return out


def make_users() -> dict[str, Any]:
    return {
        "data": [{"id": u, "first_name": f, "last_name": la, "email": e} for u, f, la, e in USERS],
        "has_more": False,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--leads", type=int, default=40)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("export.json"))
    args = ap.parse_args(argv)
    data = json.dumps(make_export(args.leads, args.seed), ensure_ascii=False, indent=1).encode("utf-8")
    if args.out.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    args.out.write_bytes(data)
    args.out.with_name("users.json").write_text(json.dumps(make_users(), indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
