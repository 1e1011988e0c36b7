"""A stdlib ThreadingHTTPServer (HTTP/1.1, keep-alive) in front of an emulator's app object, run on a
background thread; each emulator subclasses the handler to turn its app's answer into bytes."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self


class EmulatorServer(ThreadingHTTPServer):
    """Serves `app` with `handler`; `base_url` is the address it listens on."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        app: Any,
        verbose: bool,
        scheme: str = "http",
    ) -> None:
        super().__init__(address, handler)
        self.app = app
        self.verbose = verbose
        host, port = self.server_address[:2]
        self.base_url = f"{scheme}://{host}:{port}"


class EmulatorHandler(BaseHTTPRequestHandler):
    """Reads the request body, logs only when the server is verbose, and writes an answer."""

    protocol_version = "HTTP/1.1"
    server: EmulatorServer

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def drop(self) -> None:
        """Close the connection without answering."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def respond(self, status: int, payload: bytes, headers: Iterable[tuple[str, str]]) -> None:
        """Status, `headers` in order, Content-Length, then the payload (none for HEAD)."""
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)


def serve_in_background(server: EmulatorServer, name: str, poll_interval: float = 0.05) -> threading.Thread:
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": poll_interval}, name=name, daemon=True
    )
    thread.start()
    return thread


class HandleBase:
    """What a running emulator's handle does: `api_url`, `close()`, and `with` support. A subclass
    (a dataclass) has `base_url`, `_server` and `_thread` and names its `API_PATH`."""

    API_PATH: ClassVar[str]
    base_url: str
    _server: EmulatorServer
    _thread: threading.Thread

    @property
    def api_url(self) -> str:
        return f"{self.base_url}{self.API_PATH}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
