"""`intact propose SPEC`: discovery of a sample, the target's columns read through the Web API
metadata endpoints of the emulator, and a proposal document that loads back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from emulators.dataverse import start_server
from intact.cli import main
from shared.dataverse import DataverseClient, StaticToken
from shared.mapping.proposer import load_proposal, read_target_columns

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    handle = start_server(port=0, limits=False)
    yield handle.base_url
    handle.close()


def test_target_columns_come_from_the_metadata_api(emulator_url: str) -> None:
    with DataverseClient(emulator_url, StaticToken("t")) as dv:
        cols = read_target_columns(dv, ["contact", "account"])
    contact = {c.logical_name: c for c in cols["contact"]}
    assert contact["birthdate"].column_type == "date"  # DateOnly, read through the DateTime cast
    assert contact["emailaddress1"].max_length == 100  # MaxLength, read through the String cast
    assert contact["gendercode"].options  # options, read through the Picklist cast
    assert "contactid" not in contact and "statecode" not in contact  # not mapped into


def test_propose_cli_writes_a_document_a_person_can_approve(
    emulator_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INTACT_TEST_TOKEN", "t")
    spec = {
        "migration": {"id": "propose-profi"},
        "source": {"kind": "profi", "path": str(REPO / "samples" / "profi" / "export")},
        "target": {"url": emulator_url, "auth": {"kind": "static_token", "token": "${INTACT_TEST_TOKEN}"}},
        "storage": {"connection_string": "${INTACT_TEST_STORAGE}"},
    }
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    out = tmp_path / "mapping.yaml"
    assert main(["propose", str(spec_path), "--json", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["document"] == str(out)
    proposal = load_proposal(out)
    got = {e.field: (e.table, e.target, e.type) for e in proposal.entries}
    assert got["coaching_focus"] == ("contact", "new:CoachingFocus", "choice")
    assert got["goal_date"] == ("contact", "new:GoalDate", "date")
    assert got["corporate_contract"][2] == "boolean"
    assert all(e.status == "proposed" and e.reason for e in proposal.entries)


def test_propose_cli_refuses_an_unknown_backend(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = {
        "migration": {"id": "propose-x"},
        "source": {"kind": "profi", "path": str(REPO / "samples" / "profi" / "export")},
        "target": {
            "url": "https://x.example",
            "auth": {"kind": "static_token", "token": "${INTACT_TEST_TOKEN}"},
        },
        "storage": {"connection_string": "${INTACT_TEST_STORAGE}"},
    }
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    assert main(["propose", str(spec_path), "--backend", "gpt"]) == 2
    assert "proposer backend 'gpt' is not registered" in capsys.readouterr().err
