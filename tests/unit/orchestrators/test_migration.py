"""Level 1: drive the migration orchestrators with a fake context and check the control flow —
stage order, phase order, wave width, reconciliation per phase, small custom status."""

from __future__ import annotations

import json
from typing import Any

import pytest

from orchestrators.migration import load_phase, migration
from tests.unit.orchestrators.fake_context import FakeContext, user_function

SPEC = {
    "migration": {"id": "acme"},
    "source": {"kind": "close", "path": "/data/export.json"},
    "target": {"url": "http://127.0.0.1:1", "auth": {"kind": "static_token", "token": "${T}"}},
    "storage": {"connection_string": "${S}"},
    "options": {"approval": "auto"},
}


def _activities(chunks: dict[str, int], dop_hint: int = 2) -> dict[str, Any]:
    def extract(inp: dict[str, Any]) -> dict[str, Any]:
        name, n = inp["object"], chunks[inp["object"]]
        return {
            "object": name,
            "manifest_path": f"raw/{name}/manifest.json",
            "records": n * 10,
            "malformed": 0,
            "chunks": [f"raw/{name}/{i}" for i in range(n)],
            "max_cursor": "2025-01-01T00:00:00+00:00",
        }

    def finish(inp: dict[str, Any]) -> dict[str, Any]:
        objs = {o["object"]: {k: o[k] for k in ("records", "malformed", "chunks")} for o in inp["objects"]}
        return {"manifest_path": "m", "objects": objs, "max_cursor": "2025-01-01T00:00:00+00:00"}

    def transform(ref: dict[str, Any]) -> dict[str, Any]:
        return {
            "object": ref["object"],
            "chunk_no": ref["chunk_no"],
            "target_path": f"t/{ref['path']}",
            "records": 10,
            "transformed": 9,
            "quarantined": 1,
        }

    def load(inp: dict[str, Any]) -> dict[str, Any]:
        return {
            "object": inp["object"],
            "chunk_no": inp["chunk_no"],
            "loaded": 9,
            "quarantined": 0,
            "requests": 1,
            "throttled_429": 0,
            "wait_s": 0.0,
        }

    return {
        "register_run": lambda _: None,
        "probe_target": lambda _: {"dop_hint": dop_hint, "app_users": 1},
        "plan_extract": lambda _: {"objects": list(chunks)},
        "extract_object": extract,
        "finish_extract": finish,
        "match_owners": lambda _: {"owner_map_path": "o", "fallback_owner_id": None, "users": {}},
        "run_preflight": lambda _: {
            "ok": True,
            "blocking": 0,
            "warnings": 0,
            "reports": ["preflight.json", "preflight.md"],
            "summary": {},
        },
        "provision_schema": lambda _: {"created": [], "present": [], "changed": [], "counts": {}},
        "propose_mapping": lambda _: {"path": "mapping-proposal.yaml", "entries": 3, "new_columns": 1},
        "apply_mapping": lambda inp: {
            "spec": {
                **inp["spec"],
                "options": {**inp["spec"]["options"], "profile_overrides": {"write_custom_columns": False}},
            },
            "applied": 1,
            "notes": [],
        },
        "plan_run": lambda _: {"indexes": {}, "plan": None, "properties": {}},
        "transform_chunk": transform,
        "load_chunk": load,
        "reconcile_phase": lambda inp: {"objects": inp["objects"], "report_path": "r"},
        "write_reports": lambda _: ["run.json", "run.md"],
        "finish_run": lambda _: {"watermark": "w", "delta_until": "d"},
    }


@pytest.fixture
def orchestrators() -> dict[str, Any]:
    return {"load_phase": user_function(load_phase)}


def test_stages_run_in_design_order_and_phases_in_load_order(orchestrators: dict[str, Any]) -> None:
    ctx = FakeContext(
        {"spec": SPEC}, _activities({"leads": 2, "contacts": 3, "custom_objects": 1}), orchestrators
    )
    out = ctx.run(user_function(migration))
    names = [n for n, _ in ctx.calls]
    firsts = [
        names.index(n)
        for n in (
            "register_run",
            "probe_target",
            "plan_extract",
            "extract_object",
            "finish_extract",
            "match_owners",
            "transform_chunk",
            "load_phase",
            "write_reports",
            "finish_run",
        )
    ]
    assert firsts == sorted(firsts)
    loads = [inp["object"] for n, inp in ctx.calls if n == "load_chunk"]
    assert loads == ["leads", "leads", "contacts", "contacts", "contacts"]  # COM-23: parents first
    reconciles = [inp["phase"] for n, inp in ctx.calls if n == "reconcile_phase"]
    assert reconciles == [1, 2, 3, 4, None]  # COM-35: a reconciliation after every phase, then overall
    # the reconciliation of phase 1 happens before any phase-2 load
    assert names.index("reconcile_phase") < max(
        i for i, (n, inp) in enumerate(ctx.calls) if n == "load_chunk" and inp["object"] == "contacts"
    )
    assert out["objects"]["leads"] == {
        "source": 20,
        "loaded": 18,
        "quarantined": 2,
        "skipped": 0,
        "skip_rule": None,
    }
    assert out["objects"]["custom_objects"] == {  # an object the profile does not map
        "source": 10,
        "loaded": 0,
        "quarantined": 0,
        "skipped": 10,
        "skip_rule": "object_not_in_profile",
    }
    assert out["reports"] == ["preflight.json", "preflight.md", "run.json", "run.md"]


def test_load_waves_never_exceed_dop_hint_times_users(orchestrators: dict[str, Any]) -> None:
    ctx = FakeContext({"spec": SPEC}, _activities({"leads": 7, "contacts": 9}, dop_hint=3), orchestrators)
    ctx.run(user_function(migration))
    in_flight = [n for name, n in ctx.waves if name == "load_chunk"]
    assert in_flight and max(in_flight) == 3
    assert len([1 for name, _ in ctx.calls if name == "load_chunk"]) == 16


def test_max_parallel_loads_caps_the_wave(orchestrators: dict[str, Any]) -> None:
    spec = {**SPEC, "options": {"approval": "auto", "max_parallel_loads": 2}}
    ctx = FakeContext({"spec": spec}, _activities({"leads": 5}, dop_hint=8), orchestrators)
    ctx.run(user_function(migration))
    assert max(n for name, n in ctx.waves if name == "load_chunk") == 2


def test_custom_status_stays_small_and_reports_progress(orchestrators: dict[str, Any]) -> None:
    ctx = FakeContext({"spec": SPEC}, _activities({"leads": 40, "contacts": 60}), orchestrators)
    ctx.run(user_function(migration))
    assert ctx.statuses[-1]["stage"] == "completed"
    assert all(len(json.dumps(s)) < 16 * 1024 for s in ctx.statuses)
    stages = [s["stage"] for s in ctx.statuses]
    assert stages.index("extracting") < stages.index("transforming") < stages.index("completed")


def test_an_invalid_spec_fails_before_any_activity() -> None:
    ctx = FakeContext({"spec": {**SPEC, "migration": {"id": "Not Valid!"}}}, _activities({}))
    with pytest.raises(ValueError, match=r"migration\.id"):
        ctx.run(user_function(migration))
    assert ctx.calls == []


def test_extraction_fans_out_one_activity_per_object(orchestrators: dict[str, Any]) -> None:
    ctx = FakeContext({"spec": SPEC}, _activities({"leads": 2, "contacts": 3, "tasks": 1}), orchestrators)
    out = ctx.run(user_function(migration))
    assert ("extract_object", 3) in ctx.waves
    objects = [inp["object"] for n, inp in ctx.calls if n == "extract_object"]
    assert objects == ["leads", "contacts", "tasks"]
    assert out["objects"]["contacts"]["source"] == 30


def test_COM_02_nothing_is_written_before_a_person_approves_the_mapping(
    orchestrators: dict[str, Any],
) -> None:
    spec = {**SPEC, "options": {"approval": "required", "approval_timeout_hours": 24}}
    waiting = FakeContext({"spec": spec}, _activities({"leads": 2, "contacts": 2}), orchestrators)
    with pytest.raises(Exception, match="ApprovalTimedOut"):
        waiting.run(user_function(migration))
    names = [n for n, _ in waiting.calls]
    assert "run_preflight" in names
    assert not {"transform_chunk", "load_chunk", "provision_schema"} & set(names)
    assert any(
        s["stage"] == "awaiting approval" and {"preflight.md", "mapping-proposal.yaml"} <= set(s["reports"])
        for s in waiting.statuses
    )

    approved = FakeContext({"spec": spec}, _activities({"leads": 2, "contacts": 2}), orchestrators)
    approved.events["MappingApproved"] = {"approved_by": "ops lead"}
    out = approved.run(user_function(migration))
    names = [n for n, _ in approved.calls]
    assert names.index("MappingApproved") < names.index("load_chunk")
    assert out["reports"][:3] == ["preflight.json", "preflight.md", "mapping-proposal.yaml"]
    assert "apply_mapping" not in names  # approved as proposed: the profile as it is


def test_COM_02_an_edited_mapping_is_applied_and_checked_again_before_any_write(
    orchestrators: dict[str, Any],
) -> None:
    spec = {**SPEC, "options": {"approval": "required"}}
    ctx = FakeContext({"spec": spec}, _activities({"leads": 2}), orchestrators)
    ctx.events["MappingApproved"] = {"approved_by": "ops lead", "mapping": {"format": "x", "entries": []}}
    ctx.run(user_function(migration))
    names = [n for n, _ in ctx.calls]
    applied = names.index("apply_mapping")
    assert names.index("MappingApproved") < applied
    assert names.count("run_preflight") == 2 and names.index("run_preflight", applied) < names.index(
        "transform_chunk"
    )
    # everything after approval runs with the approved spec
    transform_spec = next(inp for n, inp in ctx.calls if n == "transform_chunk")["run"]["spec"]
    assert transform_spec["options"]["profile_overrides"] == {"write_custom_columns": False}


def test_COM_13_preflight_blocking_stops_the_run_before_any_write(orchestrators: dict[str, Any]) -> None:
    acts = _activities({"leads": 2})
    acts["run_preflight"] = lambda _: {
        "ok": False,
        "blocking": 2,
        "warnings": 0,
        "reports": ["p.json", "p.md"],
        "summary": {},
    }
    ctx = FakeContext({"spec": SPEC}, acts, orchestrators)
    with pytest.raises(Exception, match=r"PreflightBlocked.*2 blocking problem\(s\).*p\.md"):
        ctx.run(user_function(migration))
    assert not {"transform_chunk", "load_chunk"} & {n for n, _ in ctx.calls}
