"""The functions a DFApp registered, indexed by trigger kind.

`DFApp.get_functions()` builds the index once per app object and raises on a second call, so
the result is cached per app here: the runtime and the local host share one index and nothing
keeps a second registry of names.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import azure.durable_functions as df


@dataclass(frozen=True)
class FunctionInfo:
    """One registered function: its name, trigger binding (as the host's JSON) and callable."""

    name: str
    trigger_type: str
    trigger: dict[str, Any]
    bindings: tuple[dict[str, Any], ...]
    func: Callable[..., Any]

    @property
    def trigger_arg(self) -> str:
        """The parameter name the trigger's payload is passed as."""
        return str(self.trigger["name"])

    def binding(self, binding_type: str) -> dict[str, Any] | None:
        return next((b for b in self.bindings if b.get("type") == binding_type), None)


@dataclass
class FunctionIndex:
    """Lookup of orchestrators and activities by name, plus the HTTP and timer triggers."""

    orchestrators: dict[str, FunctionInfo] = field(default_factory=dict)
    activities: dict[str, FunctionInfo] = field(default_factory=dict)
    http: list[FunctionInfo] = field(default_factory=list)
    timers: dict[str, FunctionInfo] = field(default_factory=dict)
    others: list[FunctionInfo] = field(default_factory=list)


_CACHE: weakref.WeakKeyDictionary[Any, FunctionIndex] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _plain(value: Any) -> Any:
    """Enum values in binding dicts (`AuthLevel.FUNCTION`, `HttpMethod.POST`) as plain strings."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return getattr(value, "value", value)


def function_index(app: df.DFApp) -> FunctionIndex:
    """Index the app's functions (once per app object; later calls return the same index)."""
    with _LOCK:
        cached = _CACHE.get(app)
        if cached is not None:
            return cached
        index = FunctionIndex()
        for fn in app.get_functions():
            trigger = _plain(fn.get_trigger().get_dict_repr())
            bindings = tuple(_plain(b.get_dict_repr()) for b in fn.get_bindings())
            info = FunctionInfo(
                fn.get_function_name(), trigger["type"], trigger, bindings, fn.get_user_function()
            )
            kind = info.trigger_type
            if kind == "orchestrationTrigger":
                index.orchestrators[info.name] = info
                alias = trigger.get("orchestration")
                if alias:
                    index.orchestrators.setdefault(alias, info)
            elif kind == "activityTrigger":
                index.activities[info.name] = info
                alias = trigger.get("activity")
                if alias:
                    index.activities.setdefault(alias, info)
            elif kind == "httpTrigger":
                index.http.append(info)
            elif kind == "timerTrigger":
                index.timers[info.name] = info
            else:
                index.others.append(info)
        _CACHE[app] = index
        return index
