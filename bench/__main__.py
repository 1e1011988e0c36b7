"""`python -m bench <name> [args…]` runs `bench/<name>.py`'s `main(argv)`; `python -m bench` lists them.

A new benchmark is a module in this package with `main(argv: list[str]) -> int` and a docstring
whose first line describes it. Benchmarks are not tests: they report figures, they do not assert.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    return sorted(
        m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if not m.name.startswith("_")
    )


def summary(name: str) -> str:
    doc = importlib.import_module(f"bench.{name}").__doc__ or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    names = available()
    if not args or args[0] in ("-h", "--help", "list"):
        print("usage: python -m bench <name> [--json] [options]\n\nbenchmarks:")
        for name in names:
            print(f"  {name:<12} {summary(name)}")
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name not in names:
        print(f"unknown benchmark {name!r}; available: {', '.join(names)}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"bench.{name}")
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
