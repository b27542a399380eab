"""Plain-text reader: one file is one document, its metadata left for the cleaner to find."""

from __future__ import annotations

from collections.abc import Iterator

from storydesk.ingest._common import decode_text, reject
from storydesk.models import RawDocument, Rejection, Source


def read_text(data: bytes, path: str) -> Iterator[RawDocument | Rejection]:
    """Decode a text file strictly; the seeds' header and trailers are the cleaner's business."""
    try:
        text = decode_text(data)
    except ValueError as exc:
        yield reject(path, str(exc))
        return
    if not text.strip():
        yield reject(path, "empty file (only whitespace)")
        return
    yield RawDocument(source=Source(path), format="text", text=text)
