"""A local mock of the X2CRM REST API v2 (Api2Controller) for tests and demos."""

from .server import ServerHandle, start_server

__all__ = ["ServerHandle", "start_server"]
