"""Generate a Profi data export (folder of CSVs + manifest.json + files/), deterministic per seed.

    python -m samples.profi.generate                         # the committed sample, samples/profi/export
    python -m samples.profi.generate --records 1000000 --out /tmp/profi   # large, streamed to disk
    python -m samples.profi.generate --zip /tmp/profi.zip

Edge cases (EDGES): non-ASCII names, missing and malformed emails, clients without a company, a
duplicated company, references to deleted records, a ~40 KB note, attachments (one over 5 MB,
generated here and git-ignored; one whose file is missing), coaches who left, sessions whose
package link is broken (PROFI-21), video recordings outside the export (PROFI-22), malformed rows,
a lifecycle stage the mapping has no option for (COM-16).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from samples._export_kit import CITIES, COMPANY, EPOCH, SUFFIX, Bad, Export, Missing, Rng, Rows, Sample, ts

EDGES = {
    "clients": "every 7th client has no company; c000005 points at deleted company co_deleted; "
    "line 14 has too few columns; c000017's lifecycle stage 'on_hold' has no option (COM-16)",
    "companies": "co000002 duplicates co000001's name",
    "coaches": "coach k000004 left (status inactive)",
    "sessions": "s000007 has an unparseable start_at; every 9th session with a program has no enrollment",
    "notes": "n000002 is ~40 KB; n000011 has invalid UTF-8; n000004 points at deleted session",
    "attachments": "a000001 is over 5 MB; a000003's file is missing; each belongs to its note's client",
}
BASE = {
    "coaches": 6,
    "companies": 24,
    "clients": 120,
    "custom_fields": 5,
    "custom_field_values": 90,
    "services": 5,
    "programs": 4,
    "sessions": 260,
    "enrollments": 50,
    "invoices": 70,
    "payments": 60,
    "notes": 120,
    "attachments": 10,
}
WEIGHTS = {
    "companies": 4,
    "clients": 20,
    "custom_field_values": 8,
    "sessions": 30,
    "enrollments": 5,
    "invoices": 6,
    "payments": 6,
    "notes": 20,
    "attachments": 1,
}
CUSTOM = [
    ("referral_partner", "Referral partner", "client", "text", []),
    ("goal_date", "Goal date", "client", "date", []),
    ("session_budget", "Session budget", "client", "number", []),
    ("coaching_focus", "Coaching focus", "client", "select", ["career", "leadership", "wellbeing"]),
    ("corporate_contract", "Corporate contract", "company", "boolean", []),
]

MIME = {"pdf": "application/pdf", "png": "image/png", "txt": "text/plain"}
UNMAPPED_STAGE = "on_hold"
"""The lifecycle stage planted on c000017 that the profile's value map does not hold (COM-16)."""


def _rows(ex: Export) -> Rows:
    n, seed, changed, ref = ex.n, ex.seed, ex.changed, ex.ref

    def coaches() -> Iterator[dict[str, Any]]:
        rng = Rng(seed)
        for i in range(1, n["coaches"] + 1):
            first, last = rng.person()
            yield {
                "coach_id": f"k{i:06d}",
                "first_name": first,
                "last_name": last,
                "email": f"coach{i}@profi-coaching.example",
                "role": "owner" if i == 1 else "coach",
                "specialty": rng.choice(["Executive", "Career", "Wellbeing", "Leadership"]),
                "credentials": rng.choice(["ICF PCC", "ICF ACC", "EMCC", None]),
                "bio": rng.text(25),
                "timezone": rng.choice(["Europe/Berlin", "America/Chicago"]),
                "created_at": ts(rng.when(days=100)),
                "status": "inactive" if i == 4 else "active",
            }

    def companies() -> Iterator[dict[str, Any]]:
        rng = Rng(seed + 1)
        prev_name = None
        for i in range(1, n["companies"] + 1):
            name = f"{rng.choice(COMPANY)} {rng.choice(SUFFIX)}" if i != 2 else None
            city = rng.choice(CITIES)
            created = rng.when()
            rec = {
                "company_id": f"co{i:06d}",
                "name": name,
                "company_type": rng.choice(["individual_coach", "coaching_firm", "corporate_client"]),
                "industry": rng.choice(["Technology", "Healthcare", "Finance", "Education", None]),
                "employees": rng.choice([None, 5, 40, 250, 1200]),
                "annual_revenue": rng.choice([None, "125000.00", "2400000.50", "98000000"]),
                "website": f"https://www.company{i}.example",
                "phone": rng.phone(),
                "address_1": f"{rng.randrange(1, 300)} Market Street",
                "city": city[0],
                "region": city[1],
                "postal_code": city[2],
                "country": city[3],
                "created_at": ts(created),
                "updated_at": ts(rng.when(created, 200)),
            }
            if i == 2:
                rec["name"] = prev_name
            prev_name = rec["name"]
            yield changed("companies", rec)

    def clients() -> Iterator[dict[str, Any] | Bad]:
        rng = Rng(seed + 2)
        for i in range(1, n["clients"] + 1):
            first, last = rng.person()
            created = rng.when()
            company = None if i % 7 == 3 else ref(rng, "co", "companies")
            if i == 5:
                company = "co_deleted"
            rec = {
                "client_id": f"c{i:06d}",
                "first_name": first,
                "last_name": last,
                "email": rng.email(first, last, "mail.example", i),
                "phone": rng.phone(),
                "company_id": company,
                "coach_id": ref(rng, "k", "coaches"),
                "lifecycle_stage": rng.choice(["lead", "prospect", "active", "alumni"]),
                "status": rng.choice(["active", "paused", "archived"]),
                "tags": rng.sample(
                    ["vip", "corporate", "referral", "alumni", "scholarship"], rng.randrange(3)
                ),
                "source": rng.choice(["website", "referral", "linkedin", None]),
                "timezone": "Europe/Berlin",
                "created_at": ts(created),
                "updated_at": ts(rng.when(created, 300)),
            }
            if i == 17:
                rec["lifecycle_stage"] = UNMAPPED_STAGE  # planted: a label the value map lacks
            if i == 13:
                yield Bad(rec["client_id"], "email", cells=[rec["client_id"], first, last])
                continue
            yield changed("clients", rec)

    def custom_fields() -> Iterator[dict[str, Any]]:
        for key, label, entity, typ, options in CUSTOM:
            yield {"field_key": key, "label": label, "entity": entity, "type": typ, "options": options}

    def custom_field_values() -> Iterator[dict[str, Any]]:
        rng = Rng(seed + 3)
        seen: set[tuple[str, str]] = set()
        for _ in range(n["custom_field_values"]):
            key, _l, entity, typ, options = rng.choice(CUSTOM)
            ent_id = ref(rng, "c", "clients") if entity == "client" else ref(rng, "co", "companies")
            if (ent_id, key) in seen:
                continue
            seen.add((ent_id, key))
            value = {
                "text": rng.choice(["Jane at Contoso", "Alumni network"]),
                "date": f"2025-{rng.randrange(1, 13):02d}-{rng.randrange(1, 28):02d}",
                "number": str(rng.randrange(5, 40) * 100),
                "select": rng.choice(options or ["x"]),
                "boolean": rng.choice(["true", "false"]),
            }[typ]
            yield {
                "entity": entity,
                "entity_id": ent_id,
                "field_key": key,
                "value": value,
                "_key": f"{entity}/{ent_id}/{key}",
            }

    def services() -> Iterator[dict[str, Any]]:
        rng = Rng(seed + 4)
        names = ["Discovery call", "1:1 coaching", "Team workshop", "360 debrief", "Intensive day"]
        for i in range(1, n["services"] + 1):
            created = rng.when(days=60)
            yield changed(
                "services",
                {
                    "service_id": f"sv{i:06d}",
                    "name": names[(i - 1) % len(names)],
                    "description": rng.text(12),
                    "duration_min": rng.choice([30, 60, 90, 480]),
                    "price": rng.choice(["0.00", "150.00", "1200.00"]),
                    "currency": "EUR",
                    "active": i != 5,
                    "created_at": ts(created),
                    "updated_at": ts(rng.when(created, 30)),
                },
            )

    def programs() -> Iterator[dict[str, Any]]:
        rng = Rng(seed + 5)
        names = ["Leadership Accelerator", "Career Reboot", "Resilience 8-week", "Founder Circle"]
        for i in range(1, n["programs"] + 1):
            created = rng.when(days=60)
            yield changed(
                "programs",
                {
                    "program_id": f"p{i:06d}",
                    "name": names[(i - 1) % len(names)],
                    "description": rng.text(15),
                    "session_count": rng.choice([6, 8, 12]),
                    "price": rng.choice(["1800.00", "2400.00"]),
                    "currency": "EUR",
                    "status": "active" if i != 4 else "retired",
                    "created_at": ts(created),
                    "updated_at": ts(rng.when(created, 60)),
                },
            )

    def enrollment_of(i: int) -> tuple[str, str]:
        """Enrollment i's (client, program): deterministic so sessions can link to them."""
        return f"c{(i * 7) % n['clients'] + 1:06d}", f"p{i % n['programs'] + 1:06d}"

    def enrollments() -> Iterator[dict[str, Any]]:
        rng = Rng(seed + 6)
        for i in range(1, n["enrollments"] + 1):
            client, program = enrollment_of(i)
            enrolled = rng.when()
            done = rng.random() < 0.3
            yield {
                "enrollment_id": f"e{i:06d}",
                "program_id": program,
                "client_id": client,
                "enrolled_at": ts(enrolled),
                "status": "completed" if done else "active",
                "progress_pct": "100" if done else f"{rng.randrange(0, 100)}.5",
                "completed_at": ts(rng.when(enrolled, 90)) if done else None,
            }

    def sessions() -> Iterator[dict[str, Any] | Bad]:
        rng = Rng(seed + 7)
        for i in range(1, n["sessions"] + 1):
            if i % 3 == 0:  # a package session: linked through an enrollment …
                client, program = enrollment_of(rng.randrange(1, n["enrollments"] + 1))
                if i % 9 == 0:  # … whose link broke in the export (PROFI-21)
                    program = f"p{(int(program[1:]) % n['programs']) + 1:06d}"
                    client = f"c{(int(client[1:]) + 1) % n['clients'] + 1:06d}"
            else:
                client, program = ref(rng, "c", "clients"), None
            start = rng.when()
            dur = rng.choice([30, 45, 60, 90])
            created = start - rng.choice([timedelta(days=d) for d in (1, 3, 14)])
            rec = {
                "session_id": f"s{i:06d}",
                "client_id": client,
                "coach_id": ref(rng, "k", "coaches"),
                "service_id": ref(rng, "sv", "services"),
                "program_id": program,
                "title": rng.choice(["Kick-off", "Check-in", "Deep dive", "Wrap-up", "Ankommen & Ziele"]),
                "session_type": rng.choice(["video", "in_person", "phone"]),
                "start_at": ts(start),
                "end_at": ts(start + timedelta(minutes=dur)),
                "duration_min": dur,
                "status": rng.choice(["scheduled", "completed", "completed", "cancelled", "no_show"]),
                "location_type": rng.choice(["online", "office", None]),
                "created_at": ts(created),
                "updated_at": ts(start),
            }
            if i == 7:
                cells = [str(rec[k]) if rec[k] is not None else "" for k in rec]
                cells[7] = "31/02/2024 10:00"  # start_at
                yield Bad(rec["session_id"], "start_at", cells=cells)
                continue
            yield changed("sessions", rec)

    def invoices() -> Iterator[dict[str, Any]]:
        rng = Rng(seed + 8)
        for i in range(1, n["invoices"] + 1):
            issued = rng.when()
            yield changed(
                "invoices",
                {
                    "invoice_id": f"i{i:06d}",
                    "number": f"INV-{2023 + i % 3}-{i:05d}",
                    "client_id": ref(rng, "c", "clients"),
                    "program_id": ref(rng, "p", "programs") if i % 2 else None,
                    "issued_at": ts(issued),
                    "due_at": (issued.date() + timedelta(days=30)).isoformat(),
                    "status": rng.choice(["paid", "open", "overdue", "void"]),
                    "total_amount": f"{rng.randrange(100, 5000)}.{rng.randrange(100):02d}",
                    "currency": rng.choice(["EUR", "USD", "GBP"]),
                    "updated_at": ts(rng.when(issued, 60)),
                },
            )

    def payments() -> Iterator[dict[str, Any] | Bad]:
        rng = Rng(seed + 9)
        for i in range(1, n["payments"] + 1):
            rec = {
                "payment_id": f"pay{i:06d}",
                "invoice_id": ref(rng, "i", "invoices"),
                "client_id": ref(rng, "c", "clients"),
                "amount": f"{rng.randrange(50, 3000)}.{rng.randrange(100):02d}",
                "currency": "EUR",
                "paid_at": ts(rng.when()),
                "status": rng.choice(["succeeded", "refunded"]),
                "method": rng.choice(["card", "sepa", "paypal"]),
            }
            if i == 9:
                cells = [str(v) for v in rec.values()]
                cells[3] = "1.234,50"  # a European-format amount: not a decimal
                yield Bad(rec["payment_id"], "amount", cells=cells)
                continue
            yield rec

    def notes() -> Iterator[dict[str, Any] | Bad]:
        rng = Rng(seed + 10)
        for i in range(1, n["notes"] + 1):
            session = ref(rng, "s", "sessions") if i % 2 else None
            rec = {
                "note_id": f"n{i:06d}",
                "client_id": ref(rng, "c", "clients"),
                "session_id": "s_deleted" if i == 4 else session,
                "author_id": ref(rng, "k", "coaches"),
                "body": rng.long_note() if i == 2 else rng.text(rng.randrange(5, 60)),
                "created_at": ts(rng.when()),
            }
            if i == 11:
                ids = f"{rec['note_id']},{rec['client_id']},,{rec['author_id']}"
                line = f'{ids},"Caf\xe9 notes",{rec["created_at"]}\n'
                yield Bad(rec["note_id"], "body", raw=line.encode("latin-1"))
                continue
            yield changed("notes", rec, "created_at")

    def attachments() -> Iterator[dict[str, Any] | Missing]:
        rng = Rng(seed + 11)
        # a file embedded in a note belongs to that note's client (PROFI-13)
        client_of = {r["note_id"]: r["client_id"] for r in notes() if isinstance(r, dict)}
        for i in range(1, n["attachments"] + 1):
            kind = rng.choice(["pdf", "png", "txt"])
            rel = f"notes/a{i:06d}/{rng.choice(['worksheet', 'Zielvereinbarung', 'contract'])}-{i}.{kind}"
            rel, size = ex.attach(rng, i, rel, rng.randrange(200, 3000), kind)
            note, client = ref(rng, "n", "notes"), ref(rng, "c", "clients")
            yield ex.attachment(
                i,
                rel,
                size,
                MIME[rel.rsplit(".", 1)[1]],
                {"attachment_id": f"a{i:06d}", "note_id": note, "client_id": client_of.get(note, client)},
            )

    return {
        "coaches": coaches,
        "companies": companies,
        "clients": clients,
        "custom_fields": custom_fields,
        "custom_field_values": custom_field_values,
        "services": services,
        "programs": programs,
        "sessions": sessions,
        "enrollments": enrollments,
        "invoices": invoices,
        "payments": payments,
        "notes": notes,
        "attachments": attachments,
    }


RECORDINGS = [
    {
        "recording_id": f"r{i:06d}",
        "session_id": f"s{i * 11:06d}",
        "title": f"Session recording {i}",
        "duration_min": 45 + i,
        "recorded_at": ts(EPOCH),
        "file_name": f"rec-{i:04d}.mp4",
    }
    for i in range(1, 6)
]


SAMPLE = Sample(
    "profi",
    __doc__,
    Path(__file__).parent / "export",
    seed=7,
    base=BASE,
    weights=WEIGHTS,
    large_file="recordings-free/large-workbook.pdf",
    missing_file=3,
    rows=_rows,
    extra_csv={"recordings.csv": (list(RECORDINGS[0]), RECORDINGS)},
)
generate = SAMPLE.generate
main = SAMPLE.main


if __name__ == "__main__":
    main()
