"""Atom feeds (RFC 4287) of the desk's stories, so a user can follow them in any feed reader.

Built with ElementTree, which escapes every text and attribute; characters XML 1.0 cannot carry
(control characters an article may hold) are dropped first.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

ATOM = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_EPOCH = "1970-01-01T00:00:00+00:00"


@dataclass(frozen=True, slots=True)
class Entry:
    """One Atom entry: a story or an article."""

    id: str
    title: str
    link: str
    updated: str  # RFC 3339
    published: str | None = None
    summary: str | None = None


def feed(*, id: str, title: str, self_link: str, link: str, entries: Sequence[Entry]) -> bytes:
    """An Atom feed document; ``updated`` is its latest entry's (or the epoch for an empty feed)."""
    ET.register_namespace("", ATOM)
    root = ET.Element(f"{{{ATOM}}}feed")
    _text(root, "id", id)
    _text(root, "title", title)
    _text(root, "updated", max((e.updated for e in entries), default=_EPOCH))
    ET.SubElement(root, f"{{{ATOM}}}link", rel="self", type=MEDIA_TYPE, href=_clean(self_link))
    ET.SubElement(root, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=_clean(link))
    author = ET.SubElement(root, f"{{{ATOM}}}author")
    _text(author, "name", "storydesk")
    _text(root, "generator", "storydesk")
    for entry in entries:
        node = ET.SubElement(root, f"{{{ATOM}}}entry")
        _text(node, "id", entry.id)
        _text(node, "title", entry.title or "(untitled)")
        _text(node, "updated", entry.updated)
        if entry.published:
            _text(node, "published", entry.published)
        ET.SubElement(node, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=_clean(entry.link))
        if entry.summary:
            summary = _text(node, "summary", entry.summary)
            summary.set("type", "text")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def rfc3339(value: str | dt.datetime | dt.date | None) -> str:
    """A stored ISO time as RFC 3339 (naive times are UTC; a date is its midnight UTC)."""
    if value is None:
        return _EPOCH
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return _EPOCH
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="seconds")


def _text(parent: ET.Element, name: str, value: str) -> ET.Element:
    node = ET.SubElement(parent, f"{{{ATOM}}}{name}")
    node.text = _clean(value)
    return node


def _clean(value: str) -> str:
    return _NOT_XML.sub("", value)
