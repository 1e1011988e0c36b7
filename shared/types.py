"""Named id types so signatures say which id they mean."""

from __future__ import annotations

from typing import NewType

SourceId = NewType("SourceId", str)
TargetId = NewType("TargetId", str)
BlobPath = NewType("BlobPath", str)
MigrationId = NewType("MigrationId", str)
RunId = NewType("RunId", str)
