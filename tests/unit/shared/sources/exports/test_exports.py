"""The export reader against the Profi, The Practice and SmartDesk samples: what the generator
wrote is what the connector reads, field for field; resume, delta, malformed rows, manifest
counts, zip, the column-rename map; and each source's requirements (PROFI-/PRAC-/SD-)."""

from __future__ import annotations

import importlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from samples._export_kit import EXPORTED_AT, Generated, zip_export
from shared.errors import MalformedRow, SourceFormatRefused
from shared.sources import open_source
from shared.sources.exports import ExportRowError, ExportSource, load_layout
from shared.spec import SourceSpec

SOURCES = ["profi", "practice", "smartdesk"]
REPO = Path(__file__).resolve().parents[5]


def _generate(source: str, out: Path, **kw: Any) -> Generated:
    return importlib.import_module(f"samples.{source}.generate").generate(out, **kw)


_CACHE: dict[str, Generated] = {}


def _sample(source: str, factory: pytest.TempPathFactory) -> tuple[str, Generated]:
    if source not in _CACHE:
        _CACHE[source] = _generate(source, factory.mktemp(source) / "export")
    return source, _CACHE[source]


@pytest.fixture(params=SOURCES)
def sample(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Generated]:
    return _sample(request.param, tmp_path_factory)


@pytest.fixture
def profi(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Generated]:
    return _sample("profi", tmp_path_factory)


@pytest.fixture
def practice(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Generated]:
    return _sample("practice", tmp_path_factory)


@pytest.fixture
def smartdesk(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Generated]:
    return _sample("smartdesk", tmp_path_factory)


def _read_all(src: ExportSource, obj: str, **kw: Any) -> list[Any]:
    return [r for page in src.read(obj, **kw) for r in page.records]


def _split(items: list[Any]) -> tuple[list[dict[str, Any]], list[tuple[str, str, int, str | None]]]:
    good = [i.record for i in items if i.record is not None]
    bad = [(i.object, i.error.file, i.error.line, i.error.field) for i in items if i.error is not None]
    return good, bad


def test_full_read_gets_exactly_the_generated_records(sample: tuple[str, Generated]) -> None:
    source, gen = sample
    src = ExportSource(gen.out, load_layout(source))
    malformed: list[tuple[str, str, int, str | None]] = []
    for obj in src.objects():
        good, bad = _split(_read_all(src, obj.name))
        assert good == gen.records[obj.name], obj.name  # field for field, in file order
        malformed += bad
    assert sorted(malformed) == sorted(gen.malformed)
    assert len(gen.malformed) >= 3  # bad date/number, wrong column count, invalid UTF-8 or missing file


def test_malformed_rows_are_precise_and_never_carry_the_value(sample: tuple[str, Generated]) -> None:
    source, gen = sample
    src = ExportSource(gen.out, load_layout(source))
    errors = [r.error for o in src.objects() for r in _read_all(src, o.name) if r.error is not None]
    assert errors and all(isinstance(e, ExportRowError) and isinstance(e, MalformedRow) for e in errors)
    for e in errors:
        assert f"{e.file} line {e.line}" in e.reason
        assert e.attrs()["file"] == e.file and e.attrs()["line"] == e.line
        for value in ("31/02/2024", "1.234,50", "yesterday", "12m30s", "2024-13-40", "Caf"):
            assert value not in str(e)


def test_resume_mid_way_reads_every_record_once(sample: tuple[str, Generated]) -> None:
    source, gen = sample
    layout = load_layout(source)
    for obj in ("clients", "sessions", "contacts", "activities", "session_notes", "notes"):
        if obj not in layout.files:
            continue
        full = [
            (r.object, r.record or r.error.source_id) for r in _read_all(ExportSource(gen.out, layout), obj)
        ]
        first = ExportSource(gen.out, layout, page_size=7)
        pages = first.read(obj)
        got = [p for _, p in zip(range(3), pages, strict=False)]  # interrupted after 3 pages
        first.close()
        resumed = ExportSource(gen.out, layout, page_size=7)  # a new process
        rest = list(resumed.read(obj, checkpoint=json.loads(json.dumps(got[-1].checkpoint))))
        items = [(r.object, r.record or r.error.source_id) for p in [*got, *rest] for r in p.records]
        assert items == full
        assert rest[-1].checkpoint["done"] is True
        assert list(resumed.read(obj, checkpoint=rest[-1].checkpoint)) == []


def test_delta_returns_exactly_the_changed_records(sample: tuple[str, Generated], tmp_path: Path) -> None:
    source, gen = sample
    layout = load_layout(source)
    cursor_objects = [f for f in layout.files.values() if f.delta == "cursor" and gen.records.get(f.object)]
    bump = {f.object: {str(r[f.primary_key]) for r in gen.records[f.object][1::9]} for f in cursor_objects}
    changed = _generate(source, tmp_path / "export", bump=bump)
    src = ExportSource(changed.out, layout)
    for f in cursor_objects:
        good, _ = _split(_read_all(src, f.object, since=EXPORTED_AT))
        assert {str(r[f.primary_key]) for r in good} == bump[f.object], f.object
    for f in layout.files.values():
        if f.delta == "always" and f.object in gen.records:  # declared policy: no cursor → re-read
            good, _ = _split(_read_all(src, f.object, since=EXPORTED_AT))
            assert good == changed.records[f.object]


def test_manifest_count_mismatch_is_a_warning_and_a_quarantine_note(tmp_path: Path) -> None:
    gen = _generate("profi", tmp_path / "export")
    manifest = json.loads((gen.out / "manifest.json").read_text())
    manifest["files"]["companies.csv"] += 2
    (gen.out / "manifest.json").write_text(json.dumps(manifest))
    src = ExportSource(gen.out, load_layout("profi"))
    assert any("companies.csv: manifest.json lists" in w for w in src.discover().warnings)
    items = _read_all(src, "companies")
    good, _ = _split(items)
    assert good == gen.records["companies"]  # the run goes on with every row there is
    notes = [i.error for i in items if i.error is not None]
    assert [n.source_id for n in notes] == ["companies.csv#manifest"]
    assert "lists 26 rows, the file holds 24" in notes[0].reason


def test_zip_reads_the_same_as_the_folder(sample: tuple[str, Generated], tmp_path: Path) -> None:
    source, gen = sample
    layout = load_layout(source)
    for top in (None, "export-2025-06-30"):
        z = zip_export(gen.out, tmp_path / f"{source}-{top}.zip", top=top)
        folder, zipped = ExportSource(gen.out, layout), ExportSource(z, layout)
        for obj in folder.objects():
            a, b = _read_all(folder, obj.name), _read_all(zipped, obj.name)
            for x, y in zip(a, b, strict=True):
                if x.record is not None and "_file" in x.record:
                    assert y.record["_file"]["size"] == x.record["_file"]["size"]
                    assert y.record["_file"]["path"].startswith(f"{z}!")
                    x, y = x.record | {"_file": None}, y.record | {"_file": None}
                    assert x == y
                else:
                    assert (x.record, x.error and x.error.attrs()) == (y.record, y.error and y.error.attrs())
        zipped.close()


def test_column_rename_map_adapts_a_differently_named_export(tmp_path: Path) -> None:
    gen = _generate("practice", tmp_path / "export")
    path = gen.out / "clients.csv"
    header, rest = path.read_bytes().split(b"\n", 1)
    path.write_bytes(
        header.replace(b"client_id", b"Client ID").replace(b",email,", b",E-mail,") + b"\n" + rest
    )
    with pytest.raises(SourceFormatRefused, match=r"lacks column\(s\) client_id, email.*source.columns"):
        list(ExportSource(gen.out, load_layout("practice")).read("clients"))
    spec = SourceSpec(
        kind="practice",
        path=str(gen.out),
        columns={"clients.csv": {"Client ID": "client_id", "E-mail": "email"}},
    )
    src = open_source(spec)
    good, _ = _split(_read_all(src, "clients"))  # type: ignore[arg-type]
    assert good == gen.records["clients"]


def test_export_of_another_source_or_without_manifest_is_refused(tmp_path: Path) -> None:
    gen = _generate("smartdesk", tmp_path / "export")
    with pytest.raises(SourceFormatRefused, match=r"manifest says source .smartdesk."):
        ExportSource(gen.out, load_layout("profi"))
    (gen.out / "manifest.json").unlink()
    with pytest.raises(SourceFormatRefused, match=r"manifest\.json is missing"):
        ExportSource(gen.out, load_layout("smartdesk"))


def test_attachments_resolve_under_files_with_size_and_a_missing_file_is_quarantined(
    sample: tuple[str, Generated],
) -> None:
    source, gen = sample
    src = ExportSource(gen.out, load_layout(source))
    items = _read_all(src, "attachments")
    good, bad = _split(items)
    assert all(Path(r["_file"]["path"]).stat().st_size == r["_file"]["size"] for r in good)
    assert max(r["_file"]["size"] for r in good) > 5 * 1024 * 1024  # one over Dataverse's default
    assert [b[3] for b in bad] == ["path"]
    assert "missing from files/" in next(i.error.reason for i in items if i.error)
    assert any("exceed Dataverse's default 5 MB" in w for w in src.discover().warnings)


def test_users_carry_inactive_owners(sample: tuple[str, Generated]) -> None:
    source, gen = sample
    layout = load_layout(source)
    users = ExportSource(gen.out, layout).users()
    assert len(users) == len(gen.records[layout.users.object])
    assert [u.active for u in users].count(False) == 1  # the owner who left
    assert all(u.email and u.email == u.email.lower() for u in users)


def test_discover_counts_relationships_and_dangling_references(sample: tuple[str, Generated]) -> None:
    source, gen = sample
    d = ExportSource(gen.out, load_layout(source)).discover()
    counts = {o.name: o.count for o in d.objects}
    for obj, recs in gen.records.items():
        assert counts[obj] == len(recs) + sum(1 for m in gen.malformed if m[0] == obj)
    assert d.relationships and all(r.to_object in counts for r in d.relationships)
    assert any("missing from the export (deleted records?)" in w for w in d.warnings)


def test_PROFI_21_sessions_with_a_broken_package_link_are_reported(profi: tuple[str, Generated]) -> None:
    _, gen = profi
    enrolled = {(e["client_id"], e["program_id"]) for e in gen.records["enrollments"]}
    broken = [
        s["session_id"]
        for s in gen.records["sessions"]
        if s["program_id"] and (s["client_id"], s["program_id"]) not in enrolled
    ]
    assert broken
    d = ExportSource(gen.out, load_layout("profi")).discover()
    (warning,) = [w for w in d.warnings if w.startswith("PROFI-21")]
    assert f"PROFI-21: {len(broken)} sessions" in warning and broken[0] in warning


def test_PROFI_22_video_recordings_are_listed_as_needing_a_separate_export(
    profi: tuple[str, Generated],
) -> None:
    _, gen = profi
    inv = ExportSource(gen.out, load_layout("profi")).discover().inventory
    recs = [i for i in inv if "PROFI-22" in i.detail]
    assert len(recs) == 5 and all(
        i.kind == "file_store" and "file-level export" in i.recommendation for i in recs
    )


def test_PROFI_14_custom_fields_are_typed_from_their_definitions(profi: tuple[str, Generated]) -> None:
    _, gen = profi
    d = ExportSource(gen.out, load_layout("profi")).discover()
    fields = {f.name: f for o in d.objects if o.name == "custom_field_values" for f in o.fields if f.custom}
    assert {k: f.type for k, f in fields.items()} == {
        "referral_partner": "text",
        "goal_date": "date",
        "session_budget": "decimal",
        "coaching_focus": "enum",
        "corporate_contract": "boolean",
    }
    assert fields["coaching_focus"].options == ["career", "leadership", "wellbeing"]


def test_PRAC_08_key_value_properties_are_type_inferred(practice: tuple[str, Generated]) -> None:
    _, gen = practice
    d = ExportSource(gen.out, load_layout("practice")).discover()
    props = {f.name: f.type for o in d.objects if o.name == "client_properties" for f in o.fields if f.custom}
    assert props == {
        "birthday": "date",
        "intake_date": "date",
        "hourly_rate": "decimal",
        "sessions_prepaid": "decimal",
        "referral_source": "text",
        "goal": "text",
        "insurance_id": "text",  # "4471" and "AOK-4471": mixed → text
    }


@pytest.mark.parametrize(
    ("requirement", "kind", "name", "recommends"),
    [
        ("PRAC-14", "workflow", "Session reminder 24h", "Power Automate scheduled cloud flow"),
        ("PRAC-15", "email_template", "Welcome", "Dataverse email template"),
        ("PRAC-16", "integration", "Google Calendar sync", "Outlook / Teams"),
        ("PRAC-16", "integration", "Zapier: new client to Mailchimp", "Power Automate cloud flow"),
        ("PRAC-16", "integration", "Stripe payments", "Power Automate connector"),
        ("PRAC-17", "report", "Monthly revenue", "Power BI"),
    ],
)
def test_PRAC_14_to_17_workflows_templates_integrations_reports_are_inventoried(
    tmp_path: Path, requirement: str, kind: str, name: str, recommends: str
) -> None:
    gen = _generate("practice", tmp_path / "export")
    inv = ExportSource(gen.out, load_layout("practice")).discover().inventory
    item = next(i for i in inv if i.name == name)
    assert (item.kind, requirement in item.detail, recommends in item.recommendation) == (kind, True, True)


def test_SD_18_workflows_templates_and_campaign_sends_are_inventoried(
    smartdesk: tuple[str, Generated],
) -> None:
    _, gen = smartdesk
    inv = ExportSource(gen.out, load_layout("smartdesk")).discover().inventory
    assert sorted({i.kind for i in inv}) == ["campaign_send", "email_template", "workflow"]
    assert all("SD-18" in i.detail and i.recommendation for i in inv)


def test_SD_19_stages_come_from_the_export_per_pipeline(smartdesk: tuple[str, Generated]) -> None:
    _, gen = smartdesk
    good, _ = _split(_read_all(ExportSource(gen.out, load_layout("smartdesk")), "pipeline_stages"))
    per_pipeline: dict[str, list[str]] = {}
    for s in good:
        per_pipeline.setdefault(s["pipeline_id"], []).append(s["name"])
    assert [len(v) for v in per_pipeline.values()] == [6, 3]


@pytest.mark.parametrize("source", SOURCES)
def test_committed_sample_is_what_the_generator_makes(source: str, tmp_path: Path) -> None:
    committed = REPO / "samples" / source / "export"
    fresh = _generate(source, tmp_path / "export").out
    files = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    ignored = (fresh / ".gitignore").read_text().split()
    for rel in files:
        if rel.as_posix() in ignored:
            continue  # the > 5 MB attachment is generated, never committed
        assert (committed / rel).read_bytes() == (fresh / rel).read_bytes(), rel


def test_a_large_export_streams_and_reads_in_bounded_pages(tmp_path: Path) -> None:
    gen = _generate("smartdesk", tmp_path / "big", records=20_000, collect=False)
    assert gen.records == {} and sum(gen.counts.values()) >= 19_000
    src = ExportSource(gen.out, load_layout("smartdesk"))
    pages = list(src.read("activities"))
    assert max(len(p.records) for p in pages) <= 500
    assert sum(len(p.records) for p in pages) == gen.counts["activities"]
    shutil.rmtree(gen.out)
