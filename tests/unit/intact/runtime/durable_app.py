"""A small DFApp exercising every durable feature the local runtime emulates.

`build_app()` returns a fresh app each time (`DFApp.get_functions()` is single-shot per app) and
the `Knobs` its functions read, so a test can make an activity fail or flip a branch.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func


class BackoffRetryOptions(df.RetryOptions):
    """RetryOptions with the extension's backoff settings, which SDK 1.7.0 does not expose."""

    def __init__(self, first_ms: int, attempts: int, backoff: float, max_ms: int | None = None) -> None:
        super().__init__(first_ms, attempts)
        self.backoff = backoff
        self.max_ms = max_ms

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {**super().to_json(), "backoffCoefficient": self.backoff}
        if self.max_ms:
            body["maxRetryIntervalInMilliseconds"] = self.max_ms
        return body


@dataclass
class Knobs:
    flaky_failures: int = 2
    flaky_calls: int = 0
    branch_flipped: bool = False
    ticks: list[bool] = field(default_factory=list)
    gate: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


def build_app() -> tuple[df.DFApp, Knobs]:
    app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
    knobs = Knobs()
    knobs.gate.set()

    @app.activity_trigger(input_name="name")
    def say_hello(name: str) -> str:
        return f"Hello {name}!"

    @app.activity_trigger(input_name="n")
    def square(n: int) -> int:
        return n * n

    @app.activity_trigger(input_name="payload")
    async def echo(payload: Any) -> Any:
        return payload

    @app.activity_trigger(input_name="what")
    def flaky(what: str) -> str:
        with knobs.lock:
            knobs.flaky_calls += 1
            calls = knobs.flaky_calls
        if calls <= knobs.flaky_failures:
            raise RuntimeError(f"transient failure #{calls}")
        return f"{what} after {calls} calls"

    @app.activity_trigger(input_name="what")
    def gated(what: str) -> str:
        knobs.gate.wait(5)
        return f"{what} passed the gate"

    @app.activity_trigger(input_name="unused")
    def flip_switch(unused: Any) -> bool:
        knobs.branch_flipped = True
        return True

    @app.orchestration_trigger(context_name="context")
    def hello_sequence(context: df.DurableOrchestrationContext):
        cities = context.get_input() or ["Tokyo", "Seattle"]
        greetings = []
        for city in cities:
            greetings.append((yield context.call_activity(say_hello, city)))
            context.set_custom_status({"greeted": len(greetings)})
        return greetings

    @app.orchestration_trigger(context_name="context")
    def fan_out(context: df.DurableOrchestrationContext):
        n = context.get_input()
        results = yield context.task_all([context.call_activity(square, i) for i in range(n)])
        return sum(results)

    @app.orchestration_trigger(context_name="context")
    def retrying(context: df.DurableOrchestrationContext):
        spec = context.get_input()
        options = BackoffRetryOptions(spec["first_ms"], spec["attempts"], spec.get("backoff", 1.0))
        return (yield context.call_activity_with_retry(flaky, options, "job"))

    @app.orchestration_trigger(context_name="context")
    def sleeper(context: df.DurableOrchestrationContext):
        hours = context.get_input()
        started = context.current_utc_datetime
        yield context.create_timer(started + timedelta(hours=hours))
        greeting = yield context.call_activity(say_hello, "later")
        return {"greeting": greeting, "slept_s": (context.current_utc_datetime - started).total_seconds()}

    @app.orchestration_trigger(context_name="context")
    def approval(context: df.DurableOrchestrationContext):
        deadline = context.current_utc_datetime + timedelta(hours=24)
        approved = context.wait_for_external_event("Approval")
        timeout = context.create_timer(deadline)
        context.set_custom_status("waiting for approval")
        winner = yield context.task_any([approved, timeout])
        if winner == approved:
            timeout.cancel()
            return {"approved": approved.result}
        return {"approved": None, "timed_out": True}

    @app.orchestration_trigger(context_name="context")
    def counter(context: df.DurableOrchestrationContext):
        n = context.get_input() or 0
        context.set_custom_status({"n": n})
        if n >= 3:
            return n
        yield context.create_timer(context.current_utc_datetime + timedelta(minutes=5))
        context.continue_as_new(n + 1)

    @app.orchestration_trigger(context_name="context")
    def parent(context: df.DurableOrchestrationContext):
        children = [
            context.call_sub_orchestrator(
                "hello_sequence", [f"child-{i}"], instance_id=f"{context.instance_id}-c{i}"
            )
            for i in range(2)
        ]
        results = yield context.task_all(children)
        try:
            yield context.call_sub_orchestrator("failing", None)
        except Exception as exc:
            failure = str(exc)
        return {"children": results, "failure": failure}

    @app.orchestration_trigger(context_name="context")
    def failing(context: df.DurableOrchestrationContext):
        yield context.call_activity(say_hello, "doomed")
        raise ValueError("boom: bad input")

    @app.orchestration_trigger(context_name="context")
    def wobbly(context: df.DurableOrchestrationContext):
        # Branches on a mutable global: the replay after flip_switch takes the other path.
        if not knobs.branch_flipped:
            yield context.call_activity(flip_switch, None)
        else:
            yield context.call_activity(square, 2)
        return "unreachable"

    @app.orchestration_trigger(context_name="context")
    def uuids(context: df.DurableOrchestrationContext):
        first = context.new_uuid()
        echoed = yield context.call_activity(echo, first)
        return {"now": first, "echoed": echoed, "second": context.new_uuid()}

    @app.orchestration_trigger(context_name="context")
    def slow(context: df.DurableOrchestrationContext):
        return (yield context.call_activity(gated, context.get_input()))

    @app.route(route="orchestrators/{name}", methods=["POST"])
    @app.durable_client_input(client_name="client")
    async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
        body = req.get_json() if req.get_body() else None
        instance_id = await client.start_new(req.route_params["name"], None, body)
        return client.create_check_status_response(req, instance_id)

    @app.route(route="instances/{id}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
    @app.durable_client_input(client_name="client")
    async def http_status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
        status = await client.get_status(req.route_params["id"], show_input=True)
        body = {
            "runtimeStatus": status.runtime_status.value if status.runtime_status else None,
            "output": status.output,
            "customStatus": status.custom_status,
        }
        return func.HttpResponse(json.dumps(body), mimetype="application/json")

    @app.route(route="instances/{id}/approve", methods=["POST"])
    @app.durable_client_input(client_name="client")
    async def http_approve(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
        await client.raise_event(req.route_params["id"], "Approval", req.get_json())
        return func.HttpResponse(status_code=202)

    @app.route(route="instances/{id}/stop", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
    @app.durable_client_input(client_name="client")
    async def http_stop(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
        await client.terminate(req.route_params["id"], req.params.get("reason", "stopped"))
        listed = await client.get_status_all()
        return func.HttpResponse(json.dumps([s.instance_id for s in listed]), mimetype="application/json")

    @app.route(route="ping", auth_level=func.AuthLevel.ANONYMOUS)
    def ping(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse(f"pong {req.params.get('who', '')}".strip())

    @app.timer_trigger(schedule="0 */5 * * * *", arg_name="timer")
    def tick(timer: func.TimerRequest) -> None:
        knobs.ticks.append(timer.past_due)

    return app, knobs
