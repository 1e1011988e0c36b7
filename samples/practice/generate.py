"""Generate a The Practice export (CSVs + manifest.json + files/ + the four reference JSON files).

    python -m samples.practice.generate                        # the committed sample, samples/practice/export
    python -m samples.practice.generate --records 1000000 --out /tmp/practice

Edge cases: non-ASCII names, missing and malformed emails, person clients without an organisation
and duplicated organisations, key-value properties of every inferred type (PRAC-08) including a
key with mixed values (→ text), references to deleted sessions, a ~40 KB HTML note, an attachment
over 5 MB (generated, git-ignored) and one whose file is missing, a coach who left, malformed rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from samples._export_kit import CITIES, COMPANY, SUFFIX, Bad, Export, Missing, Rng, Rows, Sample, ts

BASE = {
    "users": 5,
    "clients": 100,
    "client_properties": 200,
    "sessions": 220,
    "session_notes": 120,
    "invoices": 60,
    "invoice_line_items": 120,
    "attachments": 8,
}
WEIGHTS = {
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
            yield changed(
                "sessions",
                {
                    "session_id": f"se{i:06d}",
                    "client_id": ref(rng, "cl", "clients"),
                    "user_id": f"u{rng.randrange(1, n['users'] + 1):05d}",
                    "title": rng.choice(["Initial consultation", "Follow-up", "Séance de suivi", "Review"]),
                    "session_type": rng.choice(["in_person", "video", "phone"]),
                    "start_at": ts(start),
                    "end_at": ts(start + timedelta(minutes=dur)),
                    "duration_min": dur,
                    "status": status,
                    "paid": status == "completed" and rng.random() < 0.8,
                    "amount": rng.choice(["90.00", "120.00", "150.50"]),
                    "currency": rng.choice(["USD", "EUR", "AUD"]),
                    "updated_at": ts(start + timedelta(hours=2)),
                },
            )

    def session_notes() -> Iterator[dict[str, Any] | Bad]:
        rng = Rng(seed + 4)
        for i in range(1, n["session_notes"] + 1):
            body = (
                "<p>" + rng.long_note().replace("\n\n", "</p><p>") + "</p>"
                if i == 3
                else (
                    f"<p><b>{rng.text(3)}</b></p><ul><li>{rng.text(8)}</li><li>{rng.text(6)}</li></ul>"
                    + ('<img src="data:image/png;base64,iVBORw0KGgo=">' if i % 10 == 0 else "")
                )
            )
            rec = {
                "note_id": f"sn{i:06d}",
                "session_id": "se_deleted" if i == 6 else ref(rng, "se", "sessions"),
                "author_user_id": f"u{rng.randrange(1, n['users'] + 1):05d}",
                "body_html": body,
                "created_at": ts(rng.when()),
            }
            if i == 8:
                yield Bad(rec["note_id"], None, cells=[*map(str, rec.values()), "extra"])
                continue
            yield changed("session_notes", rec, "created_at")

    def invoices() -> Iterator[dict[str, Any]]:
        rng = Rng(seed + 5)
        for i in range(1, n["invoices"] + 1):
            issued = rng.when()
            yield changed(
                "invoices",
                {
                    "invoice_id": f"inv{i:06d}",
                    "number": f"{1000 + i}",
                    "client_id": ref(rng, "cl", "clients"),
                    "issued_at": ts(issued),
                    "due_at": (issued.date() + timedelta(days=14)).isoformat(),
                    "status": rng.choice(["paid", "overdue", "void"]),
                    "currency": "USD",
                    "total_amount": f"{rng.randrange(90, 900)}.00",
                    "updated_at": ts(issued + timedelta(days=3)),
                },
            )

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
        for i in range(1, n["attachments"] + 1):
            rel = f"clients/cl{i:06d}/intake-form-{i}.pdf"
            rel, size = ex.attach(rng, i, rel, rng.randrange(500, 4000))
            yield ex.attachment(
                i,
                rel,
                size,
                "application/pdf",
                {"attachment_id": f"at{i:06d}", "client_id": ref(rng, "cl", "clients"), "session_id": None},
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
    },
)
generate = SAMPLE.generate
main = SAMPLE.main


if __name__ == "__main__":
    main()
