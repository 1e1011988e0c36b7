"""Intact's composition root: one DFApp, the orchestrator and activity blueprints, the HTTP
starters and the delta timer. No business logic lives here.

HTTP (function-level auth):
  POST /api/migrations                 start a migration (body: the spec)        → 202 + status links
  GET  /api/migrations/{id}            durable status + per-object progress
  POST /api/migrations/{id}/approve    approve the mapping a migration waits on  → 202
  POST /api/migrations/{id}/rollback   start the rollback of a migration         → 202 + status links
Timer: every 15 minutes, a delta pickup for each migration whose delta window is open.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import azure.durable_functions as df
import azure.functions as func

import activities
import orchestrators
from shared.api import (
    ACTIVE,
    APPROVAL_EVENT,
    ApprovalBody,
    awaiting_approval,
    bad_request,
    delta_instance_id,
    parse_start_body,
    phase_instance_id,
    rollback_instance_id,
    status_body,
)
from shared.errors import ConfigError
from shared.migration.lifecycle import open_delta_windows
from shared.spec import MigrationSpec
from shared.storage import StorageSettings

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(orchestrators.bp)
app.register_functions(activities.bp)
log = logging.getLogger("intact")


def _json(status: int, body: object) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body, default=str), status_code=status, mimetype="application/json")


def _runtime_status(status: df.DurableOrchestrationStatus) -> str | None:
    rs = status.runtime_status
    return rs.value if rs is not None else None


@app.route(route="migrations", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@app.durable_client_input(client_name="client")
async def start_migration(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    try:
        spec = parse_start_body(req.get_json())
    except ValueError:
        return _json(400, {"error": "invalid_json", "message": "the body must be a JSON migration spec"})
    except ConfigError as exc:
        return _json(*bad_request(exc))
    instance_id = spec.migration.id
    existing = await client.get_status(instance_id)
    if _runtime_status(existing) in ACTIVE:
        return _json(409, {"error": "already_running", "message": f"migration {instance_id} is running"})
    await client.start_new("migration", instance_id, {"spec": spec.model_dump(mode="json")})
    return client.create_check_status_response(req, instance_id)


@app.route(route="migrations/{id}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@app.durable_client_input(client_name="client")
async def get_migration_status(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    instance_id = req.route_params["id"]
    status = await client.get_status(instance_id)
    rs = _runtime_status(status)
    if rs is None:
        return _json(404, {"error": "not_found", "message": f"no migration {instance_id}"})
    phase = None
    sub_id = phase_instance_id(status.custom_status) if rs in ACTIVE else None
    if sub_id is not None:
        phase = (await client.get_status(sub_id)).custom_status
    return _json(
        200,
        status_body(
            instance_id,
            rs,
            status.custom_status,
            status.output,
            status.created_time,
            status.last_updated_time,
            phase,
        ),
    )


@app.route(route="migrations/{id}/rollback", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@app.durable_client_input(client_name="client")
async def start_rollback(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    migration_id = req.route_params["id"]
    status = await client.get_status(migration_id, show_input=True)
    rs = _runtime_status(status)
    if rs is None:
        return _json(404, {"error": "not_found", "message": f"no migration {migration_id}"})
    if rs in ACTIVE:
        return _json(409, {"error": "migration_running", "message": "wait for the migration to stop first"})
    started_with = status.input_ if isinstance(status.input_, dict) else json.loads(status.input_ or "{}")
    instance_id = rollback_instance_id(migration_id)
    if _runtime_status(await client.get_status(instance_id)) in ACTIVE:
        return _json(409, {"error": "already_running", "message": f"rollback of {migration_id} is running"})
    await client.start_new("rollback", instance_id, {"spec": started_with["spec"]})
    return client.create_check_status_response(req, instance_id)


@app.route(route="migrations/{id}/approve", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@app.durable_client_input(client_name="client")
async def approve_mapping(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """A person approves the mapping; the waiting migration goes on to write records (COM-02)."""
    migration_id = req.route_params["id"]
    try:
        body = ApprovalBody.model_validate(req.get_json())
    except ValueError as exc:
        return _json(
            400, {"error": "invalid_body", "message": f"expected {{approved_by, note?, mapping?}}: {exc}"}
        )
    status = await client.get_status(migration_id)
    rs = _runtime_status(status)
    if rs is None:
        return _json(404, {"error": "not_found", "message": f"no migration {migration_id}"})
    if not awaiting_approval(rs, status.custom_status):
        return _json(409, {"error": "not_awaiting_approval", "message": f"migration {migration_id} is {rs}"})
    await client.raise_event(migration_id, APPROVAL_EVENT, body.model_dump())
    return _json(202, {"id": migration_id, "approved_by": body.approved_by})


@app.timer_trigger(schedule="0 */15 * * * *", arg_name="timer", run_on_startup=False)
@app.durable_client_input(client_name="client")
async def delta_timer(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    settings = StorageSettings.from_environment()
    now = datetime.now(UTC)
    for record in open_delta_windows(settings, now.isoformat()):
        spec = MigrationSpec.model_validate(record.spec)
        instance_id = delta_instance_id(record.migration_id, now, spec.options.delta_interval_minutes)
        if _runtime_status(await client.get_status(instance_id)) is not None:
            continue  # this window slot already has its pickup
        await client.start_new("delta_pickup", instance_id, {"spec": record.spec})
        log.info("delta pickup %s started", instance_id)
