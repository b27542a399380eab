"""Story views: what is derived from a story's articles and stored beside them.

A story's view is its corroborated facts and its resolved entities, computed from its originals when
its articles change (``derive``) and stored with the version of the code that made them
(``view_version``), so reading a story does not corroborate it again. The desk and the Spark job
both call ``derive``: a story gets the same view whichever made it. ``entity_view`` gathers one
person, organisation or place across the stories naming it.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storydesk import corroborate as corroborate_stage
from storydesk import extract as extract_stage
from storydesk import text as text_helpers
from storydesk.listing import fold, story_summary
from storydesk.models import Article, Extraction, Fact, ResolvedEntity, Story


def derive(
    articles: Sequence[Article],
    duplicates: Mapping[str, str],
    extractions: Mapping[str, Extraction],
    origins: Mapping[str, str | None],
) -> tuple[tuple[Fact, ...], tuple[ResolvedEntity, ...]]:
    """A story's derived view: corroborated facts and resolved entities, from its originals only
    (duplicates repeat their original: listed as sources, no claims of their own)."""
    originals = [a for a in articles if a.id not in duplicates]
    facts = corroborate_stage.corroborate(originals, extractions, origins)
    entities = extract_stage.resolve_entities([extractions[a.id] for a in originals if a.id in extractions])
    return facts, entities


@functools.cache
def view_version() -> str:
    """What made the stored views: a digest of the code that computes them (corroboration, entity
    resolution): every file of the two stage packages and the text helpers they share, in sorted
    order. A view stored by other code is computed again when read, never served stale."""
    digest = hashlib.sha256()
    for package in (corroborate_stage, extract_stage):
        root = Path(package.__file__ or "").parent
        for path in sorted(root.rglob("*.py"), key=lambda p: p.relative_to(root).as_posix()):
            digest.update(f"{package.__name__}/{path.relative_to(root).as_posix()}\n".encode())
            digest.update(path.read_bytes())
    digest.update(b"storydesk/text.py\n")
    digest.update(Path(text_helpers.__file__ or "").read_bytes())
    return digest.hexdigest()[:16]


def names(entity: ResolvedEntity, wanted: str) -> bool:
    """True when ``wanted`` (folded) is the entity's canonical name or one of its spellings."""
    return wanted in {fold(entity.name), *(fold(v) for v in entity.variants)}


@dataclass(frozen=True, slots=True)
class EntityView:
    """A person, organisation or place across the desk."""

    name: str  # canonical
    label: str
    variants: tuple[str, ...]
    stories: tuple[Story, ...]  # newest first
    quotes: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "variants": list(self.variants),
            "stories": [story_summary(s) for s in self.stories],
            "quotes": list(self.quotes),
        }


def entity_view(
    found: Sequence[tuple[Story, ResolvedEntity]],
    times: Mapping[str, tuple[str, str]],
    extractions_of: Callable[[Story], Mapping[str, Extraction]],
) -> EntityView:
    """One entity across the stories naming it (``found``: each story with its entity of that name).

    The canonical name is the one most stories use (then the longest); the stories are newest first
    (``times``: story id -> first stored, last changed); the quotes are those whose speaker is one of
    the entity's spellings, from each story's originals (``extractions_of``)."""
    counts = Counter(e.name for _, e in found)
    canonical = max(counts, key=lambda n: (counts[n], len(n), n))
    label = Counter(e.label for _, e in found if e.name == canonical).most_common(1)[0][0]
    variants = sorted({v for _, e in found for v in (e.name, *e.variants)} - {canonical})
    spellings = {fold(canonical), *(fold(v) for v in variants)}
    quotes: list[dict[str, Any]] = []
    stories = sorted(
        {s.id: s for s, _ in found}.values(),
        key=lambda s: (s.last_published or dt.date.min, times.get(s.id, ("", ""))[1], s.id),
        reverse=True,
    )
    for story in stories:
        for article_id, extraction in extractions_of(story).items():
            for q in extraction.quotes:
                if spellings & {fold(q.speaker), fold(q.speaker_canonical)}:
                    quotes.append(
                        {
                            "story": story.id,
                            "article": article_id,
                            "speaker": q.speaker,
                            "content": q.content,
                            "direct": q.direct,
                            "cue": q.cue,
                            "start": q.content_start,
                            "end": q.content_end,
                        }
                    )
    return EntityView(canonical, label, tuple(variants), tuple(stories), tuple(quotes))
