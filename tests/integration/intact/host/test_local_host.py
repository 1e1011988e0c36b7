"""The local host serves the app's HTTP triggers with the real DurableOrchestrationClient, the
Durable status webhooks, function-key auth and timer triggers."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from intact.host import LocalFunctionsHost
from intact.runtime import LocalRuntime, VirtualClock
from tests.unit.intact.runtime.durable_app import Knobs, build_app

KEY = "test-function-key"


@pytest.fixture
def served() -> Iterator[tuple[LocalFunctionsHost, Knobs, httpx.Client]]:
    app, knobs = build_app()
    with (
        LocalRuntime(app, clock=VirtualClock(auto_advance=False)) as rt,
        LocalFunctionsHost(app, rt, function_keys={"default": KEY}) as host,
        httpx.Client(base_url=host.base_url, timeout=5) as client,
    ):
        yield host, knobs, client


def _follow(client: httpx.Client, url: str) -> httpx.Response:
    deadline = time.monotonic() + 5
    while True:
        reply = client.get(url)
        if reply.status_code != 202 or time.monotonic() > deadline:
            return reply
        time.sleep(0.02)


def test_http_starter_returns_check_status_links_and_status_reaches_completed(served) -> None:
    host, _, client = served
    auth = {"x-functions-key": KEY}
    started = client.post("/api/orchestrators/hello_sequence", json=["Paris"], headers=auth)
    assert started.status_code == 202
    links = started.json()
    assert started.headers["location"] == links["statusQueryGetUri"]
    assert links["statusQueryGetUri"].startswith(f"{host.base_url}/runtime/webhooks/durabletask/instances/")
    assert "code=" in links["statusQueryGetUri"] and links["id"] in links["statusQueryGetUri"]
    done = _follow(client, started.headers["location"])
    assert done.status_code == 200
    body = done.json()
    assert body["runtimeStatus"] == "Completed"
    assert body["output"] == ["Hello Paris!"]
    assert body["input"] == ["Paris"]
    assert body["instanceId"] == links["id"]


def test_function_and_webhook_routes_need_a_key(served) -> None:
    _, _, client = served
    assert client.post("/api/orchestrators/hello_sequence", json=[]).status_code == 401
    assert client.post("/api/orchestrators/hello_sequence?code=wrong", json=[]).status_code == 401
    started = client.post(f"/api/orchestrators/hello_sequence?code={KEY}", json=["x"])
    assert started.status_code == 202
    status_url = started.json()["statusQueryGetUri"].split("?")[0]
    assert client.get(status_url).status_code == 401
    assert client.get(status_url, headers={"x-functions-key": KEY}).status_code in (200, 202)
    assert client.get("/api/ping?who=me").text == "pong me"  # anonymous
    assert client.get("/api/nothing-here").status_code == 404
    # ADMIN needs the master key, not a function key
    assert client.post("/api/instances/x/stop", headers={"x-functions-key": KEY}).status_code == 401


def test_client_raise_event_get_status_terminate_through_the_app(served) -> None:
    host, _, client = served
    auth = {"x-functions-key": KEY}
    first = client.post("/api/orchestrators/approval", headers=auth).json()
    second = client.post("/api/orchestrators/approval", headers=auth).json()
    running = client.get(f"/api/instances/{first['id']}")
    assert running.json()["runtimeStatus"] in ("Pending", "Running")
    approve = client.post(f"/api/instances/{first['id']}/approve", json={"ok": True}, headers=auth)
    assert approve.status_code == 202
    assert _follow(client, first["statusQueryGetUri"]).json()["output"] == {"approved": {"ok": True}}
    stopped = client.post(
        f"/api/instances/{second['id']}/stop?reason=cancelled", headers={"x-functions-key": host.master_key}
    )
    assert stopped.status_code == 200 and set(stopped.json()) >= {first["id"], second["id"]}
    final = client.get(second["statusQueryGetUri"]).json()
    assert (final["runtimeStatus"], final["output"]) == ("Terminated", "cancelled")
    assert client.get("/api/instances/unknown-id").json()["runtimeStatus"] is None


def test_status_webhook_event_and_terminate_uris(served) -> None:
    _, _, client = served
    links = client.post("/api/orchestrators/approval", headers={"x-functions-key": KEY}).json()
    pending = client.get(links["statusQueryGetUri"])
    assert pending.status_code == 202 and pending.headers["location"]
    raised = client.post(links["sendEventPostUri"].replace("{eventName}", "Approval"), json="yes")
    assert raised.status_code == 202
    assert _follow(client, links["statusQueryGetUri"]).json()["output"] == {"approved": "yes"}
    assert client.post(links["terminatePostUri"].replace("{text}", "late")).status_code == 410
    history = client.get(links["statusQueryGetUri"] + "&showHistory=true").json()["historyEvents"]
    assert history[1]["EventType"] == "ExecutionStarted"


def test_timer_trigger_fires_on_demand(served) -> None:
    host, knobs, _ = served
    host.fire_timer("tick")
    host.fire_timer("tick", past_due=True)
    assert knobs.ticks == [False, True]


def test_run_timers_fires_on_startup_and_on_schedule() -> None:
    import threading

    import azure.durable_functions as df
    import azure.functions as func

    app = df.DFApp()
    fired: list[bool] = []
    twice = threading.Event()

    @app.timer_trigger(schedule="* * * * * *", arg_name="timer", run_on_startup=True)
    def every_second(timer: func.TimerRequest) -> None:
        fired.append(timer.past_due)
        if len(fired) >= 2:
            twice.set()

    with LocalRuntime(app) as rt, LocalFunctionsHost(app, rt, run_timers=True):
        assert twice.wait(2.5)
    assert fired[:2] == [False, False]
