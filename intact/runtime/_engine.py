"""`LocalRuntime`: an in-process Durable Task backend that drives the real SDK replay engine.

It plays the part of the Durable extension. Each instance's state (history, undelivered events,
retry bookkeeping) lives in a store. Work arrives as events in an instance's inbox; one worker at
a time per instance takes ONE event, replays the whole history plus that event through the SDK
(`_replay.run_episode`), checks determinism and turns the new actions into scheduling events and
real work: activities on a bounded thread pool, timers on the timer thread, sub-orchestrations as
child instances. One event per episode keeps the SDK's hidden retry-timer ids predictable.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import azure.durable_functions as df
from azure.durable_functions.models.utils.df_serialization import df_dumps

from intact.runtime import _history as h
from intact.runtime._activities import ActivityOutcome, run_activity
from intact.runtime._clock import Clock, RealClock
from intact.runtime._errors import (
    InstanceExistsError,
    InstanceGoneError,
    InstanceNotFoundError,
    LocalRuntimeError,
    UnknownFunctionError,
    UnsupportedActionError,
)
from intact.runtime._functions import FunctionIndex, function_index
from intact.runtime._history import Event, EventType
from intact.runtime._replay import ActionType, EpisodeResult, check_determinism, run_episode
from intact.runtime._status import TERMINAL, InstanceStatus
from intact.runtime._store import Instance, MemoryStore, SqliteStore, Store
from intact.runtime._timers import TimerQueue

log = logging.getLogger("intact.runtime")
_UNSUPPORTED = {
    ActionType.CALL_ENTITY: "entities",
    ActionType.SIGNAL_ENTITY: "entities",
    ActionType.CALL_HTTP: "call_http",
}


@dataclass
class _Episode:
    """What a worker prepared under the lock before replaying outside it."""

    now: datetime
    new_events: list[Event]
    hidden: list[Event]
    retries: dict[str, dict[str, Any]]
    recorded: list[Event]
    replay_history: list[Event]
    consumed: bool  # the first inbox event was replayed (False for the first episode)


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _retry_delay(options: dict[str, Any], attempt: int) -> timedelta:
    """DTFx retry interval: first * backoff^(attempt-1), capped by maxRetryInterval if given."""
    millis = float(options["firstRetryIntervalInMilliseconds"])
    millis *= float(options.get("backoffCoefficient", 1.0)) ** (attempt - 1)
    cap = options.get("maxRetryIntervalInMilliseconds")
    if cap:
        millis = min(millis, float(cap))
    return timedelta(milliseconds=millis)


class LocalRuntime:
    """Runs a DFApp's orchestrations in this process, the way the Durable extension would.

        with LocalRuntime(app, clock=VirtualClock()) as rt:
            iid = rt.start_new("hello_orchestrator", input={"name": "Tokyo"})
            status = rt.wait_for_completion(iid, timeout=5)
            assert status.runtime_status == "Completed"

    With `store_path`, instances live in SQLite: other processes can read their status (no
    `start()` needed) and `start()` resumes instances left Running by a process that died,
    re-running activities that were scheduled but had not reported back (at-least-once).
    """

    def __init__(
        self,
        app: df.DFApp,
        *,
        store_path: Path | None = None,
        max_activity_workers: int = 8,
        clock: Clock | None = None,
    ) -> None:
        self.app = app
        self.functions: FunctionIndex = function_index(app)
        self.clock: Clock = clock or RealClock()
        self._store: Store = SqliteStore(store_path) if store_path is not None else MemoryStore()
        self._max_activity_workers = max_activity_workers
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._live: dict[str, Instance] = {}
        self._queued: set[str] = set()
        self._busy = 0
        self._started = False
        self._closed = False
        self._orchestrator_pool: ThreadPoolExecutor | None = None
        self._activity_pool: ThreadPoolExecutor | None = None
        self._timers = TimerQueue(self.clock, self._cond, lambda: self._busy == 0, self._on_timer)
        self.clock.subscribe(self._poke)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the workers and resume every instance the store holds as Pending or Running."""
        with self._lock:
            if self._started:
                return
            if self._closed:
                raise LocalRuntimeError("this runtime was closed; create a new one")
            self._started = True
            self._orchestrator_pool = ThreadPoolExecutor(4, thread_name_prefix="intact-orchestrator")
            self._activity_pool = ThreadPoolExecutor(
                self._max_activity_workers, thread_name_prefix="intact-activity"
            )
            for inst in self._store.load_all(["Pending", "Running", "ContinuedAsNew"]):
                self._live[inst.instance_id] = inst
            for inst in list(self._live.values()):
                self._resume(inst)
        self._timers.start()

    def close(self) -> None:
        """Stop the workers. Running instances stay Running in the store, ready to resume."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        self._timers.close()
        for pool in (self._orchestrator_pool, self._activity_pool):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> LocalRuntime:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- client API --------------------------------------------------------------------------

    def start_new(self, orchestrator_name: str, instance_id: str | None = None, input: Any = None) -> str:
        """Start an orchestration; returns its instance id. Refuses an id that is still running."""
        return self.start_new_json(orchestrator_name, instance_id, None if input is None else df_dumps(input))

    def start_new_json(self, orchestrator_name: str, instance_id: str | None, input_json: str | None) -> str:
        """`start_new` with the input already serialized (as the HTTP management API receives it)."""
        if orchestrator_name not in self.functions.orchestrators:
            raise UnknownFunctionError(
                f"The function '{orchestrator_name}' doesn't exist or is not an orchestrator function"
            )
        iid = instance_id or uuid.uuid4().hex
        with self._lock:
            existing = self._live.get(iid) or self._store.load(iid)
            if existing is not None and existing.status not in TERMINAL:
                raise InstanceExistsError(
                    f"An Orchestration instance with the status {existing.status} already exists: {iid}"
                )
            self._create(iid, orchestrator_name, input_json)
        return iid

    def get_status(self, instance_id: str, *, show_history: bool = False) -> InstanceStatus | None:
        """The instance's status, or None if there is no such instance."""
        with self._lock:
            inst = self._live.get(instance_id)
            if inst is not None:
                return self._status(inst, show_history)
        stored = self._store.load(instance_id)
        return None if stored is None else self._status(stored, show_history)

    def wait_for_completion(self, instance_id: str, timeout: float) -> InstanceStatus:
        """Block until the instance is Completed, Failed or Terminated; TimeoutError after `timeout` s."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                status = self.get_status(instance_id)
                if status is None:
                    raise InstanceNotFoundError(f"No instance with ID {instance_id} found.")
                if status.is_terminal:
                    return status
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"instance {instance_id} still {status.runtime_status} after {timeout} s"
                    )
                self._cond.wait(min(remaining, 0.5 if self._started else 0.05))

    def raise_event(self, instance_id: str, event_name: str, data: Any = None) -> None:
        """Send an external event; buffered until the orchestrator waits for that name."""
        self.raise_event_json(instance_id, event_name, df_dumps(data))

    def raise_event_json(self, instance_id: str, event_name: str, data_json: str | None) -> None:
        with self._lock:
            inst = self._require(instance_id)
            event = h.event_raised(self.clock.now(), event_name, data_json)
            if event_name in inst.waiting_for:
                inst.waiting_for.remove(event_name)
                inst.inbox.append(event)
            else:
                inst.pending_events.append(event)
            self._save(inst)
            self._kick(instance_id)

    def terminate(self, instance_id: str, reason: str) -> None:
        """Stop the instance now: Terminated, with the reason as output."""
        with self._lock:
            inst = self._require(instance_id)
            now = self.clock.now()
            inst.history.append(h.execution_terminated(now, reason))
            inst.inbox.clear()
            self._end(inst, "Terminated", json.dumps(reason), now)

    def purge(self, instance_id: str) -> bool:
        """Delete a finished instance's record; False if there was none. Running ones are refused."""
        with self._lock:
            if instance_id in self._live:
                raise LocalRuntimeError(f"instance {instance_id} is still running; terminate it first")
            return self._store.delete(instance_id)

    def list_instances(self, *, runtime_status: list[str] | None = None) -> list[InstanceStatus]:
        """Every instance in the store, optionally only those in the given statuses."""
        with self._lock:
            return [self._status(i, False) for i in self._store.load_all(runtime_status)]

    # -- bookkeeping -------------------------------------------------------------------------

    def _status(self, inst: Instance, show_history: bool) -> InstanceStatus:
        return InstanceStatus(
            instance_id=inst.instance_id,
            name=inst.name,
            runtime_status=inst.status,  # type: ignore[arg-type]
            input=_loads(inst.input_json),
            custom_status=_loads(inst.custom_status_json),
            output=_loads(inst.output_json),
            created_time=inst.created,
            last_updated_time=inst.updated,
            history=[h.for_status_api(e) for e in inst.history] if show_history else None,
        )

    def _require(self, instance_id: str) -> Instance:
        """The live instance (or, when not started, the stored one) that may still take work."""
        inst = self._live.get(instance_id)
        if inst is None:
            inst = self._store.load(instance_id)
            if inst is None:
                raise InstanceNotFoundError(f"No instance with ID {instance_id} found.")
            if inst.status in TERMINAL:
                raise InstanceGoneError(f"Instance with ID {instance_id} is gone: it is {inst.status}")
        return inst

    def _save(self, inst: Instance) -> None:
        self._store.save(inst)
        self._cond.notify_all()

    def _poke(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _create(
        self,
        iid: str,
        name: str,
        input_json: str | None,
        parent: Instance | None = None,
        parent_task_id: int | None = None,
    ) -> Instance:
        now = self.clock.now()
        inst = Instance(
            iid,
            name,
            "Pending",
            now,
            now,
            input_json=input_json,
            parent_instance_id=parent.instance_id if parent else None,
            parent_task_id=parent_task_id,
            execution=uuid.uuid4().hex,
        )
        self._live[iid] = inst
        self._save(inst)
        self._kick(iid)
        return inst

    def _kick(self, iid: str) -> None:
        """Make sure one worker will look at this instance's inbox."""
        if not self._started or self._closed or iid in self._queued or iid not in self._live:
            return
        assert self._orchestrator_pool is not None
        self._queued.add(iid)
        self._busy += 1
        self._orchestrator_pool.submit(self._drain, iid)

    def _release(self, iid: str) -> None:
        self._queued.discard(iid)
        self._busy -= 1
        self._cond.notify_all()

    # -- episodes ----------------------------------------------------------------------------

    def _drain(self, iid: str) -> None:
        """Replay the instance once per inbox event until it has nothing left to process."""
        while True:
            with self._lock:
                inst = self._live.get(iid)
                idle = inst is None or inst.status in TERMINAL or (inst.history and not inst.inbox)
                if self._closed or idle:
                    self._release(iid)
                    return
                try:
                    episode = self._prepare(inst)
                    orchestrator = self.functions.orchestrators[inst.name]
                except Exception as exc:
                    self._crash(inst, exc)
                    continue
            result = run_episode(
                orchestrator, iid, episode.replay_history, inst.input_json, inst.parent_instance_id
            )
            with self._lock:
                if self._live.get(iid) is inst:
                    try:
                        self._apply(inst, episode, result)
                    except Exception as exc:
                        self._crash(inst, exc)

    def _crash(self, inst: Instance, exc: Exception) -> None:
        log.exception("local runtime error in instance %s", inst.instance_id)
        self._end(
            inst, "Failed", json.dumps(f"Local runtime error: {type(exc).__name__}: {exc}"), self.clock.now()
        )

    def _prepare(self, inst: Instance) -> _Episode:
        """Build the replay input without changing the instance: a concurrent save must never
        persist half an episode (the event stays in the inbox until `_apply`)."""
        now = self.clock.now()
        recorded = [
            e for e in inst.history if e["EventType"] in h.SCHEDULING and e["EventId"] not in inst.hidden_ids
        ]
        if not inst.history:
            new_events = [h.execution_started(now, inst.name, inst.input_json, inst.parent_instance_id)]
        else:
            new_events = [inst.inbox[0]]
        hidden, retries = self._retry_bookkeeping(inst, new_events[-1], now)
        replay = [{**e, "IsPlayed": True} for e in inst.history]
        replay += [h.orchestrator_started(now), *new_events]
        return _Episode(now, new_events, hidden, retries, recorded, replay, consumed=bool(inst.history))

    def _retry_bookkeeping(
        self, inst: Instance, event: Event, now: datetime
    ) -> tuple[list[Event], dict[str, dict[str, Any]]]:
        """The extension's side of call_*_with_retry: a retry timer after each failed attempt
        (also after the last one, as the SDK expects), then a reschedule or the final failure.
        Returns the hidden scheduling events (ids from `next_id` on) and the bookkeeping to add."""
        kind = event["EventType"]
        tid = inst.next_id
        if kind in (EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_INSTANCE_FAILED):
            retry = inst.retries.get(str(event["TaskScheduledId"]))
            if retry is None or retry["kind"] != "task":
                return [], {}
            fire_at = now + _retry_delay(retry["options"], retry["attempt"])
            return [h.timer_created(now, tid, fire_at)], {str(tid): {**retry, "kind": "timer"}}
        if kind == EventType.TIMER_FIRED:
            retry = inst.retries.get(str(event["TimerId"]))
            if (
                retry is None
                or retry["kind"] != "timer"
                or retry["attempt"] >= int(retry["options"]["maxNumberOfAttempts"])
            ):
                return [], {}
            update = {str(tid): {**retry, "kind": "task", "attempt": retry["attempt"] + 1}}
            action = retry["action"]
            if action["actionType"] == ActionType.CALL_ACTIVITY_WITH_RETRY:
                return [h.task_scheduled(now, tid, action["functionName"], action.get("input"))], update
            return [
                h.sub_orchestration_created(
                    now, tid, action["functionName"], retry["child_id"], action.get("input")
                )
            ], update
        return [], {}

    def _apply(self, inst: Instance, ep: _Episode, result: EpisodeResult) -> None:
        if ep.consumed:
            inst.inbox.pop(0)
        inst.history.append(ep.replay_history[len(inst.history)])  # this episode's OrchestratorStarted
        inst.history.extend(ep.new_events)
        inst.history.extend(ep.hidden)
        inst.next_id += len(ep.hidden)
        inst.retries.update(ep.retries)
        inst.hidden_ids.extend(e["EventId"] for e in ep.hidden)
        for event in ep.hidden:
            self._dispatch(inst, event)
        if inst.status == "Pending":
            inst.status = "Running"
        if result.custom_status is not None:
            inst.custom_status_json = json.dumps(result.custom_status)
        try:
            check_determinism(inst.instance_id, ep.recorded, result)
            if result.error is None:
                self._schedule(inst, ep, result)
        except LocalRuntimeError as exc:
            self._end(inst, "Failed", json.dumps(str(exc)), ep.now)
            return
        if result.error is not None:
            message = f"Orchestrator function '{inst.name}' failed: {result.error}"
            self._end(inst, "Failed", json.dumps(message), ep.now)
        elif result.done and result.continue_as_new is not None:
            self._continue_as_new(inst, result.continue_as_new.get("input"), ep.now)
        elif result.done:
            self._end(inst, "Completed", json.dumps(result.output), ep.now)
        else:
            inst.history.append(h.orchestrator_completed(ep.now))
            self._deliver_awaited_events(inst, result)
            inst.updated = ep.now
            self._save(inst)

    def _schedule(self, inst: Instance, ep: _Episode, result: EpisodeResult) -> None:
        """Turn actions beyond the recorded ones into scheduling events (ids in SDK order) and work."""
        for action in result.actions:
            feature = _UNSUPPORTED.get(action["actionType"])
            if feature:
                raise UnsupportedActionError(
                    f"the local runtime does not support {feature} (instance {inst.instance_id})"
                )
        actions = result.scheduling_actions
        ids = [e["EventId"] for e in ep.recorded]
        for action in actions[len(ep.recorded) :]:
            tid = inst.next_id
            inst.next_id += 1
            ids.append(tid)
            kind = action["actionType"]
            name = action.get("functionName")
            if kind in (ActionType.CALL_ACTIVITY, ActionType.CALL_ACTIVITY_WITH_RETRY):
                event = h.task_scheduled(ep.now, tid, name, action.get("input"))
            elif kind == ActionType.CREATE_TIMER:
                event = h.timer_created(ep.now, tid, h.parse_time(action["fireAt"]))
            else:
                child_id = action.get("instanceId") or f"{inst.instance_id}:{tid}"
                event = h.sub_orchestration_created(ep.now, tid, name, child_id, action.get("input"))
            if kind in (ActionType.CALL_ACTIVITY_WITH_RETRY, ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY):
                inst.retries[str(tid)] = {
                    "kind": "task",
                    "attempt": 1,
                    "options": action["retryOptions"],
                    "action": action,
                    "child_id": event.get("InstanceId"),
                }
            inst.history.append(event)
            self._dispatch(inst, event)
        for action, tid in zip(actions, ids, strict=False):
            if action.get("isCanceled") and tid not in inst.cancelled_timers:
                inst.cancelled_timers.append(tid)

    def _dispatch(self, inst: Instance, event: Event) -> None:
        """Start the real work behind one scheduling event."""
        kind = event["EventType"]
        if kind == EventType.TASK_SCHEDULED:
            assert self._activity_pool is not None
            self._busy += 1
            self._activity_pool.submit(
                self._activity_job,
                inst.instance_id,
                inst.execution,
                event["EventId"],
                event["Name"],
                event.get("Input"),
            )
        elif kind == EventType.TIMER_CREATED:
            key = (inst.instance_id, inst.execution, event["EventId"])
            self._timers.add(h.parse_time(event["FireAt"]), key)
        elif kind == EventType.SUB_ORCHESTRATION_INSTANCE_CREATED:
            name = event["Name"]
            if name not in self.functions.orchestrators:
                self._deliver(
                    inst.instance_id,
                    inst.execution,
                    h.sub_orchestration_failed(
                        self.clock.now(), event["EventId"], f"The function '{name}' doesn't exist", ""
                    ),
                )
                return
            child = self._live.get(event["InstanceId"])
            if child is not None:  # a retry or a reused id replaces the previous child
                self._live.pop(child.instance_id)
            self._create(event["InstanceId"], name, event.get("Input"), inst, event["EventId"])

    def _activity_job(
        self, iid: str, execution: str, task_id: int, name: str, input_json: str | None
    ) -> None:
        try:
            info = self.functions.activities.get(name)
            if info is None:
                outcome = ActivityOutcome(
                    False, reason=f"The function '{name}' doesn't exist or is not an activity function"
                )
            else:
                outcome = run_activity(info, input_json)
            now = self.clock.now()
            if outcome.succeeded:
                event = h.task_completed(now, task_id, outcome.result_json)
            else:
                event = h.task_failed(now, task_id, outcome.reason, outcome.details)
            with self._lock:
                self._deliver(iid, execution, event)
        finally:
            with self._lock:
                self._busy -= 1
                self._cond.notify_all()

    def _on_timer(self, key: tuple[str, str, int], fire_at: datetime) -> None:
        iid, execution, timer_id = key
        inst = self._live.get(iid)
        if inst is not None and timer_id not in inst.cancelled_timers:
            self._deliver(iid, execution, h.timer_fired(self.clock.now(), timer_id, fire_at))

    def _deliver(self, iid: str, execution: str, event: Event) -> None:
        """Queue a completion for the instance, unless it has moved on (ended, continued as new)."""
        inst = self._live.get(iid)
        if inst is None or inst.execution != execution or inst.status in TERMINAL:
            return
        inst.inbox.append(event)
        self._save(inst)
        self._kick(iid)

    def _deliver_awaited_events(self, inst: Instance, result: EpisodeResult) -> None:
        """Move buffered external events into the inbox once the orchestrator waits for them."""
        waits = Counter(
            a["externalEventName"]
            for a in result.actions
            if a["actionType"] == ActionType.WAIT_FOR_EXTERNAL_EVENT
        )
        got = Counter(
            e["Name"] for e in inst.history + inst.inbox if e["EventType"] == EventType.EVENT_RAISED
        )
        waiting = waits - got
        for event in list(inst.pending_events):
            if waiting[event["Name"]] > 0:
                waiting[event["Name"]] -= 1
                inst.pending_events.remove(event)
                inst.inbox.append(event)
        inst.waiting_for = list(waiting.elements())

    def _continue_as_new(self, inst: Instance, input_json: str | None, now: datetime) -> None:
        """Start a fresh execution with a new input; external events not yet handled carry over."""
        carried = [e for e in inst.inbox if e["EventType"] == EventType.EVENT_RAISED]
        inst.pending_events = carried + inst.pending_events
        inst.history, inst.inbox, inst.retries = [], [], {}
        inst.hidden_ids, inst.cancelled_timers, inst.waiting_for = [], [], []
        inst.next_id = 0
        inst.execution = uuid.uuid4().hex
        inst.input_json = input_json
        inst.status = "Running"
        inst.updated = now
        self._save(inst)

    def _end(self, inst: Instance, status: str, output_json: str | None, now: datetime) -> None:
        """Record a terminal status, free the instance and tell a waiting parent."""
        inst.status = status
        inst.output_json = output_json
        inst.updated = now
        inst.inbox.clear()
        if status != "Terminated":
            inst.history.append(h.execution_completed(now, status, output_json))
        self._save(inst)
        self._live.pop(inst.instance_id, None)
        self._notify_parent(inst, now)

    def _notify_parent(self, child: Instance, now: datetime) -> None:
        parent = self._live.get(child.parent_instance_id or "")
        if parent is None or child.parent_task_id is None:
            return
        if child.status == "Completed":
            event = h.sub_orchestration_completed(now, child.parent_task_id, child.output_json)
        else:
            reason = _loads(child.output_json)
            event = h.sub_orchestration_failed(now, child.parent_task_id, str(reason), "")
        self._deliver(parent.instance_id, parent.execution, event)

    def _resume(self, inst: Instance) -> None:
        """After a restart: re-run unfinished activities, re-arm timers, pick up finished children."""
        done = {e.get("TaskScheduledId", e.get("TimerId")) for e in inst.history + inst.inbox}
        for event in inst.history:
            kind = event["EventType"]
            if kind not in h.SCHEDULING or event["EventId"] in done:
                continue
            if kind == EventType.SUB_ORCHESTRATION_INSTANCE_CREATED:
                child = self._store.load(event["InstanceId"])
                if child is not None and child.status in TERMINAL:
                    self._notify_parent(child, self.clock.now())
            elif not (kind == EventType.TIMER_CREATED and event["EventId"] in inst.cancelled_timers):
                self._dispatch(inst, event)
        self._kick(inst.instance_id)
