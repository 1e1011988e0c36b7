"""Every error the Close mock can return maps to an Intact error class, in one place (errors.py)."""

from __future__ import annotations

import json

import httpx
import pytest

from emulators.close.app import MAX_SKIP_TEXT, RATE_TEXT, CloseMock, MockConfig
from emulators.close.transport import BASE, mock_transport
from shared.errors import AuthError, ServiceUnavailable, Throttled, TransientNetworkError
from shared.sources.close.errors import (
    MaxSkipExceeded,
    SourceRequestRefused,
    error_for,
    error_for_transport,
    retry_after,
)


def _mock_response(
    config: MockConfig, path: str, *, key: str = "test-key", method: str = "GET"
) -> httpx.Response:
    client = httpx.Client(transport=mock_transport(CloseMock({"leads": []}, config)), base_url=BASE)
    return client.request(method, path, auth=(key, ""))


CASES = [
    ("bad key", MockConfig(), "/api/v1/lead/", "wrong", "GET", AuthError),
    ("max_skip", MockConfig(max_skip=10), "/api/v1/lead/?_skip=11", "test-key", "GET", MaxSkipExceeded),
    (
        "bad date filter",
        MockConfig(),
        "/api/v1/task/?date_updated__gt=x",
        "test-key",
        "GET",
        SourceRequestRefused,
    ),
    ("bad skip", MockConfig(), "/api/v1/task/?_skip=x", "test-key", "GET", SourceRequestRefused),
    ("unknown path", MockConfig(), "/api/v1/widget/", "test-key", "GET", SourceRequestRefused),
    ("method", MockConfig(), "/api/v1/lead/", "test-key", "DELETE", SourceRequestRefused),
    ("502", MockConfig(faults="502:1"), "/api/v1/lead/", "test-key", "GET", ServiceUnavailable),
    ("503", MockConfig(faults="503:1"), "/api/v1/lead/", "test-key", "GET", ServiceUnavailable),
    ("504", MockConfig(faults="504:1"), "/api/v1/lead/", "test-key", "GET", ServiceUnavailable),
]


@pytest.mark.parametrize(
    ("config", "path", "key", "method", "cls"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_every_mock_error_maps_to_a_class(
    config: MockConfig, path: str, key: str, method: str, cls: type
) -> None:
    resp = _mock_response(config, path, key=key, method=method)
    assert resp.status_code >= 400
    err = error_for(resp.status_code, resp.content, resp.headers, f"{method} {path}")
    assert type(err) is cls


def test_CLOSE_24_429_maps_to_throttled_with_rate_reset() -> None:
    config = MockConfig(rate_limit=1)
    mock = CloseMock({"leads": []}, config)
    mock.clock = lambda: 100.0
    client = httpx.Client(transport=mock_transport(mock), base_url=BASE, auth=("test-key", ""))
    assert client.get("/api/v1/lead/").status_code == 200
    resp = client.get("/api/v1/lead/")
    assert resp.status_code == 429
    body = resp.json()["error"]
    assert body["message"] == RATE_TEXT and body["rate_limit_type"] == "key"
    assert resp.headers["RateLimit"].startswith("limit=1, remaining=0, reset=")
    err = error_for(429, resp.content, resp.headers, "GET lead/")
    assert isinstance(err, Throttled) and err.retry_after == body["rate_reset"]
    assert client.get("/api/v1/opportunity/").status_code == 200  # another endpoint group


def test_retry_after_falls_back_to_the_headers() -> None:
    assert retry_after({}, {"ratelimit": "limit=5, remaining=0, reset=2.5"}) == 2.5
    assert retry_after({}, {"retry-after": "3"}) == 3.0
    assert retry_after({"error": "text"}, {}) == 1.0


def test_max_skip_text_is_close_s_and_carries_the_ceiling() -> None:
    resp = _mock_response(MockConfig(max_skip=250000), "/api/v1/activity/?_skip=250100")
    assert resp.json()["error"] == MAX_SKIP_TEXT.format(n=250000)
    err = error_for(resp.status_code, resp.content, resp.headers, "GET activity/")
    assert isinstance(err, MaxSkipExceeded) and err.max_skip == 250000


def test_transport_errors_are_transient_and_messages_carry_no_body() -> None:
    assert isinstance(error_for_transport(httpx.ReadTimeout("t"), "GET lead/"), TransientNetworkError)
    secret = json.dumps({"error": "jane@private.example is invalid"}).encode()
    assert "jane" not in str(error_for(400, secret, {}, "GET lead/"))
