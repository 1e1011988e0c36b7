"""Local stand-ins for the outside world, started on free loopback ports: Azurite (the real
Azure Storage emulator, pinned in package.json) and the Dataverse emulator.

Both run as child processes and speak real HTTP; `stop()` (or the context manager) ends them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

REPO = Path(__file__).resolve().parent.parent

# Azurite's well-known development account. Its key is published in Azurite's documentation and
# only ever opens the local emulator; it is not a secret.
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
_LISTENING = re.compile(r"Azurite (Blob|Table) service is successfully listening at (http://\S+)")


class ServiceError(RuntimeError):
    """A local service did not start; the message carries what it printed."""


def azurite_binary() -> Path:
    local = REPO / "node_modules" / ".bin" / "azurite"
    if local.exists():
        return local
    found = shutil.which("azurite")
    if found:
        return Path(found)
    raise ServiceError("Azurite is not installed: run `npm ci` in the repo (the test and demo scripts do)")


class _Child:
    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self._lines: list[str] = []
        self._reader: threading.Thread | None = None

    def _spawn(self, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        self._proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=REPO,
            env=env,
            start_new_session=True,
        )
        return self._proc

    def _read_until(self, done: re.Pattern[str] | None, want: int, timeout: float) -> list[re.Match[str]]:
        """Read output lines until `want` matches of `done` (or the first line if done is None)."""
        assert self._proc is not None and self._proc.stdout is not None
        found: list[re.Match[str]] = []
        deadline = time.monotonic() + timeout
        box: list[str | None] = []

        started = threading.Event()

        def reader() -> None:  # keeps draining the pipe after start, so the child never blocks
            assert self._proc is not None and self._proc.stdout is not None
            for line in self._proc.stdout:
                if not started.is_set():
                    box.append(line)
            box.append(None)

        self._reader = threading.Thread(target=reader, daemon=True)
        self._reader.start()
        seen = 0
        while time.monotonic() < deadline:
            while seen < len(box):
                line = box[seen]
                seen += 1
                if line is None:
                    raise ServiceError(f"{self.__class__.__name__} exited early:\n" + "".join(self._lines))
                self._lines.append(line)
                m = re.match(r"(.*)", line.strip()) if done is None else done.search(line)
                if m:
                    found.append(m)
                    if len(found) >= want:
                        started.set()
                        return found
            time.sleep(0.02)
        self.stop()
        raise ServiceError(f"{self.__class__.__name__} did not start in {timeout}s:\n" + "".join(self._lines))

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._reader is not None:
            self._reader.join(timeout=5)  # EOF after the child exits
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> _Child:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class Azurite(_Child):
    """Azurite Blob + Table on free loopback ports, in memory unless `location` is given."""

    connection_string: str = ""

    def start(self, location: Path | None = None, timeout: float = 60.0) -> Azurite:
        argv = [
            str(azurite_binary()),
            "--blobHost", "127.0.0.1", "--blobPort", "0",
            "--tableHost", "127.0.0.1", "--tablePort", "0",
            "--queueHost", "127.0.0.1", "--queuePort", "0",
            "--skipApiVersionCheck", "--disableTelemetry", "--loose",
        ]  # fmt: skip
        if location is None:
            argv += ["--inMemoryPersistence", "--extentMemoryLimit", "512"]
        else:
            location.mkdir(parents=True, exist_ok=True)
            argv += ["--location", str(location)]
        self._spawn(argv)
        urls = {m.group(1): m.group(2) for m in self._read_until(_LISTENING, 2, timeout)}
        self.connection_string = (
            f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
            f"BlobEndpoint={urls['Blob']}/{DEV_ACCOUNT};TableEndpoint={urls['Table']}/{DEV_ACCOUNT};"
        )
        return self


class DataverseEmulator(_Child):
    """`python -m emulators.dataverse` on a free port; its first stdout line is its base URL."""

    url: str = ""

    def start(
        self,
        seed: Path | None = None,
        db: Path | None = None,
        extra_args: list[str] | None = None,
        timeout: float = 30.0,
    ) -> DataverseEmulator:
        # the solution Intact provisions into by default (options.solution), as a customer's org has it
        argv = [
            sys.executable,
            "-m",
            "emulators.dataverse",
            "--port",
            "0",
            "--host",
            "127.0.0.1",
            "--solution",
            "IntactMigration:new",
        ]
        if seed is not None:
            argv += ["--seed", str(seed)]
        if db is not None:
            argv += ["--db", str(db)]
        argv += extra_args or []
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._spawn(argv, env)
        first = self._read_until(None, 1, timeout)[0].group(1)
        if not first.startswith("http"):
            self.stop()
            raise ServiceError(f"Dataverse emulator printed {first!r} instead of its URL")
        self.url = first.rstrip("/")
        return self
