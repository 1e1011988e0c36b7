"""`LocalFunctionsHost`: serves a DFApp's HTTP triggers and runs its timer triggers, in-process.

It plays the Functions host for the app's own triggers: `/api/<route>` for every httpTrigger
(with function-key auth), the Durable extension's webhooks and RPC endpoints (so the real
`DurableOrchestrationClient` works), and NCRONTAB timers. Async functions run on one event loop
thread shared by all hosts in the process, as the Python worker runs them on one loop; that also
keeps the SDK's process-wide aiohttp session on a single loop.
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
import json
import logging
import secrets
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace, TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import azure.durable_functions as df
import azure.functions as func
from azure.functions.timer import TimerRequest

from intact.host._cron import CronSchedule
from intact.host._durable_api import WEBHOOK_PREFIX, DurableApi, Reply
from intact.host._routes import Route
from intact.runtime import FunctionInfo, LocalRuntime, function_index

log = logging.getLogger("intact.host")
_ALL_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"})
_PAST_DUE = timedelta(seconds=1)


class _SharedLoop:
    """One asyncio loop thread for every host in the process, closed with the last host."""

    _lock = threading.Lock()
    _users = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    @classmethod
    def acquire(cls) -> asyncio.AbstractEventLoop:
        with cls._lock:
            if cls._loop is None:
                cls._loop = asyncio.new_event_loop()
                cls._thread = threading.Thread(
                    target=cls._loop.run_forever, name="intact-host-loop", daemon=True
                )
                cls._thread.start()
            cls._users += 1
            return cls._loop

    @classmethod
    def release(cls) -> None:
        with cls._lock:
            cls._users -= 1
            if cls._users or cls._loop is None:
                return
            loop, thread = cls._loop, cls._thread
            cls._loop = cls._thread = None
        from azure.durable_functions.models.utils import http_utils

        asyncio.run_coroutine_threadsafe(http_utils._close_session(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        assert thread is not None
        thread.join(10)
        loop.close()


class LocalFunctionsHost:
    """Serve the app's HTTP triggers on loopback and run its timers, backed by a LocalRuntime.

        with LocalRuntime(app) as rt, LocalFunctionsHost(app, rt, function_keys={"default": k}) as host:
            base = host.start()
            httpx.post(f"{base}/api/migrations", json=spec, headers={"x-functions-key": k})

    Auth levels: ANONYMOUS is open; FUNCTION takes any key of `function_keys` or the master key;
    ADMIN takes only `master_key` (generated per host). Send it as `x-functions-key` or `?code=`.
    """

    def __init__(
        self,
        app: df.DFApp,
        runtime: LocalRuntime,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        function_keys: dict[str, str] | None = None,
        run_timers: bool = False,
    ) -> None:
        self.app = app
        self.runtime = runtime
        self.functions = function_index(app)
        self.master_key = secrets.token_urlsafe(32)
        self.function_keys = dict(function_keys or {})
        self.system_key = secrets.token_urlsafe(32)  # what the durabletask webhook URLs carry
        self.run_timers = run_timers
        self._bind = (host, port)
        self._rpc_segment = f"durabletask/{secrets.token_urlsafe(16)}"
        self._durable = DurableApi(runtime)
        self._routes = [(Route.compile(_route_of(f)), f) for f in self.functions.http]
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self.base_url = ""

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> str:
        """Bind, serve in background threads, start timers if asked; returns the base URL."""
        if self._server is not None:
            return self.base_url
        self._loop = _SharedLoop.acquire()
        self._server = ThreadingHTTPServer(self._bind, _handler_class(self))
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        self.base_url = f"http://{host}:{port}"
        serve = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="intact-host-http",
            daemon=True,
        )
        serve.start()
        self._threads.append(serve)
        if self.run_timers:
            for info in self.functions.timers.values():
                t = threading.Thread(
                    target=self._timer_loop, args=(info,), name=f"timer-{info.name}", daemon=True
                )
                t.start()
                self._threads.append(t)
        return self.base_url

    def close(self) -> None:
        if self._server is None:
            return
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        for t in self._threads:
            t.join(5)
        self._server = None
        _SharedLoop.release()

    def __enter__(self) -> LocalFunctionsHost:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- invoking functions ------------------------------------------------------------------

    def client_binding(self, base_url: str | None = None) -> str:
        """The durableClient binding JSON for a function invoked through this host."""
        base = base_url or self.base_url
        return self._durable.binding_json(base, f"{self.base_url}/{self._rpc_segment}/", self.system_key)

    def _call(self, info: FunctionInfo, kwargs: dict[str, Any]) -> Any:
        """Run the user function; coroutines go to the shared loop, sync code runs in this thread."""
        target: Callable[..., Any] = info.func
        if "context" in inspect.signature(target).parameters:
            kwargs["context"] = SimpleNamespace(
                invocation_id=str(uuid.uuid4()),
                function_name=info.name,
                function_directory="",
                trace_context=None,
            )
        result = target(**kwargs)
        if inspect.isawaitable(result):
            assert self._loop is not None
            result = asyncio.run_coroutine_threadsafe(_await(result), self._loop).result()
        return result

    def _bindings_for(self, info: FunctionInfo, base_url: str) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        for binding in info.bindings:
            if binding.get("type") == "durableClient":
                kwargs[binding["name"]] = self.client_binding(base_url)
        return kwargs

    def fire_timer(self, function_name: str, *, past_due: bool = False) -> Any:
        """Invoke one timer-triggered function now (for tests and manual runs)."""
        info = self.functions.timers[function_name]
        schedule = CronSchedule.parse(info.trigger["schedule"])
        now = datetime.now(UTC)
        status = {
            "Last": now.isoformat(),
            "Next": schedule.next_after(now).isoformat(),
            "LastUpdated": now.isoformat(),
        }
        request = TimerRequest(past_due=past_due, schedule_status=status, schedule={"AdjustForDST": True})
        kwargs = {info.trigger_arg: request, **self._bindings_for(info, self.base_url)}
        return self._call(info, kwargs)

    def _timer_loop(self, info: FunctionInfo) -> None:
        schedule = CronSchedule.parse(info.trigger["schedule"])
        if info.trigger.get("runOnStartup"):
            self._fire_logged(info.name, False)
        due = schedule.next_after(datetime.now(UTC))
        while not self._stop.wait(max(0.0, (due - datetime.now(UTC)).total_seconds())):
            late = datetime.now(UTC) - due > _PAST_DUE
            self._fire_logged(info.name, late)
            due = schedule.next_after(max(due, datetime.now(UTC) - _PAST_DUE))

    def _fire_logged(self, name: str, past_due: bool) -> None:
        try:
            self.fire_timer(name, past_due=past_due)
        except Exception:
            log.exception("timer function %s failed", name)

    # -- HTTP --------------------------------------------------------------------------------

    def _authorized(self, level: str, supplied: str | None, *, webhook: bool = False) -> bool:
        if level == "anonymous":
            return True
        if not supplied:
            return False
        allowed = [self.master_key]
        if level != "admin":
            allowed += list(self.function_keys.values())
        if webhook:
            allowed.append(self.system_key)
        return any(hmac.compare_digest(supplied.encode(), k.encode()) for k in allowed)

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> Reply | func.HttpResponse:
        """Route one request: durable RPC, durable webhooks, or an app function under /api."""
        split = urlsplit(raw_path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        path = unquote(split.path).strip("/")
        base_url = f"http://{headers.get('host') or self.base_url.removeprefix('http://')}"
        supplied = headers.get("x-functions-key") or query.get("code")
        if path.startswith(self._rpc_segment + "/") or path == self._rpc_segment:
            parts = path[len(self._rpc_segment) :].strip("/").split("/")
            return self._durable.handle(method, parts, query, body, base_url, self.system_key)
        if path.startswith(WEBHOOK_PREFIX + "/"):
            if not self._authorized("function", supplied, webhook=True):
                return Reply(401, {"message": "a function key is required (x-functions-key or ?code=)"})
            parts = path[len(WEBHOOK_PREFIX) :].strip("/").split("/")
            return self._durable.handle(method, parts, query, body, base_url, self.system_key)
        if not path.lower().startswith("api/") and path.lower() != "api":
            return Reply(404, {"message": "not found"})
        sub = path[4:]
        for route, info in self._routes:
            params = route.match(sub)
            if params is None:
                continue
            methods = {m.upper() for m in info.trigger.get("methods") or _ALL_METHODS}
            if method not in methods:
                continue
            if not self._authorized(str(info.trigger.get("authLevel", "function")).lower(), supplied):
                return Reply(401, {"message": "a function key is required (x-functions-key or ?code=)"})
            url = f"{base_url}/{path}" + (f"?{split.query}" if split.query else "")
            request = func.HttpRequest(
                method, url, headers=headers, params=query, route_params=params, body=body
            )
            kwargs = {info.trigger_arg: request, **self._bindings_for(info, base_url)}
            try:
                return _as_response(self._call(info, kwargs))
            except Exception:
                log.exception("function %s failed", info.name)
                return Reply(500, {"message": f"function {info.name} failed"})
        return Reply(404, {"message": f"no function serves {method} /{path}"})


def _route_of(info: FunctionInfo) -> str:
    return str(info.trigger.get("route") or info.name)


def _as_response(result: Any) -> func.HttpResponse:
    if isinstance(result, func.HttpResponse):
        return result
    if result is None:
        return func.HttpResponse(status_code=204)
    if isinstance(result, str | bytes):
        return func.HttpResponse(result)
    return func.HttpResponse(json.dumps(result), mimetype="application/json")


async def _await(awaitable: Any) -> Any:
    return await awaitable


def _handler_class(host: LocalFunctionsHost) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                reply = host.handle(self.command, self.path, headers, body)
            except Exception:
                log.exception("local host error on %s %s", self.command, self.path)
                reply = Reply(500, {"message": "local host error"})
            if isinstance(reply, Reply):
                payload = b"" if reply.body is None else json.dumps(reply.body).encode()
                out_headers = {"Content-Type": "application/json; charset=utf-8", **reply.headers}
                status = reply.status
            else:
                payload = reply.get_body() or b""
                out_headers = dict(reply.headers.items())
                if not any(k.lower() == "content-type" for k in out_headers):
                    out_headers["Content-Type"] = f"{reply.mimetype}; charset={reply.charset}"
                status = reply.status_code
            self.send_response(status)
            for key, value in out_headers.items():
                if key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s - " + format, self.address_string(), *args)

    return Handler
