"""One loader-benchmark scenario's client, run in its own process so its peak RSS is its own.

    python -m bench._loader_client --scenario intact|sdk|naive --url URL --tokens T1[,T2,…]
        --records N [--ca PEM] [--budget SECONDS]

Prints one JSON object: what the client did (records attempted, elapsed, 429s it saw, seconds it
spent waiting, peak RSS). The parent (`bench/loader.py`) reads the emulator's side itself.

Scenarios:
- `intact`: Intact's loader as production schedules it (`orchestrators/migration.py` `load_phase`):
  one chunk of 1,000 records per load activity, waves as wide as x-ms-dop-hint x application users,
  chunk i of a wave written by user i % users, the width re-read from the dop hints after each wave,
  phase by phase; each chunk is `write_rows` (UpsertMultiple) on that user's `DataverseClient`.
- `sdk`: Microsoft's `powerplatform-dataverse-client`, `records.create(table, [1,000 dicts])`
  (CreateMultiple), one thread, with the retry a user would write around each call (the SDK raises
  on 429 with `retry_after`: sleep that long, call again).
- `naive`: one POST per record, sequential, sleeping `Retry-After` on a 429.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import ssl
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx

from bench import _loader_data as data

ROOT = Path(__file__).resolve().parents[1]


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def _ssl(ca: str | None) -> ssl.SSLContext | bool:
    return ssl.create_default_context(cafile=ca) if ca else True


def _pacing() -> ModuleType:
    """The product's wave-pacing functions (`orchestrators/_pacing.py`, stdlib only), loaded from
    the file: importing the `orchestrators` package would pull in the Azure Functions runtime and
    inflate this process's RSS with code the loader does not run."""
    spec = importlib.util.spec_from_file_location("intact_pacing", ROOT / "orchestrators" / "_pacing.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Result:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.attempted = {t.name: 0 for t in data.TABLES}  # records sent (at least once)
        self.rejected = 0
        self.requests = 0  # as the client counts them (the parent also reads the server's count)
        self.throttled_429 = 0
        self.wait_s = 0.0
        self.budget_hit = False
        self.extra: dict[str, Any] = {}

    def add(self, **kw: float) -> None:
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)


# --- Intact -----------------------------------------------------------------------------------------


def run_intact(url: str, tokens: list[str], records: int, ca: str | None, res: Result) -> None:
    """Intact's load as production schedules it: probe once (WhoAmI per user, bulk support asked
    once), then per phase a rolling window of load_chunk activities as wide as dop hint x users
    (re-read as each chunk finishes), chunk i written by user i mod n, each activity with its own
    client sharing its user's throttle gate."""
    from shared.dataverse import Capabilities, DataverseClient, RetryPolicy, RowWrite, StaticToken, write_rows
    from shared.errors import RetryableError

    pacing = _pacing()
    verify = _ssl(ca)

    def client(user: int) -> Any:
        return DataverseClient(
            url,
            StaticToken(tokens[user]),
            policy=RetryPolicy(),
            transport=httpx.HTTPTransport(verify=verify),
            throttle_key=f"{url}#user{user}",
        )

    users = len(tokens)
    n_accounts = data.counts(records)["account"]
    probes = [client(u) for u in range(users)]
    for dv in probes:  # probe_target: WhoAmI as every application user
        dv.whoami()
    hints = [dv.dop_hint for dv in probes if dv.dop_hint]
    caps = Capabilities(dop_hint=min(hints) if hints else 4, app_users=users)
    bulk = {t.name: probes[0].bulk_support(t.name) for t in data.BY_NAME.values()}
    for dv in probes:
        res.add(requests=dv.stats.requests, throttled_429=dv.stats.throttled_429, wait_s=dv.stats.wait_s)
        dv.close()
    max_width = caps.wave_width  # options.max_parallel_loads unset: the default
    activity_retries = 0
    peak_in_flight = 0

    def load_chunk(chunk: data.Chunk, user: int) -> int | None:
        """The load_chunk activity (retried like ACTIVITY_RETRY: 3 attempts, 2 s apart)."""
        nonlocal activity_retries
        table = data.BY_NAME[chunk.table]
        writes = [
            RowWrite(f"{chunk.table}:{i}", data.row(chunk.table, i, n_accounts))
            for i in range(chunk.start, chunk.stop)
        ]
        with res.lock:
            res.attempted[chunk.table] += len(writes)
        dv = client(user)
        dv.preset_bulk_support(table.name, bulk[table.name])
        try:
            for attempt in range(3):
                try:
                    out = write_rows(
                        dv,
                        table.entity_set,
                        table.name,
                        writes,
                        batch_size=data.CHUNK,
                        clock=time.monotonic,
                        primary_id=table.primary_id,
                    )
                    res.add(rejected=out.rejected)
                    return dv.dop_hint
                except RetryableError:
                    if attempt == 2:
                        raise
                    with res.lock:
                        activity_retries += 1
                    time.sleep(2.0)
            return None
        finally:
            res.add(requests=dv.stats.requests, throttled_429=dv.stats.throttled_429, wait_s=dv.stats.wait_s)
            dv.close()

    with ThreadPoolExecutor(max_workers=max_width) as pool:
        for phase in data.phases(records):
            width = max_width
            started = 0
            in_flight: set[Any] = set()
            while started < len(phase) or in_flight:
                while started < len(phase) and len(in_flight) < width:
                    in_flight.add(pool.submit(load_chunk, phase[started], started % users))
                    started += 1
                peak_in_flight = max(peak_in_flight, len(in_flight))
                done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)  # task_any
                for f in done:
                    width = pacing.next_width(max_width, users, [f.result()])
    res.extra.update(
        users=users,
        dop_hint=caps.dop_hint,
        width_max=max_width,
        peak_in_flight=peak_in_flight,
        activity_retries=activity_retries,
    )


# --- Microsoft's SDK -------------------------------------------------------------------------------


def _seed_picklists(client: Any, table: str) -> None:
    """Fill the SDK's picklist-label cache the way its one metadata GET per table would.

    The SDK resolves string values against picklist labels and, on first use of a table, fetches
    `EntityDefinitions(...)/Attributes/...PicklistAttributeMetadata?$expand=OptionSet(...)`. Where the
    emulator cannot answer that `$expand` yet, the same option sets (from the emulator's metadata file)
    go into the SDK's cache, so the SDK does the same per-record work and sends the same writes.
    """
    meta = json.loads((ROOT / "emulators/dataverse/metadata/standard_tables.json").read_text("utf-8"))
    attrs = meta["tables"][table]["attributes"]
    with client._scoped_odata() as od:
        picklists = {
            name: {od._normalize_picklist_label(label): value for value, label in a["options"]}
            for name, a in attrs.items()
            if a.get("type") in ("Picklist", "State", "Status") and a.get("options")
        }
        od._picklist_label_cache[od._normalize_cache_key(table)] = {"ts": time.time(), "picklists": picklists}


def run_sdk(url: str, tokens: list[str], records: int, ca: str | None, res: Result, deadline: float) -> None:
    from azure.core.credentials import AccessToken
    from PowerPlatform.Dataverse.client import DataverseClient
    from PowerPlatform.Dataverse.core.errors import HttpError

    class Token:
        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            return AccessToken(tokens[0], 4_102_444_800)

    n_accounts = data.counts(records)["account"]
    seeded: list[str] = []
    with DataverseClient(url, Token()) as client:

        def create(table: str, rows: list[dict[str, Any]]) -> None:
            while True:
                try:
                    client.records.create(table, rows)
                    res.add(requests=1)
                    return
                except HttpError as exc:
                    res.add(requests=1)
                    if exc.status_code == 429:  # the user's retry: sleep what the service asked
                        wait = float(exc.details.get("retry_after") or 1)
                        res.add(throttled_429=1, wait_s=wait)
                        time.sleep(wait)
                        continue
                    if table not in seeded and "OptionSet" in str(exc):  # emulator: no $expand yet
                        _seed_picklists(client, table)
                        seeded.append(table)
                        continue
                    raise

        for chunk in data.chunks(records):
            if time.monotonic() >= deadline:
                res.budget_hit = True
                break
            rows = data.rows(chunk.table, chunk.start, chunk.stop, n_accounts)
            res.attempted[chunk.table] += len(rows)
            create(chunk.table, rows)
    res.extra["sdk_picklist_cache_seeded"] = seeded


# --- naive -----------------------------------------------------------------------------------------


def run_naive(
    url: str, tokens: list[str], records: int, ca: str | None, res: Result, deadline: float
) -> None:
    n_accounts = data.counts(records)["account"]
    headers = {
        "Authorization": f"Bearer {tokens[0]}",
        "Accept": "application/json",
        "OData-MaxVersion": "4.0",
        "OData-Version": "4.0",
    }
    with httpx.Client(
        base_url=f"{url}/api/data/v9.2/", headers=headers, verify=_ssl(ca), timeout=120
    ) as http:
        for chunk in data.chunks(records):
            table = data.BY_NAME[chunk.table]
            for i in range(chunk.start, chunk.stop):
                if time.monotonic() >= deadline:
                    res.budget_hit = True
                    return
                body = data.row(chunk.table, i, n_accounts)
                res.attempted[chunk.table] += 1
                while True:
                    resp = http.post(table.entity_set, json=body)
                    res.requests += 1
                    if resp.status_code == 429:
                        wait = float(resp.headers.get("Retry-After") or 1)
                        res.throttled_429 += 1
                        res.wait_s += wait
                        time.sleep(wait)
                        continue
                    if resp.status_code >= 400:
                        raise RuntimeError(f"POST {table.entity_set}: {resp.status_code} {resp.text[:300]}")
                    break


RUNNERS: dict[str, Callable[..., None]] = {"intact": run_intact, "sdk": run_sdk, "naive": run_naive}
# imported before the clock starts (import time is not load time), and counted in the peak RSS
PRELOAD = {
    "intact": ["shared.dataverse", "shared.errors"],
    "sdk": [
        "azure.core.credentials",
        "PowerPlatform.Dataverse.client",
        "PowerPlatform.Dataverse.core.errors",
    ],
    "naive": [],
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench._loader_client")
    p.add_argument("--scenario", choices=sorted(RUNNERS), required=True)
    p.add_argument("--url", required=True)
    p.add_argument("--tokens", required=True, help="comma-separated bearer tokens, one per application user")
    p.add_argument("--records", type=int, required=True)
    p.add_argument("--ca", help="CA PEM to trust (emulator --tls)")
    p.add_argument("--budget", type=float, help="baselines: stop starting new work after this many seconds")
    args = p.parse_args(argv)
    tokens = args.tokens.split(",")
    if args.ca:
        os.environ["REQUESTS_CA_BUNDLE"] = args.ca
    for name in PRELOAD[args.scenario]:
        importlib.import_module(name)
    res = Result()
    started = time.monotonic()
    deadline = started + args.budget if args.budget else float("inf")
    error = None
    try:
        if args.scenario == "intact":
            run_intact(args.url, tokens, args.records, args.ca, res)
        else:
            RUNNERS[args.scenario](args.url, tokens, args.records, args.ca, res, deadline)
    except Exception as exc:  # reported, not hidden: the parent prints it with the row
        error = f"{type(exc).__name__}: {exc}"[:500]
    elapsed = time.monotonic() - started
    print(
        json.dumps(
            {
                "scenario": args.scenario,
                "attempted": res.attempted,
                "rejected": res.rejected,
                "client_requests": res.requests,
                "client_throttled_429": res.throttled_429,
                "wait_s": round(res.wait_s, 3),
                "elapsed_s": round(elapsed, 3),
                "budget_hit": res.budget_hit,
                "peak_rss_mb": peak_rss_mb(),
                "error": error,
                **res.extra,
            }
        ),
        flush=True,
    )
    return 0 if error is None else 1


if __name__ == "__main__":
    sys.exit(main())
