"""Extraction copies each attachment's bytes into staging (COM-05: attachments migrate with their
content; COM-41: a file Dataverse can never take is not copied, and says why), streamed, from an export
that is a folder or a .zip."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import IO, Any

import pytest

from shared.migration import extract
from shared.migration.extract import extract_object, file_blob_path
from shared.migration.models import RunRef
from shared.spec import parse_spec
from shared.storage import read_ndjson_gz

HEADER = "attachment_id,note_id,client_id,file_name,mime_type,size_bytes,path\n"
FILES = {
    "a1": ("notes/a1/contract.pdf", b"%PDF-1.4 contract\n" * 50),
    "a2": ("notes/a2/photo.png", bytes(range(256)) * 40),
    "a/3": ("notes/a3/empty.txt", b""),
}


class StreamingStore:
    """Staging in memory that, like Blob storage, takes files as streams read in pieces."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.reads: dict[str, list[int]] = {}

    def put_bytes(self, path: str, data: bytes) -> None:
        self.blobs[path] = data

    def put_json(self, path: str, document: Any) -> None:
        self.blobs[path] = json.dumps(document).encode()

    def get_json(self, path: str) -> Any:
        return json.loads(self.blobs[path]) if path in self.blobs else None

    def put_stream(self, path: str, stream: IO[bytes]) -> None:
        buf, sizes = io.BytesIO(), []
        while chunk := stream.read(1000):
            sizes.append(len(chunk))
            buf.write(chunk)
        self.blobs[path], self.reads[path] = buf.getvalue(), sizes

    def records(self, paths: list[str]) -> list[dict[str, Any]]:
        return [r for p in paths for r in read_ndjson_gz(self.blobs[p])]


def _write_export(root: Path, files: dict[str, tuple[str, bytes]]) -> None:
    lines = [HEADER]
    for n, (sid, (rel, data)) in enumerate(files.items()):
        lines.append(f"{sid},n{n},c{n},{Path(rel).name},application/octet-stream,{len(data)},{rel}\n")
        (root / "files" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "files" / rel).write_bytes(data)
    (root / "attachments.csv").write_text("".join(lines), encoding="utf-8")
    manifest = {"source": "profi", "files": {"attachments.csv": len(files)}}
    (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def _run(path: Path) -> RunRef:
    spec = parse_spec(
        {
            "migration": {"id": "acme"},
            "source": {"kind": "profi", "path": str(path)},
            "target": {"url": "http://127.0.0.1:1", "auth": {"kind": "static_token", "token": "${T}"}},
            "storage": {"connection_string": "${S}"},
        }
    )
    return RunRef(migration_id="acme", run_id="r1", spec=spec)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "export"
    root.mkdir()
    _write_export(root, FILES)
    return root


@pytest.fixture
def zipped(folder: Path, tmp_path: Path) -> Path:
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                z.write(p, f"profi-export/{p.relative_to(folder).as_posix()}")  # one top-level folder
    return archive


@pytest.mark.parametrize("kind", ["folder", "zipped"])
def test_COM_05_each_attachment_is_copied_into_staging_with_its_size_and_checksum(
    kind: str, request: pytest.FixtureRequest
) -> None:
    path: Path = request.getfixturevalue(kind)
    store = StreamingStore()
    run = _run(path)
    out = extract_object(run, "attachments", store)
    records = {r["attachment_id"]: r for r in store.records(out.chunks)}
    assert set(records) == set(FILES) and out.records == 3 and out.malformed == 0
    for sid, (_, data) in FILES.items():
        ref = records[sid]["_file"]
        assert ref["blob"] == file_blob_path(run, "attachments", sid)
        assert ref["blob"].startswith(f"{run.prefix}/files/attachments/")
        assert store.blobs[ref["blob"]] == data
        assert ref["size"] == len(data) and ref["sha256"] == hashlib.sha256(data).hexdigest()
        assert "not_staged" not in ref
    assert file_blob_path(run, "attachments", "a/3").endswith("/a%2F3")  # one blob per record, no folders


def test_COM_41_files_are_streamed_not_read_whole(folder: Path) -> None:
    store = StreamingStore()
    run = _run(folder)
    extract_object(run, "attachments", store)
    reads = store.reads[file_blob_path(run, "attachments", "a2")]
    assert len(reads) > 1 and max(reads) <= 1000  # the store pulled it piece by piece


def test_COM_41_a_file_over_the_dataverse_ceiling_is_not_copied_and_says_why(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(extract, "MAX_ATTACHMENT_BYTES", 1000)
    store = StreamingStore()
    run = _run(folder)
    out = extract_object(run, "attachments", store)
    records = {r["attachment_id"]: r for r in store.records(out.chunks)}
    big = records["a1"]["_file"]  # 900 bytes: under the ceiling
    assert big.get("blob") and "not_staged" not in big
    over = records["a2"]["_file"]  # 10,240 bytes
    assert "blob" not in over and "over 1000 bytes" in over["not_staged"]
    assert over["size"] == len(FILES["a2"][1])  # the size stays, for the load step's reason
    assert not any(p.endswith("/a2") for p in store.blobs)


def test_COM_41_a_file_that_grew_past_the_ceiling_after_listing_is_not_kept(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(extract, "MAX_ATTACHMENT_BYTES", 5000)
    (folder / "files" / "notes/a1/contract.pdf").write_bytes(b"x" * 6000)  # bigger than listed
    store = StreamingStore()
    out = extract_object(_run(folder), "attachments", store)
    ref = next(r for r in store.records(out.chunks) if r["attachment_id"] == "a1")["_file"]
    assert "blob" not in ref and "over 5000 bytes" in ref["not_staged"]


def test_COM_05_a_file_gone_between_reading_its_row_and_copying_it_is_left_unstaged(folder: Path) -> None:
    from shared.sources import open_source

    run = _run(folder)
    src = open_source(run.spec.source)
    original = src.open_file  # type: ignore[attr-defined]

    def vanish_then_open(path: str) -> Any:
        if path.endswith("photo.png"):
            (folder / "files" / "notes/a2/photo.png").unlink()
        return original(path)

    src.open_file = vanish_then_open  # type: ignore[attr-defined]
    store = StreamingStore()
    try:
        out = extract_object(run, "attachments", store, source=src)
    finally:
        src.close()
    records = {r["attachment_id"]: r for r in store.records(out.chunks)}
    assert set(records) == set(FILES)  # still a record: the load step quarantines it, naming the file
    gone = records["a2"]["_file"]
    assert "blob" not in gone and gone["not_staged"] == "the source could not open the file"
    assert records["a1"]["_file"]["blob"]


def test_COM_05_a_path_outside_the_export_is_never_opened(folder: Path) -> None:
    from shared.sources import open_source

    src = open_source(_run(folder).spec.source)
    try:
        assert src.open_file(str(folder / "attachments.csv")) is None  # type: ignore[attr-defined]
        assert src.open_file("/etc/passwd") is None  # type: ignore[attr-defined]
        assert src.open_file(str(folder / "files" / ".." / "attachments.csv")) is None  # type: ignore[attr-defined]
        inside = src.open_file(str(folder / "files" / "notes/a1/contract.pdf"))  # type: ignore[attr-defined]
        assert inside is not None
        inside.close()
    finally:
        src.close()


def test_COM_05_a_source_that_cannot_open_files_leaves_them_unstaged(folder: Path) -> None:
    from shared.sources import open_source

    run = _run(folder)
    src = open_source(run.spec.source)

    class NoFiles:
        """The same records from a source without `open_file`."""

        name = src.name
        objects = src.objects
        read = src.read

    store = StreamingStore()
    try:
        out = extract_object(run, "attachments", store, source=NoFiles())  # type: ignore[arg-type]
    finally:
        src.close()
    for r in store.records(out.chunks):
        assert "blob" not in r["_file"] and r["_file"]["not_staged"] == "the source could not open the file"
