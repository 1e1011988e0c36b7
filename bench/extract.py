"""Extraction memory: peak RSS of staging N generated Close records (target < 300 MB).

A Close JSON export of about N records (leads + nested contacts, opportunities, tasks, activities,
with the issue-5 edge cases: 120,000-character notes, custom activities…) is streamed to a gzip file,
then a child process runs `extract_object` for every object into a local directory standing in for
Blob storage (same chunks, manifests and checksums) and reports its own peak RSS (VmHWM), records
and time.

    python -m bench extract [--records 1000000] [--chunk 1000] [--keep DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET_MB = 300
RECORDS_PER_LEAD = 6.9  # measured on the edge-case generator (1 lead + ~5.9 nested records)


class DirStore:
    """Blob staging on a local directory (put_bytes/put_json/get_json)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put_bytes(self, path: str, data: bytes) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    def put_json(self, path: str, document: Any) -> None:
        self.put_bytes(path, json.dumps(document, default=str).encode("utf-8"))

    def get_json(self, path: str) -> Any:
        target = self.root / path
        return json.loads(target.read_bytes()) if target.exists() else None


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(export: str, staging: str, chunk: int) -> None:
    """Runs in its own process: extract every object, print one JSON line."""
    from shared.migration.extract import extract_source
    from shared.migration.models import RunRef
    from shared.spec import parse_spec

    spec = parse_spec(
        {
            "migration": {"id": "bench"},
            "source": {"kind": "close", "path": export},
            "target": {"url": "http://127.0.0.1:1", "auth": {"kind": "static_token", "token": "${T}"}},
            "storage": {"connection_string": "UseDevelopmentStorage=true"},
            "options": {"extract_chunk_size": chunk},
        }
    )
    started = time.perf_counter()
    out = extract_source(RunRef(migration_id="bench", run_id="r1", spec=spec), DirStore(Path(staging)))
    print(
        json.dumps(
            {
                "records": sum(o.records for o in out.objects.values()),
                "malformed": sum(o.malformed for o in out.objects.values()),
                "chunks": sum(len(o.chunks) for o in out.objects.values()),
                "objects": {k: v.records for k, v in out.objects.items()},
                "extract_s": round(time.perf_counter() - started, 1),
                "peak_rss_mb": round(_peak_rss_mb(), 1),
            }
        )
    )


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench extract", description=__doc__.splitlines()[0])
    p.add_argument(
        "--records", type=int, default=1_000_000, help="about how many records (default 1,000,000)"
    )
    p.add_argument("--chunk", type=int, default=1000, help="extract_chunk_size (default 1000)")
    p.add_argument("--keep", help="keep the export and staged chunks in this directory")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = p.parse_args(argv)
    from samples.close.generate import write_export

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="intact-bench-extract-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        export = work / "export.json.gz"
        leads = max(1, round(args.records / RECORDS_PER_LEAD))
        t0 = time.perf_counter()
        written = write_export(export, leads, edge_cases=True)
        gen_s = time.perf_counter() - t0
        staging = str(work / "staging")
        code = f"from bench.extract import child; child({str(export)!r}, {staging!r}, {args.chunk})"
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parent.parent
        )
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 1
        report = json.loads(proc.stdout.strip().splitlines()[-1])
        report.update(
            leads=leads,
            generated_records=written,
            export_mb=round(export.stat().st_size / 2**20, 1),
            generate_s=round(gen_s, 1),
            target_mb=TARGET_MB,
            meets_target=report["peak_rss_mb"] < TARGET_MB,
        )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    verdict = "meets" if report["meets_target"] else "ABOVE"
    print(
        f"extracted {report['records']:,} records ({report['leads']:,} leads, "
        f"export {report['export_mb']} MB gzip) "
        f"into {report['chunks']:,} chunks in {report['extract_s']} s; peak RSS {report['peak_rss_mb']} MB "
        f"({verdict} the {TARGET_MB} MB target)"
    )
    return 0
