"""Tokens for the Dataverse Web API: msal for Entra ID (secret, certificate, managed identity),
or a static token (the emulator, or a token obtained elsewhere). msal caches and refreshes.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Protocol

from shared.errors import AuthError
from shared.spec import (
    CertificateAuth,
    ClientSecretAuth,
    ManagedIdentityAuth,
    StaticTokenAuth,
    TargetSpec,
    resolve_secret,
)


class TokenProvider(Protocol):
    def get_token(self) -> str: ...


class StaticToken:
    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self) -> str:
        return self._token


def _scope(url: str) -> list[str]:
    return [url.rstrip("/") + "/.default"]


def _check(result: dict[str, Any] | None) -> str:
    if not result or "access_token" not in result:
        err = (result or {}).get("error", "no_token")
        desc = (result or {}).get("error_description", "")
        raise AuthError(
            f"Entra ID refused the token request: {err} {desc.splitlines()[0] if desc else ''}".strip()
        )
    return str(result["access_token"])


class _MsalConfidential:
    """Client-credentials flow; msal keeps the token cache and refreshes before expiry."""

    def __init__(
        self,
        url: str,
        tenant_id: str,
        client_id: str,
        credential: Any,
        authority_host: str,
        http_client: Any = None,
    ) -> None:
        import msal

        self._scopes = _scope(url)
        self._app = msal.ConfidentialClientApplication(
            client_id,
            client_credential=credential,
            authority=f"{authority_host.rstrip('/')}/{tenant_id}",
            http_client=http_client,
        )
        self._lock = threading.Lock()

    def get_token(self) -> str:
        with self._lock:
            return _check(self._app.acquire_token_for_client(scopes=self._scopes))


class _MsalManagedIdentity:
    def __init__(self, url: str, client_id: str | None, http_client: Any = None) -> None:
        import msal
        import requests  # msal depends on requests; its managed-identity client wants a session

        identity = (
            msal.UserAssignedManagedIdentity(client_id=client_id)
            if client_id
            else msal.SystemAssignedManagedIdentity()
        )
        self._app = msal.ManagedIdentityClient(identity, http_client=http_client or requests.Session())
        self._resource = url.rstrip("/")
        self._lock = threading.Lock()

    def get_token(self) -> str:
        with self._lock:
            return _check(self._app.acquire_token_for_client(resource=self._resource))


def token_provider_for(target: TargetSpec, user_index: int = 0, http_client: Any = None) -> TokenProvider:
    """Tokens for one of the target's application users (0 = `target.auth`).

    `http_client` replaces msal's HTTP transport (tests talk to a fake Entra ID / identity endpoint).
    """
    auth = target.user_auths[user_index]
    if isinstance(auth, StaticTokenAuth):
        return StaticToken(resolve_secret(auth.token))
    if isinstance(auth, ClientSecretAuth):
        return _MsalConfidential(
            target.url,
            auth.tenant_id,
            auth.client_id,
            resolve_secret(auth.client_secret),
            auth.authority_host,
            http_client,
        )
    if isinstance(auth, CertificateAuth):
        try:
            pem = Path(auth.certificate_path).read_text(encoding="utf-8")
        except OSError as exc:
            raise AuthError(f"cannot read certificate {auth.certificate_path}: {exc.strerror}") from None
        cred: dict[str, Any] = {"private_key": pem, "thumbprint": auth.certificate_thumbprint}
        if auth.certificate_password:
            cred["passphrase"] = resolve_secret(auth.certificate_password)
        return _MsalConfidential(
            target.url, auth.tenant_id, auth.client_id, cred, auth.authority_host, http_client
        )
    if isinstance(auth, ManagedIdentityAuth):
        return _MsalManagedIdentity(target.url, auth.client_id, http_client)
    raise AuthError(f"unsupported auth kind {auth!r}")
