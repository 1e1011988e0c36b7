"""The CSV-export sources (Profi, The Practice, SmartDesk): one reader, each layout as data."""

from shared.sources.exports.layout import Layout, load_layout
from shared.sources.exports.reader import ExportRowError, ExportSource

EXPORT_SOURCES = ("profi", "practice", "smartdesk")


def open_export(kind: str, path: object, columns: dict[str, dict[str, str]] | None = None) -> ExportSource:
    """The reader for an export of `kind` at `path` (folder or .zip)."""
    from pathlib import Path

    return ExportSource(Path(str(path)), load_layout(kind), columns)


__all__ = ["EXPORT_SOURCES", "ExportRowError", "ExportSource", "Layout", "load_layout", "open_export"]
