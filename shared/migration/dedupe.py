"""Dedupe against records already in Dynamics: link instead of writing a duplicate (X2-04, CLOSE-02,
COM-10).

A row whose target declares `dedupe` carries its match values (`TargetRow.dedupe`: column → value).
Before a chunk is written, the rows of one table are looked up together — one `$filter` (an OR of
ANDs) per batch of rows, paged — and a row equal, column by column and case-insensitively, to an
existing row is not written: it is *linked* to that row. The id map then points at the existing row
(so children bind to it), the audit log records a `link` with the matched columns of the existing
row as its pre-image, and rollback leaves it alone. Several matches: the oldest (`createdon`) wins and
the row is flagged `dedupe_several_matches` for the admin.

Rows this migration wrote itself are never matches: not the chunk's own deterministic ids, nor any id
the migration has claimed (`IdMap.claim`, written before every write to a deduped table). A record
the id map already knows keeps what it had: written rows are written (updated) again, linked rows
stay linked — a re-run or a delta never turns one into the other.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.dataverse import DataverseClient
from shared.mapping import TargetRow
from shared.mapping.profile import Profile
from shared.storage import IdMap

SEVERAL = "dedupe_several_matches"


@dataclass(frozen=True)
class Link:
    """A source record linked to an existing row instead of being written."""

    row: TargetRow
    target_id: str
    pre_image: str
    matches: int = 1

    @property
    def source_id(self) -> str:
        return self.row.source_id


def dedupe_tables(profile: Profile) -> set[str]:
    """Tables some target of the profile dedupes on: writes to them are claimed first."""
    return {t.table for o in profile.objects for t in o.targets.values() if t.dedupe is not None}


def _norm(value: Any) -> str:
    return str(value).strip().casefold() if value is not None else ""


def _created(row: dict[str, Any]) -> datetime:
    text = str(row.get("createdon") or "")
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return datetime.max


def find_links(
    rows: Iterable[TargetRow], object_name: str, default_primary_id: str, dv: DataverseClient, idmap: IdMap
) -> list[Link]:
    """The rows (those carrying `dedupe`) that link to an existing row instead of being written."""
    candidates = [r for r in rows if r.dedupe]
    if not candidates:
        return []
    known = idmap.get_many((object_name, r.source_id) for r in candidates)
    links: list[Link] = []
    fresh: dict[tuple[str, str, str], list[TargetRow]] = {}
    for row in candidates:
        entry = known.get((object_name, row.source_id))
        if entry is None:
            key = (row.table, row.entity_set, row.primary_id or default_primary_id)
            fresh.setdefault(key, []).append(row)
        elif entry.linked:  # linked by an earlier run: stays linked, no new query
            links.append(
                Link(row, entry.target_id, json.dumps({"linked_in_run": entry.run_id}, sort_keys=True))
            )
    own_ids = {r.id.lower() for r in candidates}
    for (table, entity_set, id_column), group in fresh.items():
        found = dv.find_matching(entity_set, id_column, [dict(r.dedupe) for r in group])
        ids = {str(f.get(id_column)).lower() for f in found} - own_ids
        foreign = ids - idmap.claimed(table, ids) if ids else set()
        existing = [f for f in found if str(f.get(id_column)).lower() in foreign]
        for row in group:
            want = {c: _norm(v) for c, v in row.dedupe.items()}
            same = [f for f in existing if all(_norm(f.get(c)) == v for c, v in want.items())]
            if not same:
                continue
            same.sort(key=lambda f: (_created(f), str(f.get(id_column)).lower()))
            chosen = same[0]
            pre_image = {
                "columns": {c: chosen.get(c) for c in row.dedupe},
                "createdon": chosen.get("createdon"),
                "matches": len(same),
            }
            links.append(
                Link(
                    row,
                    str(chosen[id_column]).lower(),
                    json.dumps(pre_image, sort_keys=True, ensure_ascii=False),
                    len(same),
                )
            )
    return links
