"""Uploads as .zip archives of several BPMN/DMN files, expanded with limits (zip bombs,
path tricks and unrelated files are refused with the file named)."""

from __future__ import annotations

import io
import posixpath
import zipfile

from django.conf import settings

from bpm.exceptions import InvalidInput

MAX_ENTRIES = 200
MODEL_SUFFIXES = (".bpmn", ".bpmn20.xml", ".dmn", ".dmn11.xml", ".dmn13.xml")


def expand_archives(files: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Replace each .zip by the BPMN/DMN files inside it; other files pass through."""
    expanded: list[tuple[str, bytes]] = []
    for name, content in files:
        if not name.lower().endswith(".zip"):
            expanded.append((name, content))
            continue
        expanded += _unzip(name, content)
    return expanded


def _refuse(archive: str, message: str) -> InvalidInput:
    return InvalidInput(f"{archive}: {message}", details={"files": [f"{archive}: {message}"]})


def _unzip(archive: str, content: bytes) -> list[tuple[str, bytes]]:
    limit = settings.BPM["MAX_UPLOAD_BYTES"]
    try:
        bundle = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        raise _refuse(archive, "not a valid zip archive") from None
    entries = [e for e in bundle.infolist() if not e.is_dir() and not posixpath.basename(e.filename).startswith(".")]
    if len(entries) > MAX_ENTRIES:
        raise _refuse(archive, f"{len(entries)} files; at most {MAX_ENTRIES}")
    if sum(e.file_size for e in entries) > 10 * limit:
        raise _refuse(archive, f"expands to more than {10 * limit:,} bytes")
    files = []
    for entry in entries:
        inner = entry.filename
        if inner.startswith("/") or ".." in inner.split("/"):
            raise _refuse(archive, f"unsafe path {inner!r}")
        if not inner.lower().endswith(MODEL_SUFFIXES):
            raise _refuse(archive, f"{inner!r} is not a .bpmn or .dmn file")
        if entry.file_size > limit:
            raise _refuse(archive, f"{inner!r} is {entry.file_size:,} bytes; the limit is {limit:,}")
        with bundle.open(entry) as handle:
            data = handle.read(limit + 1)
        if len(data) > limit:  # the header lied about the size
            raise _refuse(archive, f"{inner!r} is larger than {limit:,} bytes")
        files.append((posixpath.basename(inner), data))
    if not files:
        raise _refuse(archive, "holds no .bpmn or .dmn file")
    return files
