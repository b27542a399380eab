"""Helpers shared by the readers: rejections, binary sniffing and text decoding (charset detected when not UTF-8)."""

from __future__ import annotations

import codecs
from typing import Any

from storydesk.models import Rejection, Source

_SNIFF_BYTES = 8192
_DETECT_BYTES = 200_000  # charset detection looks at this much, however large the file
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


def decode_text(data: bytes) -> tuple[str, dict[str, Any] | None]:
    """Decode text bytes: UTF-8 (BOM allowed) or BOM-marked UTF-16, else the detected charset.

    Returns the text and, when it was not clean UTF-8/UTF-16, a note for the article's metadata:
    which charset was used, how it was chosen and how many bad bytes were replaced. Mostly-UTF-8
    data with a few bad bytes stays UTF-8 (the bad bytes become U+FFFD); data without a valid UTF-8
    multi-byte sequence is decoded with the charset ``charset-normalizer`` detects (Latin-1, cp1252 ...).
    """
    if has_utf16_bom(data):
        text = data.decode("utf-16", errors="replace")
        bad = text.count("\ufffd") - data.decode("utf-16", errors="ignore").count("\ufffd")
        return text, (_note("utf-16", "byte-order mark", bad) if bad else None)
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8-sig", errors="replace")
    bad = text.count("\ufffd") - data.decode("utf-8-sig", errors="ignore").count("\ufffd")
    valid_multibyte = sum(1 for ch in text if ord(ch) > 127 and ch != "\ufffd")
    if valid_multibyte >= bad:
        return text, _note("utf-8", "invalid UTF-8 bytes replaced", bad)
    from charset_normalizer import from_bytes

    matches = from_bytes(data[:_DETECT_BYTES])
    best = matches.best()
    encoding = best.encoding if best is not None else "cp1252"
    # On short texts several single-byte charsets decode equally cleanly and the detector's pick
    # among them is close to arbitrary (French Latin-1 came out as cp775). Among those, prefer
    # windows-1252: what browsers assume for undeclared legacy pages (WHATWG: latin-1 is cp1252).
    # (A match lists the charsets that decode the bytes to the same text in could_be_from_charset.)
    if best is not None and any(
        "cp1252" in m.could_be_from_charset and m.chaos <= best.chaos for m in matches
    ):
        encoding = "cp1252"
    try:
        decoded = data.decode(encoding, errors="replace")
    except LookupError:
        encoding, decoded = "cp1252", data.decode("cp1252", errors="replace")
    replaced = decoded.count("\ufffd")
    how = "detected by charset-normalizer" if best is not None else "no charset detected: cp1252 assumed"
    return decoded, _note(encoding, how, replaced)


def _note(charset: str, how: str, replaced: int) -> dict[str, Any]:
    return {"charset": charset, "how": how, "replaced": replaced}


def decode_or_reject(
    data: bytes, path: str, empty: str | None = None
) -> tuple[str, dict[str, Any] | None] | Rejection:
    """The decoded text and its decoding note, or the rejection a reader yields when it is blank and
    ``empty`` is the reason."""
    text, note = decode_text(data)
    if empty is not None and not text.strip():
        return reject(path, empty)
    return text, note


def with_note(metadata: dict[str, Any], note: dict[str, Any] | None) -> dict[str, Any]:
    """Metadata with the decoding note (``decoding``) added when there is one."""
    return {**metadata, "decoding": note} if note else metadata


def truncated(metadata: dict[str, Any], unit: str, kept: int, total: int) -> dict[str, Any]:
    """Metadata recording that only ``kept`` of ``total`` (``unit``: chars, html_bytes) were read."""
    cuts = dict(metadata.get("truncated") or {})
    cuts[unit] = {"kept": kept, "total": total}
    return {**metadata, "truncated": cuts}
