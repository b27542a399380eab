"""Readers: files, folders and globs -> raw documents (text, HTML, JSON/JSONL, RSS/Atom, WARC, gzip).

Bad input never raises: a binary, empty, oversize or malformed file (or one line or record of it), an
unsupported file in a folder, a broken symbolic link or a link loop becomes a
``Rejection(stage="ingest")`` with a human reason, and the rest of the batch goes on. Work and memory
are bounded by the ``ingest.*`` settings: file size, decompressed size (counted while streaming, so a
gzip bomb stops at the limit), WARC record size, and the prefix of a page or text that is parsed (a
document cut there says so in its metadata, ``truncated``).
"""

from __future__ import annotations

import dataclasses
import errno
import glob
import gzip
import io
import os
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from storydesk.config import IngestSettings
from storydesk.ingest._common import has_utf16_bom, looks_binary, reject, truncated
from storydesk.ingest.feeds import read_feed
from storydesk.ingest.html import extract_html
from storydesk.ingest.records import load_jsonl, read_json, read_jsonl, read_records
from storydesk.ingest.text import read_text
from storydesk.ingest.warc import read_warc
from storydesk.models import RawDocument, Rejection, Source

__all__ = ["expand_paths", "load_jsonl", "read_path", "read_records"]

Reader = Callable[[bytes, str, IngestSettings], Iterator[RawDocument | Rejection]]
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
            found, skipped = _walk(path, settings)
            for each in found:
                add(each)
            rejections.extend(skipped)
        elif path.is_symlink():
            rejections.append(reject(str(given), _link_problem(path)))
        elif path.exists():
            rejections.append(reject(str(given), "not a regular file (a pipe, socket or device)"))
        elif _GLOB_CHARS & set(str(given)):
            matches = sorted(glob.glob(str(given), recursive=True))
            if not matches:
                rejections.append(reject(str(given), "no file matches this pattern"))
            for match in matches:
                candidate = Path(match)
                if candidate.is_file():
                    add(candidate)
                elif candidate.is_dir():
                    found, skipped = _walk(candidate, settings)
                    for each in found:
                        add(each)
                    rejections.extend(skipped)
        else:
            rejections.append(reject(str(given), "no such file or directory"))
    return files, rejections


def _walk(folder: Path, settings: IngestSettings) -> tuple[list[Path], list[Rejection]]:
    """Readable files under a folder in sorted (depth-first) order so runs are deterministic, and a
    rejection for each entry skipped: an unsupported file type, a broken link, a link loop.

    Hidden entries are left out silently. Symbolic links to folders are followed, each real folder
    read once: a link back to a folder already read is reported, never followed again.
    """
    suffixes = tuple(ext.lower() for ext in settings.extensions)
    found: list[Path] = []
    skipped: list[Rejection] = []
    visited: set[tuple[int, int]] = set()
    stack: list[Path] = [folder]
    while stack:
        directory = stack.pop()
        try:
            info = directory.stat()
        except OSError as exc:
            skipped.append(reject(str(directory), _link_problem(directory, exc)))
            continue
        key = (info.st_dev, info.st_ino)
        if key in visited:
            skipped.append(
                reject(str(directory), "link to a folder already read (a loop): not followed again")
            )
            continue
        visited.add(key)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            skipped.append(reject(str(directory), f"cannot list folder: {exc.strerror or exc}"))
            continue
        folders: list[Path] = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                is_dir, is_file = entry.is_dir(), entry.is_file()
                if entry.is_symlink():
                    path.stat()  # a broken link or a link loop raises here
            except OSError as exc:
                skipped.append(reject(str(path), _link_problem(path, exc)))
                continue
            if is_dir:
                folders.append(path)
            elif not is_file:
                skipped.append(reject(str(path), "not a regular file (a pipe, socket or device)"))
            elif path.name.lower().endswith(suffixes):
                found.append(path)
            else:
                kind = path.suffix.lower() or "no extension"
                skipped.append(
                    reject(
                        str(path),
                        f"unsupported file type ({kind}): folders are read for "
                        f"{' '.join(settings.extensions)} (setting ingest.extensions)",
                    )
                )
        stack.extend(reversed(folders))
    found.sort(key=lambda p: p.relative_to(folder).parts)  # the order of sorted(folder.rglob("*"))
    return found, skipped


def _link_problem(path: Path, exc: OSError | None = None) -> str:
    """Why a path (a symbolic link, usually) cannot be followed."""
    if exc is None:
        try:
            path.stat()
        except OSError as raised:
            exc = raised
    if exc is not None and exc.errno == errno.ELOOP:
        return "symbolic link loop: the link leads back to itself"
    if path.is_symlink():
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        return f"broken symbolic link (its target {target} does not exist)"
    if exc is not None:
        return f"cannot open: {exc.strerror or exc}"
    return "no such file or directory"


def read_path(path: Path, settings: IngestSettings) -> Iterator[RawDocument | Rejection]:
    """Read one file into raw documents, by extension and content sniffing; never raises for bad input."""
    name = str(path)
    try:
        for item in _read_path(Path(path), settings):
            yield item if isinstance(item, Rejection) else _cut_text(item, settings.max_chars)
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
        yield reject(
            name,
            f"file too large ({size:,} bytes; limit {settings.max_file_bytes:,}, raise it with "
            f"--set ingest.max_file_bytes={size})",
        )
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


def _cut_text(doc: RawDocument, limit: int) -> RawDocument:
    """The document with its text cut to ``limit`` characters, the cut recorded in its metadata."""
    if doc.text is None or len(doc.text) <= limit:
        return doc
    metadata = truncated(doc.metadata, "chars", limit, len(doc.text))
    return dataclasses.replace(doc, text=doc.text[:limit], metadata=metadata)


def _dispatch(
    data: bytes, name: str, filename: str, settings: IngestSettings, *, inflated: bool = False
) -> Iterator[RawDocument | Rejection]:
    """Choose a reader from strong content signatures first, then the extension."""
    if data[:2] == b"\x1f\x8b":
        if filename.endswith((".warc.gz", ".warc")) or _gz_head(data).startswith(b"WARC/"):
            yield from read_warc(data, name, settings)
            return
        if inflated:
            yield reject(name, "gzip data inside gzip data: not read")
            return
        try:
            inner = _gunzip(data, settings.max_decompressed_bytes)
        except ValueError as exc:
            yield reject(name, str(exc))
            return
        inner_name = filename[:-3] if filename.endswith(".gz") else filename
        yield from _dispatch(inner, name, inner_name, settings, inflated=True)
        return
    if not data.strip():
        yield reject(name, "empty file (only whitespace)")
        return
    if data.startswith(b"WARC/"):
        yield from read_warc(data, name, settings)
        return
    if looks_binary(data):
        yield reject(name, "binary file, not text")
        return
    reader = _sniff(data) or _by_extension(filename) or _read_text
    yield from reader(data, name, settings)


def _by_extension(filename: str) -> Reader | None:
    for suffixes, reader in _EXTENSIONS:
        if filename.endswith(suffixes):
            return reader
    return None


def _read_html(data: bytes, name: str, settings: IngestSettings) -> Iterator[RawDocument | Rejection]:
    yield extract_html(data, Source(name), max_bytes=settings.max_html_bytes)


def _read_text(data: bytes, name: str, settings: IngestSettings) -> Iterator[RawDocument | Rejection]:
    return read_text(data, name)


def _read_jsonl(data: bytes, name: str, settings: IngestSettings) -> Iterator[RawDocument | Rejection]:
    return read_jsonl(data, name)


def _read_json(data: bytes, name: str, settings: IngestSettings) -> Iterator[RawDocument | Rejection]:
    return read_json(data, name)


def _read_feed(data: bytes, name: str, settings: IngestSettings) -> Iterator[RawDocument | Rejection]:
    return read_feed(data, name)


_EXTENSIONS: tuple[tuple[tuple[str, ...], Reader], ...] = (
    ((".txt", ".text", ".md"), _read_text),
    ((".html", ".htm", ".xhtml"), _read_html),
    ((".jsonl", ".ndjson"), _read_jsonl),
    ((".json",), _read_json),
    ((".xml", ".rss", ".atom"), _read_feed),
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
        return _read_feed
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
                    raise ValueError(
                        f"gzip data inflates past {limit:,} bytes (a gzip bomb?): refused; raise the "
                        "limit with --set ingest.max_decompressed_bytes=N"
                    )
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise ValueError(f"truncated or corrupt gzip data: {exc}") from exc
    if not out:
        raise ValueError("empty file (gzip holds no data)")
    return bytes(out)
