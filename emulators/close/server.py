"""HTTP plumbing: a stdlib ThreadingHTTPServer (HTTP/1.1, keep-alive) in front of `CloseMock`."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulators._common.http import EmulatorHandler, EmulatorServer, HandleBase, serve_in_background
from emulators.close.app import CloseMock, MockConfig, Reply, _BadRequest


class _Handler(EmulatorHandler):
    def _handle(self) -> None:
        body = self.read_body()
        mock: CloseMock = self.server.app
        try:
            reply = mock.handle(self.command, self.path, self.headers, body, self.server.base_url)
        except _BadRequest as exc:
            reply = Reply(400, {"error": str(exc), "errors": [], "field-errors": {}})
        payload = reply.raw if reply.raw is not None else json.dumps(reply.body).encode("utf-8")
        content_type = [("Content-Type", "application/json")] if reply.raw is None else []
        self.respond(reply.status, payload, [*content_type, *reply.headers.items()])

    do_GET = do_POST = do_PUT = do_DELETE = _handle


@dataclass
class ServerHandle(HandleBase):
    API_PATH = "/api/v1/"

    base_url: str
    mock: CloseMock
    _server: EmulatorServer
    _thread: threading.Thread


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
    server = EmulatorServer((host, port), _Handler, mock, verbose)
    thread = serve_in_background(server, "close-mock")
    return ServerHandle(server.base_url, mock, server, thread)
