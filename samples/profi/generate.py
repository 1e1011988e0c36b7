"""Generate a Profi data export (folder of CSVs + manifest.json + files/), deterministic per seed.

    python -m samples.profi.generate                         # the committed sample, samples/profi/export
    python -m samples.profi.generate --records 1000000 --out /tmp/profi   # large, streamed to disk
    python -m samples.profi.generate --zip /tmp/profi.zip

Edge cases (EDGES): non-ASCII names, missing and malformed emails, clients without a company, a
duplicated company, references to deleted records, a ~40 KB note, attachments (one over 5 MB,
generated here and git-ignored; one whose file is missing), coaches who left, sessions whose
package link is broken (PROFI-21), video recordings outside the export (PROFI-22), malformed rows.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from samples._export_kit import (
    BUMPED_AT,
    CITIES,
    COMPANY,
    EPOCH,
    LARGE_ATTACHMENT_BYTES,
    SUFFIX,
    Bad,
    Generated,
    Missing,
    Rng,
    file_bytes,
    large_file,
    scale,
    ts,
    write_export,
    zip_export,
)
from shared.sources.exports import load_layout

HERE = Path(__file__).parent
DEFAULT_OUT = HERE / "export"
LARGE_FILE = "recordings-free/large-workbook.pdf"  # git-ignored (see export/.gitignore)
EDGES = {
    "clients": "every 7th client has no company; c000005 points at deleted company co_deleted; "
    "line 14 has too few columns",
    "companies": "co000002 duplicates co000001's name",
    "coaches": "coach k000004 left (status inactive)",
    "sessions": "s000007 has an unparseable start_at; every 9th session with a program has no enrollment",
    "notes": "n000002 is ~40 KB; n000011 has invalid UTF-8; n000004 points at deleted session",
    "attachments": "a000001 is over 5 MB; a000003's file is missing",
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


def generate(
    out: Path = DEFAULT_OUT,
    *,
    records: int | None = None,
    seed: int = 7,
    collect: bool = True,
    bump: dict[str, set[str]] | None = None,
) -> Generated:
    """Write the export; `bump` = {object: ids} gives those records a cursor after the export."""
    n = scale(records, BASE, WEIGHTS)
    bump = bump or {}
    large = records is not None

    def changed(obj: str, rec: dict[str, Any], cursor: str = "updated_at") -> dict[str, Any]:
        if rec.get(fl_id[obj]) in bump.get(obj, ()):
            rec[cursor] = ts(BUMPED_AT)
        return rec

    fl_id = {k: v.primary_key for k, v in load_layout("profi").files.items()}

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
            company = None if i % 7 == 3 else f"co{rng.randrange(1, n['companies'] + 1):06d}"
            if i == 5:
                company = "co_deleted"
            rec = {
                "client_id": f"c{i:06d}",
                "first_name": first,
                "last_name": last,
                "email": rng.email(first, last, "mail.example", i),
                "phone": rng.phone(),
                "company_id": company,
                "coach_id": f"k{rng.randrange(1, n['coaches'] + 1):06d}",
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
            ent_id = (
                f"c{rng.randrange(1, n['clients'] + 1):06d}"
                if entity == "client"
                else f"co{rng.randrange(1, n['companies'] + 1):06d}"
            )
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
                client, program = f"c{rng.randrange(1, n['clients'] + 1):06d}", None
            start = rng.when()
            dur = rng.choice([30, 45, 60, 90])
            created = start - rng.choice([timedelta(days=d) for d in (1, 3, 14)])
            rec = {
                "session_id": f"s{i:06d}",
                "client_id": client,
                "coach_id": f"k{rng.randrange(1, n['coaches'] + 1):06d}",
                "service_id": f"sv{rng.randrange(1, n['services'] + 1):06d}",
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
                    "client_id": f"c{rng.randrange(1, n['clients'] + 1):06d}",
                    "program_id": f"p{rng.randrange(1, n['programs'] + 1):06d}" if i % 2 else None,
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
                "invoice_id": f"i{rng.randrange(1, n['invoices'] + 1):06d}",
                "client_id": f"c{rng.randrange(1, n['clients'] + 1):06d}",
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
            session = f"s{rng.randrange(1, n['sessions'] + 1):06d}" if i % 2 else None
            rec = {
                "note_id": f"n{i:06d}",
                "client_id": f"c{rng.randrange(1, n['clients'] + 1):06d}",
                "session_id": "s_deleted" if i == 4 else session,
                "author_id": f"k{rng.randrange(1, n['coaches'] + 1):06d}",
                "body": rng.long_note() if i == 2 else rng.text(rng.randrange(5, 60)),
                "created_at": ts(rng.when()),
            }
            if i == 11:
                ids = f"{rec['note_id']},{rec['client_id']},,{rec['author_id']}"
                line = f'{ids},"Caf\xe9 notes",{rec["created_at"]}\n'
                yield Bad(rec["note_id"], "body", raw=line.encode("latin-1"))
                continue
            yield changed("notes", rec, "created_at")

    attachments_files: list[tuple[str, Any]] = []

    def attachments() -> Iterator[dict[str, Any] | Missing]:
        rng = Rng(seed + 11)
        for i in range(1, n["attachments"] + 1):
            kind = rng.choice(["pdf", "png", "txt"])
            rel = f"notes/a{i:06d}/{rng.choice(['worksheet', 'Zielvereinbarung', 'contract'])}-{i}.{kind}"
            size = rng.randrange(200, 3000)
            if i == 1:
                rel, size = LARGE_FILE, (LARGE_ATTACHMENT_BYTES if not large else 64_000)
                attachments_files.append((rel, large_file(seed, size)))
            elif i != 3 or large:
                attachments_files.append((rel, file_bytes(rng, size, kind)))
            rec = {
                "attachment_id": f"a{i:06d}",
                "note_id": f"n{rng.randrange(1, n['notes'] + 1):06d}",
                "client_id": f"c{rng.randrange(1, n['clients'] + 1):06d}",
                "file_name": rel.rsplit("/", 1)[1],
                "mime_type": {"pdf": "application/pdf", "png": "image/png", "txt": "text/plain"}[
                    rel.rsplit(".", 1)[1]
                ],
                "size_bytes": size,
                "path": rel,
                "_file": {"path": str(out / "files" / rel), "size": size},
            }
            if i == 3 and not large:
                yield Missing(rec, "path")
                continue
            yield rec

    rows = {
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
    recordings = [
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
    gen = write_export(
        out,
        load_layout("profi"),
        rows,
        files=_lazy(attachments_files),
        collect=collect,
        extra_csv={"recordings.csv": (list(recordings[0]), recordings)},
    )
    (out / ".gitignore").write_text(f"files/{LARGE_FILE}\n", encoding="utf-8")
    return gen


class _lazy:
    """The files list fills while attachments.csv is written; read it only afterwards."""

    def __init__(self, items: list[tuple[str, Any]]) -> None:
        self.items = items

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        return iter(self.items)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--records", type=int, default=None, help="total rows, spread over the objects")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--zip", type=Path, default=None, help="also zip the export here")
    a = p.parse_args(argv)
    gen = generate(a.out, records=a.records, seed=a.seed, collect=a.records is None)
    if a.zip:
        zip_export(a.out, a.zip)
    print(f"{a.out}: {sum(gen.counts.values())} rows, {len(gen.malformed)} malformed")


if __name__ == "__main__":
    main()
