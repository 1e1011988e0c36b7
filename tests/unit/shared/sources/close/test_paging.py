"""OffsetPaging switches to date windows at max_skip without losing or repeating a record, and
refuses what it cannot page safely; CursorPaging follows cursor_next."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from emulators.close.app import CloseMock, MockConfig
from emulators.close.transport import BASE, mock_transport
from shared.errors import SourceFormatRefused
from shared.sources.close.client import CloseClient
from shared.sources.close.paging import CursorPaging, OffsetPaging


def _rows(n: int, same_every: int = 1) -> list[dict[str, Any]]:
    return [
        {
            "id": f"task_{i:04d}",
            "lead_id": "lead_x",
            "date_created": f"2024-01-01T00:{(i // same_every) // 60:02d}:"
            f"{(i // same_every) % 60:02d}.000000+00:00",
            "date_updated": "2024-02-01T00:00:00.000000+00:00",
        }
        for i in range(n)
    ]


def _client(mock: CloseMock) -> CloseClient:
    return CloseClient(f"{BASE}/api/v1/", "test-key", transport=mock_transport(mock), sleep=lambda s: None)


def test_max_skip_switches_to_date_windows_and_reads_everything_once() -> None:
    rows = _rows(95, same_every=3)  # three records share each date_created: the bound needs de-duplication
    mock = CloseMock({"leads": [{"id": "lead_x", "tasks": rows}]}, MockConfig(max_skip=20))
    pager = OffsetPaging(_client(mock), "task/", limit=10)
    got = [r["id"] for page, _ in pager.pages() for r in page]
    assert got == [r["id"] for r in rows]
    assert pager.max_skip == 20


def test_resume_inside_a_date_window() -> None:
    rows = _rows(60, same_every=2)
    mock = CloseMock({"leads": [{"id": "lead_x", "tasks": rows}]}, MockConfig(max_skip=15))
    pages = list(OffsetPaging(_client(mock), "task/", limit=10).pages())
    k = 3
    assert pages[k][1]["gte"] is not None  # that checkpoint is inside a later window
    before = [r["id"] for page, _ in pages[: k + 1] for r in page]
    after = [
        r["id"] for page, _ in OffsetPaging(_client(mock), "task/", limit=10).pages(pages[k][1]) for r in page
    ]
    assert before + after == [r["id"] for r in rows]


def test_more_records_at_one_date_than_max_skip_is_refused() -> None:
    rows = _rows(40, same_every=40)
    mock = CloseMock({"leads": [{"id": "lead_x", "tasks": rows}]}, MockConfig(max_skip=15))
    with pytest.raises(SourceFormatRefused, match="share one date_created"):
        list(OffsetPaging(_client(mock), "task/", limit=10).pages())


def test_unsorted_response_is_refused() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        data = [
            {"id": "a", "date_created": "2024-02-01T00:00:00+00:00"},
            {"id": "b", "date_created": "2024-01-01T00:00:00+00:00"},
        ]
        return httpx.Response(200, json={"data": data, "has_more": False})

    client = CloseClient("http://x/api/v1/", "k", transport=httpx.MockTransport(handler))
    with pytest.raises(SourceFormatRefused, match="order"):
        list(OffsetPaging(client, "task/").pages())


def test_cursor_paging_follows_cursor_next_and_refuses_a_repeat() -> None:
    mock = CloseMock({"leads": []})
    for i in range(25):
        mock.events.append(
            {
                "id": f"ev_{i}",
                "action": "updated",
                "object_type": "lead",
                "date_updated": "2024-01-01T00:00:00+00:00",
            }
        )
    got = [e["id"] for page, _ in CursorPaging(_client(mock), "event/", limit=10).pages() for e in page]
    assert got == [f"ev_{i}" for i in range(25)]

    def loop(req: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": [], "cursor_next": "same"})

    client = CloseClient("http://x/api/v1/", "k", transport=httpx.MockTransport(loop))
    with pytest.raises(SourceFormatRefused, match="repeated"):
        list(CursorPaging(client, "event/").pages())
