"""Dataverse emulator throughput: UpsertMultiple of 1,000-record requests, N concurrent clients.

The emulator runs as a subprocess (`python -m emulators.dataverse --no-limits`), so the figure is
the server's own: the client's JSON encoding and threads do not share its GIL. Request bodies are
encoded before the clock starts; each client thread keeps one HTTP/1.1 connection.

Two phases over the same ids: `create` (every target is new, the upsert creates it) and `update`
(every target exists, the upsert updates it). Reported per phase: records/s, requests,
p50/p95 request latency; and the server's peak RSS (VmHWM) at the end.

    python -m bench emulator [--records 50000] [--batch 1000] [--clients 4] [--db PATH] [--json]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
TARGET = 5000  # records/s, issue #3
PATH = "/api/data/v9.2/accounts/Microsoft.Dynamics.CRM.UpsertMultiple"
HEADERS = {
    "Authorization": "Bearer bench",
    "Content-Type": "application/json",
    "Accept": "application/json",
    "OData-MaxVersion": "4.0",
    "OData-Version": "4.0",
}
CITIES = ["Lyon", "Oslo", "Porto", "Graz", "Turku", "Ghent", "Brno"]


def _account(i: int, record_id: str, phase: str) -> dict[str, Any]:
    return {
        "@odata.type": "Microsoft.Dynamics.CRM.account",
        "accountid": record_id,
        "name": f"Bench account {i} ({phase})",
        "accountnumber": f"B{i:08d}",
        "telephone1": f"+33 4 {i % 100:02d} {i % 1000:03d} {i % 97:02d}",
        "emailaddress1": f"account{i}@bench.example",
        "address1_city": CITIES[i % len(CITIES)],
        "numberofemployees": i % 5000,
        "revenue": round(1000 + i * 1.25, 2),
        "customertypecode": 3,
        "creditonhold": i % 2 == 0,
    }


def _bodies(ids: list[str], batch: int, phase: str) -> list[bytes]:
    out = []
    for start in range(0, len(ids), batch):
        targets = [_account(i, ids[i], phase) for i in range(start, min(start + batch, len(ids)))]
        out.append(json.dumps({"Targets": targets}, separators=(",", ":")).encode())
    return out


def _run_phase(base_url: str, bodies: list[bytes], clients: int) -> dict[str, Any]:
    parts = urlsplit(base_url)
    queue = list(reversed(bodies))
    lock = threading.Lock()
    latencies: list[float] = []
    failures: list[str] = []

    def worker() -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        try:
            while True:
                with lock:
                    if not queue or failures:
                        return
                    body = queue.pop()
                t0 = time.perf_counter()
                conn.request("POST", PATH, body=body, headers=HEADERS)
                response = conn.getresponse()
                payload = response.read()
                elapsed = time.perf_counter() - t0
                with lock:
                    latencies.append(elapsed)
                    if response.status != 204:
                        failures.append(f"{response.status} {payload[:300]!r}")
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"UpsertMultiple failed: {failures[0]}")
    records = sum(body.count(b'"@odata.type"') for body in bodies)
    ordered = sorted(latencies)
    return {
        "records": records,
        "requests": len(latencies),
        "seconds": round(wall, 3),
        "records_per_s": round(records / wall, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[max(0, round(0.95 * len(ordered)) - 1)] * 1000, 1),
    }


def _peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _count(base_url: str) -> int:
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request("GET", "/_emulator/stats")
        return int(json.loads(conn.getresponse().read())["records"].get("account", 0))
    finally:
        conn.close()


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench emulator", description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=50_000)
    p.add_argument("--batch", type=int, default=1000, help="Targets per UpsertMultiple request")
    p.add_argument("--clients", type=int, default=4, help="concurrent client connections")
    p.add_argument("--phases", default="create,update", help="create, update or both")
    p.add_argument("--db", help="SQLite file for the emulator (default: in memory)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = p.parse_args(argv)

    ids = [str(uuid.UUID(int=(0xBE4C << 112) | i, version=4)) for i in range(args.records)]
    phases = [ph.strip() for ph in args.phases.split(",") if ph.strip()]
    bodies = {ph: _bodies(ids, args.batch, ph) for ph in phases}

    cmd = [sys.executable, "-m", "emulators.dataverse", "--port", "0", "--no-limits"]
    cmd += ["--max-targets", str(max(1000, args.batch))]
    if args.db:
        cmd += ["--db", args.db]
    server = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        results = {ph: _run_phase(base_url, bodies[ph], args.clients) for ph in phases}
        rows = _count(base_url)
        rss = _peak_rss_mb(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
    report = {
        "benchmark": "emulator",
        "operation": "UpsertMultiple",
        "batch": args.batch,
        "clients": args.clients,
        "store": "file" if args.db else "memory",
        "cpus": os.cpu_count(),
        "phases": results,
        "rows_after": rows,
        "server_peak_rss_mb": rss,
        "target_records_per_s": TARGET,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"UpsertMultiple, {args.batch} records a request, {args.clients} clients, "
        f"{report['store']} store, {os.cpu_count()} CPUs (server in a subprocess, limits off)"
    )
    for ph, r in results.items():
        verdict = "meets" if r["records_per_s"] >= TARGET else "BELOW"
        print(
            f"  {ph:<7} {r['records']:>7} records in {r['requests']:>4} requests, {r['seconds']:>7.2f} s: "
            f"{r['records_per_s']:>9,.0f} records/s ({verdict} the {TARGET:,}/s target), "
            f"p50 {r['p50_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms"
        )
    print(f"  rows after: {rows}; server peak RSS: {rss} MB")
    return 0
