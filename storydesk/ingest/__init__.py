"""Readers: files, folders and globs -> raw documents (text, HTML, JSON/JSONL, RSS/Atom, WARC, gzip).

Bad input never raises: a binary, empty, undecodable, oversize or malformed file (or one line of
it) becomes a ``Rejection(stage="ingest")`` with a human reason, and the rest of the batch goes on.
"""

from __future__ import annotations

import glob
import gzip
import io
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from storydesk.config import IngestSettings
from storydesk.ingest._common import has_utf16_bom, looks_binary, reject
from storydesk.ingest.feeds import read_feed
from storydesk.ingest.html import extract_html
from storydesk.ingest.records import load_jsonl, read_json, read_jsonl, read_records
from storydesk.ingest.text import read_text
from storydesk.ingest.warc import read_warc
from storydesk.models import RawDocument, Rejection, Source

__all__ = ["expand_paths", "load_jsonl", "read_path", "read_records"]

Reader = Callable[[bytes, str], Iterator[RawDocument | Rejection]]
_GLOB_CHARS = frozenset("*?[")


def expand_paths(paths: Sequence[str | Path], settings: IngestSettings) -> tuple[list[Path], list[Rejection]]:
    """Files as given, folders recursively (sorted, known extensions, hidden entries skipped), globs expanded.

    A path that does not exist (or a glob matching nothing) becomes a Rejection. Each file appears once.
    """
    files: list[Path] = []
    rejections: list[Rejection] = []
    seen: set[Path] = set()

    def add(path: Path) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            files.append(path)

    for given in paths:
        path = Path(given)
        if path.is_file():
            add(path)
        elif path.is_dir():
            for found in _walk(path, settings):
                add(found)
        elif _GLOB_CHARS & set(str(given)):
            matches = sorted(glob.glob(str(given), recursive=True))
            if not matches:
                rejections.append(reject(str(given), "no file matches this pattern"))
            for match in matches:
                candidate = Path(match)
                if candidate.is_file():
                    add(candidate)
                elif candidate.is_dir():
                    for found in _walk(candidate, settings):
                        add(found)
        else:
            rejections.append(reject(str(given), "no such file or directory"))
    return files, rejections


def _walk(folder: Path, settings: IngestSettings) -> list[Path]:
    """Readable files under a folder, in sorted order so runs are deterministic."""
    suffixes = tuple(ext.lower() for ext in settings.extensions)
    found = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).parts
        if any(part.startswith(".") for part in relative):
            continue
        if path.is_file() and path.name.lower().endswith(suffixes):
            found.append(path)
    return found


def read_path(path: Path, settings: IngestSettings) -> Iterator[RawDocument | Rejection]:
    """Read one file into raw documents, by extension and content sniffing; never raises for bad input."""
    name = str(path)
    try:
        yield from _read_path(Path(path), settings)
    except MemoryError:
        yield reject(name, "file too large to read into memory")
    except Exception as exc:  # a reader bug or an OS error must not stop the batch
        yield reject(name, f"could not read file: {type(exc).__name__}: {exc}")


def _read_path(path: Path, settings: IngestSettings) -> Iterator[RawDocument | Rejection]:
    name = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        yield reject(name, f"cannot open file: {exc.strerror or exc}")
        return
    if not path.is_file():
        yield reject(name, "not a regular file")
        return
    if size > settings.max_file_bytes:
        yield reject(name, f"file too large ({size:,} bytes; limit {settings.max_file_bytes:,})")
        return
    if size == 0:
        yield reject(name, "empty file")
        return
    try:
        data = path.read_bytes()
    except OSError as exc:
        yield reject(name, f"cannot read file: {exc.strerror or exc}")
        return
    yield from _dispatch(data, name, path.name.lower(), settings)


def _dispatch(
    data: bytes, name: str, filename: str, settings: IngestSettings
) -> Iterator[RawDocument | Rejection]:
    """Choose a reader from strong content signatures first, then the extension."""
    if data[:2] == b"\x1f\x8b":
        if filename.endswith((".warc.gz", ".warc")) or _gz_head(data).startswith(b"WARC/"):
            yield from read_warc(data, name)
            return
        try:
            inner = _gunzip(data, settings.max_file_bytes)
        except ValueError as exc:
            yield reject(name, str(exc))
            return
        inner_name = filename[:-3] if filename.endswith(".gz") else filename
        yield from _dispatch(inner, name, inner_name, settings)
        return
    if not data.strip():
        yield reject(name, "empty file (only whitespace)")
        return
    if data.startswith(b"WARC/"):
        yield from read_warc(data, name)
        return
    if looks_binary(data):
        yield reject(name, "binary file, not text")
        return
    reader = _sniff(data) or _by_extension(filename) or read_text
    yield from reader(data, name)


def _by_extension(filename: str) -> Reader | None:
    for suffixes, reader in _EXTENSIONS:
        if filename.endswith(suffixes):
            return reader
    return None


def _read_html(data: bytes, name: str) -> Iterator[RawDocument | Rejection]:
    yield extract_html(data, Source(name))


_EXTENSIONS: tuple[tuple[tuple[str, ...], Reader], ...] = (
    ((".txt", ".text", ".md"), read_text),
    ((".html", ".htm", ".xhtml"), _read_html),
    ((".jsonl", ".ndjson"), read_jsonl),
    ((".json",), read_json),
    ((".xml", ".rss", ".atom"), read_feed),
    ((".warc",), read_warc),
)


def _sniff(data: bytes) -> Reader | None:
    """A reader when the content's opening says unmistakably what it is (HTML, a feed), else None."""
    if has_utf16_bom(data):
        head = data[:4096].decode("utf-16", errors="ignore").lstrip().lower()
    else:
        head = data[:4096].decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n").lower()
    if not head.startswith("<"):
        return None
    if "<rss" in head or "<feed" in head or "<rdf:rdf" in head:
        return read_feed
    if head.startswith(("<!doctype html", "<html")) or "<html" in head or "<body" in head:
        return _read_html
    return None


def _gz_head(data: bytes) -> bytes:
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, 16)
    except zlib.error:
        return b""


def _gunzip(data: bytes, limit: int) -> bytes:
    """Decompress at most ``limit`` bytes; raise ValueError for truncated/corrupt or oversize data."""
    out = bytearray()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
            while chunk := fh.read(1 << 20):
                out += chunk
                if len(out) > limit:
                    raise ValueError(f"decompressed size over the limit of {limit:,} bytes")
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise ValueError(f"truncated or corrupt gzip data: {exc}") from exc
    if not out:
        raise ValueError("empty file (gzip holds no data)")
    return bytes(out)
