"""Preflight: before any record moves, one report of blocking problems and warnings.

Checks, one module each: custom tables against the licence cap (COM-11), pick-list labels against
the target's options (COM-16), owners (COM-17..20, judged on the owners step's report), required
columns (COM-22), lookups (COM-24), attachments against the upload limit (COM-41).

Usage::

    report = run_preflight(run, extract, owner_report, store, dv)
    write_preflight_reports(report, run.prefix, store)   # reports/preflight.json + preflight.md
    if report.blocking:
        raise PreflightBlocked(report.blocked_message())
"""

from shared.preflight._attachments import AttachmentTally, attachment_sizes, check_attachments
from shared.preflight._custom_tables import LICENCE_CAPS, check_custom_tables
from shared.preflight._lookups import LookupTally, check_lookups
from shared.preflight._model import CHECKS, MAX_IDS, CheckId, Finding, PreflightReport, Severity
from shared.preflight._owners import (
    OwnerPolicy,
    blocking_owners,
    check_owners,
    owner_block_message,
    owner_policy,
)
from shared.preflight._picklists import PicklistTally, ValueMapRef, check_picklists
from shared.preflight._plan import PlannedSchema, planned_schema, value_maps_from_profile
from shared.preflight._profile_view import ObjectView, TargetView, profile_views
from shared.preflight._required import RequiredTally, check_required
from shared.preflight._run import assess, run_preflight
from shared.preflight._target import TargetFacts, read_target
from shared.preflight._write import preflight_markdown, write_preflight_files, write_preflight_reports

__all__ = [
    "CHECKS",
    "LICENCE_CAPS",
    "MAX_IDS",
    "AttachmentTally",
    "CheckId",
    "Finding",
    "LookupTally",
    "ObjectView",
    "OwnerPolicy",
    "PicklistTally",
    "PlannedSchema",
    "PreflightReport",
    "RequiredTally",
    "Severity",
    "TargetFacts",
    "TargetView",
    "ValueMapRef",
    "assess",
    "attachment_sizes",
    "blocking_owners",
    "check_attachments",
    "check_custom_tables",
    "check_lookups",
    "check_owners",
    "check_picklists",
    "check_required",
    "owner_block_message",
    "owner_policy",
    "planned_schema",
    "preflight_markdown",
    "profile_views",
    "read_target",
    "run_preflight",
    "value_maps_from_profile",
    "write_preflight_files",
    "write_preflight_reports",
]
