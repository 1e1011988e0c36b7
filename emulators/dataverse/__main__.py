"""`python -m emulators.dataverse --port N ...`: prints the base URL first, serves until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import sys

from emulators._common import launch

from .server import start_server


def _parser() -> argparse.ArgumentParser:
    p = launch.parser("python -m emulators.dataverse", __doc__)
    p.add_argument("--db", help="SQLite file to persist data in (default: in memory)")
    p.add_argument("--users", help="JSON file mapping bearer tokens to application users")
    p.add_argument("--seed", help="JSON file of rows to insert at start, keyed by entity set")
    p.add_argument("--time-scale", type=float, default=1.0, help="shrink the 5-minute limit window by X")
    p.add_argument(
        "--limits", choices=("real", "off"), default="real", help="service protection limits (default real)"
    )
    p.add_argument("--no-limits", action="store_true", help="alias of --limits off")
    p.add_argument(
        "--max-upload-bytes",
        type=int,
        default=5_242_880,
        help="organization.maxuploadfilesize for notes (default 5,242,880)",
    )
    p.add_argument("--faults", help='fault rates, e.g. "429:0.05,503:0.02,drop:0.01,drop-after:0.01"')
    p.add_argument("--fault-seed", type=int, help="random seed for fault injection")
    p.add_argument("--dop-hint", type=int, default=4, help="value of the x-ms-dop-hint header")
    p.add_argument("--max-targets", type=int, default=1000, help="max Targets per bulk request")
    p.add_argument("--max-requests", type=int, default=6000, help="requests per user per window")
    p.add_argument("--max-execution-ms", type=int, default=1_200_000, help="execution ms per user per window")
    p.add_argument("--max-concurrent", type=int, default=52, help="concurrent requests per user")
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    p.add_argument("--tls", action="store_true", help="serve HTTPS with a certificate made at start")
    p.add_argument("--cert-dir", help="with --tls: where to write the CA PEM (default: a temp directory)")
    p.add_argument(
        "--licence",
        choices=("professional", "enterprise"),
        default="enterprise",
        help="licence tier: custom-table cap 15 (professional) or 500 (enterprise)",
    )
    p.add_argument("--key-activation-delay", type=float, default=0.0, help="seconds a new key stays Pending")
    p.add_argument(
        "--solution",
        action="append",
        default=[],
        metavar="NAME:PREFIX",
        help="a solution (and its publisher prefix) known besides Default (prefix new); repeatable",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.time_scale <= 0:
        print("--time-scale must be positive", file=sys.stderr)
        return 2
    handle = start_server(
        args.port,
        args.db,
        host=args.host,
        users_file=args.users,
        seed_file=args.seed,
        time_scale=args.time_scale,
        limits=not args.no_limits and args.limits == "real",
        faults=args.faults,
        fault_seed=args.fault_seed,
        dop_hint=args.dop_hint,
        max_bulk_targets=args.max_targets,
        max_upload_bytes=args.max_upload_bytes,
        max_requests=args.max_requests,
        max_execution_ms=args.max_execution_ms,
        max_concurrent=args.max_concurrent,
        verbose=args.verbose,
        tls=args.tls,
        cert_dir=args.cert_dir,
        licence=args.licence,
        key_activation_delay=args.key_activation_delay,
        solutions=tuple(args.solution),
    )
    more = [f"CA certificate: {handle.cert_path}"] if handle.cert_path else []
    return launch.serve_until_signalled(handle, *more)


if __name__ == "__main__":
    raise SystemExit(main())
