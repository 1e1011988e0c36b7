"""Read-back verification (COM-01): a sample of the rows a run loaded is read back from Dataverse
and compared, column by column, with what was sent — values, lookups and owner. An activity's parties
(`<table>_activity_parties`, INT-12) are no column: they are read from `activityparties` and each
party sent must be there (same type, and the same address or the same party row); parties Dataverse
adds itself (owner, regarding, an address it resolved to a record) are not counted against it.

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
PARTIES = "_activity_parties"  # the suffix of an activity's party collection (shared/mapping/parties.py)
PARTY_BATCH = 50  # activities per activityparties query (URL length stays well under limits)


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
    parties: dict[str, tuple[str, list[dict[str, Any]]]] = {}
    count = 0
    for path in store.list(f"{prefix}/target/{obj.name}/"):
        for raw in store.get_records(path):
            row = TargetRow.model_validate(raw)
            if row.source_id not in loaded:
                continue
            want = {READ_BACK_AS.get(k, k): v for k, v in row.payload.items() if not k.endswith(PARTIES)}
            for k, v in row.payload.items():
                if k.endswith(PARTIES) and isinstance(v, list):
                    parties[row.id] = (k, v)
            if row.follow_up is not None:  # the state the follow-up set, not the open one it was created in
                want["statecode"], want["statuscode"] = row.follow_up.state, row.follow_up.status
            for lk in row.lookups:
                res = resolve_lookup(lk, entry_of)
                if res.kind == "bound":
                    # a column per parent table (`{prefix}_client{table}`) is named after where it landed
                    want[f"_{lk.to.replace('{table}', res.table or '')}_value"] = res.target_id
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
    present: set[str] = set()
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
            present.add(tid)
    _verify_parties(dv, {tid: p for tid, p in parties.items() if tid in present}, result)
    return result


def _party_key(party: dict[str, Any]) -> tuple[Any, str | None, str | None]:
    """(type, address, party row id) of a party as sent (`partyid_x@odata.bind`) or read back."""
    bound = next(
        (v for k, v in party.items() if k.startswith("partyid_") and k.endswith("@odata.bind")), None
    )
    party_id = party.get("_partyid_value") or (str(bound).rsplit("(", 1)[-1].rstrip(")") if bound else None)
    address = party.get("addressused")
    return (
        party.get("participationtypemask"),
        str(address).lower() if address else None,
        str(party_id).lower() if party_id else None,
    )


def _verify_parties(
    dv: DataverseClient, sent: dict[str, tuple[str, list[dict[str, Any]]]], result: Verification
) -> None:
    """Every party sent with a sampled activity is among its activityparties (one query per 50)."""
    ids = [tid for tid, (_, parties) in sent.items() if parties]
    found: dict[str, list[tuple[Any, str | None, str | None]]] = {}
    for i in range(0, len(ids), PARTY_BATCH):
        flt = " or ".join(f"_activityid_value eq {x}" for x in ids[i : i + PARTY_BATCH])
        rows = dv.list_all(
            "activityparties",
            select=["_activityid_value", "participationtypemask", "addressused", "_partyid_value"],
            filter=flt,
        )
        for r in rows:
            found.setdefault(str(r.get("_activityid_value") or "").lower(), []).append(_party_key(r))
    for tid in ids:
        column, parties = sent[tid]
        back = found.get(tid.lower(), [])
        for party in parties:
            mask, address, party_id = _party_key(party)
            if not any(
                m == mask and ((address and a == address) or (party_id and p == party_id)) for m, a, p in back
            ):
                result.mismatched[column] += 1
                break
