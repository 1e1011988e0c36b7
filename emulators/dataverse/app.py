"""The emulator application: authentication, fault injection, service protection and dispatch.

Transport-agnostic (`handle()` takes method, path, headers and body) so the HTTP server stays thin
and a future `$batch` implementation can dispatch its parts through the same pipeline.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import errors, sdkmessages
from .custom_schema import CustomSchema
from .engine import Caller, Engine
from .extensions import Extensions, with_extra_tables
from .faults import FaultInjector
from .identity import AppUser, Directory, build_directory
from .limits import LimitConfig, ServiceProtection
from .metadata import MetadataRegistry
from .operations import bulk, keyed, metadata_api, records, system
from .operations.base import Request, Response
from .routing import API_PREFIX, BoundAction, Collection, Entity, KeyedEntity, ServiceDocument, WhoAmI, route
from .store import Store

DROP = "drop"


@dataclass
class EmulatorConfig:
    db_path: str | None = None
    users_file: str | None = None
    seed_file: str | None = None
    metadata_path: str | None = None
    limits: LimitConfig = field(default_factory=LimitConfig)
    faults: str | None = None
    fault_seed: int | None = None
    dop_hint: int = 4
    max_bulk_targets: int = 1000
    max_upload_bytes: int = 5_242_880  # organization.maxuploadfilesize (attachment-annotation-files.md)
    resource_url: str = "https://emulator.crm.dynamics.com/"
    licence: str = "enterprise"  # custom-table cap: professional 15, enterprise 500 (custom_schema.py)
    key_activation_delay: float = 0.0  # seconds an alternate key stays Pending
    solutions: tuple[str, ...] = ()  # "uniquename:prefix" solutions known besides Default (prefix new)


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests_by_user: Counter[str] = field(default_factory=Counter)
    throttled_by_user: Counter[str] = field(default_factory=Counter)
    throttled_by_code: Counter[str] = field(default_factory=Counter)
    status_counts: Counter[int] = field(default_factory=Counter)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests_by_user": dict(self.requests_by_user),
                "throttled_by_user": dict(self.throttled_by_user),
                "throttled_by_code": dict(self.throttled_by_code),
                "status_counts": {str(k): v for k, v in self.status_counts.items()},
                "requests_total": sum(self.requests_by_user.values()),
                "throttled_total": sum(self.throttled_by_user.values()),
            }


class Emulator:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.registry = with_extra_tables(
            MetadataRegistry.load(Path(config.metadata_path) if config.metadata_path else None)
        )
        self.store = Store(config.db_path)
        self.engine = Engine(self.registry, self.store)
        self.schema = CustomSchema(self.registry, self.store, config.licence, config.key_activation_delay)
        for spec in config.solutions:
            unique_name, _, prefix = spec.partition(":")
            self.schema.add_solution(unique_name, prefix or "new")
        self.keys = keyed.install(self.schema, self.engine)
        self.engine.is_custom_table = self.schema.is_custom_table  # custom activities: every party type
        self.directory: Directory = build_directory(config.users_file)
        self.limits = ServiceProtection(config.limits)
        self.faults = FaultInjector(config.faults, config.fault_seed)
        self.stats = Stats()
        self.extensions = Extensions(self)
        self._bootstrap()
        if config.seed_file:
            self.load_seed(json.loads(Path(config.seed_file).read_text(encoding="utf-8")))

    # --- data bootstrap ---------------------------------------------------------------------------

    def _system_caller(self) -> Caller:
        users = self.directory.users()
        return Caller(users[0].user_id if users else "", self.directory.business_unit_id)

    def _bootstrap(self) -> None:
        """Organization, root business unit and application users exist in every org."""
        caller = self._system_caller()
        d = self.directory
        self._seed_row(
            "organization",
            {
                "organizationid": d.organization_id,
                "name": "Intact Emulator",
                "maxuploadfilesize": self.config.max_upload_bytes,
            },
            caller,
        )
        self._seed_row(
            "businessunit", {"businessunitid": d.business_unit_id, "name": "Intact Emulator"}, caller
        )
        for user in d.users():
            self._seed_user(user, caller)

    def _seed_user(self, user: AppUser, caller: Caller) -> None:
        row = dict(user.row)
        row.setdefault("businessunitid@odata.bind", f"/businessunits({self.directory.business_unit_id})")
        self._seed_row("systemuser", row, caller)

    def _seed_row(self, logical: str, row: dict[str, Any], caller: Caller) -> None:
        table = self.registry.by_logical(logical)
        if table is None:
            raise ValueError(f"unknown table {logical!r} in seed data")
        key = row.get(table.primary_id)
        with self.store.transaction():
            if key is not None and self.store.exists(logical, str(key).lower()):
                return
            self.engine.create(table, row, caller, mode="seed")

    def load_seed(self, data: Mapping[str, list[dict[str, Any]]]) -> None:
        """`{"systemusers": [...], "accounts": [...]}` keyed by entity set name."""
        caller = self._system_caller()
        for entity_set, rows in data.items():
            table = self.registry.by_set(entity_set)
            if table is None:
                raise ValueError(f"unknown entity set {entity_set!r} in seed data")
            for row in rows:
                if table.logical_name == "systemuser":
                    row = {"accessmode": 0, "isdisabled": False, **row}
                    row.setdefault(
                        "businessunitid@odata.bind", f"/businessunits({self.directory.business_unit_id})"
                    )
                self._seed_row(table.logical_name, row, caller)

    def reset(self) -> None:
        self.store.clear()
        self.limits.reset()
        self._bootstrap()

    def close(self) -> None:
        self.store.close()

    # --- request pipeline -------------------------------------------------------------------------

    def handle(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes, base_url: str
    ) -> Response | str:
        path, _, query_string = raw_path.partition("?")
        if path.startswith("/_emulator/"):
            return self._admin(method, path, query_string)
        match = API_PREFIX.match(path)
        if not match:
            segment = path.strip("/").split("/", 1)[0]
            return self._error_response(errors.resource_not_found(segment))
        user = self.directory.resolve(headers.get("Authorization"))
        if user is None:
            return self._error_response(errors.unauthorized(self.config.resource_url))
        with self.stats.lock:
            self.stats.requests_by_user[user.user_id] += 1
        fault = self.faults.draw()
        if fault == "drop":
            return DROP
        if fault == "429":
            return self._throttled(user, errors.too_many_requests(self.config.limits.max_requests, 300, 1))
        if fault == "503":
            return self._finish(self._error_response(errors.service_unavailable()), user)
        if fault == "500":
            err = errors.DataverseError(500, "0x80040216", "An unexpected error occurred.")
            return self._finish(self._error_response(err), user)
        delay = self.faults.delay()
        if delay:
            time.sleep(delay)
        try:
            ticket = self.limits.admit(user.user_id)
        except errors.DataverseError as err:
            return self._throttled(user, err)
        bu = str(user.row.get("businessunitid") or self.directory.business_unit_id)
        caller = Caller(user.user_id, bu)
        req = Request(method, path[match.end() :], query_string, headers, body, caller, base_url)
        response = Response(500)
        try:
            response = self._dispatch(req)
        except errors.DataverseError as err:
            response = self._error_response(err)
        except Exception:  # pragma: no cover - a bug; answer like Dataverse's generic failure
            traceback.print_exc(file=sys.stderr)
            response = self._error_response(
                errors.DataverseError(500, "0x80040216", "An unexpected error occurred.")
            )
        finally:
            self.limits.complete(user.user_id, ticket, response.records, response.subrequests)
        if fault == "drop-after":
            return DROP
        return self._finish(response, user)

    def _dispatch(self, req: Request) -> Response:
        if metadata_api.handles(req.path):  # EntityDefinitions, RelationshipDefinitions, …
            return metadata_api.dispatch(req, self.schema, self.keys)
        special = self.extensions.dispatch(req)  # $batch, unbound actions
        if special is not None:
            return special
        target = route(req.path, self.registry)
        method = req.method
        if isinstance(target, ServiceDocument) and method == "GET":
            return system.service_document(req, self.registry)
        if isinstance(target, WhoAmI) and method == "GET":
            return system.who_am_i(req, self.directory)
        if isinstance(target, Collection):
            if method == "GET":
                return records.list_records(req, self.engine, target.table)
            if method == "POST":
                return records.create(req, self.engine, target.table)
        if isinstance(target, Entity):
            if method == "GET":
                return records.retrieve(req, self.engine, target.table, target.record_id)
            if method == "PATCH":
                return records.upsert(req, self.engine, target.table, target.record_id)
            if method == "DELETE":
                return records.delete(req, self.engine, target.table, target.record_id)
            if method == "PUT":
                raise errors.not_implemented("PUT on a record")
        if isinstance(target, KeyedEntity):
            return keyed.handle(req, self.engine, self.keys, target.table, target.key_text)
        if isinstance(target, BoundAction):
            sdkmessages.check_bulk(
                target.table, target.name, self.schema.is_custom_table(target.table.logical_name)
            )
            return bulk.handle(req, self.engine, target.table, target.name, self.config.max_bulk_targets)
        raise errors.method_not_allowed(method, req.path)

    def _error_response(self, err: errors.DataverseError) -> Response:
        return Response(err.status, err.body(), dict(err.headers))

    def _throttled(self, user: AppUser, err: errors.DataverseError) -> Response:
        with self.stats.lock:
            self.stats.throttled_by_user[user.user_id] += 1
            self.stats.throttled_by_code[err.code] += 1
        return self._finish(self._error_response(err), user)

    def _finish(self, response: Response, user: AppUser) -> Response:
        response.headers.setdefault("x-ms-dop-hint", str(self.config.dop_hint))
        if self.config.limits.enabled:
            response.headers.update(self.limits.budget(user.user_id).headers())
        response.headers.setdefault("REQ_ID", str(uuid.uuid4()))
        with self.stats.lock:
            self.stats.status_counts[response.status] += 1
        return response

    # --- admin surface (not part of the Web API) ----------------------------------------------------

    def _admin(self, method: str, path: str, query_string: str = "") -> Response:
        name = path.removeprefix("/_emulator/").strip("/")
        if name == "health" and method == "GET":
            return Response(200, {"status": "ok"})
        if name == "stats" and method == "GET":
            return Response(
                200,
                {
                    **self.stats.snapshot(),
                    "faults_injected": dict(self.faults.injected),
                    "records": self.store.counts(),
                },
            )
        if name == "reset" and method == "POST":
            self.reset()
            self.extensions.snapshots.clear()
            self.extensions.block_uploads.clear()
            return Response(204)
        if name in ("licence", "schema") and method == "GET":
            return metadata_api.admin(self.schema, name)
        hook = self.extensions.admin(method, name, query_string)
        if hook is not None:
            return hook
        return Response(
            404, {"error": {"code": "0x8006088a", "message": f"Unknown emulator endpoint '{name}'."}}
        )
