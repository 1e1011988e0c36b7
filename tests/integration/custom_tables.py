"""The body of a `POST EntityDefinitions` that creates a custom table with a primary name column, as the
integration tests send it to the Dataverse emulator (a custom activity table, or a plain one)."""

from __future__ import annotations

from typing import Any


def label(text: str) -> dict[str, Any]:
    """A Label as a request carries it: one localized label, in English."""
    return {"LocalizedLabels": [{"Label": text, "LanguageCode": 1033}]}


def table_body(
    schema_name: str, display: str, plural: str, *, activity: bool = False, notes: bool = False
) -> dict[str, Any]:
    """A user-owned custom table `schema_name` (publisher prefix included) with its `new_Name` column."""
    return {
        "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata",
        "SchemaName": schema_name,
        "DisplayName": label(display),
        "DisplayCollectionName": label(plural),
        "OwnershipType": "UserOwned",
        "HasNotes": notes,
        "HasActivities": False,
        "IsActivity": activity,
        "Attributes": [
            {
                "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
                "SchemaName": "new_Name",
                "IsPrimaryName": True,
                "MaxLength": 100,
                "RequiredLevel": {"Value": "None"},
                "DisplayName": label("Name"),
            }
        ],
    }
