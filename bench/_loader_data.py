"""The loader benchmark's dataset: accounts, contacts and tasks with lookups, generated on demand.

Deterministic: record `i` of a table always has the same GUID and the same columns, so every
scenario loads byte-for-byte the same data and a retry can never create a second row. Rows are
made per chunk (not held for the whole run), so a client's peak RSS is its own, not the dataset's.

Shares: 20% account, 50% contact (`parentcustomerid_account@odata.bind` → an account), 30% task
(`regardingobjectid_account_task@odata.bind` → an account). Load order is dependency order: the
accounts phase first, then contacts and tasks (both only need accounts).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

CHUNK = 1000  # records per chunk: Intact's extract_chunk_size and load_batch_size defaults
CITIES = ["Lyon", "Oslo", "Porto", "Graz", "Turku", "Ghent", "Brno", "Cork"]
FIRST = ["Ana", "Bram", "Chloé", "Dário", "Elif", "Finn", "Greta", "Hugo", "Ines", "Jonas"]
LAST = ["Almeida", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Horvat", "Ito", "Jansen"]


@dataclass(frozen=True)
class Table:
    name: str  # logical name
    entity_set: str
    primary_id: str
    share: int  # percent of the dataset
    phase: int
    code: int  # goes into the GUIDs


TABLES = [
    Table("account", "accounts", "accountid", 20, 1, 0xA),
    Table("contact", "contacts", "contactid", 50, 2, 0xC),
    Table("task", "tasks", "activityid", 30, 2, 0x7),
]
BY_NAME = {t.name: t for t in TABLES}


def counts(records: int) -> dict[str, int]:
    """Records per table: 20/50/30 of `records` (the last table takes the rounding)."""
    out: dict[str, int] = {}
    left = records
    for t in TABLES[:-1]:
        out[t.name] = records * t.share // 100
        left -= out[t.name]
    out[TABLES[-1].name] = left
    return out


def record_id(table: str, i: int) -> str:
    return str(uuid.UUID(int=(0x1A7AC7 << 104) | (BY_NAME[table].code << 64) | i, version=4))


def row(table: str, i: int, n_accounts: int) -> dict[str, Any]:
    """Record `i` of `table`, as Web API JSON (lookups as `@odata.bind`)."""
    t = BY_NAME[table]
    if table == "account":
        return {
            t.primary_id: record_id(table, i),
            "name": f"Bench account {i}",
            "accountnumber": f"A{i:08d}",
            "telephone1": f"+33 4 {i % 100:02d} {i % 1000:03d} {i % 97:02d}",
            "emailaddress1": f"account{i}@bench.example",
            "address1_city": CITIES[i % len(CITIES)],
            "numberofemployees": i % 5000,
            "revenue": round(1000 + i * 1.25, 2),
            "industrycode": 1 + i % 30,
            "description": f"Generated account {i} for the Intact loader benchmark.",
        }
    parent = f"/accounts({record_id('account', i % max(n_accounts, 1))})"
    if table == "contact":
        return {
            t.primary_id: record_id(table, i),
            "firstname": FIRST[i % len(FIRST)],
            "lastname": f"{LAST[(i // 10) % len(LAST)]} {i}",
            "emailaddress1": f"contact{i}@bench.example",
            "jobtitle": "Buyer" if i % 3 else "Director",
            "telephone1": f"+47 {i % 1000:03d} {i % 100:02d} {i % 89:02d}",
            "address1_city": CITIES[(i // 3) % len(CITIES)],
            "parentcustomerid_account@odata.bind": parent,
        }
    return {
        t.primary_id: record_id(table, i),
        "subject": f"Follow up {i}",
        "description": f"Call back about order {i:07d}.",
        "prioritycode": i % 3,
        "percentcomplete": (i * 7) % 101,
        "scheduledend": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T09:00:00Z",
        "regardingobjectid_account_task@odata.bind": parent,
    }


def rows(table: str, start: int, stop: int, n_accounts: int) -> list[dict[str, Any]]:
    return [row(table, i, n_accounts) for i in range(start, stop)]


@dataclass(frozen=True)
class Chunk:
    table: str
    phase: int
    chunk_no: int
    start: int
    stop: int

    @property
    def records(self) -> int:
        return self.stop - self.start


def chunks(records: int, size: int = CHUNK) -> list[Chunk]:
    """Every chunk in load order: tables in dependency order, each table's chunks in order."""
    out: list[Chunk] = []
    for t in TABLES:
        n = counts(records)[t.name]
        out.extend(Chunk(t.name, t.phase, k, s, min(s + size, n)) for k, s in enumerate(range(0, n, size)))
    return out


def phases(records: int, size: int = CHUNK) -> list[list[Chunk]]:
    """Chunks grouped by load phase, like the mapping profile's `phases()` (parents first)."""
    all_chunks = chunks(records, size)
    return [[c for c in all_chunks if c.phase == p] for p in sorted({c.phase for c in all_chunks})]
