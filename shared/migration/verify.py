"""Read-back verification (COM-01): a sample of the rows a run loaded is read back from Dataverse
and compared, column by column, with what was sent — values, lookups and owner.

Findings name columns and counts, never values.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.dataverse import DataverseClient
from shared.mapping import ObjectMap, TargetRow, load_profile
from shared.storage import IdMap, StagingStore

# Columns that are write-only on create and read back under another name.
READ_BACK_AS = {"overriddencreatedon": "createdon"}


@dataclass
class Verification:
    checked: int = 0
    missing: int = 0
    mismatched: Counter[str] = field(default_factory=Counter)

    def problems(self, name: str) -> list[str]:
        out = []
        if self.missing:
            out.append(
                f"{name}: {self.missing} of {self.checked} sampled loaded rows are missing in Dataverse"
            )
        for column, n in sorted(self.mismatched.items()):
            out.append(f"{name}: {n} of {self.checked} sampled rows read back a different {column}")
        return out


def _same(sent: Any, got: Any) -> bool:
    if isinstance(sent, str) and isinstance(got, str) and sent.endswith("Z") and "T" in sent:
        try:
            return datetime.fromisoformat(sent.replace("Z", "+00:00")) == datetime.fromisoformat(
                got.replace("Z", "+00:00")
            )
        except ValueError:
            return sent == got
    if isinstance(sent, str) and isinstance(got, str):
        return sent.lower() == got.lower() if _is_guid(sent) else sent == got
    return bool(sent == got)


def _is_guid(v: str) -> bool:
    return len(v) == 36 and v.count("-") == 4


def verify_loaded(
    dv: DataverseClient,
    store: StagingStore,
    idmap: IdMap,
    prefix: str,
    source: str,
    obj: ObjectMap,
    run_id: str,
    limit: int,
) -> Verification:
    """Compare up to `limit` of this run's loaded rows of `obj` with what was written."""
    loaded = {e.source_id: e.target_id for e in idmap.entries(obj.name) if e.run_id == run_id}
    profile = load_profile(source)
    expected: dict[str, dict[str, Any]] = {}
    for path in store.list(f"{prefix}/target/{obj.name}/"):
        for raw in store.get_records(path):
            row = TargetRow.model_validate(raw)
            if row.source_id not in loaded:
                continue
            want = {READ_BACK_AS.get(k, k): v for k, v in row.payload.items()}
            for lk in row.lookups:
                parent = idmap.get(lk.object, lk.source_id)
                parent_map = profile.object(lk.object)
                if parent is not None and parent_map is not None:
                    want[f"_{lk.to}_value"] = parent.target_id
            if row.owner_id:
                want["_ownerid_value"] = row.owner_id
            expected[row.id] = want
            if len(expected) >= limit:
                break
        if len(expected) >= limit:
            break
    result = Verification(checked=len(expected))
    if not expected:
        return result
    columns = sorted({c for want in expected.values() for c in want})
    got = dv.get_by_ids(obj.entity_set, obj.primary_id, list(expected), columns)
    for target_id, want in expected.items():
        row = next((r for k, r in got.items() if k.lower() == target_id.lower()), None)
        if row is None:
            result.missing += 1
            continue
        for column, value in want.items():
            if not _same(value, row.get(column)):
                result.mismatched[column] += 1
    return result
