"""Plain-text reader: one file is one document, its metadata left for the cleaner to find."""

from __future__ import annotations

from collections.abc import Iterator

from storydesk.ingest._common import decode_or_reject, with_note
from storydesk.models import RawDocument, Rejection, Source


def read_text(data: bytes, path: str) -> Iterator[RawDocument | Rejection]:
    """Decode a text file (see ``decode_text``); the seeds' header and trailers are the cleaner's business."""
    decoded = decode_or_reject(data, path, "empty file (only whitespace)")
    if isinstance(decoded, Rejection):
        yield decoded
        return
    text, note = decoded
    yield RawDocument(source=Source(path), format="text", text=text, metadata=with_note({}, note))
