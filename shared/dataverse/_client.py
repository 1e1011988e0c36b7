"""A thin, paced HTTP client for the Dataverse Web API.

The target sets the pace: 429s are waited out for exactly `Retry-After`, 5xx and dropped
connections back off exponentially with jitter, and nothing is given up while the wait budget
lasts (then a RetryableError lets the durable retry take over). Every request is counted.

Usage::

    with DataverseClient(url, StaticToken("t")) as dv:
        me = dv.whoami()
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from shared.dataverse._auth import TokenProvider
from shared.dataverse._batch import BatchOperation, BatchResult, build_batch, parse_batch_response
from shared.dataverse._errors import error_for_response, error_for_transport, retry_after_seconds
from shared.errors import RetryableError, TargetRequestFailed, Throttled

BULK_MESSAGES = ("CreateMultiple", "UpdateMultiple", "UpsertMultiple")
# "The 'X' method does not support entities of type 'y'." (SdkEntityDoesNotSupportMessage)
MESSAGE_NOT_SUPPORTED = "0x80040800"


class _ThrottleGate:
    """Until when an application user must not send (monotonic clock), shared per user in-process."""

    _registry: dict[str, _ThrottleGate] = {}
    _registry_lock = threading.Lock()

    def __init__(self) -> None:
        self._until = 0.0
        self._lock = threading.Lock()

    @classmethod
    def shared(cls, key: str) -> _ThrottleGate:
        with cls._registry_lock:
            return cls._registry.setdefault(key, cls())

    def hold_for(self, seconds: float) -> float:
        """Close the gate for `seconds` from now; returns until when it is closed."""
        with self._lock:
            self._until = max(self._until, time.monotonic() + seconds)
            return self._until

    def remaining(self, already_waited_until: float) -> float:
        """How long to wait for a hold someone else set (a hold this client waited out is done)."""
        with self._lock:
            if self._until <= already_waited_until:
                return 0.0
            return max(0.0, self._until - time.monotonic())


class BatchUnsupported(Exception):
    """The service has no `$batch` endpoint; isolate rows another way."""


@dataclass
class RequestStats:
    """What the client did, for progress, the audit log and benchmarks."""

    requests: int = 0
    throttled_429: int = 0
    retried_5xx: int = 0
    transport_errors: int = 0
    wait_s: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **deltas: float) -> None:
        with self._lock:
            for k, v in deltas.items():
                setattr(self, k, getattr(self, k) + v)

    def as_dict(self) -> dict[str, float]:
        return {
            "requests": self.requests,
            "throttled_429": self.throttled_429,
            "retried_5xx": self.retried_5xx,
            "transport_errors": self.transport_errors,
            "wait_s": round(self.wait_s, 3),
        }


@dataclass(frozen=True)
class RetryPolicy:
    max_transient_attempts: int = 6
    base_backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    max_throttle_wait_s: float = 900.0  # then hand over to the durable retry


class DataverseClient:
    def __init__(
        self,
        url: str,
        tokens: TokenProvider,
        *,
        api_version: str = "v9.2",
        policy: RetryPolicy | None = None,
        timeout_s: float = 120.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        throttle_key: str | None = None,
    ) -> None:
        self._tokens = tokens
        # Clients acting as the same application user in this process share one gate: when one of
        # them is told to wait (429 + Retry-After) they all wait, instead of each collecting its own
        # 429 — which would only extend the block (api-limits.md: Retry-After grows).
        self._gate = _ThrottleGate.shared(throttle_key) if throttle_key else _ThrottleGate()
        self._waited_until = 0.0
        self._policy = policy or RetryPolicy()
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=f"{url.rstrip('/')}/api/data/{api_version}/",
            timeout=timeout_s,
            transport=transport,
            headers={"Accept": "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0"},
        )
        self.stats = RequestStats()
        self.dop_hint: int | None = None
        self.supports_batch: bool | None = None  # learnt on first use
        # Bulk-message support, asked once per client (see bulk_support): message -> tables, or
        # None while not asked; `_bulk_unknown` when the service could not answer.
        self._bulk_tables: dict[str, frozenset[str]] | None = None
        self._bulk_unknown = False
        self._bulk_refused: dict[str, set[str]] = {}
        self._bulk_preset: dict[str, set[str]] = {}
        self._bulk_lock = threading.Lock()
        self._max_upload: tuple[int | None] | None = None

    def __enter__(self) -> DataverseClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (),
    ) -> httpx.Response:
        """Send with pacing and retries; returns 2xx responses (and statuses listed in `ok`)."""
        transient = 0
        throttled_wait = 0.0
        while True:
            held = self._gate.remaining(self._waited_until)
            if held > 0:
                self._wait(held)
            hdrs = {"Authorization": f"Bearer {self._tokens.get_token()}", **(headers or {})}
            self.stats.add(requests=1)
            try:
                resp = self._http.request(
                    method, path, json=json, content=content, params=params, headers=hdrs
                )
            except httpx.TransportError as exc:
                self.stats.add(transport_errors=1)
                transient += 1
                if transient >= self._policy.max_transient_attempts:
                    raise error_for_transport(exc) from exc
                self._wait(self._backoff(transient))
                continue
            self._note_dop(resp)
            if resp.is_success or resp.status_code in ok:
                return resp
            err = error_for_response(resp)
            if isinstance(err, Throttled):
                self.stats.add(throttled_429=1)
                wait = err.retry_after if err.retry_after is not None else self._backoff(1)
                throttled_wait += wait
                if throttled_wait > self._policy.max_throttle_wait_s:
                    raise err
                self._waited_until = self._gate.hold_for(wait)
                self._wait(wait)
                continue
            if isinstance(err, RetryableError):
                self.stats.add(retried_5xx=1)
                transient += 1
                if transient >= self._policy.max_transient_attempts:
                    raise err
                self._wait(retry_after_seconds(resp) or self._backoff(transient))
                continue
            raise err

    def _wait(self, seconds: float) -> None:
        self.stats.add(wait_s=seconds)
        self._sleep(seconds)

    def _backoff(self, attempt: int) -> float:
        cap = min(self._policy.max_backoff_s, self._policy.base_backoff_s * 2 ** (attempt - 1))
        return random.uniform(cap / 2, cap)

    def _note_dop(self, resp: httpx.Response) -> None:
        hint = resp.headers.get("x-ms-dop-hint")
        if hint and hint.isdigit():
            self.dop_hint = int(hint)

    # --- operations the skeleton needs; the loader issue grows these -------------------------

    def whoami(self) -> dict[str, Any]:
        return dict(self.request("GET", "WhoAmI").json())

    def list_all(
        self, entity_set: str, *, select: list[str], filter: str | None = None, page_size: int = 5000
    ) -> list[dict[str, Any]]:
        """Every row of a query, following @odata.nextLink."""
        params = {"$select": ",".join(select)}
        if filter:
            params["$filter"] = filter
        rows: list[dict[str, Any]] = []
        resp = self.request(
            "GET", entity_set, params=params, headers={"Prefer": f"odata.maxpagesize={page_size}"}
        )
        while True:
            body = resp.json()
            rows.extend(body.get("value", []))
            nxt = body.get("@odata.nextLink")
            if not nxt:
                return rows
            resp = self.request("GET", nxt, headers={"Prefer": f"odata.maxpagesize={page_size}"})

    def bulk_support(self, table: str) -> set[str]:
        """Which of CreateMultiple/UpdateMultiple/UpsertMultiple `table` (logical name) supports.

        Asks the service, once per client for the whole run: one `sdkmessagefilters` query per message
        in the form Microsoft's "Use bulk operation messages" page (Availability with standard tables)
        shows, without the table condition so one answer covers every table. That page also says the
        query returns nothing for UpsertMultiple and that a table with both CreateMultiple and
        UpdateMultiple supports it, so UpsertMultiple is derived from those two (and taken from its
        own filters, should a service list them). A service that cannot answer (404,
        403, 501) is assumed to support all three; a refusal seen later is remembered
        (`note_bulk_refused`).
        """
        with self._bulk_lock:
            if table.lower() in self._bulk_preset:
                return self._bulk_preset[table.lower()] - self._bulk_refused.get(table.lower(), set())
            if self._bulk_tables is None and not self._bulk_unknown:
                asked = self._ask_bulk_support()
                if asked is None:
                    self._bulk_unknown = True
                else:
                    self._bulk_tables = asked
            refused = self._bulk_refused.get(table.lower(), set())
            if self._bulk_tables is None:
                return set(BULK_MESSAGES) - refused
            found = {m for m in BULK_MESSAGES if table.lower() in self._bulk_tables[m]}
            if {"CreateMultiple", "UpdateMultiple"} <= found:
                found.add("UpsertMultiple")
            return found - refused

    def preset_bulk_support(self, table: str, messages: set[str]) -> None:
        """What the run already asked once (probe_target): no question per client or chunk."""
        with self._bulk_lock:
            self._bulk_preset[table.lower()] = set(messages)

    def assume_bulk_support(self) -> None:
        """Skip the question and assume every table takes the bulk messages (learn by trying)."""
        with self._bulk_lock:
            self._bulk_unknown = True

    def note_bulk_refused(self, table: str, message: str) -> None:
        """The service refused `message` on `table` (0x80040800): do not send it again this run."""
        with self._bulk_lock:
            self._bulk_refused.setdefault(table.lower(), set()).add(message)

    def _ask_bulk_support(self) -> dict[str, frozenset[str]] | None:
        found: dict[str, frozenset[str]] = {}
        for message in BULK_MESSAGES:
            params = {
                "$select": "primaryobjecttypecode",
                "$filter": "sdkmessageid/name eq @message",
                "@message": f"'{message}'",
            }
            prefer = {"Prefer": "odata.maxpagesize=5000"}
            tables: set[str] = set()
            try:
                resp = self.request("GET", "sdkmessagefilters", params=params, headers=prefer)
                while True:
                    body = resp.json()
                    tables.update(
                        str(r["primaryobjecttypecode"]).lower()
                        for r in body.get("value", [])
                        if r.get("primaryobjecttypecode")
                    )
                    if not body.get("@odata.nextLink"):
                        break
                    resp = self.request("GET", body["@odata.nextLink"], headers=prefer)
            except TargetRequestFailed as exc:
                if exc.status in (403, 404, 501):
                    return None
                raise
            found[message] = frozenset(tables)
        return found

    def upsert_multiple(self, entity_set: str, table: str, rows: list[dict[str, Any]]) -> int:
        """One UpsertMultiple request; atomic on standard tables (any bad row fails them all)."""
        targets = [{"@odata.type": f"Microsoft.Dynamics.CRM.{table}", **r} for r in rows]
        path = f"{entity_set}/Microsoft.Dynamics.CRM.UpsertMultiple"
        return self.request("POST", path, json={"Targets": targets}).status_code

    def batch(self, ops: list[BatchOperation], *, continue_on_error: bool = True) -> list[BatchResult]:
        """One `$batch` request of independent operations; a result per operation, in order.

        Raises BatchUnsupported when the service has no `$batch` endpoint (callers fall back).
        """
        content_type, body = build_batch(ops, self._http.base_url.raw_path.decode("ascii"))
        headers = {"Content-Type": content_type}
        if continue_on_error:
            headers["Prefer"] = "odata.continue-on-error"
        try:
            resp = self.request("POST", "$batch", content=body, headers=headers)
        except TargetRequestFailed as exc:
            if exc.status in (404, 405, 501):
                raise BatchUnsupported(str(exc)) from exc
            raise
        results = parse_batch_response(resp.headers.get("Content-Type", ""), resp.content)
        if len(results) != len(ops) and continue_on_error:
            raise TargetRequestFailed(
                f"$batch answered {len(results)} parts for {len(ops)} operations", status=resp.status_code
            )
        return results

    def set_state(self, entity_set: str, row_id: str, state: int, status: int) -> None:
        """Move an existing row to a state/status pair (after insert: INT-07 — not valid on create)."""
        self.request(
            "PATCH",
            f"{entity_set}({row_id})",
            json={"statecode": state, "statuscode": status},
            headers={"If-Match": "*"},
        )

    def win_opportunity(self, opportunity_id: str, status: int, close: dict[str, Any]) -> None:
        """Close an opportunity as won (INT-06): WinOpportunity creates its opportunityclose."""
        self._close_opportunity("WinOpportunity", opportunity_id, status, close)

    def lose_opportunity(self, opportunity_id: str, status: int, close: dict[str, Any]) -> None:
        """Close an opportunity as lost (INT-06): LoseOpportunity creates its opportunityclose."""
        self._close_opportunity("LoseOpportunity", opportunity_id, status, close)

    def _close_opportunity(
        self, action: str, opportunity_id: str, status: int, close: dict[str, Any]
    ) -> None:
        body = {
            "Status": status,
            "OpportunityClose": {**close, "opportunityid@odata.bind": f"/opportunities({opportunity_id})"},
        }
        self.request("POST", action, json=body)

    def find_id(self, entity_set: str, id_column: str, key: str, value: str) -> str | None:
        """The id of the first row whose `key` column equals `value` (e.g. a currency by ISO code)."""
        literal = value.replace("'", "''")
        params = {"$select": id_column, "$filter": f"{key} eq '{literal}'", "$top": "1"}
        rows = self.request("GET", entity_set, params=params).json().get("value", [])
        return str(rows[0][id_column]) if rows else None

    def max_upload_bytes(self) -> int | None:
        """`organization.maxuploadfilesize` (a note's file as Base64), read once per client; None
        when the org does not tell (then Dataverse itself refuses what is too large)."""
        if self._max_upload is None:
            from shared.dataverse._files import read_max_upload_bytes

            self._max_upload = (read_max_upload_bytes(self),)
        return self._max_upload[0]

    def find_matching(
        self,
        entity_set: str,
        id_column: str,
        keys: list[dict[str, str]],
        extra: tuple[str, ...] = ("createdon",),
    ) -> list[dict[str, Any]]:
        """Rows equal to any of `keys` (see `_match.find_matching`): one query per batch of keys."""
        from shared.dataverse._match import find_matching

        return find_matching(self, entity_set, id_column, keys, extra=extra)

    def delete(self, entity_set: str, row_id: str) -> bool:
        """Delete one row; False when it was already gone (rollback is idempotent)."""
        resp = self.request("DELETE", f"{entity_set}({row_id})", ok=(404,))
        return resp.status_code != 404

    def get_by_ids(
        self, entity_set: str, id_column: str, ids: list[str], select: list[str]
    ) -> dict[str, dict[str, Any]]:
        """Read rows back by primary key, 50 ids a request (URL length stays well under limits)."""
        rows: dict[str, dict[str, Any]] = {}
        columns = ",".join(dict.fromkeys([id_column, *select]))
        for i in range(0, len(ids), 50):
            flt = " or ".join(f"{id_column} eq {x}" for x in ids[i : i + 50])
            body = self.request("GET", entity_set, params={"$select": columns, "$filter": flt}).json()
            rows.update({r[id_column]: r for r in body.get("value", [])})
        return rows
