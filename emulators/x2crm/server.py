"""HTTP plumbing: a stdlib ThreadingHTTPServer (HTTP/1.1, keep-alive) in front of `X2Mock`."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from emulators._common.http import EmulatorHandler, EmulatorServer, HandleBase, serve_in_background

from .app import DROP, MockConfig, X2Mock
from .store import Store


class _Handler(EmulatorHandler):
    wbufsize = 1 << 16

    def _handle(self) -> None:
        body = self.read_body()
        mock: X2Mock = self.server.app
        result = mock.handle(self.command, self.path, self.headers, body, self.client_address[0])
        if result == DROP:
            self.drop()
            return
        assert not isinstance(result, str)
        payload = b"" if result.body is None else json.dumps(result.body).encode("utf-8")
        content_type = [] if result.body is None else [("Content-Type", "application/json; charset=utf-8")]
        self.respond(result.status, payload, [*content_type, *result.headers.items()])

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle


class _Server(EmulatorServer):
    request_queue_size = 128


@dataclass
class ServerHandle(HandleBase):
    """A running mock; `api_url` is what a spec's `source.api_url` takes."""

    API_PATH = "/index.php/api2/"

    base_url: str
    mock: X2Mock
    _server: EmulatorServer
    _thread: threading.Thread

    @property
    def store(self) -> Store:
        return self.mock.store


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
    mock = X2Mock(store, config)
    server = _Server((host, port), _Handler, mock, verbose)
    thread = serve_in_background(server, "x2crm-mock", poll_interval=0.5)
    return ServerHandle(server.base_url, mock, server, thread)
