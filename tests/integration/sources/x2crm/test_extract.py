"""Extraction through the connector over real HTTP against the X2CRM mock."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from emulators.x2crm import ServerHandle, start_server
from shared.errors import AuthError
from shared.sources import Page
from shared.sources.x2crm import X2Client, X2CRMSource
from shared.sources.x2crm.api import RECORD_CLASSES

from .conftest import KEY

NUMERIC = {"int", "currency", "float", "percentage", "rating", "visibility"}


_OPEN: list[X2CRMSource] = []


@pytest.fixture(autouse=True)
def _close_sources() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def _source(url: str, *, page_size: int = 25, key: str = KEY, **client_kw: Any) -> X2CRMSource:
    source = X2CRMSource(X2Client(url, "admin", key, **client_kw), page_size=page_size)
    _OPEN.append(source)
    return source


def _records(pages: list[Page]) -> list[dict[str, Any]]:
    return [r.record for p in pages for r in p.records if r.record is not None]


def _types(sample: dict[str, Any], cls: str) -> dict[str, str]:
    return {f["fieldName"]: f["type"] for f in sample["fields"] if f["modelName"] == cls}


def _same(raw: Any, got: Any, x2type: str | None, key: str) -> bool:
    """The sample's raw API value and the connector's typed value mean the same thing."""
    if key == "id" or key == "associationId":
        return got == str(raw)
    if raw is None or (raw == "" and x2type in NUMERIC | {"date", "dateTime", "boolean", "link"}):
        return got is None
    if x2type in ("date", "dateTime"):
        return datetime.fromisoformat(got) == datetime.fromtimestamp(int(raw), UTC)
    if x2type in NUMERIC:
        return float(raw) == got
    if x2type == "boolean":
        return bool(int(raw)) is got
    if x2type == "link":
        return (got["name"] if got["id"] is None else f"{got['name']}_{got['id']}") == raw
    if x2type == "assignment":
        return got == [p.strip() for p in raw.split(",") if p.strip() not in ("", "Anyone")]
    return bool(got == raw)


def test_COM_01_every_object_of_the_sample_arrives_field_for_field(
    x2crm: ServerHandle, sample: dict[str, Any]
) -> None:
    source = _source(x2crm.base_url)
    for cls in RECORD_CLASSES:
        got = {r["id"]: r for r in _records(list(source.read(cls)))}
        raw = {str(r["id"]): r for r in sample["records"][cls]}
        assert got.keys() == raw.keys(), cls
        types = _types(sample, cls)
        for rid, rec in raw.items():
            assert rec.keys() == got[rid].keys(), (cls, rid)
            bad = [k for k, v in rec.items() if not _same(v, got[rid][k], types.get(k), k)]
            assert not bad, (cls, rid, bad)
    tags = {(t["type"], t["itemId"], t["tag"]) for t in _records(list(source.read("tags")))}
    assert tags == {(t["type"], str(t["itemId"]), t["tag"]) for t in sample["tags"]}
    rels = _records(list(source.read("relationships")))
    assert [r["id"] for r in rels] == [str(r["id"]) for r in sample["relationships"]]
    users = _records(list(source.read("users")))
    assert [u["username"] for u in users] == [u["username"] for u in sample["users"]]
    assert all("userKey" not in u and "password" not in u for u in users)
    dropdowns = _records(list(source.read("dropdowns")))
    assert {d["name"]: list(d["options"]) for d in dropdowns} == {
        d["name"]: list(d["options"]) for d in sample["dropdowns"]
    }
    fields = _records(list(source.read("fields")))
    assert len(fields) == sum(1 for f in sample["fields"] if f["modelName"] in RECORD_CLASSES)


@pytest.mark.parametrize("obj", ["Contacts", "Actions", "tags"])
def test_resume_from_a_midway_checkpoint_yields_every_record_once(
    x2crm: ServerHandle, sample: dict[str, Any], obj: str
) -> None:
    first = _source(x2crm.base_url, page_size=10)
    seen: list[str] = []
    checkpoint = None
    for n, page in enumerate(first.read(obj)):
        seen += [r.record["id"] for r in page.records if r.record]
        checkpoint = page.checkpoint
        if n == 2:
            break  # the process dies here; the checkpoint was saved with the page
    # records deleted meanwhile must not shift anything (a page-number resume would skip records)
    x2crm.store.delete(obj if obj != "tags" else "Contacts", 3)
    resumed = _source(x2crm.base_url, page_size=10)
    seen += [r["id"] for r in _records(list(resumed.read(obj, checkpoint=checkpoint)))]
    assert len(seen) == len(set(seen))
    if obj == "tags":
        expected = {f"{t['type']}/{t['itemId']}/{t['tag']}" for t in sample["tags"]}
        assert expected - set(seen) <= {f"Contacts/3/{t['tag']}" for t in sample["tags"]}
    else:
        expected = {str(r["id"]) for r in sample["records"][obj]}
        assert set(seen) >= expected - {"3"}


def test_COM_36_delta_returns_exactly_the_changed_records(
    x2crm: ServerHandle, sample: dict[str, Any]
) -> None:
    source = _source(x2crm.base_url)
    watermark = max(int(r["lastUpdated"]) for r in sample["records"]["Contacts"])
    changed = ["4", "17", "99"]
    httpx.post(
        f"{x2crm.base_url}/_mock/touch",
        json={"class": "Contacts", "ids": changed, "set": {"title": "Changed"}, "at": watermark + 60},
    ).raise_for_status()
    since = datetime.fromtimestamp(watermark, UTC)
    got = _records(list(source.read("Contacts", since=since)))
    assert sorted(r["id"] for r in got) == sorted(changed)
    assert all(r["title"] == "Changed" for r in got)
    assert _records(list(source.read("Accounts", since=since + (datetime.now(UTC) - since)))) == []


def test_X2_23_rate_limited_extraction_completes(sample: dict[str, Any]) -> None:
    with start_server(0, sample, rate_limit=4, rate_interval=1) as mock:
        source = _source(mock.base_url, page_size=10)
        got = _records(list(source.read("Contacts")))
        assert len(got) == len(sample["records"]["Contacts"]) == len({r["id"] for r in got})
        assert source.client.traffic.throttled_429 > 0


def test_random_5xx_and_429_end_with_a_complete_extraction(sample: dict[str, Any]) -> None:
    with start_server(
        0, sample, faults="503:0.12,500:0.08,502:0.05,429:0.03,drop:0.02", fault_seed=11
    ) as mock:
        source = _source(
            mock.base_url, page_size=10, backoff_base=0.01, backoff_cap=0.05, max_retry_after=0.05
        )
        for cls in ("Contacts", "Actions"):
            got = _records(list(source.read(cls)))
            assert sorted(r["id"] for r in got) == sorted(str(r["id"]) for r in sample["records"][cls])
        assert source.client.traffic.retried_5xx > 0
        injected = httpx.get(f"{mock.base_url}/_mock/stats").json()
        assert any(k.startswith("fault_") for k in injected)


def test_wrong_api_key_is_an_auth_error_with_the_x2_realm(x2crm: ServerHandle) -> None:
    r = httpx.get(f"{x2crm.api_url}Contacts", auth=("admin", "nope"))
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Basic realm="X2Engine API v2"'
    assert r.json()["error"] is True and r.json()["status"] == 401
    with pytest.raises(AuthError):
        list(_source(x2crm.base_url, key="nope").read("Contacts"))


def test_mock_runs_as_a_module_and_prints_its_url_first(tmp_path: Any) -> None:
    from .conftest import SAMPLE

    proc = subprocess.Popen(
        [sys.executable, "-m", "emulators.x2crm", "--port", "0", "--data", str(SAMPLE)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        deadline = time.monotonic() + 10
        while True:
            try:
                count = httpx.get(f"{url}/index.php/api2/Contacts/count", auth=("admin", KEY)).json()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        assert count > 100
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
