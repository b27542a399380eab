"""The desk's story listing: rank, sort, filter, and the JSON lines of stories and articles.

What ``storydesk stories``, ``/api/stories`` and the web desk share: each story with the counts a
desk editor ranks by (outlets, independent origins, duplicates), its rank score, the filters a
listing takes (``StoryFilter``) and the orders it sorts by (``SORTS``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from storydesk.errors import ConfigError
from storydesk.models import Article, ResolvedEntity, Story

SORTS = ("rank", "recent", "articles", "origins", "outlets")
"""Orders of a story listing: ``rank`` (the default) weighs independent origins, articles, outlets and
recency; ``recent`` is the newest last date first; the others are by that count."""


@dataclass(frozen=True, slots=True)
class StoryFilter:
    """What a story listing keeps; every field left unset keeps everything."""

    since: dt.date | None = None  # the story's date span reaches this day or later
    until: dt.date | None = None  # the story began on this day or earlier
    outlet: str | None = None  # an article from this outlet (case-insensitive)
    origin: str | None = None  # an article with this wire origin or outlet as its independent origin
    place: str | None = None  # names this place (canonical name or a spelling of it)
    person: str | None = None
    organisation: str | None = None
    conflicts: bool = False  # only stories with a conflicting fact

    @property
    def empty(self) -> bool:
        return self == StoryFilter()


@dataclass(frozen=True, slots=True)
class StoryListing:
    """A story as a listing shows it: counts a desk editor ranks by, and the score."""

    story: Story
    outlets: tuple[str, ...]  # distinct outlets named by its articles
    independent: tuple[str, ...]  # independent origins: a wire agency, else the outlet, of each original
    duplicates: int
    first_stored: str  # UTC ISO: when its first article was stored
    last_changed: str  # UTC ISO: when it last gained or changed an article
    score: float
    conflicts: bool | None = None  # None: not computed for this listing

    def to_dict(self) -> dict[str, Any]:
        data = story_summary(self.story)
        data.update(
            outlets=list(self.outlets),
            outlet_count=len(self.outlets),
            independent_origins=list(self.independent),
            independent_count=len(self.independent),
            duplicates=self.duplicates,
            first_stored=self.first_stored,
            last_changed=self.last_changed,
            score=round(self.score, 4),
        )
        if self.conflicts is not None:
            data["conflicts"] = self.conflicts
        return data


def rank_score(articles: int, independent: int, outlets: int, age_days: float | None) -> float:
    """The stories' default order: independent origins count most, then articles and outlets (each with
    diminishing returns), plus a recency bonus halving every two days behind the desk's newest story.
    An undated story gets no recency bonus (it is neither first nor last for being undated)."""
    recency = 0.0 if age_days is None else 0.5 ** (max(age_days, 0.0) / 2.0)
    return (
        2.0 * math.log1p(independent) + 1.0 * math.log1p(articles) + 0.5 * math.log1p(outlets) + 2.0 * recency
    )


def sort_key(sort: str) -> Callable[[StoryListing], tuple[Any, ...]]:
    """The key that sorts a listing in the order named (one of ``SORTS``; ConfigError otherwise)."""
    if sort == "rank":
        return lambda r: (-r.score, -len(r.story.article_ids), r.story.id)
    if sort == "recent":
        return lambda r: (
            -(r.story.last_published or dt.date.min).toordinal(),
            r.story.last_published is None,
            -len(r.story.article_ids),
            r.story.id,
        )
    if sort == "articles":
        return lambda r: (-len(r.story.article_ids), -r.score, r.story.id)
    if sort == "origins":
        return lambda r: (-len(r.independent), -r.score, r.story.id)
    if sort == "outlets":
        return lambda r: (-len(r.outlets), -r.score, r.story.id)
    raise ConfigError(f"unknown sort {sort!r}: use one of {', '.join(SORTS)}")


def listed(
    stories: Sequence[Story], member_rows: Iterable[Mapping[str, Any]]
) -> tuple[list[StoryListing], dict[str, list[Mapping[str, Any]]]]:
    """Every story with its listing counts and rank score, in the stories' order, and each story's
    member rows (``Store.story_members``: id, story, published, stored_at, changed_at, outlet,
    duplicate_of, wire_origin) in date order."""
    members: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in member_rows:
        members[row["story"]].append(row)
    dates = [d for s in stories if (d := s.last_published or s.first_published) is not None]
    newest = max(dates) if dates else None
    rows = []
    for story in stories:
        group = members.get(story.id, [])
        group.sort(key=lambda m: (m["published"] or "9999", m["stored_at"]))
        story = dataclasses.replace(story, article_ids=tuple(m["id"] for m in group))
        originals = [m for m in group if not m["duplicate_of"]]
        outlets = tuple(sorted({m["outlet"] for m in group if m["outlet"]}))
        independent = Counter(m["wire_origin"] or m["outlet"] or f"article {m['id']}" for m in originals)
        last = story.last_published or story.first_published
        age = (newest - last).days if newest is not None and last is not None else None
        rows.append(
            StoryListing(
                story=story,
                outlets=outlets,
                independent=tuple(sorted(independent, key=lambda o: (-independent[o], o))),
                duplicates=len(group) - len(originals),
                first_stored=min((m["stored_at"] for m in group), default=""),
                last_changed=max((m["changed_at"] for m in group), default=""),
                score=rank_score(len(group), len(independent), len(outlets), age),
            )
        )
    return rows, members


def keeps(
    row: StoryListing,
    where: StoryFilter,
    members: Mapping[str, Sequence[Mapping[str, Any]]],
    entities_of: Callable[[list[str]], Sequence[ResolvedEntity]],
) -> bool:
    """True when the filter keeps the story; ``entities_of`` resolves the entities of articles (by id),
    asked only when the filter names a place, person or organisation."""
    story = row.story
    if where.since is not None and (story.last_published is None or story.last_published < where.since):
        return False
    if where.until is not None and (story.first_published is None or story.first_published > where.until):
        return False
    if where.outlet and fold(where.outlet) not in {fold(o) for o in row.outlets}:
        return False
    if where.origin and fold(where.origin) not in {
        fold(o) for o in (*row.independent, *row.story.origins, *row.outlets)
    }:
        return False
    wanted = [
        (lab, fold(v))
        for lab, v in (("PLACE", where.place), ("PERSON", where.person), ("ORG", where.organisation))
        if v
    ]
    if wanted:
        entities = entities_of([m["id"] for m in members.get(story.id, []) if not m["duplicate_of"]])
        for label, name in wanted:
            if not any(
                e.label == label and name in {fold(e.name), *(fold(v) for v in e.variants)} for e in entities
            ):
                return False
    return True


def fold(value: str | None) -> str:
    """A name as filters and lookups compare it: spaces collapsed, case folded."""
    return " ".join((value or "").split()).casefold()


def story_summary(story: Story) -> dict[str, Any]:
    """The stable JSON line of ``storydesk stories --json``."""
    return {
        "id": story.id,
        "headline": story.headline,
        "first_published": story.first_published.isoformat() if story.first_published else None,
        "last_published": story.last_published.isoformat() if story.last_published else None,
        "article_count": len(story.article_ids),
        "origin_count": len(story.origins),
        "origins": list(story.origins),
        "article_ids": list(story.article_ids),
    }


def article_summary(article: Article, story_id: str | None, wire_origin: str | None) -> dict[str, Any]:
    """The JSON of ``storydesk articles --json``."""
    return {
        "id": article.id,
        "external_id": article.external_id,
        "title": article.title,
        "outlet": article.outlet,
        "published": article.published.isoformat() if article.published else None,
        "wire_origin": wire_origin,
        "story": story_id,
        "url": article.url,
        "source_url": article.source_url,
        "source": str(article.source) if article.source else None,
    }
