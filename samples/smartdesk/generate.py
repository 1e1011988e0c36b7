"""Generate a SmartDesk admin-panel export (CSVs + manifest.json + files/ + reference JSON files).

    python -m samples.smartdesk.generate              # the committed sample, samples/smartdesk/export
    python -m samples.smartdesk.generate --records 1000000 --out /tmp/smartdesk

Edge cases: non-ASCII names, missing and malformed emails, contacts without an account, duplicated
accounts, two pipelines with different stage sets (SD-19), tasks/activities regarding deleted
records, a ~40 KB activity body, an attachment over 5 MB (generated, git-ignored) and one whose
file is missing, an owner who left, malformed rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from samples._export_kit import CITIES, COMPANY, SUFFIX, Bad, Export, Missing, Rng, Rows, Sample, ts

BASE = {
    "users": 6,
    "accounts": 30,
    "contacts": 90,
    "leads": 40,
    "pipelines": 2,
    "pipeline_stages": 9,
    "deals": 50,
    "tasks": 80,
    "activities": 200,
    "custom_field_definitions": 4,
    "custom_field_values": 80,
    "tickets": 30,
    "ticket_comments": 60,
    "attachments": 8,
}
WEIGHTS = {
    "accounts": 4,
    "contacts": 14,
    "leads": 6,
    "deals": 6,
    "tasks": 10,
    "activities": 35,
    "custom_field_values": 10,
    "tickets": 5,
    "ticket_comments": 10,
}
STAGES = [
    ("pl000001", ["Qualify", "Demo", "Proposal", "Negotiation", "Closed Won", "Closed Lost"]),
    ("pl000002", ["Intake", "Onboarding", "Renewed"]),
]
CUSTOM = [
    ("contact", "nps_score", "NPS score", "number", []),
    ("account", "tier", "Tier", "dropdown", ["gold", "silver"]),
    ("deal", "renewal_date", "Renewal date", "date", []),
    ("contact", "newsletter", "Newsletter", "checkbox", []),
]
KINDS = [
    ("contact", "contacts", "ct"),
    ("account", "accounts", "ac"),
    ("deal", "deals", "dl"),
    ("lead", "leads", "ld"),
]


def _rows(ex: Export) -> Rows:
    n, seed, changed, ref = ex.n, ex.seed, ex.changed, ex.ref
    n["pipelines"], n["pipeline_stages"], n["custom_field_definitions"] = 2, 9, 4

    def owner(rng: Rng) -> str:
        return ref(rng, "us", "users")

    def regarding(rng: Rng) -> tuple[str, str]:
        kind, obj, prefix = rng.choice(KINDS)
        return kind, ref(rng, prefix, obj)

    def users() -> Iterator[dict[str, Any]]:
        rng = Rng(seed)
        for i in range(1, n["users"] + 1):
            first, last = rng.person()
            yield {
                "user_id": f"us{i:06d}",
                "name": f"{first} {last}",
                "email": f"rep{i}@smartdesk-customer.example",
                "role": "admin" if i == 1 else "sales",
                "status": "inactive" if i == 5 else "active",
                "created_at": ts(rng.when(days=30)),
            }

    def accounts() -> Iterator[dict[str, Any]]:
        rng = Rng(seed + 1)
        name = ""
        for i in range(1, n["accounts"] + 1):
            name = name if i == 4 else f"{rng.choice(COMPANY)} {rng.choice(SUFFIX)}"  # 4 duplicates 3
            city = rng.choice(CITIES)
            created = rng.when()
            yield changed(
                "accounts",
                {
                    "account_id": f"ac{i:06d}",
                    "name": name,
                    "industry": rng.choice(["SaaS", "Retail", "Manufacturing", None]),
                    "employees": rng.choice([None, 12, 80, 640]),
                    "website": f"https://acct{i}.example",
                    "phone": rng.phone(),
                    "address_1": f"{rng.randrange(1, 500)} Hauptstraße",
                    "city": city[0],
                    "region": city[1],
                    "postal_code": city[2],
                    "country": city[3],
                    "owner_id": owner(rng),
                    "created_at": ts(created),
                    "updated_at": ts(rng.when(created, 200)),
                },
            )

    def contacts() -> Iterator[dict[str, Any] | Bad]:
        rng = Rng(seed + 2)
        for i in range(1, n["contacts"] + 1):
            first, last = rng.person()
            created = rng.when()
            rec = {
                "contact_id": f"ct{i:06d}",
                "account_id": None if i % 6 == 1 else ref(rng, "ac", "accounts"),
                "first_name": first,
                "last_name": last,
                "email": rng.email(first, last, "corp.example", i),
                "phone": rng.phone(),
                "title": rng.choice(["CEO", "Head of Sales", "Einkäufer", None]),
                "lifecycle_stage": rng.choice(["subscriber", "lead", "customer", "evangelist"]),
                "owner_id": owner(rng),
                "created_at": ts(created),
                "updated_at": ts(rng.when(created, 300)),
            }
            if i == 17:
                cells = [str(v) if v is not None else "" for v in rec.values()]
                cells[-2] = "2024-13-40T25:00:00Z"  # created_at
                yield Bad(rec["contact_id"], "created_at", cells=cells)
                continue
            yield changed("contacts", rec)

    def leads() -> Iterator[dict[str, Any]]:
        rng = Rng(seed + 3)
        for i in range(1, n["leads"] + 1):
            first, last = rng.person()
            created = rng.when()
            yield changed(
                "leads",
                {
                    "lead_id": f"ld{i:06d}",
                    "first_name": first,
                    "last_name": last,
                    "company": rng.choice([None, f"{rng.choice(COMPANY)} {rng.choice(SUFFIX)}"]),
                    "email": rng.email(first, last, "lead.example", i),
                    "phone": rng.phone(),
                    "status": rng.choice(["new", "working", "nurturing", "unqualified"]),
                    "source": rng.choice(["web", "event", "referral", "cold_call"]),
                    "owner_id": owner(rng),
                    "created_at": ts(created),
                    "updated_at": ts(rng.when(created, 100)),
                },
            )

    def pipelines() -> Iterator[dict[str, Any]]:
        for i, name in enumerate(["New business", "Renewals"], 1):
            yield {
                "pipeline_id": f"pl{i:06d}",
                "name": name,
                "is_default": i == 1,
                "created_at": "2022-11-01T08:00:00Z",
            }

    def pipeline_stages() -> Iterator[dict[str, Any]]:
        k = 0
        for pipeline, names in STAGES:
            for order, name in enumerate(names, 1):
                k += 1
                won, lost = name in ("Closed Won", "Renewed"), name == "Closed Lost"
                yield {
                    "stage_id": f"st{k:06d}",
                    "pipeline_id": pipeline,
                    "name": name,
                    "order": order,
                    "probability": 100 if won else 0 if lost else order * 15,
                    "is_won": won,
                    "is_lost": lost,
                }

    def deals() -> Iterator[dict[str, Any]]:
        rng = Rng(seed + 4)
        for i in range(1, n["deals"] + 1):
            p = rng.randrange(2)
            stage = rng.randrange(len(STAGES[p][1])) + (0 if p == 0 else len(STAGES[0][1])) + 1
            created = rng.when()
            name = STAGES[p][1][stage - 1 - (0 if p == 0 else len(STAGES[0][1]))]
            yield changed(
                "deals",
                {
                    "deal_id": f"dl{i:06d}",
                    "name": f"{rng.choice(COMPANY)} - {rng.choice(['Pilot', 'Expansion', 'Renewal'])}",
                    "account_id": ref(rng, "ac", "accounts"),
                    "contact_id": ref(rng, "ct", "contacts") if i % 5 else None,
                    "pipeline_id": STAGES[p][0],
                    "stage_id": f"st{stage:06d}",
                    "amount": f"{rng.randrange(1, 900) * 100}.00",
                    "currency": rng.choice(["USD", "EUR"]),
                    "expected_close": (created + timedelta(days=60)).date().isoformat(),
                    "status": "won"
                    if name in ("Closed Won", "Renewed")
                    else "lost"
                    if name == "Closed Lost"
                    else "open",
                    "owner_id": owner(rng),
                    "created_at": ts(created),
                    "updated_at": ts(rng.when(created, 90)),
                },
            )

    def tasks() -> Iterator[dict[str, Any]]:
        rng = Rng(seed + 5)
        for i in range(1, n["tasks"] + 1):
            kind, rid = regarding(rng)
            if i == 2:
                kind, rid = "deal", "dl_deleted"
            created = rng.when()
            yield changed(
                "tasks",
                {
                    "task_id": f"tk{i:06d}",
                    "subject": rng.choice(["Send proposal", "Call back", "Prepare QBR"]),
                    "description": rng.text(12),
                    "due_at": ts(created + timedelta(days=7)),
                    "status": rng.choice(["open", "done"]),
                    "priority": rng.choice(["low", "normal", "high"]),
                    "regarding_type": kind,
                    "regarding_id": rid,
                    "owner_id": owner(rng),
                    "created_at": ts(created),
                    "updated_at": ts(rng.when(created, 20)),
                },
            )

    def activities() -> Iterator[dict[str, Any] | Bad]:
        rng = Rng(seed + 6)
        for i in range(1, n["activities"] + 1):
            kind, rid = regarding(rng)
            typ = rng.choice(["call", "email", "meeting", "note"])
            start = rng.when()
            rec = {
                "activity_id": f"av{i:06d}",
                "type": typ,
                "subject": rng.text(4),
                "body": rng.long_note() if i == 5 else rng.text(20),
                "direction": rng.choice(["inbound", "outbound"]) if typ in ("call", "email") else None,
                "duration_sec": rng.randrange(30, 3600) if typ == "call" else None,
                "start_at": ts(start) if typ == "meeting" else None,
                "end_at": ts(start + timedelta(hours=1)) if typ == "meeting" else None,
                "location": rng.choice(["Zoom", "Büro München"]) if typ == "meeting" else None,
                "occurred_at": ts(start),
                "regarding_type": kind,
                "regarding_id": rid,
                "owner_id": owner(rng),
                "created_at": ts(start),
                "updated_at": ts(start + timedelta(minutes=5)),
            }
            if i == 31:
                cells = [str(v) if v is not None else "" for v in rec.values()]
                cells[5] = "12m30s"  # duration_sec
                yield Bad(rec["activity_id"], "duration_sec", cells=cells)
                continue
            yield changed("activities", rec)

    def custom_field_definitions() -> Iterator[dict[str, Any]]:
        for obj, key, label, typ, options in CUSTOM:
            yield {
                "object": obj,
                "field_key": key,
                "label": label,
                "type": typ,
                "options": options,
                "_key": f"{obj}/{key}",
            }

    def custom_field_values() -> Iterator[dict[str, Any]]:
        rng = Rng(seed + 7)
        seen: set[tuple[str, str]] = set()
        prefixes = {"contact": ("ct", "contacts"), "account": ("ac", "accounts"), "deal": ("dl", "deals")}
        for _ in range(n["custom_field_values"]):
            obj, key, _l, typ, options = rng.choice(CUSTOM)
            rid = ref(rng, *prefixes[obj])
            if (rid, key) in seen:
                continue
            seen.add((rid, key))
            value = {
                "number": str(rng.randrange(0, 11)),
                "dropdown": rng.choice(options or ["x"]),
                "date": f"2026-0{rng.randrange(1, 9)}-15",
                "checkbox": rng.choice(["true", "false"]),
            }[typ]
            yield {
                "object": obj,
                "record_id": rid,
                "field_key": key,
                "value": value,
                "_key": f"{obj}/{rid}/{key}",
            }

    def tickets() -> Iterator[dict[str, Any]]:
        rng = Rng(seed + 8)
        for i in range(1, n["tickets"] + 1):
            created = rng.when()
            resolved = rng.random() < 0.6
            yield changed(
                "tickets",
                {
                    "ticket_id": f"tc{i:06d}",
                    "subject": rng.choice(["Login fails", "Invoice question", "Export zu langsam"]),
                    "description": rng.text(30),
                    "status": "resolved" if resolved else rng.choice(["open", "pending"]),
                    "priority": rng.choice(["low", "normal", "urgent"]),
                    "contact_id": ref(rng, "ct", "contacts"),
                    "account_id": ref(rng, "ac", "accounts") if i % 3 else None,
                    "assignee_id": owner(rng),
                    "channel": rng.choice(["email", "phone", "chat", "portal"]),
                    "created_at": ts(created),
                    "updated_at": ts(created + timedelta(days=2)),
                    "resolved_at": ts(created + timedelta(days=2)) if resolved else None,
                },
            )

    def ticket_comments() -> Iterator[dict[str, Any]]:
        rng = Rng(seed + 9)
        for i in range(1, n["ticket_comments"] + 1):
            yield changed(
                "ticket_comments",
                {
                    "comment_id": f"cm{i:06d}",
                    "ticket_id": ref(rng, "tc", "tickets"),
                    "author_id": owner(rng),
                    "body": rng.text(25),
                    "is_public": rng.random() < 0.7,
                    "created_at": ts(rng.when()),
                },
                "created_at",
            )

    def attachments() -> Iterator[dict[str, Any] | Missing]:
        rng = Rng(seed + 10)
        for i in range(1, n["attachments"] + 1):
            rel = f"deals/dl{i:06d}/quote-{i}.pdf"
            rel, size = ex.attach(rng, i, rel, rng.randrange(500, 4000))
            yield ex.attachment(
                i,
                rel,
                size,
                "application/pdf",
                {
                    "attachment_id": f"fi{i:06d}",
                    "regarding_type": "deal",
                    "regarding_id": ref(rng, "dl", "deals"),
                },
                created_at=ts(rng.when()),
                cursor="created_at",
            )

    return {
        "users": users,
        "accounts": accounts,
        "contacts": contacts,
        "leads": leads,
        "pipelines": pipelines,
        "pipeline_stages": pipeline_stages,
        "deals": deals,
        "tasks": tasks,
        "activities": activities,
        "custom_field_definitions": custom_field_definitions,
        "custom_field_values": custom_field_values,
        "tickets": tickets,
        "ticket_comments": ticket_comments,
        "attachments": attachments,
    }


REFERENCE = {
    "workflows.json": [
        {
            "id": "w1",
            "name": "Move deal → notify finance",
            "trigger": "deal_stage_changed",
            "actions": ["email", "webhook"],
        },
        {"id": "w2", "name": "Auto-assign tickets", "trigger": "ticket_created", "actions": ["assign"]},
        {
            "id": "w3",
            "name": "Round-robin leads",
            "trigger": "lead_created",
            "actions": ["assign", "email"],
        },
    ],
    "email_templates.json": [
        {
            "id": "e1",
            "name": "Follow-up",
            "subject": "Great to meet you",
            "category": "sales",
            "body": "<p>Hi {{first_name}}</p>",
        },
        {
            "id": "e2",
            "name": "Ticket resolved",
            "subject": "Your ticket is resolved",
            "category": "support",
            "body": "<p>Done.</p>",
        },
    ],
    "campaign_sends.json": [
        {"id": "cs1", "name": "Spring webinar", "sent_at": "2025-03-04T10:00:00Z", "recipients": 1840}
    ],
}


SAMPLE = Sample(
    "smartdesk",
    __doc__,
    Path(__file__).parent / "export",
    seed=23,
    base=BASE,
    weights=WEIGHTS,
    large_file="deals/large-proposal.pdf",
    missing_file=4,
    rows=_rows,
    reference=REFERENCE,
)
generate = SAMPLE.generate
main = SAMPLE.main


if __name__ == "__main__":
    main()
