"""The Python API: ``Desk`` is what the CLI, the web app and users' scripts call.

with Desk.open("desk.db") as desk:
    summary = desk.ingest(["articles/"])
    for story in desk.stories():
        print(story.headline, desk.render(story.id, "md"))
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from storydesk import brief as brief_stage
from storydesk import cluster as cluster_stage
from storydesk import corroborate as corroborate_stage
from storydesk import extract as extract_stage
from storydesk.config import Settings
from storydesk.errors import NotFound
from storydesk.models import Article, Explanation, Extraction, Fact, Rejection, ResolvedEntity, Story
from storydesk.pipeline import Pipeline, Progress, _no_progress
from storydesk.store import Store, extraction_from_json, extraction_to_json

BriefFormat = Literal["text", "md", "json", "html"]


@dataclass(frozen=True, slots=True)
class IngestSummary:
    """What one ``ingest`` call did."""

    files: int
    documents: int
    added: int
    already_stored: int
    duplicates: int
    rejected: tuple[Rejection, ...]
    stories: int
    new_stories: int

    @property
    def ok(self) -> bool:
        """True when nothing was skipped."""
        return not self.rejected

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rejected"] = [
            {"path": r.source.path, "line": r.source.line, "stage": r.stage, "reason": r.reason}
            for r in self.rejected
        ]
        return data


@dataclass(frozen=True, slots=True)
class SearchHit:
    """An article matching a search, with its story."""

    article: Article
    story_id: str | None
    rank: float
    snippet: str


@dataclass(frozen=True, slots=True)
class StoryDetail:
    """A story with everything its brief is built from."""

    story: Story
    articles: tuple[Article, ...]
    extractions: Mapping[str, Extraction]
    facts: tuple[Fact, ...]
    entities: tuple[ResolvedEntity, ...]
    origins: Mapping[str, str | None]
    explanations: Mapping[str, Explanation] = field(default_factory=dict)


class Desk:
    """A news desk on one SQLite file."""

    def __init__(self, store: Store, settings: Settings | None = None) -> None:
        self.store = store
        self.settings = settings or Settings()
        self.pipeline = Pipeline(self.settings)

    @classmethod
    def open(cls, path: str | Path = "storydesk.db", settings: Settings | None = None) -> Desk:
        """Open (creating and migrating if needed) the desk stored at ``path``."""
        return cls(Store(path), settings)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Desk:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- ingest -----------------------------------------------------------------

    def ingest(self, paths: Sequence[str | Path], *, progress: Progress = _no_progress) -> IngestSummary:
        """Read, clean, deduplicate, extract and cluster; store the batch in one transaction.

        Models run before the transaction opens, so an interrupted run leaves the
        database as it was; re-running the same input adds nothing.
        """
        batch = self.pipeline.read_paths(paths, progress)
        seen: set[str] = set()
        fresh: list[Article] = []
        for article in batch.articles:
            if article.id not in seen:
                seen.add(article.id)
                fresh.append(article)
        stored = self.store.existing_ids(a.id for a in fresh)
        new = [a for a in fresh if a.id not in stored]
        already = len(batch.articles) - len(new)
        stories_before = self.store.story_ids()

        verdicts = []
        if new:
            progress("dedup", 0, len(new))
            index = self.pipeline.new_index(self.store.articles())
            verdicts = self.pipeline.dedup(index, new)
            progress("dedup", len(new), len(new))
        origins = {v.article_id: (v.wire_origin.name if v.wire_origin else None) for v in verdicts}
        duplicates_new = {v.article_id: v.duplicate_of for v in verdicts if v.duplicate_of}
        originals = [a for a in new if a.id not in duplicates_new]

        extractions = []
        for n, article in enumerate(originals, 1):
            extractions.extend(self.pipeline.extract([article], origins))
            progress("extract", n, len(originals))
        progress("embed", 0, len(originals))
        items = self.pipeline.featurize(originals)
        progress("embed", len(originals), len(originals))

        with self.store.transaction():
            for article, verdict in zip(new, verdicts, strict=True):
                self.store.add_article(article, verdict)
            for extraction in extractions:
                self.store.put_extraction(extraction.article_id, extraction_to_json(extraction))
            for item in items:
                self.store.put_cluster_item(item.id, item.to_record())
            if new:
                self._rebuild_stories(progress)
            self.store.add_rejections(batch.rejections)
        stories_after = self.store.story_ids()
        return IngestSummary(
            files=batch.files,
            documents=batch.documents,
            added=len(new),
            already_stored=already,
            duplicates=len(duplicates_new),
            rejected=tuple(batch.rejections),
            stories=len(stories_after),
            new_stories=len(stories_after - stories_before),
        )

    def _rebuild_stories(self, progress: Progress = _no_progress) -> None:
        """Re-run the online clusterer over every stored article in arrival order.

        Features are stored, so this re-embeds nothing; it makes the stories of a
        desk exactly those ``storydesk cluster`` gives for the same articles.
        """
        records = self.store.cluster_records()
        items = {aid: cluster_stage.ClusterItem.from_record(rec) for aid, rec in records}
        articles = self.store.articles()
        progress("cluster", 0, len(items))
        stories, assignments, merges = self.pipeline.stories(
            articles, items, self.store.duplicates(), self.store.wire_origins()
        )
        self.store.replace_stories(stories, assignments, merges)
        progress("cluster", len(items), len(items))

    # --- reading ----------------------------------------------------------------

    def stories(self) -> list[Story]:
        """Every story, most recent first."""
        return self.store.stories()

    def story(self, story_id: str) -> Story:
        story = self.store.story(story_id)
        if story is None:
            raise NotFound(f"no story {story_id!r}")
        return story

    def article(self, article_id: str) -> Article:
        article = self.store.article(article_id)
        if article is None:
            raise NotFound(f"no article {article_id!r}")
        return article

    def articles(self, story_id: str | None = None) -> list[Article]:
        """All articles in ingest order, or one story's articles in date order."""
        if story_id is None:
            return self.store.articles()
        story = self.story(story_id)
        by_id = {a.id: a for a in self.store.articles(story.article_ids)}
        return [by_id[i] for i in story.article_ids if i in by_id]

    def story_of(self, article_id: str) -> str | None:
        assignment = self.store.assignment(article_id)
        return assignment.story_id if assignment else None

    def wire_origin(self, article_id: str) -> str | None:
        wire = self.store.dedup_result(article_id).wire_origin
        return wire.name if wire else None

    def duplicate_of(self, article_id: str) -> str | None:
        return self.store.dedup_result(article_id).duplicate_of

    def search(self, query: str, limit: int = 20) -> list[SearchHit]:
        """Full-text search (SQLite FTS5, BM25) over titles and clean text."""
        hits = []
        for article_id, rank, snippet in self.store.search(query, limit):
            article = self.store.article(article_id)
            if article is not None:
                hits.append(SearchHit(article, self.story_of(article_id), rank, snippet))
        return hits

    def rejections(self, limit: int = 1000) -> list[Rejection]:
        return self.store.rejections(limit)

    # --- facts and briefs -------------------------------------------------------------

    def detail(self, story_id: str) -> StoryDetail:
        """A story with its extractions, resolved entities and corroborated facts."""
        story = self.story(story_id)
        articles = self.articles(story.id)
        wire = self.store.wire_origins()
        origins = {a.id: wire.get(a.id) for a in articles}
        duplicates = self.store.duplicates()
        # Duplicates repeat their original: they are listed as sources but add no claims of their own.
        originals = [a for a in articles if a.id not in duplicates]
        raw = self.store.extractions([a.id for a in originals])
        extractions = {aid: extraction_from_json(data) for aid, data in raw.items()}
        facts = corroborate_stage.corroborate(originals, extractions, origins)
        entities = extract_stage.resolve_entities(
            [extractions[a.id] for a in originals if a.id in extractions]
        )
        return StoryDetail(
            story=story,
            articles=tuple(articles),
            extractions=extractions,
            facts=facts,
            entities=entities,
            origins=origins,
            explanations=self.store.explanations([a.id for a in articles]),
        )

    def brief(self, story_id: str) -> brief_stage.Brief:
        d = self.detail(story_id)
        return brief_stage.build_brief(
            d.story, d.articles, d.extractions, d.facts, d.entities, d.origins, d.explanations
        )

    def brief_dict(self, story_id: str) -> dict[str, Any]:
        return brief_stage.brief_to_dict(self.brief(story_id))

    def render(self, story_id: str, fmt: BriefFormat = "text") -> str:
        """The story's cited brief as text, Markdown, JSON or HTML."""
        return brief_stage.render_brief(self.brief(story_id), fmt)

    def why(self, article_id: str) -> dict[str, Any]:
        """Why an article is in its story: similarity, shared entities and numbers, time gap, runner-up."""
        article = self.article(article_id)
        assignment = self.store.assignment(article_id)
        if assignment is None:
            raise NotFound(f"article {article_id!r} has no story yet")
        out: dict[str, Any] = {
            "article": article.id,
            "title": article.title,
            "story": assignment.story_id,
            "duplicate_of": self.duplicate_of(article_id),
            **asdict(assignment.explanation),
        }
        merges = [asdict(m) for m in self.store.merges() if m.kept == assignment.story_id]
        if merges:
            out["merges"] = merges
        return out

    def stats(self) -> dict[str, Any]:
        return {
            "articles": self.store.count_articles(),
            "stories": len(self.store.story_ids()),
            "duplicates": len(self.store.duplicates()),
            "migrations": self.store.migrations(),
        }


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


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)
