"""The preflight report as JSON (machines) and Markdown (the admin), in Blob beside the run's other
reports (`{run prefix}/reports/preflight.{json,md}`) and, for the CLI, in a local folder."""

from __future__ import annotations

import json
from pathlib import Path

from shared.preflight._model import Finding, PreflightReport
from shared.storage import StagingStore

_TITLES = {
    "custom_tables": "Custom tables (COM-11)",
    "picklists": "Pick-list values (COM-16)",
    "owners": "Owners (COM-17..20)",
    "required_columns": "Required columns (COM-22)",
    "lookups": "Lookups (COM-24)",
    "attachments": "Attachments (COM-41)",
}


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _rows(findings: list[Finding]) -> list[str]:
    lines = [
        "| check | requirement | where | records | problem | first source ids |",
        "|---|---|---|---:|---|---|",
    ]
    for f in findings:
        where = ".".join(x for x in (f.object, f.field) if x) or "—"
        ids = ", ".join(f.source_ids[:5]) + (
            " …" if len(f.source_ids) > 5 or f.records > len(f.source_ids) > 0 else ""
        )
        lines.append(
            f"| {f.check} | {f.requirement} | {_cell(where)} | {f.records} "
            f"| {_cell(f.message)} | {_cell(ids)} |"
        )
    return lines


def preflight_markdown(report: PreflightReport) -> str:
    verdict = (
        "**Blocked**: fix the blocking problems below, then run again."
        if report.blocking
        else "**Ready**: nothing blocks the migration."
    )
    md = [
        f"# Preflight — migration {report.migration_id}, run {report.run_id}",
        "",
        f"{verdict} {len(report.blocking)} blocking, {len(report.warnings)} warning(s).",
        "",
    ]
    if report.blocking:
        md += ["## Blocking", "", *_rows(report.blocking), ""]
    if report.warnings:
        md += ["## Warnings", "", *_rows(report.warnings), ""]
    md += ["## Checks", "", "| check | blocking | warnings | what was checked |", "|---|---:|---:|---|"]
    for check, s in report.summary.items():
        facts = ", ".join(
            f"{k}: {json.dumps(v, sort_keys=True) if isinstance(v, dict) else v}"
            for k, v in s.items()
            if k not in ("blocking", "warnings")
        )
        md.append(
            f"| {_TITLES.get(check, check)} | {s.get('blocking', 0)} | {s.get('warnings', 0)} "
            f"| {_cell(facts)} |"
        )
    return "\n".join(md) + "\n"


def write_preflight_reports(report: PreflightReport, prefix: str, store: StagingStore) -> list[str]:
    """Blob paths written: `{prefix}/reports/preflight.json` and `preflight.md`."""
    json_path = f"{prefix}/reports/preflight.json"
    md_path = f"{prefix}/reports/preflight.md"
    store.put_json(json_path, report.model_dump(mode="json"))
    store.put_bytes(md_path, preflight_markdown(report).encode("utf-8"))
    return [json_path, md_path]


def write_preflight_files(report: PreflightReport, out_dir: Path) -> list[Path]:
    """The same two files in a local folder (the CLI's `out/`)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_file = out_dir / "preflight.json"
    md_file = out_dir / "preflight.md"
    json_file.write_text(json.dumps(report.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8")
    md_file.write_text(preflight_markdown(report), encoding="utf-8")
    return [json_file, md_file]
