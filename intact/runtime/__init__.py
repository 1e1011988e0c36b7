"""A local Durable Functions runtime: runs a DFApp's orchestrations in-process through the real
`azure-functions-durable` replay engine, with activities on a thread pool, durable timers on a
real or virtual clock, and optional SQLite persistence.

    from intact.runtime import LocalRuntime, VirtualClock

    with LocalRuntime(app, clock=VirtualClock()) as rt:
        iid = rt.start_new("migration", input=spec)
        print(rt.wait_for_completion(iid, timeout=30).output)
"""

from __future__ import annotations

from intact.runtime._clock import Clock, RealClock, VirtualClock
from intact.runtime._engine import LocalRuntime
from intact.runtime._errors import (
    InstanceExistsError,
    InstanceGoneError,
    InstanceNotFoundError,
    LocalRuntimeError,
    NonDeterministicOrchestrationError,
    UnknownFunctionError,
    UnsupportedActionError,
)
from intact.runtime._functions import FunctionIndex, FunctionInfo, function_index
from intact.runtime._status import InstanceStatus, RuntimeStatus

__all__ = [
    "Clock",
    "FunctionIndex",
    "FunctionInfo",
    "InstanceExistsError",
    "InstanceGoneError",
    "InstanceNotFoundError",
    "InstanceStatus",
    "LocalRuntime",
    "LocalRuntimeError",
    "NonDeterministicOrchestrationError",
    "RealClock",
    "RuntimeStatus",
    "UnknownFunctionError",
    "UnsupportedActionError",
    "VirtualClock",
    "function_index",
]

# Users see intact.runtime.X, never the private module (as httpx does).
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) or (callable(_obj) and hasattr(_obj, "__code__")):
        _obj.__module__ = __name__
