"""A mock of Close's REST API v1 on loopback, serving a sample dataset (see README.md)."""

from emulators.close.server import ServerHandle, start_server

__all__ = ["ServerHandle", "start_server"]
