"""Wiring for `$batch`, unbound actions (WinOpportunity/LoseOpportunity, the note-file block upload),
the extra sales tables and the `/_emulator/` test hooks.

Kept apart from `app.py` so the pipeline there stays small: `Emulator` calls `dispatch()` first and
`admin()` for admin paths it does not know.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from . import sdkmessages
from .hooks import Snapshots
from .metadata import MetadataRegistry
from .operations import actions, batch, file_blocks
from .operations.base import Request, Response

if TYPE_CHECKING:
    from .app import Emulator

EXTRA_TABLES = Path(__file__).resolve().parent / "metadata" / "sales_actions_tables.json"


def with_extra_tables(registry: MetadataRegistry) -> MetadataRegistry:
    """The standard tables plus those the actions need (`opportunityclose`)."""
    extra = MetadataRegistry.from_json(json.loads(EXTRA_TABLES.read_text(encoding="utf-8")))
    tables = {t.logical_name: t for t in registry.tables()}
    for table in extra.tables():
        tables.setdefault(table.logical_name, table)
    return MetadataRegistry(tables)


class Extensions:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.snapshots = Snapshots(emulator.store, emulator.registry)
        self.block_uploads = file_blocks.BlockUploads(emulator.engine)

    def dispatch(self, req: Request) -> Response | None:
        name = req.path.strip("/")
        if sdkmessages.handles(name):  # read-only, derived from the live metadata (sdkmessages.py)
            emulator = self.emulator
            return sdkmessages.dispatch(req, emulator.registry, emulator.schema.is_custom_table)
        if name == "$batch":
            return batch.handle(req, self._part, self.emulator.store)
        name = name.removeprefix("Microsoft.Dynamics.CRM.")
        if name in actions.STATES:
            return actions.close_opportunity(req, self.emulator.engine, name)
        if name in file_blocks.ACTIONS:
            return self.block_uploads.handle(req, name)
        return None

    def _part(self, req: Request) -> Response:
        return self.emulator._dispatch(req)

    def admin(self, method: str, name: str, query_string: str) -> Response | None:
        if name == "snapshot" and method == "POST":
            return Response(201, {"id": self.snapshots.take()})
        if name == "diff" and method == "GET":
            status, body = self.snapshots.diff(query_string)
            return Response(status, body)
        return None
