"""Unbound functions and documents: `WhoAmI`, the service document."""

from __future__ import annotations

from ..identity import Directory
from ..metadata import MetadataRegistry
from .base import Request, Response, context_url


def who_am_i(req: Request, directory: Directory) -> Response:
    return Response(
        200,
        {
            "@odata.context": context_url(req, "Microsoft.Dynamics.CRM.WhoAmIResponse"),
            "BusinessUnitId": req.caller.business_unit_id,
            "UserId": req.caller.user_id,
            "OrganizationId": directory.organization_id,
        },
    )


def service_document(req: Request, registry: MetadataRegistry) -> Response:
    return Response(
        200,
        {
            "@odata.context": f"{req.api_root}$metadata",
            "value": [
                {"name": t.entity_set, "kind": "EntitySet", "url": t.entity_set}
                for t in sorted(registry.tables(), key=lambda t: t.entity_set)
            ],
        },
    )
