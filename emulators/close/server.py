"""HTTP plumbing: a stdlib ThreadingHTTPServer (HTTP/1.1, keep-alive) in front of `CloseMock`."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from emulators.close.app import CloseMock, MockConfig, Reply, _BadRequest


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            reply = self.server.mock.handle(self.command, self.path, self.headers, body, self.server.base_url)
        except _BadRequest as exc:
            reply = Reply(400, {"error": str(exc), "errors": [], "field-errors": {}})
        payload = reply.raw if reply.raw is not None else json.dumps(reply.body).encode("utf-8")
        self.send_response(reply.status)
        if reply.raw is None:
            self.send_header("Content-Type", "application/json")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], mock: CloseMock, verbose: bool) -> None:
        super().__init__(address, _Handler)
        self.mock = mock
        self.verbose = verbose
        host, port = self.server_address[:2]
        self.base_url = f"http://{host}:{port}"


@dataclass
class ServerHandle:
    base_url: str
    mock: CloseMock
    _server: _Server
    _thread: threading.Thread

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/v1/"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load_dataset(path: str | Path | None) -> dict[str, Any]:
    """A dataset file (`{"leads": [...], "users": [...], ...}` or a bare Close JSON export array),
    or, without one, the bundled sample (samples/close)."""
    if path is None:
        from samples.close.generate import make_api_dataset

        return make_api_dataset()
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    return {"leads": doc} if isinstance(doc, list) else doc


def start_server(
    port: int = 0,
    *,
    host: str = "127.0.0.1",
    data: str | Path | dict[str, Any] | None = None,
    api_keys: tuple[str, ...] = ("test-key",),
    rate_limit: int | None = None,
    rate_window: float = 1.0,
    max_skip: int = 250_000,
    faults: str | None = None,
    fault_seed: int | None = None,
    export_polls: int = 1,
    verbose: bool = False,
) -> ServerHandle:
    """Start the mock on a background thread (port 0 picks a free port)."""
    dataset = data if isinstance(data, dict) else load_dataset(data)
    config = MockConfig(
        api_keys=api_keys,
        rate_limit=rate_limit,
        rate_window=rate_window,
        max_skip=max_skip,
        faults=faults,
        fault_seed=fault_seed,
        export_polls=export_polls,
    )
    mock = CloseMock(dataset, config)
    server = _Server((host, port), mock, verbose)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="close-mock", daemon=True
    )
    thread.start()
    return ServerHandle(server.base_url, mock, server, thread)
