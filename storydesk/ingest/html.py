"""HTML pages: main text and metadata through trafilatura (dates via htmldate); feed fragments to text."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Literal

from storydesk.ingest._common import truncated
from storydesk.models import RawDocument, Rejection, Source

# Tags after which a fragment's text starts a new paragraph.
_BLOCK_TAGS = frozenset(
    "p div br li ul ol h1 h2 h3 h4 h5 h6 blockquote tr table section article header footer pre figure".split()  # noqa: SIM905
)
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template"})


def extract_html(
    html: bytes | str,
    source: Source,
    *,
    url: str | None = None,
    fmt: Literal["html", "warc"] = "html",
    max_bytes: int | None = None,
) -> RawDocument | Rejection:
    """Run trafilatura on one page; a page without main text is a Rejection, never an exception.

    With ``max_bytes`` only that prefix of a longer page is parsed (bounded time and memory); the
    document's metadata records the cut (``truncated``).
    """
    import trafilatura

    cut: tuple[int, int] | None = None
    if max_bytes is not None and len(html) > max_bytes:
        cut = (max_bytes, len(html))
        html = html[:max_bytes]

    try:
        doc = trafilatura.bare_extraction(
            html, url=url, with_metadata=True, include_comments=False, include_tables=True
        )
    except Exception as exc:  # trafilatura/lxml raise many types on hostile markup
        return Rejection("ingest", f"HTML extraction failed: {type(exc).__name__}: {exc}", source)
    if doc is None:
        return Rejection("ingest", "no article text found in the HTML page", source)
    text = (getattr(doc, "text", None) or "").strip()
    title = _clean(getattr(doc, "title", None))
    if not text:
        return Rejection("ingest", "no article text found in the HTML page", source)
    metadata = {
        key: value
        for key in ("hostname", "description", "language", "pagetype")
        if (value := _clean(getattr(doc, key, None)))
    }
    if cut is not None:
        unit = "html_bytes" if isinstance(html, bytes) else "html_chars"
        metadata = truncated(metadata, unit, *cut)
    return RawDocument(
        source=source,
        format=fmt,
        text=text,
        title=title,
        url=_clean(getattr(doc, "url", None)) or url,
        published=_clean(getattr(doc, "date", None)),
        outlet=_clean(getattr(doc, "sitename", None)),
        author=_clean(getattr(doc, "author", None)),
        metadata=metadata,
    )


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    return value or None


class _TextCollector(HTMLParser):
    """Collects text, turning block-level tags into paragraph breaks and skipping scripts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_fragment_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment (a feed entry's content), paragraphs separated by blank lines."""
    if "<" not in fragment and "&" not in fragment:
        return fragment.strip()
    collector = _TextCollector()
    collector.feed(fragment)
    collector.close()
    paragraphs = (" ".join(p.split()) for p in re.split(r"\n\s*\n", "".join(collector.parts)))
    return "\n\n".join(p for p in paragraphs if p)
