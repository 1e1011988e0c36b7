"""The function app registers exactly the functions the design names, with the right triggers."""

from __future__ import annotations

import json

import function_app

EXPECTED = {
    "migration": {"orchestrationTrigger"},
    "delta_pickup": {"orchestrationTrigger"},
    "load_phase": {"orchestrationTrigger"},
    "rollback": {"orchestrationTrigger"},
    "plan_extract": {"activityTrigger"},
    "extract_object": {"activityTrigger"},
    "finish_extract": {"activityTrigger"},
    "probe_target": {"activityTrigger"},
    "match_owners": {"activityTrigger"},
    "provision_schema": {"activityTrigger"},
    "run_preflight": {"activityTrigger"},
    "transform_chunk": {"activityTrigger"},
    "plan_run": {"activityTrigger"},
    "propose_mapping": {"activityTrigger"},
    "apply_mapping": {"activityTrigger"},
    "load_chunk": {"activityTrigger"},
    "reconcile_phase": {"activityTrigger"},
    "write_reports": {"activityTrigger"},
    "register_run": {"activityTrigger"},
    "finish_run": {"activityTrigger"},
    "get_migration": {"activityTrigger"},
    "plan_rollback": {"activityTrigger"},
    "rollback_chunk": {"activityTrigger"},
    "finish_rollback": {"activityTrigger"},
    "start_migration": {"httpTrigger", "http", "durableClient"},
    "get_migration_status": {"httpTrigger", "http", "durableClient"},
    "start_rollback": {"httpTrigger", "http", "durableClient"},
    "approve_mapping": {"httpTrigger", "http", "durableClient"},
    "delta_timer": {"timerTrigger", "durableClient"},
}


def _functions() -> dict[str, list[dict]]:
    app = function_app.app
    app.functions_bindings = None  # get_functions() is single-shot per app object
    # the raw bindings are the JSON the Functions host reads (function.json equivalent)
    return {f.get_function_name(): [json.loads(b) for b in f.get_raw_bindings()] for f in app.get_functions()}


def test_registered_functions_and_trigger_types() -> None:
    found = {name: {b["type"] for b in bindings} for name, bindings in _functions().items()}
    assert found == EXPECTED


def test_http_triggers_use_function_level_auth_and_routes() -> None:
    routes = {}
    for name, bindings in _functions().items():
        for b in bindings:
            if b["type"] == "httpTrigger":
                assert b["authLevel"].lower() == "function", name
                routes[name] = (b["route"], tuple(m.upper() for m in b["methods"]))
    assert routes == {
        "start_migration": ("migrations", ("POST",)),
        "get_migration_status": ("migrations/{id}", ("GET",)),
        "start_rollback": ("migrations/{id}/rollback", ("POST",)),
        "approve_mapping": ("migrations/{id}/approve", ("POST",)),
    }


def test_delta_timer_schedule_is_ncrontab_every_15_minutes() -> None:
    timer = next(b for b in _functions()["delta_timer"] if b["type"] == "timerTrigger")
    assert timer["schedule"] == "0 */15 * * * *"
