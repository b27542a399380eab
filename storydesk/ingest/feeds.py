"""RSS and Atom feeds through feedparser: one document per entry, the feed's title as outlet."""

from __future__ import annotations

import calendar
import datetime as dt
import re
import time
from collections.abc import Iterator
from typing import Any

from storydesk.ingest._common import reject
from storydesk.ingest.html import html_fragment_to_text
from storydesk.models import RawDocument, Rejection, Source

# The prolog: everything before the root element's start tag (a DTD's markup declarations open with "<!").
_ROOT_TAG = re.compile(rb"<[A-Za-z_:]")
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)


def read_feed(data: bytes, path: str) -> Iterator[RawDocument | Rejection]:
    """Parse a feed; an unparsable one is a Rejection, an entry with neither title nor text too.

    A feed whose DTD declares entities is refused before any parser sees it: that is how billion-laughs
    (nested expansion) and XXE (an entity naming a file or URL) attacks work, and news feeds never need
    it. feedparser never fetches an external DTD.
    """
    import feedparser

    root = _ROOT_TAG.search(data)
    prolog = data[: root.start()] if root else data
    if _ENTITY_DECL.search(prolog.replace(b"\x00", b"")):
        yield reject(path, "feed declares XML entities in its DTD (entity expansion or XXE): refused")
        return
    try:
        parsed = feedparser.parse(data)
    except Exception as exc:  # feedparser is lenient, but sanitisers can still raise
        yield reject(path, f"unparsable feed: {type(exc).__name__}: {exc}")
        return
    if not parsed.entries:
        problem = parsed.get("bozo_exception")
        reason = f"unparsable feed: {problem}" if parsed.get("bozo") else "feed has no entries"
        yield reject(path, reason)
        return
    outlet = _text(parsed.feed.get("title"))
    for index, entry in enumerate(parsed.entries):
        member = _text(entry.get("id")) or _text(entry.get("link")) or f"entry {index + 1}"
        source = Source(path, member=member)
        title = _text(entry.get("title"))
        text = _entry_text(entry)
        if not title and not text:
            yield Rejection("ingest", "feed entry has neither title nor text", source)
            continue
        yield RawDocument(
            source=source,
            format="feed",
            text=text,
            external_id=_text(entry.get("id")),
            title=title,
            url=_text(entry.get("link")),
            published=_published(entry),
            outlet=outlet,
            author=_text(entry.get("author")),
        )


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    return value or None


def _entry_text(entry: Any) -> str:
    """The entry's richest body: full content when given, else the summary, as plain text."""
    candidates: list[tuple[str, str]] = []
    for content in entry.get("content") or []:
        candidates.append((content.get("value") or "", content.get("type") or ""))
    detail = entry.get("summary_detail") or {}
    candidates.append((entry.get("summary") or "", detail.get("type") or "text/html"))
    value, kind = max(candidates, key=lambda c: len(c[0]))
    if "html" in kind or "<" in value:
        return html_fragment_to_text(value)
    return value.strip()


def _published(entry: Any) -> str | None:
    """ISO datetime (UTC) from feedparser's parsed date, else the date string as given."""
    for key in ("published", "updated", "created"):
        parsed: time.struct_time | None = entry.get(f"{key}_parsed")
        if parsed:
            try:
                stamp = dt.datetime.fromtimestamp(calendar.timegm(parsed), tz=dt.UTC)
            except (OverflowError, ValueError, OSError):
                continue
            return stamp.isoformat()
        if raw := _text(entry.get(key)):
            return raw
    return None
