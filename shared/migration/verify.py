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
from shared.mapping.profile import Profile
from shared.mapping.transform import PLACEHOLDER_OBJECT, placeholder_id, resolve_lookup
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
    *,
    scope: str = "",
    profile: Profile | None = None,
) -> Verification:
    """Compare up to `limit` of this run's loaded rows of `obj` with what was written — in whichever
    table each row landed (a split object writes to several)."""
    loaded = {e.source_id: e.target_id for e in idmap.entries(obj.name) if e.run_id == run_id}
    profile = profile or load_profile(source)

    def entry_of(object_name: str, source_id: str) -> tuple[str, str] | None:
        entry = idmap.get(object_name, source_id)
        return (entry.table, entry.target_id) if entry else None

    expected: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    count = 0
    for path in store.list(f"{prefix}/target/{obj.name}/"):
        for raw in store.get_records(path):
            row = TargetRow.model_validate(raw)
            if row.source_id not in loaded:
                continue
            want = {READ_BACK_AS.get(k, k): v for k, v in row.payload.items()}
            if row.follow_up is not None:  # the state the follow-up set, not the open one it was created in
                want["statecode"], want["statuscode"] = row.follow_up.state, row.follow_up.status
            for lk in row.lookups:
                res = resolve_lookup(lk, entry_of)
                if res.kind == "bound":
                    want[f"_{lk.to}_value"] = res.target_id
                elif res.kind == "placeholder" and res.placeholder:
                    ph = idmap.get(PLACEHOLDER_OBJECT, res.placeholder)
                    want[f"_{lk.to}_value"] = (
                        ph.target_id if ph else placeholder_id(scope, source, res.placeholder)
                    )
            if row.owner_id:
                want["_ownerid_value"] = row.owner_id
            expected.setdefault((row.entity_set, row.primary_id or obj.primary_id), {})[row.id] = want
            count += 1
            if count >= limit:
                break
        if count >= limit:
            break
    result = Verification(checked=count)
    for (entity_set, primary_id), rows in expected.items():
        columns = sorted({c for want in rows.values() for c in want})
        got = dv.get_by_ids(entity_set, primary_id, list(rows), columns)
        for tid, want in rows.items():
            back = next((r for k, r in got.items() if k.lower() == tid.lower()), None)
            if back is None:
                result.missing += 1
                continue
            for column, value in want.items():
                if not _same(value, back.get(column)):
                    result.mismatched[column] += 1
    return result
