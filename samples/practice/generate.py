"""Generate a The Practice export (CSVs + manifest.json + files/ + the four reference JSON files).

    python -m samples.practice.generate                        # the committed sample, samples/practice/export
    python -m samples.practice.generate --records 1000000 --out /tmp/practice

Edge cases: non-ASCII names, missing and malformed emails, person clients without an organisation
and duplicated organisations, key-value properties of every inferred type (PRAC-08) including a
key with mixed values (→ text), references to deleted sessions, a ~40 KB HTML note, an attachment
over 5 MB (generated, git-ignored) and one whose file is missing, a coach who left, malformed rows.
The defects the migration must report: an organisation whose primary service ("Yoga") has no
industry option (COM-16), malformed client emails, a note on a deleted session, the attachment over
the upload limit, a disabled coach and one unknown to the target (samples/practice/target_org.json).
A client's sessions share one currency (so their revenue can be summed, PRAC-04); a note is written
after its session; inline images are data URIs in the note's HTML (PRAC-11); some documents belong
to a session (PRAC-11/12). Reference files beside the CSVs feed the discovery inventory: workflows,
templates, integrations, reports (PRAC-14..17), session recordings outside the export (PRAC-22),
client groups and tags whose inheritance the export drops (PRAC-23), linked contract PDFs (PRAC-24).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from samples._export_kit import (
    CITIES,
    COMPANY,
    EXPORTED_AT,
    SUFFIX,
    Bad,
    Export,
    Missing,
    Rng,
    Rows,
    Sample,
    ts,
)

BASE = {
    "users": 5,
    "service_types": 3,
    "clients": 100,
    "client_properties": 200,
    "sessions": 220,
    "session_notes": 120,
    "invoices": 60,
    "invoice_line_items": 120,
    "attachments": 8,
}
WEIGHTS = {
    "service_types": 0,
    "clients": 15,
    "client_properties": 25,
    "sessions": 30,
    "session_notes": 15,
    "invoices": 5,
    "invoice_line_items": 9,
    "attachments": 1,
}
PROPERTIES = [
    "birthday",
    "intake_date",
    "hourly_rate",
    "sessions_prepaid",
    "referral_source",
    "goal",
    "insurance_id",
]
WORKFLOWS = [
    {
        "id": "wf1",
        "name": "Session reminder 24h",
        "trigger": "session_reminder",
        "steps": [{"action": "send_email", "template": "t1"}, {"action": "send_sms"}],
    },
    {
        "id": "wf2",
        "name": "Follow-up after session",
        "trigger": "session_completed",
        "steps": [{"action": "send_email"}],
    },
    {
        "id": "wf3",
        "name": "New client onboarding",
        "trigger": "client_created",
        "steps": [{"action": "send_email"}, {"action": "create_task"}, {"action": "wait", "days": 3}],
    },
]
TEMPLATES = [
    {
        "id": "t1",
        "name": "Reminder",
        "subject": "Your session tomorrow",
        "category": "reminders",
        "body": "<p>Hi {{client.first_name}}, see you tomorrow at {{session.start}}.</p>",
    },
    {
        "id": "t2",
        "name": "Welcome",
        "subject": "Welcome to our practice",
        "category": "onboarding",
        "body": "<p>Willkommen! Here is how we work…</p>",
    },
]
INTEGRATIONS = [
    {"id": "in1", "name": "Google Calendar sync", "type": "calendar", "provider": "Google"},
    {"id": "in2", "name": "Stripe payments", "type": "payment", "provider": "Stripe"},
    {"id": "in3", "name": "Zapier: new client to Mailchimp", "type": "zapier", "provider": "Zapier"},
]
SERVICE_TYPES = [
    {"service_type": "session", "name": "Session", "description": "One coaching or therapy session"},
    {"service_type": "package", "name": "Package", "description": "A prepaid bundle of sessions"},
    {"service_type": "product", "name": "Product", "description": "Workbooks and other materials"},
]
CURRENCIES = ["USD", "USD", "USD", "EUR", "AUD"]  # by client: a client's sessions share one currency
UNMAPPED_SERVICE = ("cl000045", "Yoga")  # an organisation's primary service with no industry option
RECORDINGS = [
    {
        "id": "rec1",
        "title": "Initial consultation (video)",
        "session_id": "se000004",
        "file_name": "se000004-recording.mp4",
        "size_bytes": 734_003_200,
    },
    {
        "id": "rec2",
        "title": "Follow-up (video)",
        "session_id": "se000017",
        "file_name": "se000017-recording.mp4",
        "size_bytes": 512_753_664,
    },
]
CLIENT_GROUPS = [
    {"id": "g1", "name": "Corporate programme", "type": "group", "parent": None, "members": 12},
    {"id": "g2", "name": "Corporate programme / Leadership", "type": "group", "parent": "g1", "members": 5},
    {"id": "t1", "name": "sliding-scale", "type": "tag", "parent": None, "members": 9},
    {"id": "t2", "name": "referral:GP", "type": "tag", "parent": None, "members": 14},
]
CONTRACTS = [
    {
        "id": "ct1",
        "title": "Coaching agreement 2024",
        "client_id": "cl000005",
        "url": "https://files.the-practice.example/contracts/ct1.pdf",
    },
    {
        "id": "ct2",
        "title": "Therapy consent form",
        "client_id": "cl000012",
        "url": "https://files.the-practice.example/contracts/ct2.pdf",
    },
    {
        "id": "ct3",
        "title": "Corporate framework agreement",
        "client_id": "cl000040",
        "url": "https://files.the-practice.example/contracts/ct3.pdf",
    },
]
REPORTS = [
    {"id": "rp1", "name": "Monthly revenue", "category": "billing"},
    {"id": "rp2", "name": "Sessions per coach", "category": "sessions"},
]


def _rows(ex: Export) -> Rows:
    n, seed, changed, ref = ex.n, ex.seed, ex.changed, ex.ref

    def users() -> Iterator[dict[str, Any]]:
        rng = Rng(seed)
        for i in range(1, n["users"] + 1):
            first, last = rng.person()
            yield {
                "user_id": f"u{i:05d}",
                "name": f"{first} {last}",
                "email": f"coach{i}@the-practice.example",
                "role": "admin" if i == 1 else "practitioner",
                "status": "inactive" if i == 3 else "active",
            }

    def clients() -> Iterator[dict[str, Any] | Bad]:
        rng = Rng(seed + 1)
        org = None
        for i in range(1, n["clients"] + 1):
            first, last = rng.person()
            is_org = i % 5 == 0
            if is_org:
                org = org if i == 10 else f"{rng.choice(COMPANY)} {rng.choice(SUFFIX)}"  # i=10 duplicates i=5
            city = rng.choice(CITIES)
            created = rng.when()
            rec = {
                "client_id": f"cl{i:06d}",
                "client_type": "organization" if is_org else "person",
                "first_name": first,
                "last_name": last,
                "organization_name": org if is_org else None,
                "email": rng.email(first, last, "client.example", i),
                "phone": rng.phone(),
                "address_1": f"{rng.randrange(1, 99)} Rue de la Paix",
                "city": city[0],
                "region": city[1],
                "postal_code": city[2],
                "country": city[3],
                "status": rng.choice(["active", "inactive", "waitlist"]),
                "coach_user_id": f"u{rng.randrange(1, n['users'] + 1):05d}",
                "primary_service": rng.choice(["Therapy", "Coaching", "Nutrition", None]),
                "created_at": ts(created),
                "updated_at": ts(rng.when(created, 200)),
            }
            if rec["client_id"] == UNMAPPED_SERVICE[0]:
                rec["primary_service"] = UNMAPPED_SERVICE[1]
            if i == 21:
                cells = [str(v) if v is not None else "" for v in rec.values()]
                cells[-1] = "yesterday"
                yield Bad(rec["client_id"], "updated_at", cells=cells)
                continue
            yield changed("clients", rec)

    def client_properties() -> Iterator[dict[str, Any]]:
        rng = Rng(seed + 2)
        seen: set[tuple[str, str]] = set()
        for _ in range(n["client_properties"]):
            client, key = ref(rng, "cl", "clients"), rng.choice(PROPERTIES)
            if (client, key) in seen:
                continue
            seen.add((client, key))
            value = {
                "birthday": f"19{rng.randrange(50, 99)}-0{rng.randrange(1, 9)}-1{rng.randrange(0, 9)}",
                "intake_date": f"2024-0{rng.randrange(1, 9)}-2{rng.randrange(0, 8)}",
                "hourly_rate": f"{rng.randrange(60, 200)}.00",
                "sessions_prepaid": str(rng.randrange(0, 12)),
                "referral_source": rng.choice(["GP referral", "Psychology Today", "friend"]),
                "goal": rng.choice(["sleep better", "career change", "Stressabbau"]),
                "insurance_id": rng.choice(["4471", "AOK-4471", "88"]),
            }[key]  # mixed → text
            yield {"client_id": client, "key": key, "value": value, "_key": f"{client}/{key}"}

    def sessions() -> Iterator[dict[str, Any]]:
        rng = Rng(seed + 3)
        for i in range(1, n["sessions"] + 1):
            start = rng.when()
            dur = rng.choice([50, 60, 90])
            status = rng.choice(["scheduled", "completed", "completed", "cancelled"])
            client = ref(rng, "cl", "clients")
            yield changed(
                "sessions",
                {
                    "session_id": f"se{i:06d}",
                    "client_id": client,
                    "user_id": f"u{rng.randrange(1, n['users'] + 1):05d}",
                    "title": rng.choice(["Initial consultation", "Follow-up", "Séance de suivi", "Review"]),
                    "session_type": rng.choice(["in_person", "video", "phone"]),
                    "start_at": ts(start),
                    "end_at": ts(start + timedelta(minutes=dur)),
                    "duration_min": dur,
                    "status": status,
                    "paid": status == "completed" and rng.random() < 0.8,
                    "amount": rng.choice(["90.00", "120.00", "150.50"]),
                    "currency": CURRENCIES[int(client[2:]) % len(CURRENCIES)],
                    "updated_at": ts(start + timedelta(hours=2)),
                },
            )

    def session_ends() -> dict[str, tuple[str, datetime]]:
        """Each session's client and end, replayed from the sessions generator (deterministic)."""
        return {
            s["session_id"]: (s["client_id"], datetime.fromisoformat(s["end_at"].replace("Z", "+00:00")))
            for s in sessions()
        }

    def session_notes() -> Iterator[dict[str, Any] | Bad]:
        rng = Rng(seed + 4)
        ends = session_ends()
        for i in range(1, n["session_notes"] + 1):
            body = (
                "<p>" + rng.long_note().replace("\n\n", "</p><p>") + "</p>"
                if i == 3
                else (
                    f"<p><b>{rng.text(3)}</b></p><ul><li>{rng.text(8)}</li><li>{rng.text(6)}</li></ul>"
                    + ('<img src="data:image/png;base64,iVBORw0KGgo=">' if i % 10 == 0 else "")
                )
            )
            session = "se_deleted" if i == 6 else ref(rng, "se", "sessions")
            written = rng.randrange(5, 180)  # minutes after the session ended
            end = ends[session][1] if session in ends else rng.when()
            rec = {
                "note_id": f"sn{i:06d}",
                "session_id": session,
                "author_user_id": f"u{rng.randrange(1, n['users'] + 1):05d}",
                "body_html": body,
                "created_at": ts(min(end + timedelta(minutes=written), EXPORTED_AT - timedelta(minutes=1))),
            }
            if i == 8:
                yield Bad(rec["note_id"], None, cells=[*map(str, rec.values()), "extra"])
                continue
            yield changed("session_notes", rec, "created_at")

    def invoices() -> Iterator[dict[str, Any]]:
        rng = Rng(seed + 5)
        totals: dict[str, Decimal] = {}  # an invoice's total is the sum of its lines (PRAC-20)
        for line in invoice_line_items():
            totals[line["invoice_id"]] = totals.get(line["invoice_id"], Decimal(0)) + Decimal(line["amount"])
        for i in range(1, n["invoices"] + 1):
            issued = rng.when()
            invoice_id = f"inv{i:06d}"
            typed = f"{rng.randrange(90, 900)}.00"  # an invoice without lines: a typed-in total
            yield changed(
                "invoices",
                {
                    "invoice_id": invoice_id,
                    "number": f"{1000 + i}",
                    "client_id": ref(rng, "cl", "clients"),
                    "issued_at": ts(issued),
                    "due_at": (issued.date() + timedelta(days=14)).isoformat(),
                    "status": rng.choice(["paid", "overdue", "void"]),
                    "currency": "USD",
                    "total_amount": f"{totals[invoice_id]:.2f}" if invoice_id in totals else typed,
                    "updated_at": ts(issued + timedelta(days=3)),
                },
            )

    def service_types() -> Iterator[dict[str, Any]]:
        yield from (dict(t) for t in SERVICE_TYPES[: n["service_types"]])

    def invoice_line_items() -> Iterator[dict[str, Any]]:
        rng = Rng(seed + 6)
        for i in range(1, n["invoice_line_items"] + 1):
            qty = rng.choice(["1", "2", "0.5"])
            yield {
                "line_id": f"li{i:06d}",
                "invoice_id": ref(rng, "inv", "invoices"),
                "session_id": ref(rng, "se", "sessions") if i % 4 else None,
                "description": rng.choice(["Session", "Package of 5", "Workbook"]),
                "service_type": rng.choice(["session", "package", "product"]),
                "quantity": qty,
                "unit_price": "120.00",
                "amount": str(120 * float(qty)).replace(".0", ".00") if qty != "0.5" else "60.00",
            }

    def attachments() -> Iterator[dict[str, Any] | Missing]:
        rng = Rng(seed + 7)
        ends = session_ends()
        for i in range(1, n["attachments"] + 1):
            rel = f"clients/cl{i:06d}/intake-form-{i}.pdf"
            rel, size = ex.attach(rng, i, rel, rng.randrange(500, 4000))
            client, session = ref(rng, "cl", "clients"), None
            if i % 3 == 0:  # a worksheet shared in a session: the session's client owns it too
                session = ref(rng, "se", "sessions")
                client = ends[session][0]
            yield ex.attachment(
                i,
                rel,
                size,
                "application/pdf",
                {"attachment_id": f"at{i:06d}", "client_id": client, "session_id": session},
                created_at=ts(rng.when()),
                cursor="created_at",
            )

    return {
        "users": users,
        "clients": clients,
        "client_properties": client_properties,
        "sessions": sessions,
        "session_notes": session_notes,
        "invoices": invoices,
        "service_types": service_types,
        "invoice_line_items": invoice_line_items,
        "attachments": attachments,
    }


SAMPLE = Sample(
    "practice",
    __doc__,
    Path(__file__).parent / "export",
    seed=11,
    base=BASE,
    weights=WEIGHTS,
    large_file="clients/large-scan.pdf",
    missing_file=2,
    rows=_rows,
    reference={
        "workflows.json": WORKFLOWS,
        "email_templates.json": TEMPLATES,
        "integrations.json": INTEGRATIONS,
        "reports.json": REPORTS,
        "recordings.json": RECORDINGS,
        "client_groups.json": CLIENT_GROUPS,
        "contracts.json": CONTRACTS,
    },
)
generate = SAMPLE.generate
main = SAMPLE.main


if __name__ == "__main__":
    main()
