"""One conformance suite for every source connector (like singer-sdk's `get_tap_test_class`):
discover, a full read equal to the sample field for field, resume from a mid-way checkpoint with
every record exactly once, delta returning exactly the changed records, and injected 429/5xx
ending in a complete read.

A connector joins by adding one `Case` to CASES: a function that builds a `Harness` in a temp
directory (the source over its sample or mock, the records the sample holds, how to change some
records, and — for API sources — a source whose mock injects faults).
"""

from __future__ import annotations

import gzip
import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from emulators.close.app import CloseMock, MockConfig
from emulators.close.transport import BASE, mock_transport
from emulators.x2crm.app import MockConfig as X2MockConfig
from emulators.x2crm.app import X2Mock
from emulators.x2crm.store import Store as X2Store
from emulators.x2crm.transport import BASE as X2_BASE
from emulators.x2crm.transport import mock_transport as x2_transport
from samples._export_kit import EXPORTED_AT, Generated
from samples.close.generate import make_api_dataset, make_export
from samples.x2crm.generate import API_KEY as X2_KEY
from samples.x2crm.generate import write as write_x2crm
from shared.sources import Source
from shared.sources.close.api import CloseApi
from shared.sources.close.client import CloseClient
from shared.sources.close.dates import parse_close_datetime
from shared.sources.close.export import NESTED, CloseExport
from shared.sources.exports import ExportSource, load_layout
from shared.sources.x2crm import X2Client, X2CRMSource
from shared.sources.x2crm.api import META_TYPES, RECORD_CLASSES, TAGGED_CLASSES, normalise, types_for

Records = dict[str, list[dict[str, Any]]]


@dataclass
class Harness:
    source: Callable[[], Source]  # a fresh connector over the sample (resume uses a second one)
    expected: Records  # object → the records the sample holds, in any order
    change: Callable[[], tuple[datetime, dict[str, set[str]]]]  # edit the sample: (since, changed ids)
    faulty: Callable[[], Source] | None = None  # the same data behind injected 429s and 5xx


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Path], Harness]


# --- Close: the JSON export ---------------------------------------------------------------------


def _close_expected(leads: list[dict[str, Any]]) -> Records:
    out: Records = {"leads": [{k: v for k, v in lead.items() if k not in NESTED} for lead in leads]}
    for key in NESTED:
        out[key] = [{**c, "lead_id": c.get("lead_id") or lead["id"]} for lead in leads for c in lead[key]]
    return out


def _latest(records: Records) -> datetime:
    stamps = [parse_close_datetime(r.get("date_updated")) for rows in records.values() for r in rows]
    return max(s for s in stamps if s is not None)


def _close_export(tmp: Path) -> Harness:
    leads = make_export(30, edge_cases=True)
    path = tmp / "export.json.gz"
    path.write_bytes(gzip.compress(json.dumps(leads).encode("utf-8")))

    def change() -> tuple[datetime, dict[str, set[str]]]:
        since = _latest(_close_expected(leads))
        when = (since + timedelta(hours=1)).isoformat()
        changed = {
            "leads": {leads[3]["id"]},
            "contacts": {leads[5]["contacts"][0]["id"]},
            "opportunities": {leads[7]["opportunities"][0]["id"]},
            "tasks": {leads[9]["tasks"][0]["id"]},
            "activities": {leads[11]["activities"][0]["id"]},
        }
        leads[3]["date_updated"] = when
        for key, idx in (("contacts", 5), ("opportunities", 7), ("tasks", 9), ("activities", 11)):
            leads[idx][key][0]["date_updated"] = when
        path.write_bytes(gzip.compress(json.dumps(leads).encode("utf-8")))
        return since, changed

    return Harness(lambda: CloseExport(path, page_leads=7), _close_expected(leads), change)


# --- Close: the REST API through the mock -------------------------------------------------------


class _Clock:
    """Shared by the mock and the client, so rate windows pass without real sleeping."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


def _close_api_source(mock: CloseMock, clock: _Clock) -> CloseApi:
    client = CloseClient(
        f"{BASE}/api/v1/", "test-key", transport=mock_transport(mock), sleep=clock.sleep, clock=clock.now
    )
    return CloseApi(client, page_size=10)


def _close_api(tmp: Path) -> Harness:
    dataset = make_api_dataset(30)
    clock = _Clock()
    mock = CloseMock(json.loads(json.dumps(dataset)), MockConfig(max_skip=40))
    mock.clock = clock.now
    expected = _close_expected(dataset["leads"])
    expected["custom_activity_types"] = dataset["custom_activity_types"]
    expected["custom_fields"] = [
        {**f, "object_type": kind} for kind, rows in dataset["custom_fields"].items() for f in rows
    ]
    for name in ("lead_statuses", "opportunity_statuses", "pipelines", "users"):
        expected[name] = dataset[name]

    def change() -> tuple[datetime, dict[str, set[str]]]:
        since = _latest(expected)
        when = (since + timedelta(hours=1)).isoformat()
        leads = dataset["leads"]
        contact = leads[5]["contacts"][0]
        changed = {
            "leads": {leads[3]["id"], leads[5]["id"]},  # editing a contact bumps its lead, as in Close
            "contacts": {contact["id"]},
            "opportunities": {leads[7]["opportunities"][0]["id"]},
            "tasks": {leads[9]["tasks"][0]["id"]},
            "activities": {leads[11]["activities"][0]["id"]},
        }
        mock.touch("leads", leads[3]["id"], when, description="changed")
        mock.touch("contacts", contact["id"], when, title="CFO")
        mock.touch("opportunities", leads[7]["opportunities"][0]["id"], when, confidence=90)
        mock.touch("tasks", leads[9]["tasks"][0]["id"], when, is_complete=True)
        mock.touch("activities", leads[11]["activities"][0]["id"], when, duration=1)
        for name in ("custom_activity_types", "custom_fields", "pipelines", "users"):
            changed[name] = set()
        return since, changed

    def faulty() -> CloseApi:
        fclock = _Clock()
        config = MockConfig(
            max_skip=40, rate_limit=2, rate_window=0.5, faults="503:0.1,502:0.05,504:0.05", fault_seed=1
        )
        fmock = CloseMock(json.loads(json.dumps(dataset)), config)
        fmock.clock = fclock.now
        return _close_api_source(fmock, fclock)

    return Harness(lambda: _close_api_source(mock, clock), expected, change, faulty)


# --- X2CRM: API v2 through the mock -------------------------------------------------------------


def _x2crm_expected(data: dict[str, Any]) -> Records:
    out: Records = {}
    for cls in RECORD_CLASSES:
        types = types_for(cls, [f for f in data["fields"] if f["modelName"] == cls])
        out[cls] = [normalise(r, types) for r in data["records"][cls]]
    out["tags"] = [
        {
            "id": f"{t['type']}/{t['itemId']}/{t['tag']}",
            "type": t["type"],
            "itemId": str(t["itemId"]),
            "tag": t["tag"],
        }
        for t in data["tags"]
        if t["type"] in TAGGED_CLASSES
    ]
    hidden = {"password", "userKey", "googleRefreshToken"}
    out["users"] = [
        normalise({k: v for k, v in u.items() if k not in hidden}, META_TYPES["users"]) for u in data["users"]
    ]
    for name in ("relationships", "dropdowns"):
        out[name] = [normalise(r, META_TYPES[name]) for r in data[name]]
    out["fields"] = [
        normalise(f, META_TYPES["fields"]) for f in data["fields"] if f["modelName"] in RECORD_CLASSES
    ]
    return out


def _x2crm_source(mock: X2Mock, clock: _Clock) -> X2CRMSource:
    client = X2Client(X2_BASE, "admin", X2_KEY, transport=x2_transport(mock), sleep=clock.sleep)
    return X2CRMSource(client, page_size=10)


def _x2crm(tmp: Path) -> Harness:
    path = tmp / "x2crm.json"
    with path.open("w", encoding="utf-8") as fh:
        write_x2crm(fh, 150)
    data = json.loads(path.read_text(encoding="utf-8"))
    clock = _Clock()
    mock = X2Mock(X2Store(json.loads(json.dumps(data))), X2MockConfig())

    def change() -> tuple[datetime, dict[str, set[str]]]:
        latest = max(int(r["lastUpdated"]) for cls in RECORD_CLASSES for r in data["records"][cls])
        changed: dict[str, set[str]] = {cls: set() for cls in RECORD_CLASSES}
        for cls, rid, edit in (
            ("Contacts", 4, {"title": "CFO"}),
            ("Accounts", 3, {"phone": "+1 555 0100"}),
            ("Opportunity", 1, {"salesStage": "Won"}),
            ("Actions", 2, {"complete": "Yes"}),
        ):
            mock.store.update(cls, rid, edit, at=latest + 3600)
            changed[cls].add(str(rid))
        return datetime.fromtimestamp(latest, UTC), changed

    def faulty() -> X2CRMSource:
        fclock = _Clock()
        config = X2MockConfig(rate_limit=3, rate_interval=1, faults="503:0.1,502:0.05,500:0.05", fault_seed=5)
        fmock = X2Mock(X2Store(json.loads(json.dumps(data))), config)
        fmock.clock = fclock.now
        return _x2crm_source(fmock, fclock)

    return Harness(lambda: _x2crm_source(mock, clock), _x2crm_expected(data), change, faulty)


# --- Profi, The Practice, SmartDesk: CSV exports through the one export reader ------------------


def _export_case(kind: str) -> Callable[[Path], Harness]:
    """The generated sample minus its deliberately malformed rows (those have their own tests in
    tests/unit/shared/sources/exports), so counts and records are exactly the generator's."""

    def build(tmp: Path) -> Harness:
        generate = importlib.import_module(f"samples.{kind}.generate").generate
        out = tmp / "export"
        gen = _without_defects(generate(out))

        def change() -> tuple[datetime, dict[str, set[str]]]:
            layout = load_layout(kind)
            changed = {
                f.object: {str(r[f.primary_key]) for r in gen.records[f.object][2::11]}
                for f in layout.files.values()
                if f.delta == "cursor" and gen.records.get(f.object)
            }
            _without_defects(generate(out, bump=changed))
            return EXPORTED_AT, changed

        return Harness(lambda: ExportSource(out, load_layout(kind), page_size=7), gen.records, change)

    return build


def _without_defects(gen: Generated) -> Generated:
    manifest = json.loads((gen.out / "manifest.json").read_text(encoding="utf-8"))
    for _obj, file, line, _col in gen.malformed:  # every defect is one physical line
        lines = (gen.out / file).read_bytes().split(b"\n")
        lines[line - 1] = b""
        (gen.out / file).write_bytes(b"\n".join(lines))
        manifest["files"][file] -= 1
    (gen.out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return gen


# One entry per connector. X2CRM, Profi, The Practice and SmartDesk add theirs here.
CASES: list[Case] = [
    Case("close-export", _close_export),
    Case("close-api", _close_api),
    Case("x2crm-api", _x2crm),
    Case("profi-export", _export_case("profi")),
    Case("practice-export", _export_case("practice")),
    Case("smartdesk-export", _export_case("smartdesk")),
]


@pytest.fixture(params=CASES, ids=[c.id for c in CASES])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Harness:
    return request.param.build(tmp_path)


def _read_all(source: Source, object: str, **kw: Any) -> list[dict[str, Any]]:
    out = []
    for page in source.read(object, **kw):
        assert page.object == object
        json.dumps(page.checkpoint)  # small JSON
        out.extend(r.record for r in page.records if r.record is not None)
    return out


def _by_id(rows: list[dict[str, Any]], key: str = "id") -> dict[str, dict[str, Any]]:
    ids = [str(r[key]) for r in rows]
    assert len(ids) == len(set(ids)), "a record appeared twice"
    return dict(zip(ids, rows, strict=True))


def test_discover_lists_every_object_with_counts_fields_and_inventory(harness: Harness) -> None:
    source = harness.source()
    found = source.discover(sample_size=50)
    counts = {o.name: o.count for o in found.objects}
    assert set(counts) == {o.name for o in source.objects()}
    for name, rows in harness.expected.items():
        assert counts[name] == len(rows), name
    assert all(o.fields for o in found.objects if o.count)
    assert found.inventory and all(i.recommendation for i in found.inventory)
    declared = {o.name for o in source.objects()}
    assert all(r.from_object in declared for r in found.relationships if r.from_object in counts)


def test_full_read_equals_the_sample_field_for_field(harness: Harness) -> None:
    source = harness.source()
    for obj in source.objects():
        got = _by_id(_read_all(source, obj.name), obj.primary_key)
        want = _by_id(harness.expected[obj.name], obj.primary_key)
        assert got == want, obj.name


def test_resume_from_a_mid_way_checkpoint_yields_every_record_once(harness: Harness) -> None:
    for obj in harness.source().objects():
        pages = list(harness.source().read(obj.name))
        if len(pages) < 2:
            continue
        k = len(pages) // 2 - 1 if len(pages) > 2 else 0
        before = [r.record for p in pages[: k + 1] for r in p.records if r.record is not None]
        after = _read_all(harness.source(), obj.name, checkpoint=pages[k].checkpoint)
        got = _by_id(before + after, obj.primary_key)
        assert set(got) == set(_by_id(harness.expected[obj.name], obj.primary_key)), obj.name


def test_delta_returns_exactly_the_changed_records(harness: Harness) -> None:
    since, changed = harness.change()
    source = harness.source()
    for obj in source.objects():
        if obj.cursor_field is None or obj.name not in changed:
            continue
        got = {str(r[obj.primary_key]) for r in _read_all(source, obj.name, since=since)}
        assert got == changed[obj.name], obj.name


def test_injected_429s_and_5xx_still_end_complete(harness: Harness) -> None:
    if harness.faulty is None:
        pytest.skip("a file source has no transport to fault")
    source = harness.faulty()
    for obj in source.objects():
        got = _by_id(_read_all(source, obj.name), obj.primary_key)
        assert set(got) == set(_by_id(harness.expected[obj.name], obj.primary_key)), obj.name
    traffic = source.client.traffic  # type: ignore[attr-defined]
    assert traffic.throttled_429 > 0 and traffic.retried_5xx > 0
