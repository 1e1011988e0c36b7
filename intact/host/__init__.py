"""A local Functions host for the app's own triggers: HTTP routes under /api with function keys,
the Durable extension's HTTP endpoints (so `DurableOrchestrationClient` works unchanged) and
NCRONTAB timer triggers, all backed by `intact.runtime.LocalRuntime`.

    from intact.host import LocalFunctionsHost
    from intact.runtime import LocalRuntime

    with LocalRuntime(app) as rt, LocalFunctionsHost(app, rt, function_keys={"default": key}) as host:
        print(host.base_url)
"""

from __future__ import annotations

from intact.host._cron import CronError, CronSchedule
from intact.host._host import LocalFunctionsHost

__all__ = ["CronError", "CronSchedule", "LocalFunctionsHost"]

for _name in __all__:
    globals()[_name].__module__ = __name__
