"""Plain-text reader: one file is one document, its metadata left for the cleaner to find."""

from __future__ import annotations

from collections.abc import Iterator

from storydesk.ingest._common import decode_or_reject
from storydesk.models import RawDocument, Rejection, Source


def read_text(data: bytes, path: str) -> Iterator[RawDocument | Rejection]:
    """Decode a text file strictly; the seeds' header and trailers are the cleaner's business."""
    text = decode_or_reject(data, path, "empty file (only whitespace)")
    if isinstance(text, Rejection):
        yield text
        return
    yield RawDocument(source=Source(path), format="text", text=text)
