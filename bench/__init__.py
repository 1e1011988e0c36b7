"""Benchmarks: `python -m bench <name> [--json] [options]`.

Each benchmark is a module `bench/<name>.py` with `main(argv) -> int`.
"""
