"""Source connectors: read a CRM's records object by object, page by page, resumably."""

from shared.sources._base import (
    Discovery,
    ExtractedRecord,
    FieldInfo,
    InventoryItem,
    ObjectInfo,
    Page,
    Relationship,
    Source,
    SourceObject,
    SourceUser,
    open_source,
)

__all__ = [
    "Discovery",
    "ExtractedRecord",
    "FieldInfo",
    "InventoryItem",
    "ObjectInfo",
    "Page",
    "Relationship",
    "Source",
    "SourceObject",
    "SourceUser",
    "open_source",
]
