"""`python -m intact discover SPEC [--json]`: objects, counts and the non-migratable inventory,
printed and written as a Markdown document for the customer's admin (CLOSE-22, CLOSE-23)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from emulators.close import start_server
from intact.cli import main
from samples.close.generate import make_export


def _spec(tmp_path: Path, source: dict) -> Path:
    path = tmp_path / "spec.yaml"
    spec = {
        "migration": {"id": "acme"},
        "source": source,
        "target": {"url": "http://127.0.0.1:1", "auth": {"kind": "static_token", "token": "${T}"}},
        "storage": {"connection_string": "UseDevelopmentStorage=true"},
    }
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def test_CLOSE_22_discover_json_over_the_api_lists_workflows_and_custom_activity_types(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOSE_API_KEY", "test-key")
    with start_server() as mock:
        spec = _spec(tmp_path, {"kind": "close", "api_url": mock.api_url, "api_key": "${CLOSE_API_KEY}"})
        doc = tmp_path / "inv.md"
        assert main(["discover", str(spec), "--json", "--out", str(doc)]) == 0
    out = json.loads(capsys.readouterr().out)
    counts = {o["name"]: o["count"] for o in out["objects"]}
    assert counts["leads"] == 40 and counts["activities"] == 94 and counts["users"] == 5
    kinds = {i["kind"] for i in out["inventory"]}
    assert {"workflow", "smart_view", "email_template", "integration", "custom_activity_type"} <= kinds
    text = doc.read_text(encoding="utf-8")
    assert "Power Automate" in text and "Onboarding follow-up" in text and "| leads | 40 |" in text


def test_CLOSE_23_discover_table_over_an_export_writes_the_default_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "export.json").write_text(json.dumps(make_export(5, edge_cases=True)), encoding="utf-8")
    spec = _spec(tmp_path, {"kind": "close", "path": "export.json"})
    monkeypatch.chdir(tmp_path)
    assert main(["discover", str(spec)]) == 0
    printed = capsys.readouterr().out
    assert "leads" in printed and "not migrated as data" in printed
    assert (tmp_path / "out" / "inventory-close.md").read_text(encoding="utf-8").startswith("# close")
