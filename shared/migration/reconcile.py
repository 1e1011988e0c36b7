"""Reconcile: per object, source = loaded + quarantined + skipped, or the phase fails (DESIGN step 8).

Loaded rows are also read back from Dataverse (a sample of this run's id map) to verify they are
really there, not only that the write returned success.
"""

from __future__ import annotations

import itertools

from shared.dataverse import DataverseClient
from shared.errors import ReconciliationFailed
from shared.mapping import load_profile
from shared.migration.models import ReconcileInput, ReconcileOutput
from shared.storage import IdMap, StagingStore, StorageSettings

VERIFY_SAMPLE = 200


def reconcile(
    inp: ReconcileInput, store: StagingStore, settings: StorageSettings, dv: DataverseClient
) -> ReconcileOutput:
    profile = load_profile(inp.run.spec.source.kind)
    idmap = IdMap(settings, inp.run.migration_id)
    verified: dict[str, int] = {}
    problems: list[str] = []
    for name, counts in inp.objects.items():
        if not counts.balanced:
            problems.append(
                f"{name}: source {counts.source} != loaded {counts.loaded} + quarantined "
                f"{counts.quarantined} + skipped {counts.skipped}"
            )
        obj = profile.object(name)
        if obj is None or counts.loaded == 0:
            continue
        sample = [
            e.target_id
            for e in itertools.islice(
                (e for e in idmap.entries(name) if e.run_id == inp.run.run_id), VERIFY_SAMPLE
            )
        ]
        found = dv.count(obj.entity_set, obj.primary_id, sample)
        verified[name] = found
        if found != len(sample):
            problems.append(
                f"{name}: {len(sample) - found} of {len(sample)} sampled loaded rows are missing in Dataverse"
            )
    label = f"phase-{inp.phase}" if inp.phase is not None else "all"
    path = f"{inp.run.prefix}/reports/reconciliation-{label}.json"
    store.put_json(
        path,
        {
            "migration": inp.run.migration_id,
            "run": inp.run.run_id,
            "phase": inp.phase,
            "objects": {k: v.model_dump() for k, v in inp.objects.items()},
            "verified_by_readback": verified,
            "problems": problems,
        },
    )
    if problems:
        raise ReconciliationFailed(
            f"migration {inp.run.migration_id} run {inp.run.run_id} {label} does not reconcile: "
            + "; ".join(problems)
            + f". Report: {path}. Fix and re-run (`intact migrate`), or roll back (`intact rollback "
            f"{inp.run.migration_id}`)."
        )
    return ReconcileOutput(objects=inp.objects, report_path=path, verified=verified)
