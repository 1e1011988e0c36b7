"""The mapping a person approves (COM-02): propose it during the run, apply their edits on approval.

While a run waits for approval, `propose_for_run` writes the proposer's document beside the preflight
report — target columns for every source field the profile does not cover, with a confidence and a
reason. The person edits it (`status: approved`, another target) and hands it back with the approval
(`intact approve ID --by NAME --mapping FILE`, or `"mapping"` in the approve request's body);
`apply_mapping` turns it into the spec's profile overrides, validated by loading the profile, before
anything is provisioned or written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from shared.dataverse import DataverseClient
from shared.errors import ConfigError, IntactError
from shared.mapping.approval import overrides_from_proposal
from shared.mapping.profile import Profile, profile_for
from shared.mapping.proposer import (
    Advisor,
    MappingProposal,
    object_tables_for,
    parse_proposal,
    propose,
    read_target_columns,
)
from shared.migration.models import RunRef
from shared.sources.report import discover_source
from shared.spec import MigrationSpec
from shared.storage import StagingStore

SAMPLE_SIZE = 200


class ProposalOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str
    entries: int
    new_columns: int


class AppliedMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")
    spec: MigrationSpec
    applied: int
    notes: list[str] = []


def proposal_path(run: RunRef) -> str:
    return f"{run.prefix}/reports/mapping-proposal.yaml"


def propose_for_spec(
    spec: MigrationSpec,
    dv: DataverseClient,
    *,
    base_dir: Path | None = None,
    sample_size: int = SAMPLE_SIZE,
    advisor: Advisor | None = None,
) -> MappingProposal:
    """Discover the source, read the target's columns, propose (the CLI and the run share it)."""
    found = discover_source(spec.source, base_dir, sample_size=sample_size)
    try:
        profile: Profile | None = profile_for(spec)
    except IntactError:
        profile = None  # no profile yet: every field of the default objects is proposed
    tables = object_tables_for(found.source, profile)
    wanted = {t for o in found.objects for t in _as_list(tables.get(o.name))}
    # a custom table the plan creates does not exist yet: its columns are the plan's, not the target's
    existing = {
        row["LogicalName"]
        for row in dv.request("GET", "EntityDefinitions", params={"$select": "LogicalName"}).json()["value"]
    }
    columns = read_target_columns(dv, sorted(wanted & existing))
    return propose(found, profile, columns, object_tables=tables, advisor=advisor)


def propose_for_run(
    run: RunRef, store: StagingStore, dv: DataverseClient, base_dir: Path | None = None
) -> ProposalOutput:
    proposal = propose_for_spec(run.spec, dv, base_dir=base_dir)
    path = proposal_path(run)
    store.put_bytes(path, proposal.to_yaml().encode("utf-8"))
    return ProposalOutput(
        path=path,
        entries=len(proposal.entries),
        new_columns=sum(e.is_new for e in proposal.entries),
    )


def apply_mapping(spec: MigrationSpec, document: Any) -> AppliedMapping:
    proposal = parse_proposal(document)
    if proposal.source != spec.source.kind:
        raise ConfigError(f"the mapping is for {proposal.source}, the migration reads {spec.source.kind}")
    existing = spec.options.profile_overrides or {}
    overrides, notes = overrides_from_proposal(proposal, profile_for(spec), existing)
    try:
        new_spec = spec.with_profile_overrides(overrides)
    except ValidationError as exc:  # the approved mapping must load: say what is wrong
        raise ConfigError(f"the approved mapping does not apply: {exc.errors()[0]['msg']}") from None
    return AppliedMapping(spec=new_spec, applied=len(proposal.approved()) - len(notes), notes=notes)


def _as_list(value: str | list[str] | None) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


__all__ = [
    "AppliedMapping",
    "ProposalOutput",
    "apply_mapping",
    "propose_for_run",
    "propose_for_spec",
]
