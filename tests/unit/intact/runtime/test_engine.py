"""The local runtime replays real DFApp orchestrators: activities, fan-out, retries, timers,
external events, sub-orchestrations, continue_as_new, failures and determinism."""

from __future__ import annotations

import pytest

from intact.runtime import (
    InstanceExistsError,
    InstanceGoneError,
    InstanceNotFoundError,
    LocalRuntime,
    UnknownFunctionError,
    VirtualClock,
)
from intact.runtime._history import EventType, parse_time
from tests.unit.intact.runtime.durable_app import Knobs, build_app

TIMEOUT = 5


def _events(rt: LocalRuntime, iid: str) -> list[dict]:
    return rt._store.load(iid).history  # type: ignore[union-attr]


def test_activity_sequence_completes_with_output_custom_status_and_timestamps(runtime: LocalRuntime) -> None:
    iid = runtime.start_new("hello_sequence", "seq-1", ["Tokyo", "Lima"])
    assert iid == "seq-1"
    status = runtime.wait_for_completion(iid, TIMEOUT)
    assert status.runtime_status == "Completed"
    assert status.output == ["Hello Tokyo!", "Hello Lima!"]
    assert status.input == ["Tokyo", "Lima"]
    assert status.custom_status == {"greeted": 2}
    assert status.created_time <= status.last_updated_time
    assert status.created_time.tzinfo is not None


def test_activity_io_goes_through_the_activity_converter(runtime: LocalRuntime) -> None:
    iid = runtime.start_new("hello_sequence", input=["Ünïcode"])
    runtime.wait_for_completion(iid, TIMEOUT)
    scheduled = [e for e in _events(runtime, iid) if e["EventType"] == EventType.TASK_SCHEDULED]
    completed = [e for e in _events(runtime, iid) if e["EventType"] == EventType.TASK_COMPLETED]
    assert scheduled[0]["Name"] == "say_hello"
    assert scheduled[0]["Input"] == '"\\u00dcn\\u00efcode"'  # the SDK's df_dumps
    assert completed[0]["Result"] == '"Hello \\u00dcn\\u00efcode!"'  # ActivityTriggerConverter.encode
    assert completed[0]["TaskScheduledId"] == scheduled[0]["EventId"] == 0


def test_task_all_fan_out(runtime: LocalRuntime) -> None:
    iid = runtime.start_new("fan_out", input=10)
    status = runtime.wait_for_completion(iid, TIMEOUT)
    assert status.output == sum(i * i for i in range(10))
    scheduled = [e["EventId"] for e in _events(runtime, iid) if e["EventType"] == EventType.TASK_SCHEDULED]
    assert scheduled == list(range(10))


def test_many_instances_run_concurrently(runtime: LocalRuntime) -> None:
    ids = [runtime.start_new("fan_out", input=5) for _ in range(6)]
    assert [runtime.wait_for_completion(i, TIMEOUT).output for i in ids] == [30] * 6


def test_durable_timer_fires_on_the_virtual_clock(runtime: LocalRuntime, clock: VirtualClock) -> None:
    before = clock.now()
    iid = runtime.start_new("sleeper", input=2)
    status = runtime.wait_for_completion(iid, TIMEOUT)
    assert status.output == {"greeting": "Hello later!", "slept_s": 7200.0}
    assert (clock.now() - before).total_seconds() == 7200
    fired = [e for e in _events(runtime, iid) if e["EventType"] == EventType.TIMER_FIRED]
    assert len(fired) == 1 and fired[0]["TimerId"] == 0


def test_retry_honours_first_interval_and_max_attempts(runtime: LocalRuntime, knobs: Knobs) -> None:
    iid = runtime.start_new("retrying", input={"first_ms": 30_000, "attempts": 3})
    status = runtime.wait_for_completion(iid, TIMEOUT)
    assert status.runtime_status == "Completed"
    assert status.output == "job after 3 calls"
    history = _events(runtime, iid)
    timers = [e for e in history if e["EventType"] == EventType.TIMER_CREATED]
    delays = [(parse_time(t["FireAt"]) - parse_time(t["Timestamp"])).total_seconds() for t in timers]
    assert delays == [30, 30]
    assert [e["EventId"] for e in history if e["EventType"] == EventType.TASK_SCHEDULED] == [0, 2, 4]


def test_retry_backoff_and_final_failure(runtime: LocalRuntime, knobs: Knobs) -> None:
    knobs.flaky_failures = 10
    iid = runtime.start_new("retrying", input={"first_ms": 1000, "attempts": 3, "backoff": 2.0})
    status = runtime.wait_for_completion(iid, TIMEOUT)
    assert status.runtime_status == "Failed"
    assert "transient failure #3" in status.output
    assert knobs.flaky_calls == 3
    timers = [e for e in _events(runtime, iid) if e["EventType"] == EventType.TIMER_CREATED]
    delays = [(parse_time(t["FireAt"]) - parse_time(t["Timestamp"])).total_seconds() for t in timers]
    assert delays == [1, 2, 4]  # one extra timer after the last attempt, as the SDK expects


def test_external_event_wins_the_race_and_cancels_the_timer(knobs_app: tuple) -> None:
    clock = VirtualClock(auto_advance=False)
    with LocalRuntime(knobs_app[0], clock=clock) as rt:
        iid = rt.start_new("approval")
        rt.raise_event(iid, "Approval", {"by": "ops"})
        status = rt.wait_for_completion(iid, TIMEOUT)
        assert status.output == {"approved": {"by": "ops"}}
        assert status.custom_status == "waiting for approval"
        assert len(rt._timers) == 1  # still queued, but cancelled: it will not fire
        clock.advance(48 * 3600)
        history = _events(rt, iid)
        assert not [e for e in history if e["EventType"] == EventType.TIMER_FIRED]


def test_external_event_times_out(knobs_app: tuple) -> None:
    clock = VirtualClock(auto_advance=False)
    with LocalRuntime(knobs_app[0], clock=clock) as rt:
        iid = rt.start_new("approval")
        with pytest.raises(TimeoutError):
            rt.wait_for_completion(iid, 0.2)
        assert rt.get_status(iid).runtime_status == "Running"  # type: ignore[union-attr]
        clock.advance(24 * 3600)
        assert rt.wait_for_completion(iid, TIMEOUT).output == {"approved": None, "timed_out": True}


def test_sub_orchestrations_with_instance_ids_and_failure(runtime: LocalRuntime) -> None:
    iid = runtime.start_new("parent", "p1")
    status = runtime.wait_for_completion(iid, TIMEOUT)
    assert status.output["children"] == [["Hello child-0!"], ["Hello child-1!"]]
    assert "boom: bad input" in status.output["failure"]
    child = runtime.get_status("p1-c1")
    assert child is not None and child.runtime_status == "Completed" and child.name == "hello_sequence"
    failed = runtime.list_instances(runtime_status=["Failed"])
    assert [s.name for s in failed] == ["failing"]


def test_continue_as_new_restarts_with_fresh_history(runtime: LocalRuntime) -> None:
    iid = runtime.start_new("counter", input=0)
    status = runtime.wait_for_completion(iid, TIMEOUT)
    assert status.output == 3
    assert status.input == 3
    assert status.custom_status == {"n": 3}
    started = [e for e in _events(runtime, iid) if e["EventType"] == EventType.EXECUTION_STARTED]
    assert len(started) == 1


def test_orchestrator_exception_fails_with_message(runtime: LocalRuntime) -> None:
    iid = runtime.start_new("failing")
    status = runtime.wait_for_completion(iid, TIMEOUT)
    assert status.runtime_status == "Failed"
    assert status.output.startswith("Orchestrator function 'failing' failed: boom: bad input")


def test_non_determinism_is_detected(runtime: LocalRuntime, knobs: Knobs) -> None:
    iid = runtime.start_new("wobbly")
    status = runtime.wait_for_completion(iid, TIMEOUT)
    assert knobs.branch_flipped
    assert status.runtime_status == "Failed"
    assert "Non-deterministic" in status.output
    assert "TASK_SCHEDULED('flip_switch')" in status.output
    assert "CALL_ACTIVITY('square')" in status.output


def test_new_uuid_is_stable_under_replay(runtime: LocalRuntime) -> None:
    status = runtime.wait_for_completion(runtime.start_new("uuids", "u-1"), TIMEOUT)
    assert status.output["now"] == status.output["echoed"]
    assert status.output["second"] != status.output["now"]


def test_terminate_and_raise_after_end(knobs_app: tuple) -> None:
    with LocalRuntime(knobs_app[0], clock=VirtualClock(auto_advance=False)) as rt:
        iid = rt.start_new("approval")
        rt.terminate(iid, "no longer needed")
        status = rt.wait_for_completion(iid, TIMEOUT)
        assert (status.runtime_status, status.output) == ("Terminated", "no longer needed")
        with pytest.raises(InstanceGoneError):
            rt.raise_event(iid, "Approval", True)
        with pytest.raises(InstanceNotFoundError):
            rt.terminate("nope", "x")


def test_refuses_running_duplicate_and_unknown_orchestrator(knobs_app: tuple) -> None:
    with LocalRuntime(knobs_app[0], clock=VirtualClock(auto_advance=False)) as rt:
        rt.start_new("approval", "dup")
        with pytest.raises(InstanceExistsError):
            rt.start_new("approval", "dup")
        with pytest.raises(UnknownFunctionError):
            rt.start_new("no_such_orchestrator")
        assert rt.get_status("missing") is None


def test_status_json_has_the_http_api_shape(runtime: LocalRuntime) -> None:
    iid = runtime.start_new("hello_sequence", input=["A"])
    runtime.wait_for_completion(iid, TIMEOUT)
    body = runtime.get_status(iid, show_history=True).to_durable_json()  # type: ignore[union-attr]
    assert set(body) == {
        "name",
        "instanceId",
        "runtimeStatus",
        "input",
        "customStatus",
        "output",
        "createdTime",
        "lastUpdatedTime",
        "historyEvents",
    }
    assert body["createdTime"].endswith("Z")
    kinds = [e["EventType"] for e in body["historyEvents"]]
    assert kinds[:2] == ["OrchestratorStarted", "ExecutionStarted"]
    assert "TaskCompleted" in kinds and kinds[-1] == "ExecutionCompleted"


def test_app_functions_are_indexed_once_and_shared() -> None:
    app, _ = build_app()
    first = LocalRuntime(app)
    second = LocalRuntime(app)
    assert first.functions is second.functions
    assert set(first.functions.timers) == {"tick"}
