"""HTTP plumbing: a stdlib ThreadingHTTPServer speaking HTTP/1.1 (keep-alive) in front of `Emulator`."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import sys
import tempfile
import threading
from dataclasses import dataclass
from typing import Any

from emulators._common.http import EmulatorHandler, EmulatorServer, HandleBase, serve_in_background

from .app import DROP, Emulator, EmulatorConfig
from .limits import LimitConfig


class _Handler(EmulatorHandler):
    wbufsize = 1 << 16  # one write per response (headers + body); flushed by handle_one_request
    server: _Server

    def setup(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.server.ssl_context is not None:  # handshake here, on the connection's own thread
            self.request = self.server.ssl_context.wrap_socket(self.request, server_side=True)
        super().setup()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            if isinstance(self.connection, ssl.SSLSocket):
                self.connection.close()

    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        return super().read_body()

    def _handle(self) -> None:
        body = self.read_body()
        result = self.server.app.handle(self.command, self.path, self.headers, body, self.server.base_url)
        if result == DROP:
            self.drop()
            return
        assert not isinstance(result, str)
        payload = b""
        if result.raw is not None:
            payload = result.raw  # Content-Type comes with result.headers
        elif result.body is not None:
            payload = json.dumps(result.body, separators=(",", ":")).encode("utf-8")
        headers = [("OData-Version", "4.0"), *result.headers.items()]
        if result.body is not None:
            headers.insert(0, ("Content-Type", "application/json; odata.metadata=minimal"))
        self.respond(result.status, payload, headers)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _handle


class _Server(EmulatorServer):
    request_queue_size = 256
    app: Emulator

    def __init__(
        self,
        address: tuple[str, int],
        emulator: Emulator,
        verbose: bool,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(address, _Handler, emulator, verbose, "https" if ssl_context else "http")
        self.ssl_context = ssl_context

    def handle_error(self, request: Any, client_address: Any) -> None:
        if self.ssl_context is not None and isinstance(sys.exc_info()[1], ssl.SSLError | OSError):
            return  # a client that refused our certificate or hung up mid-handshake
        super().handle_error(request, client_address)


@dataclass
class ServerHandle(HandleBase):
    """A running emulator; `close()` stops serving and closes the database."""

    API_PATH = "/api/data/v9.2/"

    base_url: str
    emulator: Emulator
    _server: _Server
    _thread: threading.Thread
    cert_path: str | None = None  # with tls=True: the CA certificate (PEM) clients should trust
    _tls_dir: str | None = None

    def close(self) -> None:
        super().close()
        self.emulator.close()
        if self._tls_dir:
            shutil.rmtree(self._tls_dir, ignore_errors=True)


def start_server(
    port: int = 0,
    db_path: str | None = None,
    *,
    host: str = "127.0.0.1",
    users_file: str | None = None,
    seed_file: str | None = None,
    time_scale: float = 1.0,
    limits: bool = True,
    faults: str | None = None,
    fault_seed: int | None = None,
    dop_hint: int = 4,
    max_bulk_targets: int = 1000,
    max_upload_bytes: int = 5_242_880,
    max_requests: int = 6000,
    max_execution_ms: int = 1_200_000,
    max_concurrent: int = 52,
    request_cost_ms: float = 10.0,
    record_cost_ms: float = 5.0,
    verbose: bool = False,
    tls: bool = False,
    cert_dir: str | None = None,
    licence: str = "enterprise",
    key_activation_delay: float = 0.0,
    solutions: tuple[str, ...] = (),
) -> ServerHandle:
    """Start the emulator on a background thread (port 0 picks a free port).

    `tls=True` serves HTTPS with a CA and certificate for 127.0.0.1/localhost made now and written to
    `cert_dir` (default: a temporary directory removed on close); `handle.cert_path` is the CA PEM.
    """
    config = EmulatorConfig(
        db_path=db_path,
        users_file=users_file,
        seed_file=seed_file,
        faults=faults,
        fault_seed=fault_seed,
        dop_hint=dop_hint,
        max_bulk_targets=max_bulk_targets,
        max_upload_bytes=max_upload_bytes,
        licence=licence,
        key_activation_delay=key_activation_delay,
        solutions=tuple(solutions),
        limits=LimitConfig(
            enabled=limits,
            max_requests=max_requests,
            max_execution_ms=max_execution_ms,
            max_concurrent=max_concurrent,
            time_scale=time_scale,
            request_cost_ms=request_cost_ms,
            record_cost_ms=record_cost_ms,
        ),
    )
    ssl_context, cert_path, tls_dir = None, None, None
    if tls:
        from .tls import generate

        if cert_dir is None:
            cert_dir = tls_dir = tempfile.mkdtemp(prefix="dataverse-emulator-tls-")
        material = generate(cert_dir, hosts=tuple(dict.fromkeys((host, "127.0.0.1", "localhost"))))
        ssl_context, cert_path = material.server_context(), str(material.ca_path)
    emulator = Emulator(config)
    server = _Server((host, port), emulator, verbose, ssl_context)
    thread = serve_in_background(server, "dataverse-emulator")
    return ServerHandle(server.base_url, emulator, server, thread, cert_path, tls_dir)
