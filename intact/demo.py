"""`intact demo [--source NAME]`: the whole product on this machine, with nothing to configure.

Starts Azurite, the Dataverse emulator (seeded with the sample's target org: users, one of them
disabled, one missing, and a pre-existing account) and, for an API source, the source's mock; migrates
the bundled sample (Close unless `--source` says otherwise; intact/demo_sources.py) through every
stage, prints the reconciliation table and writes the reports to `out/`.
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import yaml

from intact import commands
from intact.demo_sources import SOURCES, demo_source
from intact.services import Azurite, DataverseEmulator
from shared.spec import MigrationSpec, parse_spec
from shared.storage import StagingStore, StorageSettings, read_ndjson_gz

SAMPLE = SOURCES["close"].sample
DEMO_TOKEN_VAR = "INTACT_DEMO_TOKEN"
STORAGE_VAR = "INTACT_STORAGE_CONNECTION"


def demo_spec(
    target_url: str,
    migration_id: str | None = None,
    approval: str = "auto",
    source: str = "close",
    source_url: str | None = None,
) -> MigrationSpec:
    """The demo's spec for a bundled sample (`demo-<source>` unless `migration_id` says otherwise).
    An API source needs `source_url`, its mock's URL. Tests take `approval: auto`; the demo itself
    waits for, and gives, approval."""
    demo = demo_source(source)
    return parse_spec(
        {
            "migration": {"id": migration_id or f"demo-{demo.name}"},
            "source": demo.source_section(source_url),
            "target": {
                "url": target_url,
                "auth": {"kind": "static_token", "token": f"${{{DEMO_TOKEN_VAR}}}"},
            },
            "storage": {"connection_string": f"${{{STORAGE_VAR}}}"},
            "options": {
                "fallback_owner": demo.fallback_owner,
                # the demo shows what the fallback does; X2CRM, SmartDesk and Close would otherwise
                # wait for the admin to provision the planted unknown owners (their pages' rule)
                "unmatched_owner": "fallback",
                "delta_window_hours": 48,
                "approval": approval,
            },
        }
    )


def export_reports(spec: MigrationSpec, run_id: str, out: Path) -> list[Path]:
    """Copy the run's reports and quarantine from Blob storage into `out/` for people to read."""
    store = StagingStore(StorageSettings.from_spec(spec.storage))
    prefix = f"staging/{spec.migration.id}/{run_id}"
    written: list[Path] = []
    for name in store.list(f"{prefix}/reports/"):
        dest = out / Path(name).name
        dest.write_bytes(store.get_bytes(name))
        written.append(dest)
    quarantine = out / "quarantine.jsonl"
    with quarantine.open("w", encoding="utf-8") as fh:
        for name in store.list(f"{prefix}/quarantine/"):
            for row in read_ndjson_gz(store.get_bytes(name)):
                fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    written.append(quarantine)
    return written


def run_demo(out: Path, *, source: str = "close", as_json: bool = False) -> int:
    from intact.cli import _exit_code, _print_result

    demo = demo_source(source)
    demo.require_profile()  # one line, before anything starts, when the profile is not there yet
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="intact-demo-") as tmp, ExitStack() as services:
        say = (lambda *_a: None) if as_json else print
        az, dv = Azurite(), DataverseEmulator()
        mock = demo.service() if demo.service is not None else None
        for child in (az, dv, mock):
            if child is not None:
                services.callback(child.stop)
        names = ["Azurite", "the Dataverse emulator", *([mock.title] if mock else [])]
        say(f"Starting {', '.join(names[:-1])} and {names[-1]} on loopback…")
        az.start()
        dv.start(
            seed=demo.target_org,
            db=Path(tmp) / "dataverse.sqlite",
            extra_args=["--max-upload-bytes", str(demo.max_upload_bytes)],
        )
        if mock is not None:
            mock.start()
            say(f"{mock.title}: {mock.url}")
        os.environ[STORAGE_VAR] = az.connection_string
        os.environ[DEMO_TOKEN_VAR] = "demo-" + os.urandom(8).hex()
        os.environ.update(demo.env)  # the sample's demo credentials; the spec holds ${VAR} references
        spec = demo_spec(dv.url, approval="required", source=demo.name, source_url=mock.url if mock else None)
        (out / "demo-spec.yaml").write_text(yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False))
        say(f"Dataverse emulator: {dv.url}\nMigrating {demo.title} (spec: {out / 'demo-spec.yaml'})")
        rt = commands.open_runtime(Path(tmp) / "state")
        try:
            iid = commands.start_migration(rt, spec)
            # the demo plays the person who reviews the reports and approves the mapping
            body = commands.follow(
                rt, iid, None if as_json else commands.progress_printer(), 1800, approve_as="demo reviewer"
            )
        finally:
            rt.close()
        result = commands.result_json(body)
        reports: list[Path] = []
        if result["run_id"]:
            reports = export_reports(spec, result["run_id"], out)
        result_doc: dict[str, Any] = {**result, "out_files": [str(p) for p in reports]}
        (out / "result.json").write_text(json.dumps(result_doc, indent=1, default=str), encoding="utf-8")
        _print_result(result_doc, as_json)
        if not as_json:
            print("Reports written to " + ", ".join(str(p) for p in reports))
        return _exit_code(result)
