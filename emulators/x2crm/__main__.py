"""`python -m emulators.x2crm --port N ...`: prints the base URL first, serves until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse

from emulators._common import launch

from .server import start_server


def _parser() -> argparse.ArgumentParser:
    p = launch.parser("python -m emulators.x2crm", __doc__)
    p.add_argument("--data", help="JSON data file (samples/x2crm/generate.py); default: empty")
    p.add_argument("--rate-limit", type=int, default=0, help="max requests per interval (0 = off)")
    p.add_argument("--rate-interval", type=int, default=60, help="rate-limit interval seconds (Retry-After)")
    p.add_argument("--faults", help='fault rates, e.g. "503:0.05,500:0.02,429:0.01,drop:0.01"')
    p.add_argument("--fault-seed", type=int, help="random seed for fault injection")
    p.add_argument("--max-page-size", type=int, default=1000, help="the API's maxPageSize setting")
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handle = start_server(
        args.port,
        args.data,
        host=args.host,
        rate_limit=args.rate_limit,
        rate_interval=args.rate_interval,
        faults=args.faults,
        fault_seed=args.fault_seed,
        max_page_size=args.max_page_size,
        verbose=args.verbose,
    )
    return launch.serve_until_signalled(handle)


if __name__ == "__main__":
    raise SystemExit(main())
