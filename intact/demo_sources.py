"""What `intact demo --source NAME` knows about each bundled sample, as data: one row per source.

A row names the spec's `source.kind` (the CLI says `thepractice`, the spec says `practice`), the
sample folder (its `target_org.json` seeds the Dataverse emulator: users matching the sample's users,
one of them disabled, one missing, an admin as fallback owner), the spec's `source` section, the
mock an API source is read through (started on a free loopback port; its URL becomes `api_url`),
and the demo credentials the spec refers to as `${VAR}` (set in the demo's own environment: a spec
never holds a secret's value).

    demo = demo_source("x2crm")
    with demo.service() as mock:                      # None for export sources
        mock.start()
        section = demo.source_section(mock.url)       # the spec's `source`
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from intact.services import REPO, ServiceError, _Child
from shared.errors import ConfigError
from shared.mapping.profile import PROFILES_DIR, load_profile

SAMPLES = REPO / "samples"
X2CRM_KEY_VAR = "INTACT_DEMO_X2CRM_KEY"
X2CRM_SAMPLE_KEY = "x2-sample-api-key"  # the sample admin's userKey (samples/x2crm/generate.py)


class X2CRMMock(_Child):
    """`python -m emulators.x2crm` serving a sample data file; its first stdout line is its base URL."""

    url: str = ""
    title = "the X2CRM API mock"

    def __init__(self, data: Path) -> None:
        super().__init__()
        self.data = data

    def start(self, timeout: float = 30.0) -> X2CRMMock:
        argv = [sys.executable, "-m", "emulators.x2crm", "--port", "0", "--host", "127.0.0.1"]
        self._spawn([*argv, "--data", str(self.data)], {**os.environ, "PYTHONUNBUFFERED": "1"})
        first = self._read_until(None, 1, timeout)[0].group(1)
        if not first.startswith("http"):
            self.stop()
            raise ServiceError(f"X2CRM mock printed {first!r} instead of its URL")
        self.url = first.rstrip("/")
        return self


@dataclass(frozen=True)
class DemoSource:
    name: str
    """The `--source` choice."""
    kind: str
    """The spec's `source.kind` (and the mapping profile's name)."""
    title: str
    sample: Path
    """The sample folder; holds `target_org.json`."""
    source: Mapping[str, Any]
    """The spec's `source` section but `kind` (and `api_url`, filled from the service)."""
    fallback_owner: str
    """The target org's admin: owns what no enabled, matched user can (`options.fallback_owner`)."""
    service: Callable[[], X2CRMMock] | None = None
    """The mock an API source is read through; its URL becomes `source.api_url`."""
    env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Demo credentials the `source` section refers to as `${VAR}`."""
    max_upload_bytes: int = 10_485_760
    """The demo org's `organization.maxuploadfilesize`: raised to 10 MB, as an admin would after the
    preflight named the samples' planted 5.5 MB files (COM-41). Those files are generated, not in the
    repository: when present they load in 4 MB blocks; when absent they are quarantined as missing.
    The block itself is shown by each source's end-to-end test."""

    @property
    def target_org(self) -> Path:
        return self.sample / "target_org.json"

    @property
    def profile_path(self) -> Path:
        return PROFILES_DIR / f"{self.kind}.yaml"

    def source_section(self, service_url: str | None = None) -> dict[str, Any]:
        section: dict[str, Any] = {"kind": self.kind, **self.source}
        if self.service is not None:
            if not service_url:
                raise ConfigError(f"the {self.name} demo reads its source through a mock: give its URL")
            section["api_url"] = service_url
        return section

    def require_profile(self) -> None:
        """Fail with one line when the source has no (valid) mapping profile yet."""
        if not self.profile_path.exists():
            ready = ", ".join(d.name for d in SOURCES.values() if d.profile_path.exists())
            raise ConfigError(
                f"intact demo --source {self.name}: no mapping profile for {self.title} yet "
                f"({self.profile_path.relative_to(REPO)} is missing); samples with a profile: {ready}"
            )
        try:
            load_profile(self.kind)
        except ConfigError as exc:
            reason = str(exc).removeprefix(f"[{exc.code}] ")
            raise ConfigError(f"intact demo --source {self.name}: {reason}") from None


def _export(name: str, kind: str, title: str, folder: str, fallback_owner: str) -> DemoSource:
    sample = SAMPLES / folder
    section = MappingProxyType({"path": str(sample / "export")})
    return DemoSource(name, kind, title, sample, section, fallback_owner)


SOURCES: Mapping[str, DemoSource] = MappingProxyType(
    {
        "close": DemoSource(
            "close",
            "close",
            "the Close sample",
            SAMPLES / "close",
            MappingProxyType(
                {
                    "path": str(SAMPLES / "close" / "export.json"),
                    "users_path": str(SAMPLES / "close" / "users.json"),
                }
            ),
            "admin@contoso.example",
        ),
        "x2crm": DemoSource(
            "x2crm",
            "x2crm",
            "the X2CRM sample",
            SAMPLES / "x2crm",
            MappingProxyType(
                {
                    "username": "admin",
                    "api_key": f"${{{X2CRM_KEY_VAR}}}",
                    "workflows_path": str(SAMPLES / "x2crm" / "workflows.json"),
                }
            ),
            "admin@northwind-x2.example",
            service=lambda: X2CRMMock(SAMPLES / "x2crm" / "data.json"),
            env=MappingProxyType({X2CRM_KEY_VAR: X2CRM_SAMPLE_KEY}),
        ),
        "profi": _export(
            "profi", "profi", "the Profi sample export", "profi", "admin@profi-coaching.example"
        ),
        "thepractice": _export(
            "thepractice", "practice", "The Practice sample export", "practice", "admin@the-practice.example"
        ),
        "smartdesk": _export(
            "smartdesk",
            "smartdesk",
            "the SmartDesk sample export",
            "smartdesk",
            "admin@smartdesk-customer.example",
        ),
    }
)


def demo_source(name: str) -> DemoSource:
    try:
        return SOURCES[name]
    except KeyError:
        raise ConfigError(f"no demo for source {name!r} (choose from {', '.join(SOURCES)})") from None
