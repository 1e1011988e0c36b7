"""An export as a folder or a .zip (optionally with one top-level folder inside), read by name."""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath
from typing import IO

from shared.errors import SourceFormatRefused

MANIFEST = "manifest.json"


class Archive:
    """Names are POSIX paths relative to the export root (`clients.csv`, `files/a/b.pdf`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        self._prefix = ""
        if not path.exists():
            raise SourceFormatRefused(f"export {path} does not exist")
        if path.is_file():
            if not zipfile.is_zipfile(path):
                raise SourceFormatRefused(f"export {path.name} is neither a folder nor a .zip")
            self._zip = zipfile.ZipFile(path)
            names = self._zip.namelist()
            if MANIFEST not in names:
                roots = [
                    n[: -len(MANIFEST)] for n in names if n.endswith("/" + MANIFEST) and n.count("/") == 1
                ]
                if len(roots) == 1:
                    self._prefix = roots[0]

    def exists(self, name: str) -> bool:
        if self._zip is not None:
            try:
                self._zip.getinfo(self._prefix + name)
            except KeyError:
                return False
            return True
        return (self.path / name).is_file()

    def open(self, name: str) -> IO[bytes]:
        if self._zip is not None:
            return self._zip.open(self._prefix + name)
        return (self.path / name).open("rb")

    def size(self, name: str) -> int | None:
        if self._zip is not None:
            try:
                return self._zip.getinfo(self._prefix + name).file_size
            except KeyError:
                return None
        p = self.path / name
        return p.stat().st_size if p.is_file() else None

    def locate(self, name: str) -> str:
        """Where a file lives, for whoever opens it later (a path, or `archive.zip!inner/path`)."""
        if self._zip is not None:
            return f"{self.path}!{self._prefix}{name}"
        return str(self.path / name)

    def open_located(self, located: str) -> IO[bytes] | None:
        """Open a file by what `locate` returned for it; None when `located` is not a file of this
        export's `files/` folder (a path from elsewhere is never opened)."""
        if self._zip is not None:
            head = f"{self.path}!{self._prefix}"
            if not located.startswith(head):
                return None
            name = located[len(head) :]
        else:
            root = str(self.path)
            if not located.startswith(root + "/"):
                return None
            name = located[len(root) + 1 :]
        member = safe_member(name)
        if member is None or member != name or not self.exists(member):
            return None
        return self.open(member)

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None


def safe_member(relative: str) -> str | None:
    """`files/<relative>` when it stays inside files/, else None (absolute paths, `..`)."""
    rel = relative.replace("\\", "/").strip()
    if rel.startswith("files/"):
        rel = rel[len("files/") :]
    p = PurePosixPath(rel)
    if not rel or p.is_absolute() or any(part in ("..", "") for part in p.parts) or ":" in p.parts[0]:
        return None
    return f"files/{p.as_posix()}"
