"""The Python API: ``Desk`` is what the CLI, the web app and users' scripts call.

with Desk.open("desk.db") as desk:
    summary = desk.ingest(["articles/"])
    for story in desk.stories():
        print(story.headline, desk.render(story.id, "md"))
"""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from storydesk import brief as brief_stage
from storydesk import dedup as dedup_stage
from storydesk import extract as extract_stage
from storydesk import snapshot, views
from storydesk import stream as stream_stage
from storydesk.config import Settings
from storydesk.errors import ConfigError, NotFound
from storydesk.extract.serialise import extraction_from_json, extraction_to_json
from storydesk.listing import (
    SORTS,
    StoryFilter,
    StoryListing,
    article_summary,
    fold,
    keeps,
    listed,
    rank_score,
    sort_key,
    story_summary,
)
from storydesk.models import (
    Article,
    Explanation,
    Extraction,
    Fact,
    Rejection,
    ResolvedEntity,
    Story,
)
from storydesk.pipeline import (
    Batch,
    Pipeline,
    Processed,
    Progress,
    _no_progress,
)
from storydesk.store import Store, fts_phrase
from storydesk.views import EntityView, view_version

__all__ = [
    "MARK_END",
    "MARK_START",
    "SORTS",
    "BriefFormat",
    "Desk",
    "EntityView",
    "IngestSummary",
    "SearchHit",
    "StoryDetail",
    "StoryFilter",
    "StoryHits",
    "StoryListing",
    "article_summary",
    "dumps",
    "rank_score",
    "story_summary",
    "view_version",
]

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
    # "resumed" (went on from the saved stream state) or "started over: <why>"; "" when nothing was added
    stream: str = ""
    # what cleaning changed or dropped in a stored article's metadata ("<source>: <note>"), e.g. a malformed url
    notes: tuple[str, ...] = ()

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


MARK_START, MARK_END = "\x02", "\x03"  # around a match in a search snippet (the web shows <mark>)


@dataclass(frozen=True, slots=True)
class StoryHits:
    """A story's articles matching a search (``story`` is None for articles not in a story yet)."""

    story: Story | None
    hits: tuple[SearchHit, ...]


class Desk:
    """A news desk on one SQLite file."""

    def __init__(
        self, store: Store, settings: Settings | None = None, *, pipeline: Pipeline | None = None
    ) -> None:
        self.store = store
        self.settings = pipeline.settings if pipeline is not None else settings or Settings()
        self.pipeline = pipeline or Pipeline(self.settings)

    @classmethod
    def open(
        cls, path: str | Path = "storydesk.db", settings: Settings | None = None, *, create: bool = True
    ) -> Desk:
        """Open (migrating if needed) the desk stored at ``path``; a missing one is created, or with
        ``create=False`` (the read-only commands) refused with StoreError."""
        return cls(Store(path, create=create), settings)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Desk:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def timings(self) -> dict[str, float]:
        """Seconds spent in each stage since the desk was opened (``bench/pipeline.py`` prints shares)."""
        return self.pipeline.timings

    # --- ingest -----------------------------------------------------------------

    def ingest(self, paths: Sequence[str | Path], *, progress: Progress = _no_progress) -> IngestSummary:
        """Read, clean, deduplicate, extract and cluster; store the batch in one transaction.

        Models run before the transaction opens, so an interrupted run leaves the
        database as it was; re-running the same input adds nothing. A batch that
        comes after everything stored goes on from the saved stream state (see
        ``storydesk.snapshot``) instead of clustering the whole store again.
        """
        return self.ingest_batch(self.pipeline.read_paths(paths, progress), progress=progress)

    def ingest_batch(
        self, batch: Batch, *, progress: Progress = _no_progress, also: Callable[[], None] | None = None
    ) -> IngestSummary:
        """Store a batch already read and cleaned (``ingest`` reads files, the watcher feeds and pages).

        ``also`` runs inside the batch's transaction: the watcher records what it has seen there, so
        a batch and the source state that says it was ingested land together or not at all.
        """
        new = self._unstored(batch.articles)
        already = len(batch.articles) - len(new)
        stories_before = self.store.story_ids()

        read_token = self.store.meta(stream_stage.STREAM_TOKEN)
        stream, why = stream_stage.load(self.store, self.settings, read_token) if new else (None, "")
        index: dedup_stage.DuplicateIndex | None = None
        if new:
            index = stream_stage.saved_index(stream, self.settings.dedup)
            if index is None:
                with self.pipeline.timed("dedup"):
                    index = self.pipeline.new_index(self.store.articles())
        processed = self.pipeline.process(new, index, progress=progress) if index is not None else Processed()
        new = processed.articles  # as processed: a text cut for the parse says so in its metadata
        originals = processed.originals
        incoming = stream_stage.Incoming(
            new, {item.id: item for item in processed.items}, processed.duplicates, processed.origins
        )
        update: stream_stage.StoryUpdate | None = None
        if new:
            assert index is not None
            progress("cluster", 0, len(originals))
            with self.pipeline.timed("cluster"):
                update, why = stream_stage.advance(
                    self.store, self.settings, stream, index, incoming, originals, why=why
                )
            progress("cluster", len(originals), len(originals))

        def write() -> stream_stage.StoryUpdate | None:
            nonlocal update, why
            if update is not None and self.store.meta(stream_stage.STREAM_TOKEN) != read_token:
                # Another ingest committed since this one read the stream: cluster everything
                # again, now that the transaction holds the database.
                why = "another ingest committed meanwhile"
                rebuilt = self.pipeline.new_index([*self.store.articles(), *new])
                update = stream_stage.start_over(self.store, self.settings, rebuilt, incoming)
            for article, verdict in zip(new, processed.verdicts, strict=True):
                self.store.add_article(article, verdict)
            for extraction in processed.extractions:
                self.store.put_extraction(extraction.article_id, extraction_to_json(extraction))
            for item in processed.items:
                self.store.put_cluster_item(item.id, item.to_record())
            self.store.add_rejections(batch.rejections)
            if also is not None:
                also()
            return update

        with self.pipeline.timed("store"):
            self._commit(write)
        stories_after = self.store.story_ids()
        return IngestSummary(
            files=batch.files,
            documents=batch.documents,
            added=len(new),
            already_stored=already,
            duplicates=len(processed.duplicates),
            rejected=tuple(batch.rejections),
            stories=len(stories_after),
            new_stories=len(stories_after - stories_before),
            stream="" if update is None else ("resumed" if update.resumed else f"started over: {why}"),
            notes=tuple(f"{a.source or a.id}: {note}" for a in new for note in a.metadata.get("notes", ())),
        )

    def _unstored(self, articles: Sequence[Article]) -> list[Article]:
        """The articles not stored yet, each id once (its first occurrence), in batch order."""
        seen: set[str] = set()
        fresh: list[Article] = []
        for article in articles:
            if article.id not in seen:
                seen.add(article.id)
                fresh.append(article)
        stored = self.store.existing_ids(a.id for a in fresh)
        return [a for a in fresh if a.id not in stored]

    def recluster(self, *, progress: Progress = _no_progress) -> int:
        """Cluster every stored article again in one pass (after a settings change); returns the story count.

        Ingest goes on from the saved stream, which an approximate (HNSW) index can leave a few
        placements away from a one-pass run; this gives exactly what ``storydesk cluster`` gives.
        """
        index = self.pipeline.new_index(self.store.articles())
        progress("cluster", 0, None)
        self._commit(
            lambda: stream_stage.start_over(self.store, self.settings, index, stream_stage.Incoming())
        )
        progress("cluster", 1, 1)
        return len(self.store.story_ids())

    def update_articles(
        self, updates: Sequence[tuple[str, Article]], *, also: Callable[[], None] | None = None
    ) -> list[str]:
        """Replace stored articles by newer versions of themselves (a page that changed since it was read).

        Each ``(stored id, new version)`` keeps the stored id, so stories and citations still find it;
        the text it replaces is kept as a revision. The new text is extracted and featurized again and
        only the stories holding these articles are rebuilt (headline, dates, and their stored facts
        and entities). ``also`` runs inside the transaction.
        Returns the ids of the stories touched.
        """
        versions = [dataclasses.replace(new, id=old) for old, new in updates if self.store.has_article(old)]
        duplicates = self.store.duplicates()
        origins = self.store.wire_origins([a.id for a in versions])
        originals = [a for a in versions if a.id not in duplicates]
        extractions = self.pipeline.extract(originals, origins)
        items = self.pipeline.featurize(originals)
        touched: list[str] = []

        def write() -> None:
            for article in versions:
                self.store.update_article(article.id, article)
            for extraction in extractions:
                self.store.put_extraction(extraction.article_id, extraction_to_json(extraction))
            for item in items:
                self.store.put_cluster_item(item.id, item.to_record())
            touched[:] = sorted({sid for a in versions if (sid := self.story_of(a.id)) is not None})
            stories = [stream_stage.rebuild_story(self.store, self.story(sid)) for sid in touched]
            self.store.update_stories(stories, (), (), {}, self.store.merges())
            self._store_views(touched)
            if also is not None:
                also()

        self._commit(write)
        return touched

    def _commit(self, write: Callable[[], stream_stage.StoryUpdate | None]) -> None:
        """Run ``write`` in one transaction with the story update it returns, and save its stream state.

        The state is written under a temporary name inside the transaction and moved into place
        only once the batch has committed, so it never runs ahead of the database.
        """
        staged: Path | None = None
        try:
            with self.store.transaction():
                update = write()
                if update is not None:
                    changed = update.changed(self.store)
                    update.write(self.store)
                    self._store_views(changed)
                    self.store.set_meta(stream_stage.STREAM_TOKEN, update.token)
                    staged = stream_stage.stage(self.store, update)
        except BaseException:
            if staged is not None:
                staged.unlink(missing_ok=True)
            raise
        if staged is not None:
            snapshot.commit(staged)

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
        """A story with its extractions, resolved entities and corroborated facts.

        One story's rows are read (``Store.story_detail``); its facts and entities are those stored
        when its articles last changed, computed here only when missing or made by other code.
        """
        stored = self.store.story_detail(story_id)
        if stored is None:
            raise NotFound(f"no story {story_id!r}")
        extractions = {aid: extraction_from_json(data) for aid, data in stored.extractions.items()}
        view = self.store.story_view(stored.story.id, views.view_version())
        if view is None:
            facts, entities = views.derive(stored.articles, stored.duplicates, extractions, stored.origins)
        else:
            facts, entities = view
        return StoryDetail(
            story=stored.story,
            articles=stored.articles,
            extractions=extractions,
            facts=facts,
            entities=entities,
            origins=stored.origins,
            explanations=stored.explanations,
        )

    def _store_views(self, story_ids: Iterable[str]) -> None:
        """Compute and store the derived views (facts, entities) of these stories (inside a transaction)."""
        version = views.view_version()
        with self.pipeline.timed("corroborate"):
            for story_id in sorted(set(story_ids)):
                stored = self.store.story_detail(story_id)
                if stored is None:
                    continue
                extractions = {aid: extraction_from_json(d) for aid, d in stored.extractions.items()}
                facts, entities = views.derive(
                    stored.articles, stored.duplicates, extractions, stored.origins
                )
                self.store.put_story_view(story_id, version, facts, entities)
            self.store.drop_stale_story_views()

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

    def revisions(self, article_id: str) -> list[dict[str, Any]]:
        """An article's earlier versions (a page updated after it was first read), oldest first."""
        self.article(article_id)
        return self.store.revisions(article_id)

    def story_times(self) -> dict[str, tuple[str, str]]:
        """Story id -> (when it was first stored, when it last gained or changed an article), UTC ISO."""
        return self.store.story_times()

    def article_times(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """Article id -> (when it was stored, when it last changed), UTC ISO."""
        return self.store.article_times(ids)

    def entity_stories(self, name: str, limit: int = 50) -> list[Story]:
        """Stories whose articles name this person, organisation or place (canonical name or spelling)."""
        wanted = " ".join(name.split()).casefold()
        if not wanted:
            return []
        candidates = [aid for aid, _, _ in self.store.search(fts_phrase(name), 1000)]
        found: set[str] = set()
        for article_id, data in self.store.extractions(candidates).items():
            for entity in data.get("entities", ()):
                if wanted in {
                    str(entity.get("canonical", "")).casefold(),
                    str(entity.get("text", "")).casefold(),
                }:
                    if (story_id := self.story_of(article_id)) is not None:
                        found.add(story_id)
                    break
        stories = [s for sid in found if (s := self.store.story(sid)) is not None]
        times = self.store.story_times()
        stories.sort(key=lambda s: (times.get(s.id, ("", ""))[1], s.id), reverse=True)
        return stories[:limit]

    # --- listing, entities, grouped search (the web desk) --------------------------------------------

    def listing(self, sort: str = "rank", where: StoryFilter | None = None) -> list[StoryListing]:
        """Every story with its listing counts and rank score, filtered and sorted (``SORTS``)."""
        key = sort_key(sort)
        where = where or StoryFilter()
        rows, members = listed(self.store.story_rows(), self.store.story_members())
        rows = [r for r in rows if keeps(r, where, members, self._entities)]
        if where.conflicts:
            rows = [dataclasses.replace(r, conflicts=True) for r in rows if self.has_conflicts(r.story.id)]
        rows.sort(key=key)
        return rows

    def has_conflicts(self, story_id: str) -> bool:
        """True when some fact of the story is reported with conflicting values."""
        return any(f.status == "conflicting" for f in self.detail(story_id).facts)

    def entity(self, name: str) -> EntityView:
        """A person, organisation or place across the desk: its canonical name, spellings, the stories
        naming it (newest first) and its quotes. A spelling ("Vladamir Putin") finds its canonical
        entity; NotFound when no story names it."""
        wanted = fold(name)
        if not wanted:
            raise NotFound("no entity ''")
        # Any word of the name finds candidates: a misspelt first name still shares the surname.
        words = [w for w in name.split() if len(w) > 2] or name.split()
        query = " OR ".join(fts_phrase(w) for w in words)
        candidates = [aid for aid, _, _ in self.store.search(query, 2000)]
        by_story: dict[str, list[str]] = defaultdict(list)
        for article_id in candidates:
            if (story_id := self.story_of(article_id)) is not None:
                by_story[story_id].append(article_id)
        duplicates = self.store.duplicates()
        found: list[tuple[Story, ResolvedEntity]] = []
        for story_id in by_story:
            story = self.store.story(story_id)
            if story is None:
                continue
            originals = [a for a in story.article_ids if a not in duplicates]
            entity = next((e for e in self._entities(originals) if views.names(e, wanted)), None)
            if entity is not None:
                found.append((story, entity))
        if not found:
            raise NotFound(f"no story names {name!r}")
        return views.entity_view(
            found,
            self.store.story_times(),
            lambda story: self._extractions([a for a in story.article_ids if a not in duplicates]),
        )

    def _extractions(self, article_ids: Sequence[str]) -> dict[str, Extraction]:
        """The stored extractions of these articles, by id."""
        return {aid: extraction_from_json(d) for aid, d in self.store.extractions(article_ids).items()}

    def _entities(self, article_ids: Sequence[str]) -> tuple[ResolvedEntity, ...]:
        """The entities these articles name, resolved across them."""
        return extract_stage.resolve_entities(list(self._extractions(article_ids).values()))

    def search_stories(self, query: str, limit: int = 100) -> list[StoryHits]:
        """Full-text search grouped by story (the best-ranked story first); snippets mark matches
        between ``MARK_START`` and ``MARK_END``."""
        groups: dict[str | None, list[SearchHit]] = {}
        for article_id, rank, snippet in self.store.search(query, limit, marks=(MARK_START, MARK_END)):
            article = self.store.article(article_id)
            if article is not None:
                story_id = self.story_of(article_id)
                groups.setdefault(story_id, []).append(SearchHit(article, story_id, rank, snippet))
        out = []
        for story_id, hits in groups.items():
            story = self.store.story(story_id) if story_id else None
            out.append(StoryHits(story, tuple(hits)))
        return out

    # --- alerts -----------------------------------------------------------------------

    def add_alert(self, term: str) -> bool:
        """Record a watch term; stories that newly mention it are reported after each poll. False if known."""
        term = " ".join(term.split())
        if not term:
            raise ConfigError("an alert term cannot be empty")
        with self.store.transaction():
            return self.store.add_alert(term)

    def alerts(self) -> list[str]:
        return [term for _, term in self.store.alerts()]

    def check_alerts(self) -> list[dict[str, Any]]:
        """Stories that mention an alert's term and had not before: recorded, and returned."""
        fresh: list[dict[str, Any]] = []
        with self.store.transaction():
            for alert_id, term in self.store.alerts():
                stories: dict[str, None] = {}
                for article_id, _, _ in self.store.search(fts_phrase(term), 1000):
                    if (story_id := self.story_of(article_id)) is not None:
                        stories.setdefault(story_id)
                for story_id in stories:
                    story = self.store.story(story_id)
                    if story is not None and self.store.add_alert_hit(alert_id, story.id, story.headline):
                        fresh.append({"term": term, "story": story.id, "headline": story.headline})
        return fresh

    def alert_hits(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest stories that matched an alert (term, story, headline, at), newest first."""
        return self.store.alert_hits(limit)

    def stats(self) -> dict[str, Any]:
        return {
            "articles": self.store.count_articles(),
            "stories": len(self.store.story_ids()),
            "duplicates": len(self.store.duplicates()),
            "migrations": self.store.migrations(),
        }


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)
