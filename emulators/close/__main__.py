"""`python -m emulators.close --port N ...`: prints the base URL first, serves until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse

from emulators._common import launch
from emulators.close.server import start_server


def _parser() -> argparse.ArgumentParser:
    p = launch.parser("python -m emulators.close", __doc__)
    p.add_argument("--data", help="dataset JSON (default: the bundled Close sample)")
    p.add_argument("--api-key", action="append", default=[], help="accepted API key (default test-key)")
    p.add_argument("--rate-limit", type=int, help="requests per window per key and endpoint group")
    p.add_argument("--rate-window", type=float, default=1.0, help="seconds (default 1)")
    p.add_argument("--max-skip", type=int, default=250_000, help="the _skip ceiling (default 250000)")
    p.add_argument("--faults", help='random 5xx rates, e.g. "503:0.05,502:0.02"')
    p.add_argument("--fault-seed", type=int)
    p.add_argument("--verbose", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handle = start_server(
        args.port,
        host=args.host,
        data=args.data,
        api_keys=tuple(args.api_key) or ("test-key",),
        rate_limit=args.rate_limit,
        rate_window=args.rate_window,
        max_skip=args.max_skip,
        faults=args.faults,
        fault_seed=args.fault_seed,
        verbose=args.verbose,
    )
    return launch.serve_until_signalled(handle)


if __name__ == "__main__":
    raise SystemExit(main())
