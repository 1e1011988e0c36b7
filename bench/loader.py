"""Dataverse loader: Intact (1 and 3 app users) vs Microsoft's SDK vs a naive client, limits off/on.

Every scenario loads the same generated dataset (default 100,000 records: 20% account, 50% contact
with a parent-account lookup, 30% task regarding an account, in dependency order, deterministic
GUIDs) into a fresh Dataverse emulator (`python -m emulators.dataverse --tls`, a subprocess). The
scenario's client runs in its own process (`bench/_loader_client.py`), so its peak RSS is its own.
Afterwards the emulator's `/_emulator/stats` gives the rows really stored and the requests and
429s it really saw.

    python -m bench loader [--records N] [--json] [--limits on|off|both] [--time-scale X]
                           [--window-requests A] [--budget S] [--scenarios intact-1,intact-3,sdk,naive]

Scenarios: `intact-1` / `intact-3` (Intact's loader scheduled as `load_phase` schedules it, one or
three application users), `sdk` (powerplatform-dataverse-client `records.create` → CreateMultiple,
1,000 records a call, one thread, sleep-`retry_after`-and-retry on 429), `naive` (one POST per
record, sequential, honouring Retry-After). The baselines run on a time budget (`--budget`, 60 s):
a baseline that has not finished by then stops and reports throughput on what it did.

Limits on: see `limit_args` and the notes printed with the table (and docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench import _loader_data as data
from intact.services import DataverseEmulator

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ["intact-1", "intact-3", "sdk", "naive"]
TOKENS = ["bench-user-1", "bench-user-2", "bench-user-3"]
WINDOW_S = 300.0
REQUEST_COST_MS, RECORD_COST_MS = 10, 5  # the emulator's cost model (emulators/dataverse/limits.py)
REAL_MS_PER_REQUEST = 1_200_000 // 6000  # the real budgets' ratio: 200 ms of execution per request

TARGETS = {
    "ceiling_fraction": 0.90,
    "requests_per_1000": 1.1,
    "three_users_speedup": 2.5,
}


def scenario_spec(name: str) -> dict[str, Any]:
    """client kind, tokens, records per request."""
    return {
        "intact-1": {"client": "intact", "users": 1, "batch": data.CHUNK},
        "intact-3": {"client": "intact", "users": 3, "batch": data.CHUNK},
        "sdk": {"client": "sdk", "users": 1, "batch": data.CHUNK},
        "naive": {"client": "naive", "users": 1, "batch": 1},
    }[name]


class Limits:
    """The limits-on configuration: the emulator's real limit model, time-scaled, smaller budgets.

    Real budgets per user per 5 minutes are 6,000 requests and 1,200,000 ms of execution, which at
    the emulator's cost model (10 ms a request + 5 ms a record) is 239 UpsertMultiple of 1,000 records:
    239,000 records a window. A 100,000-record load would fit in the first window at any time
    scale and never meet a limit. So the window is shrunk (`--time-scale`) *and* the budgets are cut
    to `window_requests` bulk requests (execution time, the facet that binds bulk loads) and
    `window_requests` x 5010 / 200 requests (the real 200 ms-per-request ratio between the two).
    """

    def __init__(self, time_scale: float, window_requests: int, max_requests: int | None) -> None:
        self.time_scale = time_scale
        self.window_s = WINDOW_S / time_scale
        self.max_execution_ms = window_requests * (REQUEST_COST_MS + RECORD_COST_MS * data.CHUNK)
        self.max_requests = max_requests or self.max_execution_ms // REAL_MS_PER_REQUEST

    def args(self) -> list[str]:
        return [
            "--time-scale", str(self.time_scale),
            "--max-execution-ms", str(self.max_execution_ms),
            "--max-requests", str(self.max_requests),
        ]  # fmt: skip

    def allowed(self, batch: int) -> int:
        """Requests of `batch` records one user may send per window."""
        return min(self.max_requests, self.max_execution_ms // (REQUEST_COST_MS + RECORD_COST_MS * batch))

    def ceiling(self, users: int, batch: int, elapsed_s: float) -> float:
        """Records/s the limits allow over a run of `elapsed_s` (the full budget is there at t=0)."""
        return users * self.allowed(batch) * batch * (1 + elapsed_s / self.window_s) / elapsed_s

    def describe(self) -> dict[str, Any]:
        return {
            "time_scale": self.time_scale,
            "window_s": self.window_s,
            "max_execution_ms": self.max_execution_ms,
            "max_requests": self.max_requests,
            "allowed_bulk_requests_per_window": self.allowed(data.CHUNK),
            "allowed_single_requests_per_window": self.allowed(1),
        }


def _stats(url: str, ca: str) -> dict[str, Any]:
    with httpx.Client(verify=httpx.create_ssl_context(verify=ca) if ca else True, timeout=60) as http:
        return dict(http.get(f"{url}/_emulator/stats").json())


def run_scenario(
    name: str, records: int, limits: Limits | None, budget_s: float, dop_hint: int, work: Path
) -> dict[str, Any]:
    spec = scenario_spec(name)
    users_file = work / "users.json"
    users_file.write_text(
        json.dumps({tok: {"fullname": f"Bench application user {i + 1}"} for i, tok in enumerate(TOKENS)})
    )
    cert_dir = work / f"tls-{name}-{'on' if limits else 'off'}"
    extra = ["--tls", "--cert-dir", str(cert_dir), "--users", str(users_file), "--dop-hint", str(dop_hint)]
    extra += limits.args() if limits else ["--no-limits"]
    emulator = DataverseEmulator().start(extra_args=extra)
    ca = str(cert_dir / "emulator-ca.pem")
    try:
        cmd = [
            sys.executable, "-m", "bench._loader_client",
            "--scenario", spec["client"],
            "--url", emulator.url,
            "--tokens", ",".join(TOKENS[: spec["users"]]),
            "--records", str(records),
            "--ca", ca,
        ]  # fmt: skip
        if spec["client"] != "intact":
            cmd += ["--budget", str(budget_s)]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if not lines:
            raise RuntimeError(f"{name}: the client printed no result\n{proc.stdout}\n{proc.stderr[-3000:]}")
        client = json.loads(lines[-1])
        stats = _stats(emulator.url, ca)
    finally:
        emulator.stop()
    return _row(name, spec, records, limits, client, stats)


def _row(
    name: str,
    spec: dict[str, Any],
    records: int,
    limits: Limits | None,
    client: dict[str, Any],
    stats: dict[str, Any],
) -> dict[str, Any]:
    stored = stats.get("records", {})
    attempted = client["attempted"]
    lost = sum(max(0, attempted[t] - int(stored.get(t, 0))) for t in attempted)
    unexpected = sum(max(0, int(stored.get(t, 0)) - attempted[t]) for t in attempted)
    loaded = sum(min(attempted[t], int(stored.get(t, 0))) for t in attempted)
    elapsed = float(client["elapsed_s"])
    requests = int(stats.get("requests_total", 0))
    rate = loaded / elapsed if elapsed > 0 else 0.0
    row: dict[str, Any] = {
        "scenario": name,
        "limits": "on" if limits else "off",
        "records": loaded,
        "records_per_s": round(rate, 1),
        "requests_per_1000": round(requests / loaded * 1000, 3) if loaded else None,
        "throttled_429": int(stats.get("throttled_total", 0)),
        "wait_s": client["wait_s"],
        "peak_rss_mb": client["peak_rss_mb"],
        "lost": lost,
        "ceiling_fraction": None,
        "elapsed_s": round(elapsed, 2),
        "users": spec["users"],
        "records_per_request": spec["batch"],
        "requests": requests,
        "admitted_requests": requests - int(stats.get("throttled_total", 0)),
        "attempted": sum(attempted.values()),
        "complete": loaded == records,
        "budget_stopped": bool(client.get("budget_hit")),
        "client_requests": client["client_requests"],
        "client_throttled_429": client["client_throttled_429"],
        "rejected": client["rejected"],
        "unexpected_rows": unexpected,
        "error": client.get("error"),
    }
    if limits and elapsed > 0:
        ceiling = limits.ceiling(spec["users"], spec["batch"], elapsed)
        row["ceiling_records_per_s"] = round(ceiling, 1)
        row["ceiling_fraction"] = round(rate / ceiling, 3)
    for key in ("waves", "wave_width_max", "dop_hint", "activity_retries", "sdk_picklist_cache_seeded"):
        if key in client:
            row[key] = client[key]
    return row


def add_ideal(rows: list[dict[str, Any]], limits: Limits) -> None:
    """`ideal_fraction`: the ceiling_fraction a perfect client would reach with this dataset and these
    limits: it sends at the scenario's own limits-off speed, spends each window's whole budget at once
    and resumes the instant budget returns (one window later: the sliding window returns budget in the
    pattern it was spent), so it finishes at (k - 1) x W + rest / speed for k windows of budget."""
    off = {r["scenario"]: r for r in rows if r["limits"] == "off" and r["complete"]}
    for r in rows:
        base = off.get(r["scenario"])
        if r["limits"] != "on" or base is None or not r["complete"] or not base["records_per_s"]:
            continue
        n, speed = r["records"], base["records_per_s"]
        per_window = r["users"] * limits.allowed(r["records_per_request"]) * r["records_per_request"]
        k = math.ceil(n / per_window)
        t_best = (k - 1) * limits.window_s + (n - (k - 1) * per_window) / speed
        ceiling = limits.ceiling(r["users"], r["records_per_request"], t_best)
        r["ideal_elapsed_s"] = round(t_best, 2)
        r["ideal_fraction"] = round(n / t_best / ceiling, 3)


def evaluate(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's targets, each with the measured value and whether it is met."""
    out: list[dict[str, Any]] = []
    by = {(r["scenario"], r["limits"]): r for r in rows}

    def add(target: str, measured: Any, met: bool | None, detail: str = "") -> None:
        out.append({"target": target, "measured": measured, "met": met, "detail": detail})

    for (name, lim), r in sorted(by.items()):
        if name.startswith("intact") and lim == "on":
            ideal = r.get("ideal_fraction")
            add(
                f"{name} >= 90% of the limit ceiling",
                r["ceiling_fraction"],
                (r["ceiling_fraction"] or 0) >= TARGETS["ceiling_fraction"],
                "" if ideal is None else f"a perfect client would reach {ideal} on this dataset",
            )
        if name.startswith("intact"):
            detail = (
                "incl. 429s, WhoAmI and discovery queries"
                if r["throttled_429"]
                else "incl. WhoAmI and discovery"
            )
            if r["throttled_429"] and r["records"]:
                detail += f"; without the 429s {r['admitted_requests'] / r['records'] * 1000:.3f}"
            add(
                f"{name} limits {lim}: <= 1.1 requests per 1,000 records",
                r["requests_per_1000"],
                (r["requests_per_1000"] or 99) <= TARGETS["requests_per_1000"],
                detail,
            )
    for lim in ("on", "off"):
        one, three = by.get(("intact-1", lim)), by.get(("intact-3", lim))
        if one and three and one["records_per_s"]:
            speedup = round(three["records_per_s"] / one["records_per_s"], 2)
            binds = lim == "on" and one["throttled_429"] > 0
            add(
                f"limits {lim}: 3 users >= 2.5x 1 user"
                + ("" if binds else " (limits not binding: info only)"),
                speedup,
                speedup >= TARGETS["three_users_speedup"] if binds else None,
            )
        for intact in ("intact-1", "intact-3"):
            mine = by.get((intact, lim))
            if not mine:
                continue
            for base in ("sdk", "naive"):
                other = by.get((base, lim))
                if other:
                    ratio = (
                        round(mine["records_per_s"] / other["records_per_s"], 2)
                        if other["records_per_s"]
                        else None
                    )
                    add(f"limits {lim}: {intact} ahead of {base}", ratio, ratio is None or ratio > 1.0)
    lost = sum(r["lost"] for r in rows)
    add("0 records lost in every scenario", lost, lost == 0 and all(not r["error"] for r in rows))
    return out


def notes(limits: Limits | None, budget_s: float) -> list[str]:
    out = [
        "records = records the scenario stored (read back from the emulator); records_per_s = records / "
        "elapsed_s of the client (from its first request to its last answer, imports excluded).",
        "requests_per_1000 counts every HTTP request the emulator received (429 answers, WhoAmI probes, "
        "bulk-support queries and the SDK's metadata lookups included) per 1,000 stored records.",
        "throttled_429 = 429 answers the emulator sent; wait_s = seconds the client slept on Retry-After "
        "or backoff; peak_rss_mb = the client process's peak RSS (getrusage ru_maxrss), one process per "
        "scenario; lost = records the client sent that are not in the emulator afterwards.",
        f"Baselines (sdk, naive) run on a {budget_s:g} s budget: past it they start no new request; "
        "complete=false rows report throughput on what they did.",
        "All scenarios use HTTPS (the SDK refuses http://), a fresh emulator each, x-ms-dop-hint 4.",
    ]
    if limits is not None:
        d = limits.describe()
        out += [
            f"Limits on: emulator --time-scale {d['time_scale']:g} (window {d['window_s']:g} s), "
            f"--max-execution-ms {d['max_execution_ms']} and --max-requests {d['max_requests']} per user "
            f"per window: {d['allowed_bulk_requests_per_window']} requests of 1,000 records, or "
            f"{d['allowed_single_requests_per_window']} single-record requests. The real budgets (6,000 "
            "requests, 1,200,000 ms) allow 239 bulk requests = 239,000 records per user per window, so a "
            "100,000-record load would never reach them at any time scale; the smaller budgets make the "
            "load span several windows, as a multi-million-record migration does against real Dataverse.",
            "ceiling_fraction = records_per_s / ceiling, ceiling = users x allowed x batch x (1 + T/W) / T, "
            "allowed = min(max_requests, floor(max_execution_ms / (10 + 5 x batch))) requests per user per "
            "window W at the scenario's batch size (1,000, or 1 for naive), T = elapsed_s: the full window "
            "budget is there at t=0 and a sliding window gives back at most one window's budget per W. "
            "It is an upper bound: the sliding window gives budget back in the pattern it was spent "
            "(bursts), Retry-After is whole seconds, and a run ending shortly after a window boundary "
            "is charged for budget it had no records left to use.",
            "ideal = the ceiling_fraction a perfect client would reach on this dataset under these limits "
            "(sending at the scenario's own limits-off speed, spending each window's budget at once and "
            "resuming the instant it returns); ceiling_fraction below ideal is the client's own loss.",
            "The emulator charges execution time when a request completes (and counts it only then), so "
            "requests admitted while others are still in flight can exceed the window's budget: a client "
            "with several requests in flight per user gets up to that many extra requests per block.",
        ]
    return out


def render(report: dict[str, Any]) -> str:
    cols = [
        ("scenario", "scenario", "{}"),
        ("limits", "limits", "{}"),
        ("records", "records", "{:,}"),
        ("records_per_s", "rec/s", "{:,.0f}"),
        ("requests_per_1000", "req/1k", "{:.3f}"),
        ("throttled_429", "429s", "{:,}"),
        ("wait_s", "wait_s", "{:.1f}"),
        ("peak_rss_mb", "rss_mb", "{:.1f}"),
        ("lost", "lost", "{}"),
        ("ceiling_fraction", "ceiling", "{:.3f}"),
        ("ideal_fraction", "ideal", "{:.3f}"),
        ("elapsed_s", "elapsed_s", "{:.1f}"),
        ("users", "users", "{}"),
    ]
    table = [[h for _, h, _ in cols] + ["note"]]
    for r in report["rows"]:
        cells = ["-" if r.get(k) is None else f.format(r[k]) for k, _, f in cols]
        note = []
        if r["budget_stopped"]:
            note.append(f"stopped at the {report['config']['budget_s']:g} s budget")
        if r["error"]:
            note.append(f"ERROR {r['error']}")
        table.append([*cells, "; ".join(note)])
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = [
        f"Dataverse loader benchmark: {report['config']['records']:,} records "
        f"({', '.join(f'{n:,} {t}' for t, n in report['config']['tables'].items())}), {os.cpu_count()} CPUs"
    ]
    for i, row in enumerate(table):
        lines.append(
            "  ".join(
                c.rjust(w) if 1 < j < len(row) - 1 else c.ljust(w)
                for j, (c, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append("\nTargets (issue 4):")
    for t in report["targets"]:
        verdict = {True: "met", False: "MISSED", None: "info"}[t["met"]]
        lines.append(
            f"  [{verdict:>6}] {t['target']}: {t['measured']}" + (f" ({t['detail']})" if t["detail"] else "")
        )
    lines.append("\nNotes:")
    lines += [f"  - {n}" for n in report["notes"]]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench loader", description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=100_000)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--limits", choices=("on", "off", "both"), default="both")
    p.add_argument(
        "--time-scale", type=float, default=30.0, help="limits on: emulator --time-scale (window 300/X s)"
    )
    p.add_argument(
        "--window-requests",
        type=int,
        default=17,
        help="limits on: 1,000-record requests each user may send per window (sets --max-execution-ms)",
    )
    p.add_argument(
        "--max-requests", type=int, help="limits on: requests per user per window (default: real ratio)"
    )
    p.add_argument("--budget", type=float, default=60.0, help="seconds the baselines may run (default 60)")
    p.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help="comma-separated subset of " + ",".join(SCENARIOS)
    )
    p.add_argument("--dop-hint", type=int, default=4, help="x-ms-dop-hint the emulator sends (default 4)")
    args = p.parse_args(argv)
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown or args.records < 1:
        p.error(f"unknown scenario(s) {unknown}" if unknown else "--records must be positive")
    limits = Limits(args.time_scale, args.window_requests, args.max_requests)
    modes = {"on": [limits], "off": [None], "both": [None, limits]}[args.limits]
    rows = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-loader-") as tmp:
        for mode in modes:
            for name in scenarios:
                row = run_scenario(name, args.records, mode, args.budget, args.dop_hint, Path(tmp))
                rows.append(row)
                if not args.json:
                    print(
                        f"  {name} limits {row['limits']}: {row['records']:,} records, {row['elapsed_s']} s",
                        file=sys.stderr,
                        flush=True,
                    )
    if args.limits != "off":
        add_ideal(rows, limits)
    report = {
        "benchmark": "loader",
        "config": {
            "records": args.records,
            "tables": data.counts(args.records),
            "records_per_request": data.CHUNK,
            "budget_s": args.budget,
            "dop_hint": args.dop_hint,
            "limits_on": limits.describe() if args.limits != "off" else None,
            "cpus": os.cpu_count(),
            "wall_s": round(time.monotonic() - started, 1),
        },
        "rows": rows,
        "targets": evaluate(rows),
        "notes": notes(limits if args.limits != "off" else None, args.budget),
    }
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0
