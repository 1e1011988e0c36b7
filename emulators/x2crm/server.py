"""HTTP plumbing: a stdlib ThreadingHTTPServer (HTTP/1.1, keep-alive) in front of `X2Mock`."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .app import DROP, MockConfig, X2Mock
from .store import Store


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        result = self.server.mock.handle(self.command, self.path, self.headers, body, self.client_address[0])
        if result == DROP:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        assert not isinstance(result, str)
        payload = b"" if result.body is None else json.dumps(result.body).encode("utf-8")
        self.send_response(result.status)
        if result.body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        for name, value in result.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], mock: X2Mock, verbose: bool) -> None:
        super().__init__(address, _Handler)
        self.mock = mock
        self.verbose = verbose
        host, port = self.server_address[:2]
        self.base_url = f"http://{host}:{port}"


@dataclass
class ServerHandle:
    """A running mock; `api_url` is what a spec's `source.api_url` takes."""

    base_url: str
    mock: X2Mock
    _server: _Server
    _thread: threading.Thread

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/index.php/api2/"

    @property
    def store(self) -> Store:
        return self.mock.store

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_server(
    port: int = 0,
    data: str | dict[str, Any] | None = None,
    *,
    host: str = "127.0.0.1",
    rate_limit: int = 0,
    rate_interval: int = 60,
    faults: str | None = None,
    fault_seed: int | None = None,
    max_page_size: int = 1000,
    verbose: bool = False,
) -> ServerHandle:
    """Start the mock on a background thread (port 0 picks a free port).

    `data` is a data file path (from samples/x2crm/generate.py) or the same structure as a dict.
    """
    if isinstance(data, str):
        store = Store.load(data, max_page_size=max_page_size)
    else:
        store = Store(data, max_page_size=max_page_size)
    config = MockConfig(
        rate_limit=rate_limit,
        rate_interval=rate_interval,
        faults=faults,
        fault_seed=fault_seed,
        max_page_size=max_page_size,
    )
    server = _Server((host, port), X2Mock(store, config), verbose)
    thread = threading.Thread(target=server.serve_forever, name="x2crm-mock", daemon=True)
    thread.start()
    return ServerHandle(server.base_url, server.mock, server, thread)
