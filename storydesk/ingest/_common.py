"""Helpers shared by the readers: rejections, binary sniffing and strict text decoding."""

from __future__ import annotations

import codecs

from storydesk.models import Rejection, Source

_SNIFF_BYTES = 8192
# Control characters that never appear in text files (tab, newlines, form feed and ESC excluded).
_CONTROL = frozenset(range(32)) - {9, 10, 12, 13, 27}


def reject(path: str, reason: str, line: int | None = None, member: str | None = None) -> Rejection:
    """An ingest-stage rejection for a file, or a line or member inside it."""
    return Rejection(stage="ingest", reason=reason, source=Source(path, line, member))


def has_utf16_bom(data: bytes) -> bool:
    """True when the bytes open with a UTF-16 byte-order mark."""
    return data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))


def looks_binary(data: bytes) -> bool:
    """True when the head of the data holds NUL bytes or many control characters (not text)."""
    head = data[:_SNIFF_BYTES]
    if not head or has_utf16_bom(head):
        return False
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b in _CONTROL)
    return controls / len(head) > 0.05


def decode_text(data: bytes) -> str:
    """Decode UTF-8 (BOM allowed) or BOM-marked UTF-16, strictly; raise ValueError with a clear reason."""
    if has_utf16_bom(data):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ValueError(f"not valid UTF-16 text ({exc.reason} at byte {exc.start})") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1].hex()
        raise ValueError(f"not valid UTF-8 text (invalid byte 0x{bad} at offset {exc.start})") from exc


def decode_or_reject(data: bytes, path: str, empty: str | None = None) -> str | Rejection:
    """The decoded text, or the rejection a reader yields: undecodable, or blank when ``empty`` is the reason."""
    try:
        text = decode_text(data)
    except ValueError as exc:
        return reject(path, str(exc))
    if empty is not None and not text.strip():
        return reject(path, empty)
    return text
