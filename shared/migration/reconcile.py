"""Reconcile: per object, source = loaded + quarantined + skipped, or the phase fails (DESIGN step 8).

Loaded rows are also read back from Dataverse (a sample per object and phase) and compared column
by column with what was sent: a successful write is not taken on trust.
"""

from __future__ import annotations

from shared.dataverse import DataverseClient
from shared.errors import ReconciliationFailed
from shared.mapping.profile import profile_for
from shared.migration.models import ReconcileInput, ReconcileOutput
from shared.migration.verify import verify_loaded
from shared.storage import IdMap, StagingStore, StorageSettings

VERIFY_SAMPLE = 200


def reconcile(
    inp: ReconcileInput, store: StagingStore, settings: StorageSettings, dv: DataverseClient
) -> ReconcileOutput:
    profile = profile_for(inp.run.spec)
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
        if obj is None or counts.loaded == 0 or inp.phase is None:
            continue  # the overall reconciliation re-checks counts; rows were verified per phase
        check = verify_loaded(
            dv,
            store,
            idmap,
            inp.run.prefix,
            inp.run.spec.source.kind,
            obj,
            inp.run.run_id,
            VERIFY_SAMPLE,
            scope=inp.run.spec.migration.id_scope,
            profile=profile,
        )
        verified[name] = check.checked - check.missing
        problems.extend(check.problems(name))
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
