"""The Durable extension's HTTP API, served from a LocalRuntime.

Two mounts share these handlers:
- `/runtime/webhooks/durabletask/...`: the public URLs `create_check_status_response` hands out
  (status, raiseEvent, terminate, purge); they need a key (`code=` is in every URL).
- `rpcBaseUrl` (`/durabletask/<secret>/...`): what `DurableOrchestrationClient` calls from inside
  a function (start, status, list, raise, terminate, purge). The real host serves it on a
  loopback-only port without a key; here the secret path segment takes the key's place.

The Python client posts inputs and event data already JSON-encoded, inside a JSON string
(`json=df_dumps(value)`); a body that is a JSON string holding valid JSON is unwrapped once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from intact.runtime import (
    InstanceExistsError,
    InstanceGoneError,
    InstanceNotFoundError,
    LocalRuntime,
    UnknownFunctionError,
)

WEBHOOK_PREFIX = "runtime/webhooks/durabletask"
TASK_HUB = "IntactLocalHub"
_ID_PLACEHOLDER = "INSTANCEID"
_TERMINAL = {"Completed", "Failed", "Terminated"}


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON-serializable, or None for an empty body
    headers: dict[str, str] = field(default_factory=dict)


def input_json(body: bytes) -> str | None:
    """The request body as the runtime's input JSON (None when empty), unwrapping the client's
    JSON-in-a-JSON-string encoding."""
    if not body.strip():
        return None
    value = json.loads(body)
    if isinstance(value, str):
        try:
            json.loads(value)
            return value
        except ValueError:
            pass
    return json.dumps(value)


class DurableApi:
    """Routes `/instances...` and `/orchestrators...` requests to the runtime."""

    def __init__(self, runtime: LocalRuntime) -> None:
        self.runtime = runtime

    # -- the client binding ---------------------------------------------------------------

    def management_urls(self, base_url: str, code: str, instance_id: str = _ID_PLACEHOLDER) -> dict[str, str]:
        root = f"{base_url}/{WEBHOOK_PREFIX}/instances/{instance_id}"
        common = f"taskHub={TASK_HUB}&connection=Storage&code={quote(code)}"
        return {
            "id": instance_id,
            "statusQueryGetUri": f"{root}?{common}",
            "sendEventPostUri": f"{root}/raiseEvent/{{eventName}}?{common}",
            "terminatePostUri": f"{root}/terminate?reason={{text}}&{common}",
            "rewindPostUri": f"{root}/rewind?reason={{text}}&{common}",
            "purgeHistoryDeleteUri": f"{root}?{common}",
            "restartPostUri": f"{root}/restart?{common}",
            "suspendPostUri": f"{root}/suspend?reason={{text}}&{common}",
            "resumePostUri": f"{root}/resume?reason={{text}}&{common}",
        }

    def binding_json(self, base_url: str, rpc_base_url: str, code: str) -> str:
        """The durableClient binding value the extension passes to a function (a JSON string)."""
        webhooks = f"{base_url}/{WEBHOOK_PREFIX}"
        create = f"{webhooks}/orchestrators/{{functionName}}[/{{instanceId}}]"
        return json.dumps(
            {
                "taskHubName": TASK_HUB,
                "creationUrls": {
                    "createNewInstancePostUri": f"{create}?code={quote(code)}",
                    "createAndWaitOnNewInstancePostUri": f"{create}?timeout={{timeoutInSeconds}}"
                    f"&pollingInterval={{intervalInSeconds}}&code={quote(code)}",
                },
                "managementUrls": self.management_urls(base_url, code),
                "baseUrl": webhooks,
                "requiredQueryStringParameters": f"code={quote(code)}",
                "rpcBaseUrl": rpc_base_url,
                "httpBaseUrl": "",
                "maxGrpcMessageSizeInBytes": 0,
            }
        )

    # -- requests -------------------------------------------------------------------------

    def handle(
        self, method: str, parts: list[str], query: dict[str, str], body: bytes, base_url: str, code: str
    ) -> Reply:
        """`parts` is the path below the mount point, e.g. ["instances", "abc", "terminate"]."""
        try:
            return self._route(method, parts, query, body, base_url, code)
        except InstanceNotFoundError as exc:
            return Reply(404, {"message": str(exc)})
        except InstanceGoneError as exc:
            return Reply(410, {"message": str(exc)})
        except (InstanceExistsError, UnknownFunctionError) as exc:
            return Reply(400, {"ExceptionMessage": str(exc), "Message": str(exc)})
        except ValueError as exc:
            return Reply(400, {"message": f"bad request: {exc}"})

    def _route(
        self, method: str, parts: list[str], query: dict[str, str], body: bytes, base_url: str, code: str
    ) -> Reply:
        head = parts[0] if parts else ""
        if head == "orchestrators" and method == "POST" and len(parts) in (2, 3):
            wanted_id = parts[2] if len(parts) == 3 else None
            iid = self.runtime.start_new_json(parts[1], wanted_id, input_json(body))
            links = self.management_urls(base_url, code, iid)
            return Reply(202, links, {"Location": links["statusQueryGetUri"], "Retry-After": "10"})
        if head != "instances":
            return Reply(404, {"message": "no such durable endpoint"})
        if len(parts) == 1 or parts[1] == "":
            return self._list(query) if method == "GET" else self._purge_many(query)
        iid = parts[1]
        if len(parts) == 2 and method == "GET":
            return self._status(iid, query, base_url, code)
        if len(parts) == 2 and method == "DELETE":
            deleted = self.runtime.purge(iid)
            return Reply(200, {"instancesDeleted": 1}) if deleted else Reply(404, {"instancesDeleted": 0})
        if len(parts) == 4 and parts[2] == "raiseEvent" and method == "POST":
            self.runtime.raise_event_json(iid, parts[3], input_json(body))
            return Reply(202)
        if len(parts) == 3 and parts[2] == "terminate" and method == "POST":
            self.runtime.terminate(iid, query.get("reason", ""))
            return Reply(202)
        return Reply(501, {"message": f"{method} /{'/'.join(parts)} is not supported by the local host"})

    def _status(self, iid: str, query: dict[str, str], base_url: str, code: str) -> Reply:
        status = self.runtime.get_status(iid, show_history=_flag(query, "showHistory"))
        if status is None:
            return Reply(404)
        body = status.to_durable_json(show_input=query.get("showInput", "true").lower() != "false")
        if status.runtime_status in _TERMINAL:
            failed = status.runtime_status == "Failed" and _flag(query, "returnInternalServerErrorOnFailure")
            return Reply(500 if failed else 200, body)
        location = self.management_urls(base_url, code, iid)["statusQueryGetUri"]
        return Reply(202, body, {"Location": location, "Retry-After": "10"})

    def _list(self, query: dict[str, str]) -> Reply:
        wanted = [s for s in query.get("runtimeStatus", "").split(",") if s] or None
        prefix = query.get("instanceIdPrefix", "")
        since, until = query.get("createdTimeFrom"), query.get("createdTimeTo")
        rows = []
        for status in self.runtime.list_instances(runtime_status=wanted):
            body = status.to_durable_json(show_input=_flag(query, "showInput"))
            if not status.instance_id.startswith(prefix):
                continue
            created = body["createdTime"][:19]
            if (since and created < since[:19]) or (until and created > until[:19]):
                continue
            rows.append(body)
        return Reply(200, rows)

    def _purge_many(self, query: dict[str, str]) -> Reply:
        wanted = [s for s in query.get("runtimeStatus", "").split(",") if s] or sorted(_TERMINAL)
        deleted = sum(
            self.runtime.purge(s.instance_id)
            for s in self.runtime.list_instances(runtime_status=wanted)
            if s.is_terminal
        )
        return Reply(200 if deleted else 404, {"instancesDeleted": deleted})


def _flag(query: dict[str, str], name: str) -> bool:
    return query.get(name, "").lower() == "true"
