"""Smoke test of `python -m bench loader`: a tiny load with limits off, every scenario, JSON shape and
nothing lost. No timing is asserted: benchmarks report figures, they do not pass or fail on them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
COLUMNS = {
    "scenario",
    "limits",
    "records",
    "records_per_s",
    "requests_per_1000",
    "throttled_429",
    "wait_s",
    "peak_rss_mb",
    "lost",
    "ceiling_fraction",
}


def test_loader_benchmark_json_shape_and_nothing_lost() -> None:
    pytest.importorskip("PowerPlatform.Dataverse", reason="dev dependency powerplatform-dataverse-client")
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "loader", "--records", "300", "--limits", "off", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    assert report["benchmark"] == "loader"
    assert report["config"]["tables"] == {"account": 60, "contact": 150, "task": 90}
    rows = report["rows"]
    assert [r["scenario"] for r in rows] == ["intact-1", "intact-3", "sdk", "naive"]
    for r in rows:
        assert set(r) >= COLUMNS, r
        assert r["limits"] == "off"
        assert r["error"] is None, r["error"]
        assert (r["records"], r["lost"], r["unexpected_rows"]) == (300, 0, 0)
        assert r["ceiling_fraction"] is None
    assert any(t["target"] == "0 records lost in every scenario" and t["met"] for t in report["targets"])
