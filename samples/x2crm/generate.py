"""Generate an X2CRM dataset for the mock (`python -m emulators.x2crm --data FILE`).

Deterministic for a seed; streams to disk, so it also makes large ones:
`python -m samples.x2crm.generate --records 1000000 --out /tmp/x2crm.json`.
Values look like API v2's: ids, numbers and unix timestamps sometimes as JSON strings, link
fields as `nameId`s (`"Name_25"`), `assignedTo` as a username, a comma list or `Anyone`.
The data is invented and carries the defects real data has (see DEFECTS).
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

API_USER, API_KEY = "admin", "x2-sample-api-key"
USERS = [
    # username, first, last, email, status (0 = left the company), userKey
    ("admin", "Ada", "Admin", "admin@northwind-x2.example", 1, API_KEY),
    ("jane", "Jane", "Okafor", "jane.okafor@northwind-x2.example", 1, "jane-key"),
    ("bob", "Bob", "Lindqvist", "bob.lindqvist@northwind-x2.example", 1, ""),  # API access disabled
    ("chloe", "Chloé", "Dubois", "chloe.dubois@northwind-x2.example", 0, ""),  # left the company
    ("dmitrij", "Dmitrij", "Šostakovič", "dmitrij@northwind-x2.example", 1, ""),
    ("olga", "Olga", "Nováková", "", 1, ""),  # no email: cannot be matched
]
# assignedTo values: usernames, a comma list, Anyone, a user who left, one deleted outright.
ASSIGNEES = ["jane", "bob", "jane, bob", "Anyone", "chloe", "dmitrij", "ghost", "olga", "admin"]
FIRST = [
    "Anna",
    "Björn",
    "Zoë",
    "Łukasz",
    "Sofía",
    "Mehmet",
    "Ines",
    "Kenji",
    "Aoife",
    "Nils",
    "Renée",
    "Tom",
]
LAST = ["Müller", "García", "O'Brien", "Nguyễn", "Kowalski", "Smith", "Øster", "Rossi", "Yılmaz", "Chen"]  # noqa: RUF001
COMPANY = ["Pierre Office Supplies", "Blue Harbor", "Kühne Logistik", "Nordlicht", "Acme", "Sakura Foods"]
SUFFIX = ["Ltd", "GmbH", "Inc", "SARL", "AB", "KK"]
LEAD_STATUS = ["Unassigned", "Assigned", "Accepted", "Working", "Dead", "Rejected", "Hot Lead", "follow-up"]
LEAD_SOURCE = ["None", "Google", "Facebook", "Walk In", "Trade Fair"]
ACTION_TYPES = [
    "",
    "call",
    "note",
    "time",
    "event",
    "email",
    "emailFrom",
    "emailOpened",
    "attachment",
    "workflow",
    "webactivity",
    "quotes",
]
ASSOC = [("contacts", "Contacts"), ("accounts", "Accounts"), ("opportunities", "Opportunity")]
TAGS = ["#customer", "#lead-qualified", "#vip", "#newsletter", "#händler", "#churn-risk"]
DEFECTS = {
    "deleted": "every 25th id of each class is missing (deleted), and some links still point at it",
    "emails": "every 9th contact has no email, every 11th a malformed one",
    "no_company": "every 7th contact has no company; every 13th a typed-in name linked to nothing",
    "duplicates": "every 20th contact repeats the previous one; accounts 1 and 2 share name and website",
    "leadstatus": "'Hot Lead' and 'follow-up' are lead statuses not in the Lead Status dropdown",
    "owners": "records assigned to chloe (left), ghost (no such user) and olga (no email)",
    "long_text": "every 10th action has a description over 20,000 characters",
    "segment": "the custom Segment dropdown lacks 'Public', which every 3rd contact carries",
    "services": "a service contract's Account link points at a deleted account",
    "media": "Media 1 is over Dataverse's default 5 MB upload limit; Media 2's file is missing on disk",
}
_BASE = 1_609_459_200  # 2021-01-01T00:00:00Z
_WORDS = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "eiusmod",
    "tempor",
]


def counts(records: int) -> dict[str, int]:
    n = max(records, 100)
    return {
        "Accounts": n // 10,
        "Contacts": n * 4 // 10,
        "X2Leads": max(5, n // 40),
        "Opportunity": n // 10,
        "Product": max(5, n // 100),
        "Services": max(5, n // 50),
        "Campaign": max(3, n // 200),
        "Actions": n * 3 // 10,
        "Media": max(4, n // 100),
        "Docs": 3,
    }


def _deleted(i: int) -> bool:
    return i % 25 == 0


def _ts(rnd: random.Random, i: int, offset: int = 0) -> int | str:
    value = _BASE + i * 3_600 + offset + rnd.randrange(3_600)
    return str(value) if i % 3 == 0 else value  # PDO strings and native numbers both occur


def _num(value: float | int, i: int) -> float | int | str:
    return f"{value:.2f}" if i % 2 == 0 else value


def _name_id(name: str, rid: int) -> str:
    return f"{name}_{rid}"


def _account_name(i: int) -> str:
    if i in (1, 2):
        return "Pierre Office Supplies"  # duplicate company (same website too)
    return f"{COMPANY[i % len(COMPANY)]} {SUFFIX[i % len(SUFFIX)]} {i}"


def _person(i: int) -> tuple[str, str]:
    j = i - 1 if i % 20 == 0 else i  # every 20th contact duplicates the previous one
    return FIRST[j % len(FIRST)], LAST[(j * 7) % len(LAST)]


def _text(rnd: random.Random, words: int) -> str:
    return " ".join(rnd.choice(_WORDS) for _ in range(words))


def _ids(n: int) -> Iterator[int]:
    return (i for i in range(1, n + 1) if not _deleted(i))


def accounts(n: dict[str, int], rnd: random.Random) -> Iterator[dict[str, Any]]:
    for i in _ids(n["Accounts"]):
        name = _account_name(i)
        created = _ts(rnd, i)
        parent = None
        if i % 6 == 0:
            parent = _name_id(_account_name(i - 1), i - 1) if not _deleted(i - 1) else "Gone Holdings_25"
        yield {
            "id": str(i) if i % 2 else i,
            "name": name,
            "nameId": _name_id(name, i),
            "website": "www.pierre-office.example" if i in (1, 2) else f"www.company{i}.example",
            "type": ["Customer", "Partner", "Prospect", ""][i % 4],
            "phone": f"+33 1 {i:02d} 00 00 {i % 100:02d}",
            "email": f"info@company{i}.example",
            "annualRevenue": _num(10_000 * (i % 50) + 0.5, i),
            "employees": str(i * 3) if i % 2 else i * 3,
            "tickerSymbol": f"T{i:03d}"[:10],
            "address": f"{i} Rue de la Paix",
            "city": ["Paris", "München", "Göteborg", "Osaka"][i % 4],
            "state": None,
            "country": ["France", "Germany", "Sweden", "Japan"][i % 4],
            "zipcode": f"{75000 + i}",
            "parentAccount": parent,
            "primaryContact": _name_id(" ".join(_person(i * 4)), i * 4) if i % 5 == 0 else None,
            "assignedTo": ASSIGNEES[i % len(ASSIGNEES)],
            "description": _text(rnd, 30),
            "visibility": "1" if i % 2 else 1,
            "createDate": created,
            "lastUpdated": int(created) + 86_400,
            "c_contractValue": _num(1_000 * i, i),
        }


def contacts(n: dict[str, int], rnd: random.Random) -> Iterator[dict[str, Any]]:
    n_acc = n["Accounts"]
    for i in _ids(n["Contacts"]):
        first, last = _person(i)
        acc = (i % n_acc) + 1
        company: str | None = _name_id(_account_name(acc), acc)
        if i % 7 == 0:
            company = "" if i % 2 else None
        elif i % 13 == 0:
            company = "Freelance (no account)"
        email: str | None = f"{first}.{last}{i}@mail.example".lower().replace("'", "")
        if i % 9 == 0:
            email = None if i % 2 else ""
        elif i % 11 == 0:
            email = ["no-at-sign.example", "x@", "a b@c.example"][i % 3]
        created = _ts(rnd, i)
        yield {
            "id": i if i % 2 else str(i),
            "name": f"{first} {last}",
            "nameId": _name_id(f"{first} {last}", i),
            "firstName": first,
            "lastName": last,
            "title": ["CEO", "Buyer", "Einkäufer", "", None][i % 5],
            "company": company,
            "phone": f"+49 30 {i:06d}",
            "email": email,
            "address": f"Hauptstraße {i}",
            "city": ["Berlin", "Zürich", "Kraków", "Lyon"][i % 4],
            "country": ["Germany", "Switzerland", "Poland", "France"][i % 4],
            "assignedTo": ASSIGNEES[i % len(ASSIGNEES)],
            "backgroundInfo": _text(rnd, 40 if i % 4 else 400),
            "leadSource": LEAD_SOURCE[i % len(LEAD_SOURCE)],
            "leadDate": _ts(rnd, i, -86_400),
            "leadtype": ["Web", "In Person", "Phone", "E-Mail"][i % 4],
            "leadstatus": LEAD_STATUS[i % len(LEAD_STATUS)],
            "leadscore": str(i % 5) if i % 2 else i % 5,
            "rating": i % 6,
            "dealvalue": _num(250.0 * (i % 40), i),
            "dealstatus": ["Working", "Won", "Lost"][i % 3],
            "doNotCall": ["0", "1", 0, 1][i % 4],
            "doNotEmail": 0,
            "visibility": 1 if i % 10 else 0,
            "createDate": created,
            "lastUpdated": int(created) + 3_600,
            "lastActivity": int(created) + 7_200 if i % 3 else None,
            "c_segment": ["SMB", "Enterprise", "Public"][i % 3],
        }


def x2leads(n: dict[str, int], rnd: random.Random) -> Iterator[dict[str, Any]]:
    for i in _ids(n["X2Leads"]):
        first, last = FIRST[(i + 3) % len(FIRST)], LAST[(i + 5) % len(LAST)]
        created = _ts(rnd, i)
        yield {
            "id": i,
            "name": f"{first} {last}",
            "nameId": _name_id(f"{first} {last}", i),
            "firstName": first,
            "lastName": last,
            "accountName": None,
            "company": f"{COMPANY[i % len(COMPANY)]} prospect",
            "email": f"lead{i}@prospect.example",
            "phone": None,
            "leadSource": LEAD_SOURCE[i % len(LEAD_SOURCE)],
            "leadstatus": LEAD_STATUS[i % len(LEAD_STATUS)],
            "quoteAmount": _num(500.0 * i, i),
            "salesStage": "Working",
            "probability": str(10 * (i % 10)),
            "assignedTo": ASSIGNEES[(i + 1) % len(ASSIGNEES)],
            "converted": "0",
            "createDate": created,
            "lastUpdated": int(created) + 60,
        }


def opportunities(n: dict[str, int], rnd: random.Random) -> Iterator[dict[str, Any]]:
    n_acc, n_con = n["Accounts"], n["Contacts"]
    for i in _ids(n["Opportunity"]):
        acc, con = (i % n_acc) + 1, (i * 3 % n_con) + 1
        stage = ["Working", "Won", "Lost"][i % 3]
        created = _ts(rnd, i)
        first, last = _person(con)
        yield {
            "id": str(i),
            "name": f"Deal {i}: {_account_name(acc)}",
            "nameId": _name_id(f"Deal {i}: {_account_name(acc)}", i),
            "accountName": _name_id(_account_name(acc), acc),
            "contactName": _name_id(f"{first} {last}", con) if i % 4 else None,
            "quoteAmount": _num(1_500.0 * (i % 30) + 99.99, i),
            "salesStage": stage,
            "probability": {"Working": 40, "Won": 100, "Lost": 0}[stage],
            "expectedCloseDate": _ts(rnd, i, 90 * 86_400),
            "leadSource": LEAD_SOURCE[i % len(LEAD_SOURCE)],
            "description": _text(rnd, 25),
            "assignedTo": ASSIGNEES[(i + 2) % len(ASSIGNEES)],
            "visibility": 1,
            "createDate": created,
            "lastUpdated": int(created) + 600,
            "c_lossReason": "Price" if stage == "Lost" else None,
        }


def actions(n: dict[str, int], rnd: random.Random) -> Iterator[dict[str, Any]]:
    for i in _ids(n["Actions"]):
        module, cls = ASSOC[i % len(ASSOC)]
        target = (i * 7 % n[cls]) + 1  # sometimes a deleted record (ids divisible by 25)
        kind = ACTION_TYPES[i % len(ACTION_TYPES)]
        created = _ts(rnd, i)
        done = i % 2 == 0
        text = _text(rnd, 3_500) if i % 10 == 0 else _text(rnd, 20 + i % 50)
        yield {
            "id": i,
            "subject": f"{kind or 'todo'} #{i}",
            "type": kind,
            "associationType": module,
            "associationId": str(target) if i % 2 else target,
            "associationName": f"{cls} {target}",
            "assignedTo": ASSIGNEES[i % len(ASSIGNEES)],
            "dueDate": _ts(rnd, i, 2 * 86_400) if kind in ("", "event") else None,
            "complete": "Yes" if done else "No",
            "completeDate": _ts(rnd, i, 3_600) if done else None,
            "completedBy": "jane" if done else None,
            "priority": str(1 + i % 3),
            "visibility": "1",
            "timeSpent": 900 if kind in ("call", "time") else 0,
            "createDate": created,
            "lastUpdated": int(created) + 120,
            "actionDescription": text,
        }


def products(n: dict[str, int], rnd: random.Random) -> Iterator[dict[str, Any]]:
    for i in _ids(n["Product"]):
        yield {
            "id": i,
            "name": f"Product {i} ({['Paper', 'Toner', 'Desk', 'Chair'][i % 4]})",
            "nameId": _name_id(f"Product {i} ({['Paper', 'Toner', 'Desk', 'Chair'][i % 4]})", i),
            "type": f"SKU-{i:05d}",
            "price": _num(9.99 * i, i),
            "currency": ["EUR", "USD", "GBP"][i % 3],
            "status": "Active" if i % 4 else "Inactive",
            "inventory": str(i * 10),
            "description": _text(rnd, 15),
            "createDate": _ts(rnd, i),
            "lastUpdated": _ts(rnd, i, 100),
        }


def services(n: dict[str, int], rnd: random.Random) -> Iterator[dict[str, Any]]:
    n_con = n["Contacts"]
    for i in _ids(n["Services"]):
        con = (i * 5 % n_con) + 1
        acc = (i * 4 % n["Accounts"]) + 1  # sometimes a deleted account: a broken reference
        first, last = _person(con)
        yield {
            "id": 1000 + i,  # x2_services starts at AUTO_INCREMENT 1000
            "name": f"Case {1000 + i}",
            "nameId": _name_id(f"Case {1000 + i}", 1000 + i),
            "contactId": _name_id(f"{first} {last}", con),
            "subject": f"Renewal of service contract {i}",
            "impact": ["1 - Severe", "2 - Critical", "3 - Moderate", "4 - Minor"][i % 4],
            "status": ["New", "WIP", "Closed - Resolved"][i % 3],
            "mainIssue": ["Hardware", "Software", "General Request"][i % 3],
            "subIssue": ["Laptop", "MS Office", "Other"][i % 3],
            "origin": ["Email", "Web", "Phone"][i % 3],
            "resolution": _text(rnd, 12) if i % 3 == 2 else None,
            "description": _text(rnd, 30),
            "assignedTo": ASSIGNEES[i % len(ASSIGNEES)],
            "email": None,
            "createDate": _ts(rnd, i),
            "lastUpdated": _ts(rnd, i, 500),
            # module-builder fields of a customer who runs service contracts in Services (X2-08)
            "c_renewalDate": _BASE + (365 + 30 * i) * 86_400,
            "c_account": _name_id(_account_name(acc), acc) if not _deleted(acc) else f"Gone Holdings_{acc}",
        }


def campaigns(n: dict[str, int], rnd: random.Random) -> Iterator[dict[str, Any]]:
    for i in _ids(n["Campaign"]):
        created = _ts(rnd, i)
        yield {
            "id": i,
            "name": f"Spring newsletter {2020 + i}",
            "nameId": _name_id(f"Spring newsletter {2020 + i}", i),
            "type": ["Email", "Call List", "Physical Mail"][i % 3],
            "listId": f"List_{i}",
            "subject": f"Neuigkeiten {2020 + i} — our spring offers",
            "content": "<html><body><h1>Hello {firstName}</h1><p>" + _text(rnd, 200) + "</p></body></html>",
            "createdBy": "jane",
            "assignedTo": "jane",
            "active": "1",
            "complete": 0,
            "visibility": 1,
            "createDate": created,
            "launchDate": int(created) + 86_400,
            "lastUpdated": int(created) + 90_000,
            "template": "0",
        }


def media(n: dict[str, int], rnd: random.Random) -> Iterator[dict[str, Any]]:
    for i in _ids(n["Media"]):
        module, cls = ASSOC[i % len(ASSOC)]
        big = i == 1
        yield {
            "id": i,
            "associationType": module,
            "associationId": (i % n[cls]) + 1,
            "uploadedBy": ["jane", "chloe", "admin"][i % 3],
            "fileName": f"scan_{i}.pdf" if not big else "site_survey_photos.zip",
            "name": f"Attachment {i}",
            "nameId": _name_id(f"Attachment {i}", i),
            "mimetype": "application/zip" if big else "application/pdf",
            "filesize": 6_000_000 if big else 1_000 + i,  # the first one is over Dataverse's 5 MB
            "private": 0,
            "description": None,
            "createDate": _ts(rnd, i),
            "lastUpdated": _ts(rnd, i, 10),
        }


def docs(n: dict[str, int], rnd: random.Random) -> Iterator[dict[str, Any]]:
    rows = [("Welcome email", "email"), ("Follow-up email", "email"), ("Standard quote", "quote")]
    for i, (name, kind) in enumerate(rows, 1):
        yield {
            "id": i,
            "name": name,
            "nameId": _name_id(name, i),
            "type": kind,
            "subject": name,
            "text": "<p>Dear {firstName},</p><p>" + _text(rnd, 50) + "</p>",
            "createdBy": "admin",
            "createDate": _ts(rnd, i),
            "lastUpdated": _ts(rnd, i, 10),
            "visibility": 1,
        }


CLASSES = {
    "Accounts": accounts,
    "Contacts": contacts,
    "X2Leads": x2leads,
    "Opportunity": opportunities,
    "Product": products,
    "Services": services,
    "Campaign": campaigns,
    "Actions": actions,
    "Media": media,
    "Docs": docs,
}

# (fieldName, label, x2 type, linkType, required, custom): a subset of modules/*/data/install.sql.
_COMMON = [
    ("id", "ID", "varchar", None, 0, 0),
    ("name", "Name", "varchar", None, 0, 0),
    ("nameId", "NameID", "varchar", None, 0, 0),
    ("assignedTo", "Assigned To", "assignment", "multiple", 0, 0),
    ("visibility", "Visibility", "visibility", None, 0, 0),
    ("createDate", "Create Date", "dateTime", None, 0, 0),
    ("lastUpdated", "Last Updated", "dateTime", None, 0, 0),
    ("lastActivity", "Last Activity", "dateTime", None, 0, 0),
    ("description", "Description", "text", None, 0, 0),
]
FIELDS: dict[str, list[tuple[str, str, str, str | None, int, int]]] = {
    "Contacts": [
        ("firstName", "First Name", "varchar", None, 1, 0),
        ("lastName", "Last Name", "varchar", None, 1, 0),
        ("title", "Title", "varchar", None, 0, 0),
        ("company", "Company", "link", "Accounts", 0, 0),
        ("phone", "Phone", "phone", None, 0, 0),
        ("email", "Email", "email", None, 0, 0),
        ("address", "Address", "varchar", None, 0, 0),
        ("city", "City", "varchar", None, 0, 0),
        ("country", "Country", "varchar", None, 0, 0),
        ("backgroundInfo", "Background Info", "text", None, 0, 0),
        ("leadSource", "Lead Source", "dropdown", "103", 0, 0),
        ("leadDate", "Lead Date", "date", None, 0, 0),
        ("leadtype", "Lead Type", "dropdown", "102", 0, 0),
        ("leadstatus", "Lead Status", "dropdown", "104", 0, 0),
        ("leadscore", "Lead Score", "rating", None, 0, 0),
        ("rating", "Confidence", "rating", None, 0, 0),
        ("dealvalue", "Deal Value", "currency", None, 0, 0),
        ("dealstatus", "Deal Status", "dropdown", "105", 0, 0),
        ("doNotCall", "Do Not Call", "boolean", None, 0, 0),
        ("doNotEmail", "Do Not Email", "boolean", None, 0, 0),
        ("c_segment", "Segment", "dropdown", "1000", 0, 1),
    ],
    "Accounts": [
        ("name", "Name", "varchar", None, 1, 0),
        ("website", "Website", "url", None, 0, 0),
        ("type", "Type", "varchar", None, 0, 0),
        ("phone", "Phone", "phone", None, 0, 0),
        ("email", "Email", "email", None, 0, 0),
        ("annualRevenue", "Revenue", "currency", None, 0, 0),
        ("employees", "Employees", "int", None, 0, 0),
        ("tickerSymbol", "Symbol", "varchar", None, 0, 0),
        ("parentAccount", "Parent", "link", "Accounts", 0, 0),
        ("primaryContact", "Primary Contact", "link", "Contacts", 0, 0),
        ("c_contractValue", "Contract Value", "currency", None, 0, 1),
    ],
    "X2Leads": [
        ("firstName", "First Name", "varchar", None, 1, 0),
        ("lastName", "Last Name", "varchar", None, 1, 0),
        ("accountName", "Account", "link", "Accounts", 0, 0),
        ("email", "Email", "email", None, 0, 0),
        ("leadSource", "Lead Source", "dropdown", "103", 0, 0),
        ("leadstatus", "Lead Status", "dropdown", "104", 0, 0),
        ("quoteAmount", "Quote Amount", "currency", None, 0, 0),
        ("salesStage", "Sales Stage", "dropdown", "105", 0, 0),
        ("probability", "Probability", "percentage", None, 0, 0),
        ("converted", "Converted", "boolean", None, 0, 0),
    ],
    "Opportunity": [
        ("name", "Name", "varchar", None, 1, 0),
        ("accountName", "Account", "link", "Accounts", 0, 0),
        ("contactName", "Contact", "link", "Contacts", 0, 0),
        ("quoteAmount", "Quote Amount", "currency", None, 0, 0),
        ("salesStage", "Sales Stage", "dropdown", "105", 0, 0),
        ("probability", "Probability", "percentage", None, 0, 0),
        ("expectedCloseDate", "Expected Close Date", "date", None, 0, 0),
        ("leadSource", "Lead Source", "dropdown", "103", 0, 0),
        ("c_lossReason", "Loss Reason", "varchar", None, 0, 1),
    ],
    "Product": [
        ("type", "Type", "varchar", None, 0, 0),
        ("price", "Price", "currency", None, 0, 0),
        ("currency", "Currency", "dropdown", "101", 0, 0),
        ("status", "Status", "dropdown", "100", 0, 0),
        ("inventory", "Inventory", "varchar", None, 0, 0),
    ],
    "Services": [
        ("contactId", "Contact", "link", "Contacts", 0, 0),
        ("subject", "Subject", "varchar", None, 0, 0),
        ("impact", "Impact", "dropdown", "108", 1, 0),
        ("status", "Status", "dropdown", "109", 1, 0),
        ("mainIssue", "Main Issue", "dropdown", "110", 0, 0),
        ("subIssue", "Sub Issue", "dropdown", "111", 0, 0),
        ("origin", "Origin", "dropdown", "112", 0, 0),
        ("resolution", "Resolution", "text", None, 0, 0),
        ("email", "Email", "email", None, 0, 0),
        ("c_renewalDate", "Renewal Date", "date", None, 0, 1),
        ("c_account", "Account", "link", "Accounts", 0, 1),
    ],
    "Campaign": [
        ("type", "Type", "dropdown", "107", 0, 0),
        ("listId", "Contact List", "link", "X2List", 0, 0),
        ("subject", "Subject", "varchar", None, 0, 0),
        ("content", "Content", "text", None, 0, 0),
        ("launchDate", "Launch Date", "dateTime", None, 0, 0),
        ("active", "Active", "boolean", None, 0, 0),
        ("complete", "Complete", "boolean", None, 0, 0),
    ],
    "Actions": [
        ("subject", "Subject", "varchar", None, 0, 0),
        ("type", "Action Type", "varchar", None, 0, 0),
        ("associationType", "Association Type", "varchar", None, 0, 0),
        ("associationId", "Contact", "int", None, 0, 0),
        ("associationName", "Association", "varchar", None, 0, 0),
        ("dueDate", "Due Date", "dateTime", None, 0, 0),
        ("complete", "Complete", "varchar", None, 0, 0),
        ("completeDate", "Date Completed", "dateTime", None, 0, 0),
        ("priority", "Priority", "dropdown", "124", 0, 0),
        ("actionDescription", "Action Description", "text", None, 0, 0),
    ],
    "Media": [
        ("associationId", "Association", "int", None, 0, 0),
        ("filesize", "File Size", "int", None, 0, 0),
        ("fileName", "File Name", "varchar", None, 0, 0),
    ],
    "Docs": [("text", "Text", "text", None, 0, 0), ("type", "Type", "varchar", None, 0, 0)],
}

DROPDOWNS = [
    (100, "Product Status", ["Active", "Inactive"]),
    (101, "Currency List", ["USD", "EUR", "GBP", "CAD", "JPY", "CNY", "CHF", "INR", "BRL"]),
    (102, "Lead Type", ["None", "Web", "In Person", "Phone", "E-Mail"]),
    (103, "Lead Source", ["None", "Google", "Facebook", "Walk In"]),
    (104, "Lead Status", ["Unassigned", "Assigned", "Accepted", "Working", "Dead", "Rejected"]),
    (105, "Sales Stage", ["Working", "Won", "Lost"]),
    (107, "Campaign Type", ["Email", "Call List", "Physical Mail"]),
    (108, "Case Impact", ["1 - Severe", "2 - Critical", "3 - Moderate", "4 - Minor"]),
    (109, "Case Status", ["New", "WIP", "Closed - Resolved"]),
    (110, "Case Main Issue", ["Hardware", "Software", "General Request"]),
    (111, "Case Sub Issue", ["Laptop", "MS Office", "Other"]),
    (112, "Case Origin", ["Email", "Web", "Phone"]),
    (1000, "Segment", ["SMB", "Enterprise"]),  # custom; "Public" is used but not an option
]

WORKFLOWS = [
    {
        "id": 1,
        "active": 1,
        "name": "Assign new web leads",
        "triggerType": "WebleadTrigger",
        "modelClass": "Contacts",
    },
    {
        "id": 2,
        "active": 1,
        "name": "Welcome email on create",
        "triggerType": "RecordCreateTrigger",
        "modelClass": "Contacts",
    },
    {
        "id": 3,
        "active": 1,
        "name": "Won deal → notify finance",
        "triggerType": "RecordUpdateTrigger",
        "modelClass": "Opportunity",
    },
    {
        "id": 4,
        "active": 0,
        "name": "Nightly overdue reminder",
        "triggerType": "PeriodicTrigger",
        "modelClass": None,
    },
]


def _fields() -> Iterator[dict[str, Any]]:
    fid = 0
    for cls, own in FIELDS.items():
        seen = set()
        for name, label, kind, link, required, custom in [*own, *_COMMON]:
            if name in seen:
                continue
            seen.add(name)
            fid += 1
            yield {
                "id": fid,
                "modelName": cls,
                "fieldName": name,
                "attributeLabel": label,
                "modified": 0,
                "custom": custom,
                "type": kind,
                "required": required,
                "readOnly": 1 if name in ("nameId", "createDate", "lastUpdated") else 0,
                "linkType": link,
                "searchable": 0,
                "isVirtual": 0,
                "relevance": "",
                "uniqueConstraint": 1 if name == "id" else 0,
                "safe": 1,
                "keyType": "PRI" if name == "id" else None,
            }


def _users() -> Iterator[dict[str, Any]]:
    for i, (username, first, last, email, status, key) in enumerate(USERS, 1):
        yield {
            "id": i,
            "firstName": first,
            "lastName": last,
            "fullName": f"{first} {last}",
            "username": username,
            "userAlias": username,
            "password": "$2y$10$not-a-real-hash",
            "emailAddress": email,
            "status": str(status) if i % 2 else status,
            "userKey": key,
            "createDate": _BASE - 86_400 * (10 - i),
            "lastLogin": 0 if status == 0 else _BASE + i,
        }


def _tags(n: dict[str, int]) -> Iterator[dict[str, Any]]:
    tid = 0
    for cls in ("Contacts", "Accounts", "Opportunity"):
        for i in _ids(n[cls]):
            for k in range(i % 3):
                tid += 1
                yield {
                    "id": tid,
                    "type": cls,
                    "itemId": i,
                    "tag": TAGS[(i + k) % len(TAGS)],
                    "taggedBy": "jane",
                    "itemName": None,
                    "timestamp": _BASE + i,
                }


def _relationships(n: dict[str, int]) -> Iterator[dict[str, Any]]:
    rid = 0
    for i in range(1, n["Contacts"] + 1, 3):  # includes deleted contacts (ids % 25 == 0)
        rid += 1
        acc = (i * 2 % n["Accounts"]) + 1
        yield {
            "id": rid,
            "firstType": "Contacts",
            "firstId": i,
            "firstLabel": "Employee",
            "secondType": "Accounts",
            "secondId": acc,
            "secondLabel": "Employer",
        }
        if i % 2:
            rid += 1
            yield {
                "id": rid,
                "firstType": "Opportunity",
                "firstId": (i % n["Opportunity"]) + 1,
                "firstLabel": None,
                "secondType": "Contacts",
                "secondId": i,
                "secondLabel": None,
            }


def write(out: IO[str], records: int = 300, seed: int = 42) -> dict[str, int]:
    """Stream the dataset as one JSON object; returns the number of records per class."""
    n = counts(records)
    written: dict[str, int] = {}

    def array(rows: Iterator[dict[str, Any]]) -> int:
        out.write("[")
        k = 0
        for k, row in enumerate(rows, 1):
            out.write(("," if k > 1 else "") + "\n" + json.dumps(row, ensure_ascii=False))
        out.write("]")
        return k

    out.write('{"appInfo": ')
    out.write(
        json.dumps(
            {"name": "Northwind X2", "version": "6.9", "edition": "opensource", "buildDate": 1_500_000_000}
        )
    )
    out.write(',\n"users": ')
    written["users"] = array(_users())
    out.write(',\n"fields": ')
    written["fields"] = array(_fields())
    out.write(',\n"dropdowns": ')
    written["dropdowns"] = array(
        iter(
            [
                {
                    "id": i,
                    "name": name,
                    "options": {o: o for o in opts},
                    "multi": 0,
                    "parent": None,
                    "parentVal": None,
                }
                for i, name, opts in DROPDOWNS
            ]
        )
    )
    out.write(',\n"records": {')
    for k, (cls, make) in enumerate(CLASSES.items()):
        out.write(("," if k else "") + f"\n{json.dumps(cls)}: ")
        written[cls] = array(make(n, random.Random(f"{seed}-{cls}")))
    out.write('},\n"tags": ')
    written["tags"] = array(_tags(n))
    out.write(',\n"relationships": ')
    written["relationships"] = array(_relationships(n))
    out.write("}\n")
    return written


def write_files(root: Path, data: dict[str, Any]) -> None:
    """Media files as a self-hosted install keeps them (uploads/protected/media/<user>/<file>);
    the first is over 5 MB (sparse), one is left missing on purpose."""
    for m in data["records"]["Media"]:
        if m["id"] == 2:
            continue  # listed by the API, missing on disk
        folder = root / "uploads" / "protected" / "media" / m["uploadedBy"]
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / m["fileName"], "wb") as fh:
            fh.truncate(int(m["filesize"]))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m samples.x2crm.generate", description=__doc__)
    p.add_argument("--records", type=int, default=300, help="approximate number of records")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", default=str(Path(__file__).with_name("data.json")))
    p.add_argument("--workflows", default=str(Path(__file__).with_name("workflows.json")))
    p.add_argument("--files-root", help="also write the Media files under this directory")
    args = p.parse_args(argv)
    with open(args.out, "w", encoding="utf-8") as fh:
        written = write(fh, args.records, args.seed)
    Path(args.workflows).write_text(
        json.dumps(WORKFLOWS, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    if args.files_root:
        write_files(Path(args.files_root), json.loads(Path(args.out).read_text(encoding="utf-8")))
    print(json.dumps(written))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
