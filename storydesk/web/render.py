"""HTML pieces the templates cannot build alone: highlighted prose, search marks, the timeline SVG.

Every string from an article is escaped here before it is wrapped in markup; the functions return
``Markup`` only for what they built themselves.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from markupsafe import Markup

from storydesk.api import MARK_END, MARK_START
from storydesk.models import Article, Extraction

# Colour-blind-safe palette (Okabe-Ito) for the timeline's origins.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999")


def marked(snippet: str) -> Markup:
    """A search snippet escaped, its matches (between MARK_START and MARK_END) in ``<mark>``."""
    out: list[str] = []
    opened = False
    for piece in re.split(f"({re.escape(MARK_START)}|{re.escape(MARK_END)})", snippet):
        if piece == MARK_START:
            if not opened:
                out.append("<mark>")
                opened = True
        elif piece == MARK_END:
            if opened:
                out.append("</mark>")
                opened = False
        else:
            out.append(escape(piece, quote=True))
    if opened:
        out.append("</mark>")
    return Markup("".join(out))


def ticks(text: str) -> Markup:
    """Text escaped, with `backticked` words in ``<code>`` (the API's own descriptions)."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text, quote=True)))


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int
    css: str


def prose(article: Article, extraction: Extraction | None, cite: tuple[int, int] | None = None) -> Markup:
    """The clean text as paragraphs, with entities, quantities and quotes highlighted (CSS classes),
    and the cited span ``cite`` in ``<mark id="cite">``."""
    text = article.text
    spans: list[_Span] = []
    if extraction is not None:
        for e in extraction.entities:
            if e.label in ("PERSON", "ORG", "PLACE"):
                spans.append(_Span(e.start, e.end, f"ent ent-{e.label.lower()}"))
        for q in extraction.quantities:
            spans.append(_Span(q.start, q.end, "qty"))
        for quote in extraction.quotes:
            spans.append(_Span(quote.content_start, quote.content_end, "quote"))
    if cite is not None:
        spans.append(_Span(cite[0], cite[1], "cited"))
    n = len(text)
    spans = [s for s in spans if 0 <= s.start < s.end <= n]
    cuts = sorted({0, n, *(s.start for s in spans), *(s.end for s in spans)})
    out = ["<p>"]
    cited_open = False
    for a, b in itertools.pairwise(cuts):
        classes = sorted({c for s in spans if s.start <= a and b <= s.end for c in s.css.split()})
        in_cite = "cited" in classes
        classes = [c for c in classes if c != "cited"]
        if in_cite and not cited_open:
            out.append('<mark id="cite" class="cited">' if cite and a == cite[0] else '<mark class="cited">')
            cited_open = True
        elif not in_cite and cited_open:
            out.append("</mark>")
            cited_open = False
        parts = text[a:b].split("\n")
        for i, part in enumerate(parts):
            if i:
                if cited_open:
                    out.append("</mark>")
                out.append("</p><p>")
                if cited_open:
                    out.append('<mark class="cited">')
            if not part:
                continue
            body = escape(part, quote=True)
            out.append(f'<span class="{" ".join(classes)}">{body}</span>' if classes else body)
    if cited_open:
        out.append("</mark>")
    out.append("</p>")
    html = "".join(out).replace("<p></p>", "")
    return Markup(html)


def full_headline(headline: str, articles: Sequence[Mapping[str, Any]]) -> str:
    """The headline, or when it was cut from an article's first sentence ("…"), that whole sentence."""
    if not headline.endswith("…"):
        return headline
    prefix = headline[:-1].rstrip()
    for a in articles:
        text = str(a.get("text") or "")
        if prefix and text.startswith(prefix):
            ends = [i for i in (text.find(". ", len(prefix)), text.find("\n", len(prefix))) if i >= 0]
            end = min(ends) if ends else len(text)
            if end - len(prefix) < 400:
                return text[: end + 1].strip() if end < len(text) and text[end] == "." else text[:end].strip()
    return headline


# --- the timeline: articles per hour or day, stacked by origin ---------------------------------


def _moment(a: Mapping[str, Any]) -> dt.datetime | None:
    for key in ("published_at", "published"):
        value = a.get(key)
        if value:
            try:
                when = dt.datetime.fromisoformat(str(value))
            except ValueError:
                continue
            return when.replace(tzinfo=None) if when.tzinfo is None else when.astimezone(dt.UTC)
    return None


def timeline(articles: Iterable[Mapping[str, Any]], width: int = 640, height: int = 180) -> Markup | None:
    """An inline SVG bar chart of articles per hour (a story within two days, with times) or per day,
    each bar stacked by origin; None when no article is dated."""
    dated: list[tuple[dt.datetime, str, bool]] = []
    for a in articles:
        when = _moment(a)
        if when is not None:
            origin = str(a.get("wire_origin") or a.get("outlet") or a.get("source") or "unknown")
            dated.append((when.replace(tzinfo=None), origin, bool(a.get("published_at"))))
    if not dated:
        return None
    first = min(d for d, _, _ in dated)
    last = max(d for d, _, _ in dated)
    hourly = all(timed for _, _, timed in dated) and (last - first) <= dt.timedelta(days=2)
    step = dt.timedelta(hours=1) if hourly else dt.timedelta(days=1)

    def bucket(d: dt.datetime) -> dt.datetime:
        return d.replace(minute=0, second=0, microsecond=0) if hourly else dt.datetime(d.year, d.month, d.day)

    start, end = bucket(first), bucket(last)
    buckets: list[dt.datetime] = []
    at = start
    while at <= end and len(buckets) < 400:
        buckets.append(at)
        at += step
    counts: dict[dt.datetime, Counter[str]] = defaultdict(Counter)
    totals: Counter[str] = Counter()
    for d, origin, _ in dated:
        counts[bucket(d)][origin] += 1
        totals[origin] += 1
    origins = sorted(totals, key=lambda o: (-totals[o], o))
    colour = {o: PALETTE[i % len(PALETTE)] for i, o in enumerate(origins)}
    tallest = max(sum(c.values()) for c in counts.values())
    left, bottom, top, legend_h = 28, 28, 10, 18 * ((len(origins) + 2) // 3)
    plot_w, plot_h = width - left - 10, height - bottom - top
    bar_w = min(plot_w / max(len(buckets), 1), 60.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" role="img" width="{width}" '
        f'height="{height + legend_h}" viewBox="0 0 {width} {height + legend_h}">',
        f"<title>{len(dated)} dated articles per {'hour' if hourly else 'day'}, by origin</title>",
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="#888"/>',
        f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" font-size="10" fill="#555">{tallest}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" font-size="10" fill="#555">0</text>',
    ]
    for i, b in enumerate(buckets):
        x = left + i * bar_w
        y = float(top + plot_h)
        label = b.strftime("%Y-%m-%d %H:00") if hourly else b.strftime("%Y-%m-%d")
        for origin in origins:
            count = counts.get(b, Counter())[origin]
            if not count:
                continue
            h = plot_h * count / tallest
            y -= h
            parts.append(
                f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(bar_w - 2, 1):.1f}" height="{h:.1f}" '
                f'fill="{colour[origin]}"><title>{escape(label)}: {count} from {escape(origin)}</title></rect>'
            )
    ticks = {0, len(buckets) - 1, *range(0, len(buckets), max(len(buckets) // 6, 1))}
    for i in sorted(ticks):
        b = buckets[i]
        label = b.strftime("%d %b %H:00") if hourly else b.strftime("%Y-%m-%d")
        x = left + (i + 0.5) * bar_w
        parts.append(
            f'<text x="{x:.1f}" y="{top + plot_h + 14}" text-anchor="middle" font-size="10" fill="#555">'
            f"{escape(label)}</text>"
        )
    for i, origin in enumerate(origins):
        x = left + (i % 3) * (plot_w / 3)
        y = height + 4 + 18 * (i // 3)
        parts.append(f'<rect x="{x:.1f}" y="{y}" width="10" height="10" fill="{colour[origin]}"/>')
        parts.append(
            f'<text x="{x + 14:.1f}" y="{y + 9}" font-size="11" fill="#333">'
            f"{escape(origin[:40])} ({totals[origin]})</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
