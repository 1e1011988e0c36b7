"""Source connectors: read a CRM's records object by object (issue 5 grows this to all five)."""

from shared.sources._base import ExtractedRecord, Source, SourceObject, SourceUser, open_source

__all__ = ["ExtractedRecord", "Source", "SourceObject", "SourceUser", "open_source"]
