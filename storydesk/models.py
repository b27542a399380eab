"""Plain model objects exchanged between the pipeline stages.

Every stage takes and returns these frozen, slotted dataclasses; none of them
knows about the store, the CLI or the web. Offsets are character offsets into
``Article.text`` (the clean text) unless a field says otherwise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

Bound = Literal["=", ">", "<", "~"]
FactStatus = Literal["corroborated", "single-source", "conflicting"]


@dataclass(frozen=True, slots=True)
class Source:
    """Where a document came from: a file, and a line or member inside it."""

    path: str
    line: int | None = None
    member: str | None = None  # WARC record id, feed entry id, ...

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
        if self.member:
            where += f"#{self.member}"
        return where


@dataclass(frozen=True, slots=True)
class RawDocument:
    """One document as a reader found it, before cleaning.

    ``text`` is plain text (text files, JSONL, feed summaries); ``html`` is a
    page still to be extracted. Readers fill whatever metadata the format gives.
    """

    source: Source
    format: Literal["text", "html", "jsonl", "feed", "warc"]
    text: str | None = None
    html: str | None = None
    external_id: str | None = None
    title: str | None = None
    url: str | None = None
    published: str | None = None  # as given: ISO date/datetime or free text
    outlet: str | None = None
    author: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rejection:
    """An expected drop: a document that is not (or not yet) an article."""

    stage: str  # "ingest", "clean", "dedup", ...
    reason: str
    source: Source

    def __str__(self) -> str:
        return f"{self.source}: {self.stage}: {self.reason}"


@dataclass(frozen=True, slots=True)
class CleanStep:
    """One change the cleaner made to the raw text, kept so it can be undone.

    ``kind`` names the rule (``header``, ``source-line``, ``bio``, ``bullet``,
    ``share``, ``dehyphenate``, ...); ``removed`` is the raw text the rule took
    out or rewrote, ``replacement`` what it put in its place.
    """

    kind: str
    removed: str
    replacement: str = ""
    raw_start: int | None = None  # offset into Article.raw_text


@dataclass(frozen=True, slots=True)
class Article:
    """A cleaned article. ``id`` is a content hash, stable across runs."""

    id: str
    text: str
    raw_text: str
    title: str | None = None
    external_id: str | None = None  # id given by the input (JSONL ``id``)
    url: str | None = None
    source_url: str | None = None  # the URL a "Source:" line credits
    outlet: str | None = None
    published: dt.date | None = None
    published_at: dt.datetime | None = None
    dateline: str | None = None
    desk: str | None = None
    author: str | None = None
    bio: str | None = None  # an author/marketing bio removed from the text
    steps: tuple[CleanStep, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    source: Source | None = None


def published_time(article: Article) -> dt.datetime | None:
    """When an article was published, in UTC: its timestamp (a naive one read as UTC), else midnight
    of its date; None when undated. Stages that order articles in time agree through this."""
    if article.published_at is not None:
        when = article.published_at
        return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)
    if article.published is not None:
        return dt.datetime.combine(article.published, dt.time(), tzinfo=dt.UTC)
    return None


@dataclass(frozen=True, slots=True)
class WireOrigin:
    """The agency an article derives from, and the words that say so."""

    name: str  # canonical agency name: "Reuters", "RIA Novosti", "AP", "AFP", ...
    evidence: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class DedupResult:
    """What deduplication concluded about one article."""

    article_id: str
    duplicate_of: str | None = None
    kind: Literal["exact", "near"] | None = None
    similarity: float | None = None  # estimated-then-verified Jaccard for near copies
    wire_origin: WireOrigin | None = None


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why an article joined its story (or founded a new one)."""

    similarity: float
    shared_entities: tuple[str, ...] = ()
    shared_numbers: tuple[str, ...] = ()
    time_gap_days: float | None = None
    runner_up: str | None = None
    runner_up_score: float | None = None
    score: float = 0.0
    new_story: bool = False
    components: dict[str, float] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True, slots=True)
class Assignment:
    """An article's place in a story, as decided when it arrived."""

    article_id: str
    story_id: str
    explanation: Explanation


@dataclass(frozen=True, slots=True)
class StoryMerge:
    """Two stories found to be one: ``absorbed`` now lives on as ``kept``."""

    kept: str
    absorbed: str
    at_article: str
    score: float


@dataclass(frozen=True, slots=True)
class Story:
    """One real-world event and the articles that report it."""

    id: str
    headline: str
    article_ids: tuple[str, ...]
    first_published: dt.date | None = None
    last_published: dt.date | None = None
    origins: tuple[str, ...] = ()


# --- extraction -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entity:
    """A named entity mention. ``canonical`` is its resolved name."""

    text: str
    label: Literal["PERSON", "ORG", "PLACE", "OTHER"]
    start: int
    end: int
    canonical: str
    role: str | None = None  # "Defense Minister", when the text gives one


@dataclass(frozen=True, slots=True)
class Quantity:
    """A number with what it counts: ``more than 1,000`` members of ..."""

    text: str
    value: float
    bound: Bound
    unit: str | None
    counts: str | None
    start: int
    end: int
    sentence_start: int = 0
    sentence_end: int = 0


@dataclass(frozen=True, slots=True)
class DateMention:
    """A date in the text, resolved to ISO when it can be."""

    text: str
    value: str | None  # ISO date, or None when unresolved
    start: int
    end: int
    relative: bool = False


@dataclass(frozen=True, slots=True)
class Quote:
    """Something someone said, direct ("...") or reported (X said that ...)."""

    speaker: str | None
    speaker_start: int | None
    speaker_end: int | None
    cue: str | None
    cue_start: int | None
    cue_end: int | None
    content: str
    content_start: int
    content_end: int
    direct: bool
    speaker_canonical: str | None = None  # resolved entity, if the speaker names one


@dataclass(frozen=True, slots=True)
class Extraction:
    """Everything extracted from one article."""

    article_id: str
    entities: tuple[Entity, ...] = ()
    quantities: tuple[Quantity, ...] = ()
    dates: tuple[DateMention, ...] = ()
    quotes: tuple[Quote, ...] = ()
    wire_origin: str | None = None
    sentences: tuple[tuple[int, int], ...] = ()  # sentence spans of the text


@dataclass(frozen=True, slots=True)
class ResolvedEntity:
    """One person, organisation or place across a story, its spellings merged."""

    name: str  # canonical form
    label: Literal["PERSON", "ORG", "PLACE", "OTHER"]
    variants: tuple[str, ...] = ()  # other spellings seen, misspellings included
    roles: tuple[str, ...] = ()  # "Defense Minister", ...
    article_ids: tuple[str, ...] = ()
    mentions: int = 0


# --- corroboration ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Citation:
    """A sentence of an article that supports a fact."""

    article_id: str
    start: int
    end: int
    text: str = ""


@dataclass(frozen=True, slots=True)
class Fact:
    """A claim aligned across a story's articles, with its status."""

    statement: str
    kind: Literal["quantity", "statement", "quote"]
    status: FactStatus
    origins: tuple[str, ...]
    citations: tuple[Citation, ...]
    value: float | None = None
    bound: Bound | None = None
    unit: str | None = None  # "%", "km", ... ; None for plain counts
    counts: str | None = None
    note: str | None = None  # e.g. "1,037 is compatible with more than 1,000"
    variants: tuple[str, ...] = ()  # the differing wordings/values seen


# --- the live desk -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeedSource:
    """A watched feed (RSS, Atom or a news sitemap) and where polling it stands. Times are UTC."""

    id: int
    url: str
    title: str | None = None
    kind: str | None = None  # "rss", "atom", "sitemap" once read
    added_at: dt.datetime | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_poll: dt.datetime | None = None
    last_status: int | None = None  # HTTP status of the last poll; None when no answer came
    last_new: int = 0  # articles the last poll added
    items: int = 0  # items seen in all
    errors: int = 0  # consecutive failed polls (the backoff's exponent)
    error: str | None = None  # why the last poll failed (or what it warned about)
    next_poll: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class SeenItem:
    """A feed item already handled: what it became, so a restart never ingests it twice."""

    source_id: int
    key: str  # the item's guid, else its link
    url: str | None  # canonical URL of its page
    fingerprint: str  # hash of title, summary and date: a change means the item was updated
    article_id: str | None
    status: str  # "page" (full text), "headline" (title + summary only), "rejected"
    reason: str | None = None  # why headline-only or rejected
