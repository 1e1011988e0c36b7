from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from emulators.x2crm.app import X2Mock
from samples.x2crm.generate import write_files
from shared.errors import ConfigError
from shared.sources import open_source
from shared.sources.x2crm import X2CRMSource
from shared.sources.x2crm.api import normalise
from shared.spec import SourceSpec

from .conftest import client_for


def _source(mock: X2Mock, **kw: Any) -> X2CRMSource:
    return X2CRMSource(client_for(mock), page_size=kw.pop("page_size", 25), **kw)


def test_normalise_types_values_by_x2_field_type() -> None:
    row = {
        "id": 7,
        "company": "Pierre Office Supplies_25",
        "lastUpdated": "1600000000",
        "dealvalue": "12.50",
        "doNotCall": "1",
        "assignedTo": "jane, bob",
        "note": "kept",
    }
    types = {"id": "id", "company": "link", "lastUpdated": "dateTime", "dealvalue": "currency"}
    types |= {"doNotCall": "boolean", "assignedTo": "assignment"}
    assert normalise(row, types) == {
        "id": "7",
        "company": {"id": "25", "name": "Pierre Office Supplies"},
        "lastUpdated": "2020-09-13T12:26:40Z",
        "dealvalue": 12.5,
        "doNotCall": True,
        "assignedTo": ["jane", "bob"],
        "note": "kept",
    }


def test_a_value_that_does_not_convert_is_kept_as_sent() -> None:
    assert normalise({"price": "n/a"}, {"price": "currency"}) == {"price": "n/a"}


def test_X2_09_actions_carry_their_text_and_association(mock: X2Mock, sample: dict[str, Any]) -> None:
    got = [r.record for p in _source(mock).read("Actions") for r in p.records]
    long_text = [a for a in got if a and len(a["actionDescription"]) > 20_000]
    assert long_text and all(
        a["associationType"] in {"contacts", "accounts", "opportunities"} for a in got if a
    )
    assert {a["type"] for a in got if a} == {a["type"] for a in sample["records"]["Actions"]}


def test_X2_15_users_keyed_by_username_and_left_users_inactive(mock: X2Mock) -> None:
    users = {u.source_id: u for u in _source(mock).users()}
    assert users["chloe"].active is False
    assert users["jane"].email == "jane.okafor@northwind-x2.example"
    assert users["olga"].email is None


def test_X2_19_X2_21_discover_lists_counts_fields_and_what_does_not_migrate(
    mock: X2Mock, sample: dict[str, Any]
) -> None:
    found = _source(mock).discover(sample_size=50)
    counts = {o.name: o.count for o in found.objects}
    for cls in ("Contacts", "Accounts", "Opportunity", "Actions"):
        assert counts[cls] == len(sample["records"][cls])
    contacts = next(o for o in found.objects if o.name == "Contacts")
    by_name = {f.name: f for f in contacts.fields}
    assert by_name["company"].type == "reference" and by_name["company"].references == "Accounts"
    assert by_name["c_segment"].custom and by_name["leadstatus"].options[:2] == ["Unassigned", "Assigned"]
    assert by_name["lastUpdated"].type == "datetime"
    kinds = {i.kind for i in found.inventory}
    assert {"workflow", "report", "email_template", "campaign_send", "file_store"} <= kinds
    assert all(i.recommendation for i in found.inventory)
    assert any("leadstatus" in w for w in found.warnings)  # 'Hot Lead' is not a dropdown option
    assert any(r.from_object == "Opportunity" and r.to_object == "Contacts" for r in found.relationships)


def test_X2_21_workflows_from_an_export_each_get_a_power_automate_recommendation(mock: X2Mock) -> None:
    path = Path(__file__).resolve().parents[5] / "samples" / "x2crm" / "workflows.json"
    flows = [i for i in _source(mock, workflows_path=path).discover(10).inventory if i.kind == "workflow"]
    assert len(flows) == 4
    assert all(i.recommendation.startswith("Power Automate") for i in flows)
    assert any("(inactive)" in i.detail for i in flows)


def test_X2_18_self_hosted_attachments_are_inventoried_from_files_root(
    mock: X2Mock, sample: dict[str, Any], tmp_path: Path
) -> None:
    write_files(tmp_path, sample)
    found = _source(mock, files_root=tmp_path).discover(10)
    store = next(i for i in found.inventory if i.kind == "file_store")
    assert "1 missing" in store.detail and "1 over the default 5 MB" in store.detail
    assert any("missing under files_root" in w for w in found.warnings)


def test_X2_17_media_files_under_files_root_are_staged_and_only_they_can_be_opened(
    mock: X2Mock, sample: dict[str, Any], tmp_path: Path
) -> None:
    write_files(tmp_path, sample)
    source = _source(mock, files_root=tmp_path)
    media = [r.record for p in source.read("Media") for r in p.records if r.record is not None]
    staged = [m for m in media if "_file" in m]
    assert staged and len(staged) < len(media)  # the missing file is not staged: the load says why
    for m in staged:
        with source.open_file(m["_file"]["path"]) as fh:  # type: ignore[union-attr]
            assert len(fh.read()) == m["_file"]["size"]
    assert source.open_file("../../etc/passwd") is None  # never outside the file store
    assert _source(mock).open_file(staged[0]["_file"]["path"]) is None  # no files_root: nothing


def test_open_source_builds_the_x2crm_connector(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X2_KEY", "secret")
    spec = SourceSpec(kind="x2crm", api_url="http://127.0.0.1:9/", api_key="${X2_KEY}", username="admin")
    source = open_source(spec)
    assert isinstance(source, X2CRMSource)
    source.close()
    with pytest.raises(ConfigError, match="username"):
        open_source(SourceSpec(kind="x2crm", api_url="http://127.0.0.1:9/", api_key="${X2_KEY}"))
