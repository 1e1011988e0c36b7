"""X2CRM (open source, self-hosted) through its REST API v2."""

from shared.sources.x2crm.api import OBJECTS, X2CRMSource
from shared.sources.x2crm.client import X2Client

__all__ = ["OBJECTS", "X2CRMSource", "X2Client"]
