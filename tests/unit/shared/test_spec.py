"""The migration spec: secrets only as ${ENV} references, errors that name the path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.errors import ConfigError
from shared.spec import load_spec, parse_spec, resolve_secret

LITERAL = "eyJhbGciOiJSUzI1NiJ9.s3cr3t-literal"


def _spec(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "migration": {"id": "acme-close"},
        "source": {"kind": "close", "path": "export.json"},
        "target": {
            "url": "https://acme.crm.dynamics.com",
            "auth": {"kind": "static_token", "token": "${INTACT_TEST_TOKEN}"},
        },
        "storage": {"connection_string": "${INTACT_TEST_STORAGE}"},
    }
    for dotted, value in overrides.items():
        node = spec
        *parents, leaf = dotted.split("__")
        for p in parents:
            node = node[p]
        node[leaf] = value
    return spec


def test_valid_spec_with_references_loads() -> None:
    spec = parse_spec(_spec())
    assert spec.target.auth.token == "${INTACT_TEST_TOKEN}"
    assert spec.migration.id_scope == "acme-close"
    assert spec.storage.container == "intact-staging"


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"target__auth": {"kind": "static_token", "token": LITERAL}}, "target.auth.token"),
        (
            {
                "target__auth": {
                    "kind": "client_secret",
                    "tenant_id": "t",
                    "client_id": "c",
                    "client_secret": LITERAL,
                }
            },
            "target.auth.client_secret",
        ),
        (
            {"source": {"kind": "close", "api_url": "https://api.close.com", "api_key": LITERAL}},
            "source.api_key",
        ),
        ({"storage__connection_string": f"AccountName=a;AccountKey={LITERAL}"}, "storage.connection_string"),
        (
            {
                "target__auth": {
                    "kind": "certificate",
                    "tenant_id": "t",
                    "client_id": "c",
                    "certificate_path": "c.pem",
                    "certificate_thumbprint": "AB",
                    "certificate_password": LITERAL,
                }
            },
            "target.auth.certificate_password",
        ),
    ],
)
def test_literal_secret_refused_naming_the_field(override: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_spec(_spec(**override))
    message = str(info.value)
    assert f"{field} must be a ${{ENV_VAR}} reference" in message
    assert LITERAL not in message  # the secret itself is never echoed


def test_reference_must_be_the_whole_value() -> None:
    with pytest.raises(ConfigError, match=r"target\.auth\.token"):
        parse_spec(_spec(target__auth={"kind": "static_token", "token": "Bearer ${INTACT_TEST_TOKEN}"}))


def test_development_storage_allowed_without_reference() -> None:
    spec = parse_spec(_spec(storage__connection_string="UseDevelopmentStorage=true"))
    assert spec.storage.connection_string == "UseDevelopmentStorage=true"
    assert resolve_secret(spec.storage.connection_string) == "UseDevelopmentStorage=true"


def test_resolve_secret_reads_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTACT_TEST_TOKEN", "tok-123")
    assert resolve_secret("${INTACT_TEST_TOKEN}") == "tok-123"


@pytest.mark.parametrize("value", [None, ""])
def test_resolve_secret_unset_names_the_variable(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv("INTACT_TEST_TOKEN", raising=False)
    else:
        monkeypatch.setenv("INTACT_TEST_TOKEN", value)
    with pytest.raises(ConfigError, match="INTACT_TEST_TOKEN is not set"):
        resolve_secret("${INTACT_TEST_TOKEN}")


def test_errors_list_every_problem_with_its_path() -> None:
    data = _spec(migration={"id": "Bad_ID"}, options={"load_batch_size": 0, "colour": "red"})
    with pytest.raises(ConfigError) as info:
        parse_spec(data)
    message = str(info.value)
    assert "migration.id" in message
    assert "options.load_batch_size" in message
    assert "options.colour" in message  # unknown keys are refused, not ignored


def test_load_spec_yaml(tmp_path: Path) -> None:
    path = tmp_path / "migration.yaml"
    path.write_text(yaml.safe_dump(_spec()), encoding="utf-8")
    assert load_spec(path).source.kind == "close"


def test_load_spec_json(tmp_path: Path) -> None:
    path = tmp_path / "migration.json"
    path.write_text(json.dumps(_spec(options={"load_batch_size": 50})), encoding="utf-8")
    assert load_spec(path).options.load_batch_size == 50


def test_load_spec_reports_path_of_invalid_field_in_file(tmp_path: Path) -> None:
    path = tmp_path / "migration.yaml"
    path.write_text(yaml.safe_dump(_spec(target__url=None)), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"target\.url"):
        load_spec(path)


def test_load_spec_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "migration.yaml"
    path.write_text("migration: {id: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_spec(path)


def test_load_spec_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "migration.json"
    path.write_text('{"migration": ', encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_spec(path)


def test_load_spec_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read spec"):
        load_spec(tmp_path / "absent.yaml")


@pytest.mark.parametrize(
    "source",
    [
        {"kind": "close"},
        {"kind": "close", "api_url": "https://api.close.com"},
        {"kind": "close", "api_key": "${INTACT_CLOSE_KEY}"},
    ],
)
def test_source_needs_path_or_api_url_and_key(source: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match=r"either path .* or api_url \+ api_key"):
        parse_spec(_spec(source=source))


def test_source_api_config_accepted_for_api_source() -> None:
    spec = parse_spec(
        _spec(source={"kind": "close", "api_url": "https://api.close.com", "api_key": "${INTACT_CLOSE_KEY}"})
    )
    assert spec.source.path is None


@pytest.mark.parametrize("kind", ["profi", "practice", "smartdesk"])
def test_export_only_kind_refuses_api_only_config(kind: str) -> None:
    source = {"kind": kind, "api_url": "https://api.example.com", "api_key": "${INTACT_KEY}"}
    with pytest.raises(ConfigError, match=f"source.kind '{kind}' has no API"):
        parse_spec(_spec(source=source))


@pytest.mark.parametrize("name", ["intact-staging", "abc", "a1-2b", "x" * 63])
def test_container_name_accepted(name: str) -> None:
    assert (
        parse_spec(_spec(storage={"connection_string": "${X}", "container": name})).storage.container == name
    )


@pytest.mark.parametrize("name", ["ab", "Intact", "-abc", "abc-", "intact_staging", "x" * 64])
def test_container_name_refused(name: str) -> None:
    with pytest.raises(ConfigError, match=r"storage\.container"):
        parse_spec(_spec(storage={"connection_string": "${X}", "container": name}))


def test_container_name_with_consecutive_hyphens_refused() -> None:
    with pytest.raises(ConfigError, match=r"storage\.container"):
        parse_spec(_spec(storage={"connection_string": "${X}", "container": "intact--staging"}))
