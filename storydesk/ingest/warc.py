"""WARC archives through fastwarc: response records with HTML payloads become documents."""

from __future__ import annotations

import io
from collections.abc import Iterator

from storydesk.ingest._common import reject
from storydesk.ingest.html import extract_html
from storydesk.models import RawDocument, Rejection, Source


def read_warc(data: bytes, path: str) -> Iterator[RawDocument | Rejection]:
    """Each HTML response record -> one document (member = WARC-Record-ID, url = target URI).

    Non-HTML responses (images, scripts) are skipped silently; a truncated record is rejected, and
    an archive without any HTML response is rejected as a whole.
    """
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    found = 0
    records = 0
    skipped = 0
    try:
        stream = io.BytesIO(data)
        records_iter = ArchiveIterator(stream, record_types=WarcRecordType.response, parse_http=True)
        for record in records_iter:
            records += 1
            record_id = record.headers.get("WARC-Record-ID") or f"record {records}"
            uri = record.headers.get("WARC-Target-URI") or None
            http = record.http_headers
            payload = record.reader.read()
            if http is None or len(payload) < record.content_length:
                yield reject(path, "truncated or malformed WARC record", member=record_id)
                continue
            content_type = (http.get("Content-Type") or "").lower()
            looks_html = payload.lstrip()[:200].lower().startswith((b"<!doctype", b"<html"))
            if "html" not in content_type and not looks_html:
                skipped += 1
                continue
            found += 1
            yield extract_html(payload, Source(path, member=record_id), url=uri, fmt="warc")
    except Exception as exc:  # fastwarc raises on corrupt streams mid-way; keep what was read
        yield reject(path, f"corrupt WARC archive after {records} records: {type(exc).__name__}: {exc}")
        return
    if not found and not records:
        yield reject(path, "no WARC response records found (empty or not a WARC archive)")
    elif not found and skipped == records:
        yield reject(path, f"no HTML responses among {records} WARC response records")
