"""Generate a Close JSON export (leads with nested contacts, opportunities, tasks, activities).

Deterministic for a seed, so the committed sample can be regenerated and benchmarks can make
large ones: `python -m samples.close.generate --leads 200000 --edge-cases --out /tmp/close.json.gz`
streams to disk (one lead in memory at a time; ~5.5 records per lead, so 182,000 leads ≈ 1,000,000
records). The data is invented; it carries a few deliberate defects a real export has (DEFECTS),
and with `edge_cases=True` the ones issue 5 lists (EDGE_CASES). `make_api_dataset()` adds what the
API serves beside the leads (users incl. one who left, statuses, pipelines, custom activity types and
fields, workflows, smart views, templates, webhooks): the Close mock's default dataset.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
from collections.abc import Iterator
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
EDGE_CASES = {
    "non_ascii": "every 7th contact has a non-ASCII name (accents, CJK, Cyrillic)",
    "missing_email": "every 13th contact has no email at all",
    "no_company": "every 19th lead has no name (a contact without a company)",
    "duplicate_company": "every 20th lead repeats the company name of the lead 10 before it",
    "deleted_refs": "every 15th opportunity points at a deleted contact, every 16th activity at a "
    "deleted user",
    "long_note": "every 23rd lead has a note activity of 120,000 characters",
    "custom_activity": "every 3rd lead has a custom activity (type actitype_demo_meeting_outcome)",
    "departed_owner": "user_erin left the company (is_active false) and still owns leads",
    "activity_types": "calls, emails, SMS, meetings and notes",
    "pipelines": "opportunities spread over two pipelines' statuses, some won and lost",
    "undefined_custom_field": "lead 27's custom activity carries cf_mood, which its type does not define",
}
DEPARTED = ("user_erin", "Erin", "Ek", "erin@contoso.example")
NON_ASCII = ["Zoë Ångström", "José Núñez", "李 小龙", "Ольга Петрова", "Søren Kierkegård", "Ağca Çelik"]
CUSTOM_TYPE = "actitype_demo_meeting_outcome"
OPPORTUNITY_STATUSES = [  # (id, label, type, pipeline) in each pipeline's order (CLOSE-07/08)
    ("stat_active", "Active", "active", "pipe_sales"),
    ("stat_won", "Won", "won", "pipe_sales"),
    ("stat_lost", "Lost", "lost", "pipe_sales"),
    ("stat_renew_due", "Renewal due", "active", "pipe_renewals"),
    ("stat_renewed", "Renewed", "won", "pipe_renewals"),
]
PIPELINES = [("pipe_sales", "Sales"), ("pipe_renewals", "Renewals")]
_EPOCH = datetime(2022, 1, 3, 9, 0, tzinfo=UTC)


def _ts(dt: datetime) -> str:
    return dt.isoformat(timespec="microseconds")


def make_export(leads: int, seed: int = 7, *, edge_cases: bool = False) -> list[dict[str, Any]]:
    return list(iter_export(leads, seed, edge_cases=edge_cases))


def iter_export(leads: int, seed: int = 7, *, edge_cases: bool = False) -> Iterator[dict[str, Any]]:
    """The leads one at a time (same values as make_export), so large exports stream to disk."""
    rnd = random.Random(seed)
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
        if edge_cases:
            _add_edge_cases(lead, i, contact_n)
        yield lead


def _add_edge_cases(lead: dict[str, Any], i: int, contact_n: int) -> None:
    created = lead["date_created"]
    owner = DEPARTED[0] if i % 9 == 0 else lead["custom"]["Lead Owner"]
    lead["custom"]["Lead Owner"] = owner
    if i % 19 == 0:
        lead["name"] = None
        lead["display_name"] = lead["contacts"][0]["name"]
    if i % 20 == 0 and i > 10:
        j = i - 10
        name = f"{COMPANIES[j % len(COMPANIES)]} {SUFFIXES[(j // len(COMPANIES)) % len(SUFFIXES)]} {j}"
        lead["name"] = lead["display_name"] = name
    for k, contact in enumerate(lead["contacts"]):
        n = contact_n - len(lead["contacts"]) + k + 1
        if n % 7 == 0:
            contact["name"] = NON_ASCII[n % len(NON_ASCII)]
        if n % 13 == 0:
            contact["emails"] = []
    for opp in lead["opportunities"]:
        opp["user_id"] = owner
        if i % 15 == 0 or i % 30 == 0:
            opp["contact_id"] = f"cont_deleted{i:06d}"
        sid, label, kind, pipeline = OPPORTUNITY_STATUSES[(i // 2) % len(OPPORTUNITY_STATUSES)]
        opp.update(status_id=sid, status_label=label, status_type=kind, pipeline_id=pipeline)
        if kind == "won":
            opp["date_won"] = opp["date_updated"]
    for act in lead["activities"]:
        act["user_id"] = owner
        if i % 16 == 0:
            act["user_id"] = "user_deleted01"
    stamp = lead["date_created"]
    extra: list[dict[str, Any]] = []
    if i % 23 == 0:
        extra.append(_activity(lead, i, "n", "Note", stamp, note=("Long meeting minutes. " * 5455)[:120_000]))
    if i % 3 == 0:
        extra.append(
            _activity(
                lead,
                i,
                "x",
                "CustomActivity",
                stamp,
                custom_activity_type_id=CUSTOM_TYPE,
                status="published",
                **{
                    "custom.cf_outcome": ["Won", "Follow-up", "Lost"][i % 3],
                    "custom.cf_attendees": i % 5 + 1,
                    # CLOSE-15: lead 27's instance uses a field the type does not define
                    **({"custom.cf_mood": "upbeat"} if i == 27 else {}),
                },
            )
        )
    kinds = [
        (
            "e",
            "Email",
            {"direction": "outgoing", "status": "sent", "subject": "Proposal", "body_text": "Hi"}
            | _email_parties(lead, owner, i),
        ),
        ("s", "SMS", {"direction": "outbound", "status": "sent", "text": "See you at 10"}),
        ("m", "Meeting", {"title": "Kick-off", "duration": 1800}),
    ]
    code, kind, fields = kinds[i % 3]
    extra.append(_activity(lead, i, code, kind, stamp, **fields))
    lead["activities"].extend(extra)
    lead["date_created"] = created


def _email_parties(lead: dict[str, Any], owner: str, i: int) -> dict[str, Any]:
    """A Close email's `sender` ("Name" <address>) and `to`/`cc`/`bcc` address lists (INT-12): from the
    owner to the lead's first contact, copying the others (their planted defects included: a malformed
    address, a contact without one); every 6th email is also blind-copied to an archive, once in a
    display form and once plain (a duplicate)."""
    users = {u: (f, la, e) for u, f, la, e in [*USERS, DEPARTED]}
    first, last, address = users.get(owner, ("Former", "User", f"{owner}@contoso.example"))
    emails = [c["emails"][0]["email"] for c in lead["contacts"] if c["emails"]]
    archive = "records@contoso.example"
    return {
        "sender": f'"{first} {last}" <{address}>',
        "to": emails[:1],
        "cc": [f"{c['name']} <{c['emails'][0]['email']}>" for c in lead["contacts"][1:] if c["emails"]],
        "bcc": [f"Records <{archive.upper()}>", archive] if i % 6 == 0 else [],
    }


def _activity(
    lead: dict[str, Any], i: int, code: str, kind: str, stamp: str, **fields: Any
) -> dict[str, Any]:
    when = datetime.fromisoformat(stamp) + timedelta(days=2, minutes=ord(code))
    return {
        "id": f"acti_{i:06d}{code}",
        "_type": kind,
        "lead_id": lead["id"],
        "contact_id": lead["contacts"][0]["id"] if lead["contacts"] else None,
        "user_id": lead["custom"]["Lead Owner"],
        "date_created": _ts(when),
        "date_updated": _ts(when),
        "activity_at": _ts(when),
        **fields,
    }


def make_users(*, include_departed: bool = False) -> dict[str, Any]:
    rows = [{"id": u, "first_name": f, "last_name": la, "email": e} for u, f, la, e in USERS]
    if include_departed:
        u, f, la, e = DEPARTED
        rows.append({"id": u, "first_name": f, "last_name": la, "email": e, "is_active": False})
    return {"data": rows, "has_more": False}


def make_api_dataset(leads: int = 40, seed: int = 7) -> dict[str, Any]:
    """What the Close mock serves: the edge-case export plus the org's configuration."""
    stamp = _ts(_EPOCH)
    users = [
        {**u, "date_created": stamp, "date_updated": stamp} for u in make_users(include_departed=True)["data"]
    ]
    return {
        "leads": make_export(leads, seed, edge_cases=True),
        "users": users,
        "lead_statuses": [{"id": sid, "label": label} for sid, label in STATUSES],
        "opportunity_statuses": [
            {"id": sid, "label": label, "type": kind, "pipeline_id": pipe}
            for sid, label, kind, pipe in OPPORTUNITY_STATUSES
        ],
        "pipelines": [
            {"id": p, "name": n, "date_created": stamp, "date_updated": stamp} for p, n in PIPELINES
        ],
        "custom_activity_types": [
            {
                "id": CUSTOM_TYPE,
                "name": "Meeting outcome",
                "description": "Logged after every customer meeting",
                "fields": [
                    {
                        "id": "cf_outcome",
                        "name": "Outcome",
                        "type": "choices",
                        "choices": ["Won", "Follow-up", "Lost"],
                    },
                    {"id": "cf_attendees", "name": "Attendees", "type": "number"},
                ],
                "date_created": stamp,
                "date_updated": stamp,
            }
        ],
        "custom_fields": {
            "lead": [
                {
                    "id": "cf_lead_owner",
                    "name": "Lead Owner",
                    "type": "user",
                    "date_created": stamp,
                    "date_updated": stamp,
                }
            ],
            "contact": [],
            "opportunity": [
                {
                    "id": "cf_source",
                    "name": "Deal source",
                    "type": "choices",
                    "choices": ["Web", "Referral"],
                    "date_created": stamp,
                    "date_updated": stamp,
                }
            ],
            "activity": [
                {
                    "id": "cf_outcome",
                    "name": "Outcome",
                    "type": "choices",
                    "choices": ["Won", "Follow-up", "Lost"],
                    "custom_activity_type_id": CUSTOM_TYPE,
                    "date_created": stamp,
                    "date_updated": stamp,
                }
            ],
            "shared": [],
        },
        "sequences": [{"id": "seq_onboarding", "name": "Onboarding follow-up", "status": "active"}],
        "saved_searches": [{"id": "save_hot", "name": "Hot leads", "query": 'lead_status:"Qualified"'}],
        "email_templates": [{"id": "tmpl_intro", "name": "Intro", "subject": "Nice to meet you"}],
        "sms_templates": [],
        "webhooks": [
            {"id": "whsub_zap", "name": None, "url": "https://hooks.example/close", "status": "active"}
        ],
        "integration_links": [],
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--leads", type=int, default=40)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("export.json"))
    ap.add_argument("--edge-cases", action="store_true", help="add the EDGE_CASES (issue 5)")
    ap.add_argument("--api-out", type=Path, help="also write the mock's dataset (make_api_dataset) here")
    args = ap.parse_args(argv)
    if args.leads > 1000:
        write_export(args.out, args.leads, args.seed, edge_cases=args.edge_cases)
    else:
        data = json.dumps(
            make_export(args.leads, args.seed, edge_cases=args.edge_cases), ensure_ascii=False, indent=1
        ).encode("utf-8")
        if args.out.suffix == ".gz":
            data = gzip.compress(data, mtime=0)
        args.out.write_bytes(data)
    users = make_users(include_departed=args.edge_cases)
    args.out.with_name("users.json").write_text(json.dumps(users, indent=1), encoding="utf-8")
    if args.api_out:
        args.api_out.write_text(
            json.dumps(make_api_dataset(seed=args.seed), ensure_ascii=False), encoding="utf-8"
        )


def write_export(path: Path, leads: int, seed: int = 7, *, edge_cases: bool = False) -> int:
    """Stream an export to `path` (gzip when it ends in .gz), one lead in memory at a time;
    returns the number of records (leads + nested items)."""
    records = 0
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as out:  # type: ignore[operator]
        out.write("[")
        for n, lead in enumerate(iter_export(leads, seed, edge_cases=edge_cases)):
            out.write(",\n" if n else "\n")
            out.write(json.dumps(lead, ensure_ascii=False, separators=(",", ":")))
            records += 1 + sum(len(lead[k]) for k in ("contacts", "opportunities", "tasks", "activities"))
        out.write("\n]\n")
    return records


if __name__ == "__main__":
    main()
