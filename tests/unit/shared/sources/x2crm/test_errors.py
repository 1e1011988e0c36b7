"""Every error the X2CRM mock can answer maps to an Intact error class (httpx's
test_httpcore_all_exceptions_mapped idea)."""

from __future__ import annotations

import httpx
import pytest

from emulators.x2crm.app import MockConfig, X2Mock
from shared.errors import (
    AuthError,
    ConfigError,
    IntactError,
    InvalidField,
    ServiceUnavailable,
    Throttled,
    TransientNetworkError,
)
from shared.sources.x2crm.errors import RecordNotFound, error_for

from .conftest import KEY, client_for, transport_for

MOCK_ERRORS: dict[int, type[IntactError]] = {
    400: ConfigError,
    401: AuthError,
    403: AuthError,
    404: RecordNotFound,
    405: ConfigError,
    415: ConfigError,
    422: InvalidField,
    429: Throttled,
    500: ServiceUnavailable,
    502: ServiceUnavailable,
    503: ServiceUnavailable,
    504: ServiceUnavailable,
}


@pytest.mark.parametrize(("status", "cls"), MOCK_ERRORS.items())
def test_every_status_maps_to_a_class(status: int, cls: type[IntactError]) -> None:
    request = httpx.Request("GET", "http://x2.test/index.php/api2/Contacts")
    response = httpx.Response(
        status,
        json={"message": "Ada Lovelace ada@example.com", "error": True, "status": status},
        request=request,
    )
    err = error_for(response)
    assert type(err) is cls
    assert "ada@example.com" not in str(err)  # bodies can hold personal data


def _raw(mock: X2Mock, method: str, path: str, **kw: object) -> httpx.Response:
    with httpx.Client(transport=transport_for(mock), base_url="http://x2.test") as http:
        return http.request(method, path, auth=("admin", KEY), **kw)  # type: ignore[arg-type]


def test_statuses_the_mock_answers_are_all_mapped(mock: X2Mock) -> None:
    seen = {
        _raw(mock, "GET", "/index.php/api2/Nope").status_code,
        _raw(mock, "GET", "/index.php/api2/Contacts/99999.json").status_code,
        _raw(mock, "PUT", "/index.php/api2/users").status_code,
        _raw(
            mock, "POST", "/index.php/api2/Contacts", content=b"x", headers={"Content-Type": "text/plain"}
        ).status_code,
        _raw(mock, "POST", "/index.php/api2/Contacts", json={"title": "x"}).status_code,
    }
    with httpx.Client(transport=transport_for(mock)) as http:  # no credentials
        seen.add(http.get("http://x2.test/index.php/api2/Contacts").status_code)
    assert seen == {400, 404, 405, 415, 422, 401}
    assert seen <= set(MOCK_ERRORS)
    faulty = X2Mock(mock.store, MockConfig(faults="429:0.25,500:0.25,503:0.25,502:0.25", fault_seed=1))
    statuses = {_raw(faulty, "GET", "/index.php/api2/Contacts").status_code for _ in range(40)}
    assert statuses <= set(MOCK_ERRORS) and {429, 500, 502, 503} <= statuses


def test_X2_25_a_422_names_the_failing_field_not_its_value(mock: X2Mock) -> None:
    client = client_for(mock)
    with pytest.raises(InvalidField) as info:
        client.post("Contacts", {"title": "x"})
    assert info.value.field in {"firstName", "lastName"}


def test_a_dropped_connection_is_a_transient_network_error(mock: X2Mock) -> None:
    client = client_for(X2Mock(mock.store, MockConfig(faults="drop:1.0")), max_attempts=2)
    with pytest.raises(TransientNetworkError):
        client.get("Contacts")
