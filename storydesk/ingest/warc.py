"""WARC archives through fastwarc: HTTP 200 response records with HTML payloads become documents.

Hostile archives are bounded: a gzipped archive is inflated through a counter that stops at
``ingest.max_decompressed_bytes``, and a record's payload is read up to ``ingest.max_record_bytes``
(a gzip bomb inside one record is refused there, and the records around it are still read).
Every record that is not an article (another status, not HTML, too large, truncated) becomes a
rejection named by its target URI.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from typing import Any

from storydesk.config import IngestSettings
from storydesk.ingest._common import reject
from storydesk.ingest.html import extract_html
from storydesk.models import RawDocument, Rejection, Source


class _Inflating(io.RawIOBase):
    """A gzip stream read forward only, that reports end of data once ``limit`` bytes came out.

    fastwarc asks a Python stream for its position, so ``tell`` works; ``seek`` only goes forward.
    """

    def __init__(self, data: bytes, limit: int) -> None:
        self._inner = gzip.GzipFile(fileobj=io.BytesIO(data))
        self._limit = limit
        self.count = 0
        self.exceeded = False
        self.broken: str | None = None  # why the gzip data ended early (truncated or corrupt)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.count

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = offset if whence == io.SEEK_SET else self.count + offset
        if whence not in (io.SEEK_SET, io.SEEK_CUR) or target < self.count:
            raise io.UnsupportedOperation("an inflating WARC stream only seeks forward")
        while self.count < target and self._take(min(1 << 20, target - self.count)):
            pass
        return self.count

    def readinto(self, buffer: Any) -> int:
        chunk = self._take(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def _take(self, size: int) -> bytes:
        room = self._limit - self.count
        try:
            if room <= 0:
                self.exceeded = self.exceeded or bool(self._inner.read(1))
                return b""
            chunk = self._inner.read(min(size, room))
        except (EOFError, OSError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
            self.broken = self.broken or f"truncated or corrupt gzip data: {exc}"
            return b""
        self.count += len(chunk)
        return chunk


def read_warc(
    data: bytes, path: str, settings: IngestSettings | None = None
) -> Iterator[RawDocument | Rejection]:
    """Each HTTP 200 HTML response record -> one document (member and url: the record's target URI).

    Records that are not articles are rejected one by one, named by target URI: another HTTP status,
    a payload that is not HTML, one over ``max_record_bytes``, a truncated record. An archive that
    inflates past ``max_decompressed_bytes`` is cut there, with what was read before kept.
    """
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    settings = settings or IngestSettings()
    cap = settings.max_record_bytes
    records = 0
    stream: io.RawIOBase | io.BytesIO
    stream = (
        _Inflating(data, settings.max_decompressed_bytes) if data[:2] == b"\x1f\x8b" else io.BytesIO(data)
    )
    try:
        for record in ArchiveIterator(stream, record_types=WarcRecordType.response, parse_http=True):
            records += 1
            uri = record.headers.get("WARC-Target-URI") or None
            member = uri or record.headers.get("WARC-Record-ID") or f"record {records}"
            http = record.http_headers
            if http is None:
                yield reject(path, "truncated or malformed WARC record", member=member)
                continue
            status = http.status_code
            if status != 200:
                yield reject(path, f"HTTP {status} response, not an article: skipped", member=member)
                continue
            payload = record.reader.read(cap + 1)
            if len(payload) > cap:
                yield reject(
                    path,
                    f"WARC record over {cap:,} bytes: refused (raise it with --set ingest.max_record_bytes=N)",
                    member=member,
                )
                continue
            if len(payload) < record.content_length:
                yield reject(path, _cut_reason(stream, settings), member=member)
                continue
            content_type = (http.get("Content-Type") or "").lower()
            looks_html = payload.lstrip()[:200].lower().startswith((b"<!doctype", b"<html"))
            if "html" not in content_type and not looks_html:
                kind = content_type.split(";")[0].strip() or "no content type"
                yield reject(path, f"not an HTML page ({kind}): skipped", member=member)
                continue
            yield extract_html(
                payload, Source(path, member=member), url=uri, fmt="warc", max_bytes=settings.max_html_bytes
            )
    except Exception as exc:  # fastwarc raises on corrupt streams mid-way; keep what was read
        yield reject(path, f"corrupt WARC archive after {records} records: {type(exc).__name__}: {exc}")
        return
    except BaseException as exc:  # fastwarc is Rust: its panics arrive as pyo3's PanicException
        if type(exc).__name__ != "PanicException":
            raise
        yield reject(path, f"corrupt WARC archive after {records} records: fastwarc failed: {exc}")
        return
    if isinstance(stream, _Inflating) and (stream.exceeded or stream.broken):
        yield reject(path, _cut_reason(stream, settings))
    elif not records:
        yield reject(path, "no WARC response records found (empty or not a WARC archive)")


def _cut_reason(stream: io.RawIOBase | io.BytesIO, settings: IngestSettings) -> str:
    if isinstance(stream, _Inflating) and stream.exceeded:
        return (
            f"archive inflates past {settings.max_decompressed_bytes:,} bytes (a gzip bomb?): the rest "
            "is refused; raise the limit with --set ingest.max_decompressed_bytes=N"
        )
    if isinstance(stream, _Inflating) and stream.broken:
        return stream.broken
    return "truncated or malformed WARC record"
