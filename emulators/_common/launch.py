"""`python -m emulators.<name>`: the flags every emulator takes, and serving until SIGTERM/SIGINT with
the base URL as the first stdout line."""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Protocol


class _Handle(Protocol):
    base_url: str

    def close(self) -> None: ...


def parser(prog: str, description: str | None) -> argparse.ArgumentParser:
    """A parser with `--port` and `--host`; the emulator adds its own flags."""
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("--port", type=int, default=0, help="TCP port (0 = any free port)")
    p.add_argument("--host", default="127.0.0.1")
    return p


def serve_until_signalled(handle: _Handle, *more_lines: str) -> int:
    """Print the base URL (then `more_lines`), serve until SIGTERM or SIGINT, close; exit status 0."""
    print(handle.base_url, flush=True)
    for line in more_lines:
        print(line, flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    handle.close()
    return 0
