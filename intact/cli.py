"""`python -m intact …` — run Intact on this machine, on the local durable runtime.

  demo [--source S]    start Azurite + the emulators, migrate a bundled sample (default close), report
  serve                serve the function app's HTTP API on loopback (function keys enforced)
  migrate SPEC         run a migration described by a YAML/JSON spec [--approve-as NAME]
  approve ID --by NAME approve the mapping a waiting migration shows, and carry on (COM-02)
  discover SPEC        the source's objects, counts and non-migratable inventory (+ a Markdown doc)
  propose SPEC         propose target columns for the fields the profile does not map (a YAML to approve)
  status ID            status and per-object progress of a migration (or rollback) instance
  rollback ID          delete exactly what migration ID created, children first
  schema               print the spec's JSON Schema
Each of migrate/status/rollback/demo takes --json: one JSON object whose `objects` maps every
source object to {source, loaded, quarantined, skipped}.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import yaml

from intact import commands
from shared.errors import IntactError

DEFAULT_STATE = Path(".intact")
TIMEOUT = 6 * 3600.0


def _print_result(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=1, default=str))
        return
    from shared.reports import reconciliation_markdown

    print(
        f"\n{result['id']}: {result['runtime_status']}"
        + (f" (run {result['run_id']})" if result["run_id"] else "")
    )
    if result["objects"]:
        full = {n: {**c, "skip_rule": result["skip_rules"].get(n)} for n, c in result["objects"].items()}
        print(reconciliation_markdown(full))
    t = result.get("traffic") or {}
    if t:
        print(
            f"Dataverse traffic: {t.get('requests', 0)} requests, {t.get('throttled_429', 0)} throttled "
            f"(429), {t.get('wait_s', 0)} s waited; request entitlement used {t.get('entitlement_used', 0)}"
        )
    if result.get("tables"):
        for table, t in result["tables"].items():
            print(
                f"  {table}: deleted {t['deleted']}, already gone {t['already_gone']}, planned {t['planned']}"
            )
    if result["error"]:
        print(f"error: {result['error']}", file=sys.stderr)


def _exit_code(result: dict[str, Any]) -> int:
    if result["runtime_status"] != "Completed":
        return 1
    balanced = all(
        c["source"] == c["loaded"] + c["quarantined"] + c["skipped"] for c in result["objects"].values()
    )
    return 0 if balanced else 1


AWAITING_APPROVAL_EXIT = 3


def _finish(body: dict[str, Any], as_json: bool) -> int:
    """Print the outcome; a run that waits for approval says what to read and how to approve."""
    result = commands.result_json(body)
    if body.get("stage") == "awaiting approval" and body["runtime_status"] in ("Running", "Pending"):
        result["awaiting_approval"] = True
        result["reports"] = body.get("reports") or []
        if as_json:
            print(json.dumps(result, indent=1, default=str))
        else:
            print(
                f"\n{result['id']} is waiting for its mapping to be approved; nothing has been written yet."
            )
            print("Read the preflight report (" + ", ".join(result["reports"]) + "), then run:")
            print(f"  python -m intact approve {result['id']} --by 'Your Name'")
        return AWAITING_APPROVAL_EXIT
    _print_result(result, as_json)
    return _exit_code(result)


def cmd_migrate(args: argparse.Namespace) -> int:
    spec = commands.read_spec(Path(args.spec))
    rt = commands.open_runtime(Path(args.state_dir))
    try:
        iid = commands.start_migration(rt, spec)
        body = commands.follow(
            rt, iid, None if args.json else commands.progress_printer(), TIMEOUT, approve_as=args.approve_as
        )
    finally:
        rt.close()
    return _finish(body, args.json)


def cmd_approve(args: argparse.Namespace) -> int:
    """Approve the mapping a migration waits on (its process may have exited: this one resumes it)."""
    rt = commands.open_runtime(Path(args.state_dir))
    try:
        mapping = None
        if args.mapping:
            mapping = yaml.safe_load(Path(args.mapping).read_text(encoding="utf-8"))
        commands.approve(rt, args.id, args.by, args.note, mapping)
        body = commands.follow(rt, args.id, None if args.json else commands.progress_printer(), TIMEOUT)
    finally:
        rt.close()
    return _finish(body, args.json)


def cmd_status(args: argparse.Namespace) -> int:
    rt = commands.open_runtime(Path(args.state_dir), start=False)
    try:
        body = commands.status_dict(rt, args.id)
    finally:
        rt.close()
    if body is None:
        print(f"no instance {args.id} in {args.state_dir}", file=sys.stderr)
        return 2
    _print_result(commands.result_json(body), args.json)
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    rt = commands.open_runtime(Path(args.state_dir))
    try:
        iid = commands.start_rollback(rt, args.id)
        body = commands.follow(rt, iid, None if args.json else commands.progress_printer(), TIMEOUT)
    finally:
        rt.close()
    result = commands.result_json(body)
    _print_result(result, args.json)
    return 0 if result["runtime_status"] == "Completed" else 1


def cmd_serve(args: argparse.Namespace) -> int:
    from intact.host import LocalFunctionsHost

    key = os.environ.get("INTACT_FUNCTION_KEY") or secrets.token_urlsafe(24)
    rt = commands.open_runtime(Path(args.state_dir))
    host = LocalFunctionsHost(
        commands.function_app_module().app,
        rt,
        host=args.host,
        port=args.port,
        function_keys={"default": key},
        run_timers=args.timers,
    )
    url = host.start()
    print(url, flush=True)
    if "INTACT_FUNCTION_KEY" not in os.environ:
        print(f"function key (send as x-functions-key): {key}", file=sys.stderr, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        host.close()
        rt.close()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from intact.demo import run_demo

    return run_demo(Path(args.out), source=args.source, as_json=args.json)


def cmd_discover(args: argparse.Namespace) -> int:
    from shared.sources.report import discover_source, discovery_json, discovery_table, inventory_markdown

    spec = commands.read_spec(Path(args.spec))
    found = discover_source(spec.source, sample_size=args.sample)
    doc = Path(args.out) if args.out else Path("out") / f"inventory-{found.source}.md"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(inventory_markdown(found), encoding="utf-8")
    if args.json:
        print(json.dumps({**discovery_json(found), "document": str(doc)}, indent=1, default=str))
    else:
        print(discovery_table(found))
        print(f"inventory for the admin: {doc}")
    return 0


def cmd_propose(args: argparse.Namespace) -> int:
    from shared.mapping.proposer import advisor_for
    from shared.migration.context import dataverse_client
    from shared.migration.proposal import propose_for_spec

    spec = commands.read_spec(Path(args.spec))
    advisor = advisor_for(args.backend)  # fails before any work when the backend is unknown
    with dataverse_client(spec) as dv:
        proposal = propose_for_spec(spec, dv, sample_size=args.sample, advisor=advisor)
    out = Path(args.out) if args.out else Path("out") / f"mapping-{proposal.source}.yaml"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(proposal.to_yaml(), encoding="utf-8")
    if args.json:
        print(json.dumps({**proposal.model_dump(mode="json"), "document": str(out)}, indent=1))
    else:
        print(f"{proposal.source}: {len(proposal.entries)} proposals ({proposal.backend})")
        for e in proposal.entries:
            where = f"{e.object}.{e.field}"
            print(f"  {where:<44} → {e.table}.{e.target} ({e.type}, {e.confidence:.2f})")
        print(f"edit and approve: {out}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from shared.spec import spec_json_schema

    print(json.dumps(spec_json_schema(), indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="intact", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = ap.add_subparsers(dest="command", required=True)

    def with_state(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--state-dir", default=str(DEFAULT_STATE), help="local runtime state (default .intact)"
        )
        p.add_argument("--json", action="store_true", help="print one JSON object")
        return p

    p = with_state(sub.add_parser("migrate", help="run a migration from a spec file"))
    p.add_argument("spec")
    p.add_argument(
        "--approve-as", metavar="NAME", help="approve the mapping as NAME when the run asks (COM-02)"
    )
    p.set_defaults(fn=cmd_migrate)
    p = with_state(sub.add_parser("approve", help="approve the mapping a migration waits on, and carry on"))
    p.add_argument("id")
    p.add_argument("--by", required=True, help="who approves (kept with the run)")
    p.add_argument("--note", help="a note kept with the approval")
    p.add_argument(
        "--mapping",
        metavar="FILE",
        help="the run's mapping proposal (reports/mapping-proposal.yaml) with your edits: entries marked "
        "`status: approved` are applied before anything is written",
    )
    p.set_defaults(fn=cmd_approve)
    p = sub.add_parser("discover", help="list the source's objects, counts and what does not migrate")
    p.add_argument("spec")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--out", help="the Markdown inventory (default ./out/inventory-<source>.md)")
    p.add_argument("--sample", type=int, default=200, help="records sampled per object for field types")
    p.set_defaults(fn=cmd_discover)
    p = sub.add_parser("propose", help="propose target columns for unmapped fields (YAML to approve)")
    p.add_argument("spec")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--out", help="the proposal document (default ./out/mapping-<source>.yaml)")
    p.add_argument("--sample", type=int, default=200, help="records sampled per object for field types")
    p.add_argument(
        "--backend", default="offline", help="proposer backend (default offline; others registered)"
    )
    p.set_defaults(fn=cmd_propose)
    p = with_state(sub.add_parser("status", help="status of a migration or rollback"))
    p.add_argument("id")
    p.set_defaults(fn=cmd_status)
    p = with_state(sub.add_parser("rollback", help="roll a migration back"))
    p.add_argument("id")
    p.set_defaults(fn=cmd_rollback)
    p = sub.add_parser("serve", help="serve the HTTP API on loopback")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7071)
    p.add_argument("--state-dir", default=str(DEFAULT_STATE))
    p.add_argument("--timers", action="store_true", help="also run the delta timer on its schedule")
    p.set_defaults(fn=cmd_serve)
    from intact.demo_sources import SOURCES

    p = sub.add_parser("demo", help="migrate a bundled sample (Close by default) into the emulator")
    p.add_argument("--source", choices=list(SOURCES), default="close", help="which sample (default close)")
    p.add_argument("--out", default="out", help="where reports go (default ./out)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_demo)
    p = sub.add_parser("schema", help="print the migration spec's JSON Schema")
    p.set_defaults(fn=cmd_schema)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args))
    except IntactError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
