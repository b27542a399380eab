"""A story's brief: what is known, who says so, and whether independent sources agree.

``build_brief`` gathers everything a rendering needs into one frozen ``Brief`` and numbers the
citations once ([1], [2], ... in reading order of the brief: facts, then quotes), so the text,
Markdown, JSON and HTML renderings all carry the same numbers. Article text is untrusted: HTML goes
through Jinja2 with autoescape on, Markdown through an escaping filter, text through a filter that
strips terminal control characters.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import jinja2

from storydesk.corroborate import source_of
from storydesk.models import Article, Citation, Explanation, Extraction, Fact, ResolvedEntity, Story
from storydesk.text import sentence_spans, trim_span

__all__ = [
    "Brief",
    "BriefArticle",
    "BriefEntity",
    "BriefFact",
    "BriefQuote",
    "Reference",
    "SourceAddition",
    "brief_to_dict",
    "build_brief",
    "render_brief",
]

Format = Literal["text", "md", "json", "html"]
FORMATS: tuple[str, ...] = ("text", "md", "json", "html")
_TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True, slots=True)
class Reference:
    """A numbered citation: one sentence span of one article."""

    number: int
    article_id: str
    start: int
    end: int
    text: str
    outlet: str | None = None
    title: str | None = None
    origin: str | None = None


@dataclass(frozen=True, slots=True)
class BriefFact:
    """A fact as the brief shows it: the fact and the numbers of its citations."""

    fact: Fact
    refs: tuple[int, ...]
    value_text: str | None = None


@dataclass(frozen=True, slots=True)
class BriefQuote:
    """A quote with its speaker, article and citation number."""

    speaker: str | None
    content: str
    article_id: str
    direct: bool
    cue: str | None
    ref: int


@dataclass(frozen=True, slots=True)
class BriefEntity:
    """A person, organisation or place across the story; ``display`` puts the role first."""

    name: str
    label: str
    display: str
    variants: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    article_ids: tuple[str, ...] = ()
    mentions: int = 0


@dataclass(frozen=True, slots=True)
class BriefArticle:
    """One source article of the story, with its independence key and wire origin."""

    article: Article
    wire_origin: str | None
    source: str


@dataclass(frozen=True, slots=True)
class SourceAddition:
    """What one independent source adds that the others lack: its single-source facts."""

    source: str
    article_ids: tuple[str, ...]
    facts: tuple[BriefFact, ...]


@dataclass(frozen=True, slots=True)
class Brief:
    """Everything a rendering of a story needs, numbered citations included."""

    id: str
    headline: str
    first_published: dt.date | None
    last_published: dt.date | None
    origins: tuple[str, ...]
    articles: tuple[BriefArticle, ...]
    facts: tuple[BriefFact, ...]
    people: tuple[BriefEntity, ...]
    organisations: tuple[BriefEntity, ...]
    places: tuple[BriefEntity, ...]
    quotes: tuple[BriefQuote, ...]
    additions: tuple[SourceAddition, ...]
    references: tuple[Reference, ...]
    why: Mapping[str, Explanation] = field(default_factory=dict)


# --- building -----------------------------------------------------------------------------------


class _Numbering:
    """Hands out citation numbers in order of first use; the same span always gets the same number."""

    def __init__(self, articles: Mapping[str, BriefArticle]) -> None:
        self._articles = articles
        self._numbers: dict[tuple[str, int, int], int] = {}
        self.references: list[Reference] = []

    def number(self, citation: Citation) -> int:
        key = (citation.article_id, citation.start, citation.end)
        if key not in self._numbers:
            self._numbers[key] = len(self._numbers) + 1
            art = self._articles.get(citation.article_id)
            text = citation.text
            if not text and art is not None:
                text = " ".join(art.article.text[citation.start : citation.end].split())
            self.references.append(
                Reference(
                    number=self._numbers[key],
                    article_id=citation.article_id,
                    start=citation.start,
                    end=citation.end,
                    text=text,
                    outlet=art.article.outlet if art else None,
                    title=art.article.title if art else None,
                    origin=art.wire_origin if art else None,
                )
            )
        return self._numbers[key]


def build_brief(
    story: Story,
    articles: Sequence[Article],
    extractions: Mapping[str, Extraction],
    facts: Sequence[Fact],
    entities: Sequence[ResolvedEntity],
    origins: Mapping[str, str | None],
    explanations: Mapping[str, Explanation] | None = None,
) -> Brief:
    """Assemble a story's brief from its articles, extractions, facts and resolved entities.

    Citation numbers are assigned here, facts first then quotes, so every format shares them.
    """
    unique = list(dict((a.id, a) for a in articles).values())
    briefed = tuple(BriefArticle(a, origins.get(a.id), source_of(a, origins.get(a.id))) for a in unique)
    by_id = {b.article.id: b for b in briefed}
    numbering = _Numbering(by_id)

    brief_facts = tuple(
        BriefFact(f, tuple(numbering.number(c) for c in f.citations), _fact_value_text(f)) for f in facts
    )
    quotes = _quotes(briefed, extractions, numbering)
    additions = _additions(briefed, brief_facts)

    dates = [d for d in (_published(a) for a in unique) if d is not None]
    first = story.first_published or (min(dates) if dates else None)
    last = story.last_published or (max(dates) if dates else None)
    story_origins = story.origins or tuple(dict.fromkeys(o for o in (origins.get(a.id) for a in unique) if o))
    return Brief(
        id=story.id,
        headline=story.headline,
        first_published=first,
        last_published=last,
        origins=tuple(story_origins),
        articles=briefed,
        facts=brief_facts,
        people=_entities(entities, "PERSON"),
        organisations=_entities(entities, "ORG"),
        places=_entities(entities, "PLACE"),
        quotes=quotes,
        additions=additions,
        references=tuple(numbering.references),
        why=dict(explanations or {}),
    )


def _published(article: Article) -> dt.date | None:
    if article.published is not None:
        return article.published
    return article.published_at.date() if article.published_at is not None else None


def _fact_value_text(fact: Fact) -> str | None:
    """The fact's value as worded in the sources: the first variant for quantity facts."""
    if fact.kind != "quantity":
        return None
    return fact.variants[0] if fact.variants else None


def _entities(entities: Sequence[ResolvedEntity], label: str) -> tuple[BriefEntity, ...]:
    """Entities of one label, most widely reported first, with a role-first display name."""
    chosen = [e for e in entities if e.label == label]
    chosen.sort(key=lambda e: (-len(e.article_ids), -e.mentions, e.name.lower()))
    out = []
    for e in chosen:
        roles = tuple(dict.fromkeys(r for r in e.roles if r and r.strip()))
        display = f"{roles[0]} {e.name}" if roles and roles[0].lower() not in e.name.lower() else e.name
        if len(roles) > 1:
            display += f" ({'; '.join(roles[1:])})"
        out.append(
            BriefEntity(
                name=e.name,
                label=e.label,
                display=display,
                variants=tuple(v for v in dict.fromkeys(e.variants) if v != e.name),
                roles=roles,
                article_ids=tuple(e.article_ids),
                mentions=e.mentions,
            )
        )
    return tuple(out)


def _quotes(
    briefed: Sequence[BriefArticle], extractions: Mapping[str, Extraction], numbering: _Numbering
) -> tuple[BriefQuote, ...]:
    """Every quote of the story in reading order, each citing the sentences it spans."""
    out: list[BriefQuote] = []
    for b in briefed:
        extraction = extractions.get(b.article.id)
        if extraction is None:
            continue
        text = b.article.text
        spans = tuple(trim_span(text, s, e) for s, e in sorted(extraction.sentences)) or sentence_spans(text)
        seen: set[tuple[int, int]] = set()
        for quote in sorted(extraction.quotes, key=lambda q: (q.content_start, q.content_end)):
            content = _quote_content(quote.content, quote.direct)
            if not content or (quote.content_start, quote.content_end) in seen:
                continue
            seen.add((quote.content_start, quote.content_end))
            lo, hi = quote.content_start, quote.content_end
            if quote.speaker_start is not None and quote.speaker_end is not None:
                lo, hi = min(lo, quote.speaker_start), max(hi, quote.speaker_end)
            start, end = _cover(spans, lo, hi, len(text))
            citation = Citation(b.article.id, start, end, " ".join(text[start:end].split()))
            out.append(
                BriefQuote(
                    speaker=quote.speaker_canonical or quote.speaker,
                    content=content,
                    article_id=b.article.id,
                    direct=quote.direct,
                    cue=quote.cue,
                    ref=numbering.number(citation),
                )
            )
    return tuple(out)


_THAT = re.compile(r"^that\s+", re.IGNORECASE)


def _quote_content(content: str, direct: bool) -> str:
    """Quote text for display: one line, without the comma before a closing quote mark or a leading "that"."""
    text = " ".join(content.split()).strip(' ,;:“”"«»')
    if not direct:
        text = _THAT.sub("", text)
    return text


def _cover(spans: Sequence[tuple[int, int]], start: int, end: int, length: int) -> tuple[int, int]:
    """The sentences overlapping [start, end), joined; the span itself when none do."""
    start, end = max(0, min(start, length)), max(0, min(end, length))
    hits = [(s, e) for s, e in spans if e > start and s < max(end, start + 1)]
    if not hits:
        return start, end
    return hits[0][0], hits[-1][1]


def _additions(briefed: Sequence[BriefArticle], facts: Sequence[BriefFact]) -> tuple[SourceAddition, ...]:
    """Per independent source, in source-list order: the single-source facts only it carries."""
    sources: dict[str, list[str]] = {}
    for b in briefed:
        sources.setdefault(b.source, []).append(b.article.id)
    out = []
    for source, ids in sources.items():
        own = tuple(bf for bf in facts if bf.fact.status == "single-source" and bf.fact.origins == (source,))
        out.append(SourceAddition(source=source, article_ids=tuple(ids), facts=own))
    return tuple(out)


# --- JSON ---------------------------------------------------------------------------------------


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _number(value: float | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def _fact_dict(bf: BriefFact) -> dict[str, Any]:
    fact = bf.fact
    return {
        "statement": fact.statement,
        "kind": fact.kind,
        "value": _number(fact.value),
        "value_text": bf.value_text,
        "bound": fact.bound,
        "unit": fact.unit,
        "counts": fact.counts,
        "status": fact.status,
        "origins": list(fact.origins),
        "citations": [
            {"article": c.article_id, "start": c.start, "end": c.end, "number": n, "text": c.text}
            for c, n in zip(fact.citations, bf.refs, strict=True)
        ],
        "note": fact.note,
        "variants": list(fact.variants),
    }


def _entity_dict(e: BriefEntity) -> dict[str, Any]:
    return {
        "name": e.name,
        "display": e.display,
        "label": e.label,
        "variants": list(e.variants),
        "roles": list(e.roles),
        "articles": list(e.article_ids),
        "mentions": e.mentions,
    }


def _article_dict(b: BriefArticle) -> dict[str, Any]:
    a = b.article
    return {
        "id": a.id,
        "title": a.title,
        "outlet": a.outlet,
        "wire_origin": b.wire_origin,
        "source": b.source,
        "published": _iso(_published(a)),
        "published_at": _iso(a.published_at),
        "dateline": a.dateline,
        "author": a.author,
        "source_url": a.source_url,
        "url": a.url,
        "external_id": a.external_id,
        "text": a.text,
        "raw_text": a.raw_text,
    }


def _explanation_dict(explanation: Explanation) -> dict[str, Any]:
    out = dataclasses.asdict(explanation)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


def brief_to_dict(brief: Brief) -> dict[str, Any]:
    """The stable JSON shape of a brief (field names are read by independent checks: keep them)."""
    fact_index = {id(bf): i for i, bf in enumerate(brief.facts)}
    out: dict[str, Any] = {
        "id": brief.id,
        "headline": brief.headline,
        "first_published": _iso(brief.first_published),
        "last_published": _iso(brief.last_published),
        "origins": list(brief.origins),
        "article_count": len(brief.articles),
        "articles": [_article_dict(b) for b in brief.articles],
        "facts": [_fact_dict(bf) for bf in brief.facts],
        "people": [_entity_dict(e) for e in brief.people],
        "organisations": [_entity_dict(e) for e in brief.organisations],
        "places": [_entity_dict(e) for e in brief.places],
        "quotes": [
            {
                "speaker": q.speaker,
                "content": q.content,
                "article": q.article_id,
                "direct": q.direct,
                "cue": q.cue,
                "citation": q.ref,
            }
            for q in brief.quotes
        ],
        "sources": [
            {
                "source": add.source,
                "articles": list(add.article_ids),
                "adds": [fact_index[id(bf)] for bf in add.facts],
            }
            for add in brief.additions
        ],
        "citations": [
            {"number": r.number, "article": r.article_id, "start": r.start, "end": r.end, "text": r.text}
            for r in brief.references
        ],
    }
    if brief.why:
        out["why"] = {aid: _explanation_dict(e) for aid, e in brief.why.items()}
    return out


# --- rendering ----------------------------------------------------------------------------------

# C0/C1 control characters (ESC included) except tab and newline: a title must not drive the terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_SAFE_URL = re.compile(r"^https?://[^\s<>\"'`\x00-\x1f\x7f]+$", re.IGNORECASE)


def _plain(value: object) -> str:
    """Text for a terminal: control characters removed, whitespace runs collapsed."""
    if value is None:
        return ""
    return " ".join(_CONTROL.sub(" ", str(value)).split())


def _md(value: object) -> str:
    """Inline Markdown text: one line, Markdown syntax and raw HTML neutralised."""
    text = _plain(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def safe_url(value: object) -> str | None:
    """The URL when it is a plain http(s) URL (so it can be a link), else None."""
    if not value:
        return None
    url = str(value).strip()
    return url if _SAFE_URL.match(url) else None


def _refs(numbers: Sequence[int] | int | None) -> str:
    if numbers is None:
        return ""
    if isinstance(numbers, int):
        numbers = (numbers,)
    return "".join(f"[{n}]" for n in numbers)


@functools.lru_cache(maxsize=4)
def _environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(plain=_plain, md=_md, safe_url=safe_url, refs=_refs)
    return env


def _context(brief: Brief) -> dict[str, Any]:
    dates = [d.isoformat() for d in (brief.first_published, brief.last_published) if d is not None]
    span = " – ".join(dict.fromkeys(dates)) if dates else None
    return {
        "brief": brief,
        "date_span": span,
        "status_label": {
            "corroborated": "corroborated",
            "single-source": "single source",
            "conflicting": "conflicting",
        },
        "published": _published,
    }


def render_brief(brief: Brief, fmt: Format) -> str:
    """The brief as plain text, Markdown, JSON or HTML; all share the same citation numbers."""
    if fmt == "json":
        return json.dumps(brief_to_dict(brief), ensure_ascii=False, indent=2) + "\n"
    if fmt == "html":
        return _environment(True).get_template("brief.html.j2").render(**_context(brief))
    if fmt == "md":
        return _environment(False).get_template("brief.md.j2").render(**_context(brief))
    if fmt == "text":
        return _environment(False).get_template("brief.txt.j2").render(**_context(brief))
    raise ValueError(f"unknown brief format {fmt!r}; expected one of {', '.join(FORMATS)}")
