"""Reconcile: per object, source = loaded + quarantined + skipped, or the phase fails (DESIGN step 8).

Loaded rows are also read back from Dataverse (a sample per object and phase) and compared column
by column with what was sent: a successful write is not taken on trust. Records linked to a row that
was already in Dynamics (dedupe) count as loaded — `linked` says how many — but were not written, so
they are not read back against what the migration would have sent.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.dataverse import DataverseClient
from shared.errors import ReconciliationFailed
from shared.mapping.profile import profile_for
from shared.migration.models import ReconcileInput, ReconcileOutput
from shared.migration.verify import verify_loaded
from shared.storage import IdMap, IdMapEntry, StagingStore, StorageSettings

VERIFY_SAMPLE = 200


class _WrittenOnly:
    """The id map as verification reads it: a record's own entries only where it was written (a
    linked record's row is someone else's); parents resolve as the load step resolved them."""

    def __init__(self, idmap: IdMap) -> None:
        self._idmap = idmap

    def entries(self, object_name: str) -> Iterable[IdMapEntry]:
        return (e for e in self._idmap.entries(object_name) if not e.linked)

    def get(self, object_name: str, source_id: str) -> IdMapEntry | None:
        return self._idmap.get(object_name, source_id)


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
        if counts.linked > counts.loaded:
            problems.append(
                f"{name}: linked {counts.linked} > loaded {counts.loaded} (linked count as loaded)"
            )
        obj = profile.object(name)
        if obj is None or counts.loaded == 0 or inp.phase is None:
            continue  # the overall reconciliation re-checks counts; rows were verified per phase
        check = verify_loaded(
            dv,
            store,
            _WrittenOnly(idmap),  # type: ignore[arg-type]
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
