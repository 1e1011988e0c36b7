"""Mapping profiles: the Close profile, and profiles refused on load."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.errors import ConfigError
from shared.mapping import profile as profile_module
from shared.mapping.profile import load_profile

HEADER = "source: {name}\nversion: 1\n"
LEADS = """\
  - name: leads
    table: account
    entity_set: accounts
    primary_id: accountid
    phase: {phase}
    fields:
      - {{to: name, from: display_name, convert: {convert}}}
"""
CONTACTS = """\
  - name: contacts
    table: contact
    entity_set: contacts
    primary_id: contactid
    phase: 2
    fields:
      - {to: lastname, from: name}
    lookups:
      - {to: parentcustomerid, bind: parentcustomerid_account, object: leads, from: lead_id}
"""


@pytest.fixture
def profiles_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr(profile_module, "PROFILES_DIR", tmp_path)
    load_profile.cache_clear()
    yield tmp_path
    load_profile.cache_clear()


def _write(directory: Path, name: str, *, leads_phase: int = 1, convert: str = "text") -> None:
    text = (
        HEADER.format(name=name) + "objects:\n" + LEADS.format(phase=leads_phase, convert=convert) + CONTACTS
    )
    (directory / f"{name}.yaml").write_text(text, encoding="utf-8")


def test_close_profile_loads_with_leads_before_contacts() -> None:
    profile = load_profile("close")
    phases = [[o.name for o in phase] for phase in profile.phases()]
    order = [name for phase in phases for name in phase]
    assert order.index("leads") < order.index("contacts")
    leads_phase = next(i for i, p in enumerate(phases) if "leads" in p)
    contacts_phase = next(i for i, p in enumerate(phases) if "contacts" in p)
    assert leads_phase < contacts_phase


def test_COM_23_close_profile_every_lookup_targets_an_earlier_phase() -> None:
    profile = load_profile("close")
    for obj in profile.objects:
        for lookup in obj.lookups:
            parent = profile.object(lookup.object)
            assert parent is not None
            assert parent.phase < obj.phase


def test_close_profile_names_a_rule_for_every_unmapped_close_object() -> None:
    from shared.sources.close.export import OBJECTS

    profile = load_profile("close")
    for obj in OBJECTS:
        assert profile.object(obj.name) is not None or profile.skip_rule(obj.name) is not None, obj.name


def test_valid_custom_profile_loads(profiles_dir: Path) -> None:
    _write(profiles_dir, "ok")
    assert [[o.name for o in p] for p in load_profile("ok").phases()] == [["leads"], ["contacts"]]


@pytest.mark.parametrize("leads_phase", [2, 3])
def test_COM_23_lookup_into_same_or_later_phase_refused(profiles_dir: Path, leads_phase: int) -> None:
    _write(profiles_dir, "late", leads_phase=leads_phase)
    with pytest.raises(ConfigError) as info:
        load_profile("late")
    message = str(info.value)
    assert "late.yaml" in message
    assert "contacts" in message and "leads" in message


def test_lookup_of_unmapped_object_refused(profiles_dir: Path) -> None:
    text = HEADER.format(name="orphan") + "objects:\n" + CONTACTS
    (profiles_dir / "orphan.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"orphan\.yaml.*does not map"):
        load_profile("orphan")


def test_unknown_converter_refused(profiles_dir: Path) -> None:
    _write(profiles_dir, "conv", convert="rot13")
    with pytest.raises(ConfigError, match=r"conv\.yaml.*unknown converter 'rot13'") as info:
        load_profile("conv")
    assert "objects[leads].targets.account.fields.0" in str(info.value)  # object and path of the entry


def test_object_mapped_twice_refused(profiles_dir: Path) -> None:
    text = HEADER.format(name="twice") + "objects:\n" + LEADS.format(phase=1, convert="text") * 2
    (profiles_dir / "twice.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="mapped twice"):
        load_profile("twice")


def test_missing_profile_refused(profiles_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml missing"):
        load_profile("nope")
