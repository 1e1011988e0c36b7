"""Local Dataverse Web API emulator for Intact's tests, demos and benchmarks (see README.md)."""

from __future__ import annotations

from .server import ServerHandle, start_server

__all__ = ["ServerHandle", "start_server"]
