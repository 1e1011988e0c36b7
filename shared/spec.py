"""The migration spec: what a user writes (YAML or JSON) to describe one migration.

Secrets never appear in a spec as values. Every secret field holds a `${ENV_VAR}` reference that is
resolved inside the activity that needs it (app settings, Key Vault references or the local
environment), so the spec can travel through orchestration history, logs and the migrations registry.

Usage::

    spec = load_spec(Path("migration.yaml"))
    token = resolve_secret(spec.target.auth.token)
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shared.errors import ConfigError

SourceKind = Literal["close", "x2crm", "profi", "practice", "smartdesk"]
API_SOURCES: frozenset[str] = frozenset({"close", "x2crm"})

_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_DEV_STORAGE = ("UseDevelopmentStorage=true",)


def _must_be_reference(value: str | None, field: str) -> str | None:
    if value is None or _REF.match(value):
        return value
    raise ValueError(
        f"{field} must be a ${{ENV_VAR}} reference, not a literal secret "
        "(secrets travel through orchestration history otherwise)"
    )


SecretRef = Annotated[str, Field(description="A ${ENV_VAR} reference; resolved where it is used.")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MigrationInfo(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$", description="Migration id (lowercase, digits, -).")
    scope: str | None = Field(
        default=None, description="Scope of deterministic GUIDs; defaults to the migration id."
    )

    @property
    def id_scope(self) -> str:
        return self.scope or self.id


class SourceSpec(_Model):
    kind: SourceKind
    path: str | None = Field(default=None, description="Export file or folder (export sources).")
    users_path: str | None = Field(
        default=None,
        description="Close: the users list (GET user/ response); default users.json beside path.",
    )
    columns: dict[str, dict[str, str]] | None = Field(
        default=None,
        description="Export sources (Profi, The Practice, SmartDesk): per file or object, "
        "{their column: our column} for an export whose columns are named differently.",
    )
    api_url: str | None = None
    api_key: SecretRef | None = None
    username: str | None = Field(
        default=None, description="X2CRM: the API user's username (HTTP Basic with the user's API key)."
    )
    files_root: str | None = Field(
        default=None,
        description="X2CRM self-hosted: the install's web root (holding uploads/protected/media), for "
        "attachments stored on local disk.",
    )
    workflows_path: str | None = Field(
        default=None,
        description="X2CRM: a JSON export of the X2Flow workflows (x2_flows rows), listed in the inventory.",
    )

    @field_validator("api_key")
    @classmethod
    def _api_key_is_reference(cls, v: str | None) -> str | None:
        return _must_be_reference(v, "source.api_key")

    @model_validator(mode="after")
    def _has_a_way_in(self) -> SourceSpec:
        if self.path is None and (self.api_url is None or self.api_key is None):
            raise ValueError("source needs either path (an export) or api_url + api_key (an API)")
        if self.path is None and self.kind not in API_SOURCES:
            raise ValueError(f"source.kind {self.kind!r} has no API: give source.path (an export)")
        return self


class StaticTokenAuth(_Model):
    """For the Dataverse emulator and for tokens obtained elsewhere."""

    kind: Literal["static_token"]
    token: SecretRef

    @field_validator("token")
    @classmethod
    def _ref(cls, v: str) -> str:
        return _must_be_reference(v, "target.auth.token") or v


class ClientSecretAuth(_Model):
    kind: Literal["client_secret"]
    tenant_id: str
    client_id: str
    client_secret: SecretRef
    authority_host: str = "https://login.microsoftonline.com"

    @field_validator("client_secret")
    @classmethod
    def _ref(cls, v: str) -> str:
        return _must_be_reference(v, "target.auth.client_secret") or v


class CertificateAuth(_Model):
    kind: Literal["certificate"]
    tenant_id: str
    client_id: str
    certificate_path: str = Field(description="PEM file with the private key and certificate.")
    certificate_thumbprint: str
    certificate_password: SecretRef | None = None
    authority_host: str = "https://login.microsoftonline.com"

    @field_validator("certificate_password")
    @classmethod
    def _ref(cls, v: str | None) -> str | None:
        return _must_be_reference(v, "target.auth.certificate_password")


class ManagedIdentityAuth(_Model):
    kind: Literal["managed_identity"]
    client_id: str | None = Field(
        default=None, description="User-assigned identity; omit for system-assigned."
    )


TargetAuth = Annotated[
    StaticTokenAuth | ClientSecretAuth | CertificateAuth | ManagedIdentityAuth, Field(discriminator="kind")
]


class TargetSpec(_Model):
    url: str = Field(description="Environment URL, e.g. https://contoso.crm.dynamics.com")
    auth: TargetAuth
    additional_users: list[TargetAuth] = Field(
        default=[],
        description="More application users. Each has its own service-protection limits; the load is "
        "spread across all of them.",
    )
    api_version: str = "v9.2"

    @property
    def user_auths(self) -> list[TargetAuth]:
        """Every application user, the primary one first."""
        return [self.auth, *self.additional_users]


class StorageSpec(_Model):
    connection_string: str = Field(
        description="${ENV_VAR} reference to a storage connection string, or UseDevelopmentStorage=true."
    )
    container: str = Field(default="intact-staging", pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
    table_prefix: str = Field(default="intact", pattern=r"^[A-Za-z][A-Za-z0-9]{0,40}$")

    @field_validator("container")
    @classmethod
    def _no_double_hyphen(cls, v: str) -> str:
        if "--" in v:
            raise ValueError("a Blob container name may not contain consecutive hyphens")
        return v

    @field_validator("connection_string")
    @classmethod
    def _ref(cls, v: str) -> str:
        if v in _DEV_STORAGE:
            return v
        return _must_be_reference(v, "storage.connection_string") or v


class OptionsSpec(_Model):
    fallback_owner: str | None = Field(
        default=None, description="Email of the systemuser who owns records whose owner cannot be matched."
    )
    unmatched_owner: Literal["fallback", "block"] | None = Field(
        default=None,
        description="Records of an owner with no enabled Dataverse user: fallback (to fallback_owner) or "
        "block (the run stops before any record moves, naming them). Unset: the source's own rule (its "
        "profile's owners policy: block for X2CRM, SmartDesk and Close per their pages), else fallback.",
    )
    approval: Literal["required", "auto"] = Field(
        default="required",
        description="required: the run waits, before any record is written, until a person approves the "
        "mapping (HTTP POST …/approve, `intact approve`); auto: it goes straight on (COM-02).",
    )
    approval_timeout_hours: int = Field(default=168, ge=1, le=24 * 30)
    licence: Literal["professional", "enterprise"] | None = Field(
        default=None,
        description="The target's Dynamics 365 Sales licence: preflight checks custom tables against its cap "
        "(professional 15, enterprise 500). Not readable from the Web API; unset means enterprise, with a "
        "warning.",
    )
    schema_provisioning: Literal["create", "verify"] = Field(
        default="create",
        description="create: Intact creates and publishes what the schema plan needs (COM-13); verify: the "
        "customer creates it from the plan document (reports/schema-plan.md, SD-12) and Intact only checks "
        "it is all there, stopping before any record moves when it is not.",
    )
    delta_window_hours: int = Field(default=48, ge=0, le=24 * 14)
    delta_interval_minutes: int = Field(default=15, ge=1, le=24 * 60)
    extract_chunk_size: int = Field(default=1000, ge=1, le=50_000)
    load_batch_size: int = Field(default=1000, ge=1, le=1000)
    daily_request_cap: int | None = Field(
        default=None,
        ge=1,
        description="Request entitlement per 24 h (every record of a bulk request counts). Loading pauses "
        "on a durable timer when the next wave would exceed it.",
    )
    max_parallel_loads: int | None = Field(
        default=None, ge=1, le=52, description="Cap on concurrent load requests; default x-ms-dop-hint."
    )
    publisher_prefix: str = Field(
        default="new",
        pattern=r"^[a-z][a-z0-9]{1,7}$",
        description="Customization prefix of the solution's publisher: custom tables, columns, option sets "
        "and keys are named {prefix}_{Name}.",
    )
    option_value_prefix: int = Field(
        default=10000,
        ge=10000,
        le=99999,
        description="The publisher's option-value prefix: new choice options are numbered "
        "prefix * 10,000 + n.",
    )
    solution: str = Field(
        default="IntactMigration",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,64}$",
        description="Unique name of the unmanaged solution that holds the provisioned schema.",
    )
    profile_overrides: dict[str, Any] | None = Field(
        default=None,
        description="Changes to the source's default mapping profile, merged over it: only what is set "
        "changes (null clears a setting; `objects` merge by name). Validated with the profile.",
    )


class MigrationSpec(_Model):
    """One migration: where from, where to, where to stage, and how."""

    migration: MigrationInfo
    source: SourceSpec
    target: TargetSpec
    storage: StorageSpec
    options: OptionsSpec = OptionsSpec()

    @model_validator(mode="after")
    def _profile_overrides(self) -> MigrationSpec:
        if self.options.profile_overrides:
            from shared.mapping.profile import load_profile  # the profile validates the merge

            try:
                load_profile(self.source.kind, self.options.profile_overrides)
            except ConfigError as exc:
                raise ValueError(str(exc).removeprefix("[ConfigError] ")) from None
        return self

    def with_profile_overrides(self, overrides: dict[str, Any]) -> MigrationSpec:
        """This spec running with other profile overrides (generated or approved mapping), validated."""
        data = self.model_dump(mode="json")
        data["options"]["profile_overrides"] = overrides
        return MigrationSpec.model_validate(data)


def resolve_secret(reference: str) -> str:
    """Turn `${VAR}` into the variable's value; literal dev values pass through."""
    m = _REF.match(reference)
    if m is None:
        return reference
    value = os.environ.get(m.group(1))
    if not value:
        raise ConfigError(f"setting {m.group(1)} is not set (referenced by the migration spec)")
    return value


def parse_spec(data: Any) -> MigrationSpec:
    """Validate a spec object; the ConfigError lists every problem with its path."""
    try:
        return MigrationSpec.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid migration spec: {problems}") from None


def load_spec(path: Path) -> MigrationSpec:
    """Read a YAML or JSON spec file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read spec {path}: {exc.strerror}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"spec {path} is not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}"
        ) from None
    return parse_spec(data)


def spec_json_schema() -> dict[str, Any]:
    return MigrationSpec.model_json_schema()
