"""Tokens for Dataverse through msal — client secret, certificate, managed identity — with msal's
HTTP replaced by a fake Entra ID / identity endpoint: the real msal flows, caching and errors."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from shared.dataverse import token_provider_for
from shared.errors import AuthError, ConfigError
from shared.spec import TargetSpec

URL = "https://contoso.crm.dynamics.com"
TENANT = "11111111-2222-3333-4444-555555555555"


class _Resp:
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status_code = status
        self.text = json.dumps(body)
        self.headers: dict[str, str] = {}

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise RuntimeError(self.status_code)


class FakeEntra:
    """Answers msal's discovery and token requests; records what msal sent."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.token_posts: list[dict[str, Any]] = []
        self.gets: list[tuple[str, dict[str, Any], dict[str, str]]] = []

    def get(self, url: str, params: Any = None, headers: Any = None, **kw: Any) -> _Resp:
        self.gets.append((url, dict(params or {}), dict(headers or {})))
        if url.endswith("/.well-known/openid-configuration"):
            base = url.split("/v2.0/")[0]
            return _Resp(
                200,
                {
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "issuer": f"{base}/v2.0",
                },
            )
        if "/discovery/instance" in url:  # msal's instance discovery (authority aliases)
            return _Resp(
                200,
                {
                    "metadata": [
                        {
                            "preferred_network": "login.microsoftonline.com",
                            "aliases": ["login.microsoftonline.com"],
                        }
                    ]
                },
            )
        # the Functions/App Service managed-identity endpoint
        return _Resp(
            200,
            {
                "access_token": f"mi-{len(self.gets)}",
                "expires_on": "4102444800",
                "resource": URL,
                "token_type": "Bearer",
            },
        )

    def post(self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kw: Any) -> _Resp:
        form = data if isinstance(data, dict) else {k: v[0] for k, v in parse_qs(data or "").items()}
        self.token_posts.append({"url": url, **form})
        if self.refuse:
            return _Resp(
                401,
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x",
                },
            )
        return _Resp(
            200, {"access_token": f"tok-{len(self.token_posts)}", "token_type": "Bearer", "expires_in": 3600}
        )


def _target(auth: dict[str, Any]) -> TargetSpec:
    return TargetSpec.model_validate({"url": URL, "auth": auth})


def test_client_secret_token_is_requested_once_and_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAVERSE_CLIENT_SECRET", "s3cret-value")
    entra = FakeEntra()
    tokens = token_provider_for(
        _target(
            {
                "kind": "client_secret",
                "tenant_id": TENANT,
                "client_id": "app-1",
                "client_secret": "${DATAVERSE_CLIENT_SECRET}",
            }
        ),
        http_client=entra,
    )
    assert tokens.get_token() == tokens.get_token() == "tok-1"
    assert len(entra.token_posts) == 1
    post = entra.token_posts[0]
    assert post["url"] == f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"
    assert post["grant_type"] == "client_credentials"
    assert post["client_secret"] == "s3cret-value"
    assert post["scope"].split()[0] == f"{URL}/.default"


def test_refused_credentials_raise_auth_error_without_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAVERSE_CLIENT_SECRET", "s3cret-value")
    tokens = token_provider_for(
        _target(
            {
                "kind": "client_secret",
                "tenant_id": TENANT,
                "client_id": "app-1",
                "client_secret": "${DATAVERSE_CLIENT_SECRET}",
            }
        ),
        http_client=FakeEntra(refuse=True),
    )
    with pytest.raises(AuthError) as info:
        tokens.get_token()
    assert "invalid_client" in str(info.value) and "s3cret" not in str(info.value)


def test_missing_secret_setting_is_a_config_error_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match="DATAVERSE_CLIENT_SECRET"):
        token_provider_for(
            _target(
                {
                    "kind": "client_secret",
                    "tenant_id": TENANT,
                    "client_id": "app-1",
                    "client_secret": "${DATAVERSE_CLIENT_SECRET}",
                }
            ),
            http_client=FakeEntra(),
        )


def _certificate(tmp_path: Path) -> tuple[Path, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "intact-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ) + cert.public_bytes(serialization.Encoding.PEM)
    path = tmp_path / "app.pem"
    path.write_bytes(pem)
    return path, cert.fingerprint(hashes.SHA1()).hex()  # x5t thumbprints are SHA-1


def test_certificate_flow_sends_a_signed_client_assertion(tmp_path: Path) -> None:
    pem, thumbprint = _certificate(tmp_path)
    entra = FakeEntra()
    tokens = token_provider_for(
        _target(
            {
                "kind": "certificate",
                "tenant_id": TENANT,
                "client_id": "app-2",
                "certificate_path": str(pem),
                "certificate_thumbprint": thumbprint,
            }
        ),
        http_client=entra,
    )
    assert tokens.get_token() == "tok-1"
    post = entra.token_posts[0]
    assert post["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    assertion = post["client_assertion"]
    assertion = assertion.decode() if isinstance(assertion, bytes) else assertion
    assert assertion.count(".") == 2  # a signed JWT
    assert "client_secret" not in post


def test_unreadable_certificate_is_an_auth_error(tmp_path: Path) -> None:
    with pytest.raises(AuthError, match="cannot read certificate"):
        token_provider_for(
            _target(
                {
                    "kind": "certificate",
                    "tenant_id": TENANT,
                    "client_id": "a",
                    "certificate_path": str(tmp_path / "missing.pem"),
                    "certificate_thumbprint": "00",
                }
            ),
            http_client=FakeEntra(),
        )


def test_managed_identity_uses_the_functions_identity_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    # what Azure Functions / App Service set for a managed identity
    monkeypatch.setenv("IDENTITY_ENDPOINT", "http://127.0.0.1:41741/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", "header-value")
    entra = FakeEntra()
    tokens = token_provider_for(
        _target({"kind": "managed_identity", "client_id": "uami-1"}), http_client=entra
    )
    assert tokens.get_token().startswith("mi-")
    tokens.get_token()
    calls = [g for g in entra.gets if g[0].startswith("http://127.0.0.1:41741/msi/token")]
    assert len(calls) == 1  # cached
    _, params, headers = calls[0]
    assert params["resource"] == URL and params["client_id"] == "uami-1"
    assert headers["X-IDENTITY-HEADER"] == "header-value"


def test_each_application_user_gets_its_own_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S1", "one")
    monkeypatch.setenv("S2", "two")
    target = TargetSpec.model_validate(
        {
            "url": URL,
            "auth": {
                "kind": "client_secret",
                "tenant_id": TENANT,
                "client_id": "app-1",
                "client_secret": "${S1}",
            },
            "additional_users": [
                {"kind": "client_secret", "tenant_id": TENANT, "client_id": "app-2", "client_secret": "${S2}"}
            ],
        }
    )
    entra = FakeEntra()
    token_provider_for(target, 0, http_client=entra).get_token()
    token_provider_for(target, 1, http_client=entra).get_token()
    assert [(p["client_id"], p["client_secret"]) for p in entra.token_posts] == [
        ("app-1", "one"),
        ("app-2", "two"),
    ]
