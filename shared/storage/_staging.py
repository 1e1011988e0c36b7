"""Blob staging: gzip NDJSON chunks and JSON documents under one migration's prefix.

Layout: `staging/{migration}/{run}/raw/{object}/{n:05d}.ndjson.gz` (extracted records),
`.../target/{object}/{n:05d}.ndjson.gz` (Dataverse payloads), `.../quarantine/...`,
and manifests / reports as JSON beside them.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterable, Iterator
from typing import IO, Any

from azure.core.exceptions import ResourceNotFoundError

from shared.storage._connection import StorageClients, StorageSettings


def write_ndjson_gz(records: Iterable[dict[str, Any]]) -> tuple[bytes, int]:
    """Serialise records as gzip NDJSON; returns the bytes and the record count."""
    buf = io.BytesIO()
    count = 0
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:
        for record in records:
            gz.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
            gz.write(b"\n")
            count += 1
    return buf.getvalue(), count


def read_ndjson_gz(data: bytes) -> Iterator[dict[str, Any]]:
    with gzip.GzipFile(fileobj=io.BytesIO(data), mode="rb") as gz:
        for line in gz:
            if line.strip():
                yield json.loads(line)


class _Unseekable:
    """Hides `seek`/`tell` so the Blob SDK uploads block by block instead of reading a stream of
    up to 64 MiB into memory for a single put."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)

    def seekable(self) -> bool:
        return False


class StagingStore:
    """Reads and writes one migration's staged files in Blob storage."""

    def __init__(self, settings: StorageSettings) -> None:
        self._clients = StorageClients(settings)

    @staticmethod
    def run_prefix(migration_id: str, run_id: str) -> str:
        return f"staging/{migration_id}/{run_id}"

    def put_records(self, path: str, records: Iterable[dict[str, Any]]) -> int:
        data, count = write_ndjson_gz(records)
        self._clients.container.upload_blob(path, data, overwrite=True)
        return count

    def get_records(self, path: str) -> Iterator[dict[str, Any]]:
        return read_ndjson_gz(self.get_bytes(path))

    def get_bytes(self, path: str) -> bytes:
        return bytes(self._clients.container.download_blob(path).readall())

    def put_json(self, path: str, document: Any) -> None:
        body = json.dumps(document, ensure_ascii=False, indent=1, default=str).encode("utf-8")
        self._clients.container.upload_blob(path, body, overwrite=True)

    def get_json(self, path: str) -> Any:
        try:
            return json.loads(self._clients.container.download_blob(path).readall())
        except ResourceNotFoundError:
            return None

    def put_bytes(self, path: str, data: bytes) -> None:
        self._clients.container.upload_blob(path, data, overwrite=True)

    def put_stream(self, path: str, stream: IO[bytes]) -> None:
        """Upload a file-like object as it is read: the SDK sends it in blocks (4 MiB each), so a
        large attachment is never held in memory whole. The stream is read to its end."""
        self._clients.container.upload_blob(path, _Unseekable(stream), overwrite=True)

    def iter_blocks(self, path: str, block_size: int) -> Iterator[bytes]:
        """A blob's bytes in consecutive blocks of `block_size` (the last may be shorter), one ranged
        read each: a file is streamed to Dataverse without being held whole."""
        blob = self._clients.container.get_blob_client(path)
        size = int(blob.get_blob_properties().size)
        for offset in range(0, size, block_size):
            yield bytes(blob.download_blob(offset=offset, length=min(block_size, size - offset)).readall())

    def list(self, prefix: str) -> list[str]:
        return sorted(b.name for b in self._clients.container.list_blobs(name_starts_with=prefix))
