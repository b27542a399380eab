"""The Python API: ``Desk`` is what the CLI, the web app and users' scripts call.

with Desk.open("desk.db") as desk:
    summary = desk.ingest(["articles/"])
    for story in desk.stories():
        print(story.headline, desk.render(story.id, "md"))
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from storydesk import brief as brief_stage
from storydesk import cluster as cluster_stage
from storydesk import corroborate as corroborate_stage
from storydesk import dedup as dedup_stage
from storydesk import extract as extract_stage
from storydesk import snapshot
from storydesk import stream as stream_stage
from storydesk import text as text_helpers
from storydesk.config import Settings
from storydesk.errors import ConfigError, NotFound
from storydesk.extract.serialise import extraction_from_json, extraction_to_json
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
from storydesk.store import Store

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

        read_token = self.store.meta(stream_stage.STREAM_TOKEN)
        stream, why = stream_stage.load(self.store, self.settings, read_token) if new else (None, "")
        index: dedup_stage.DuplicateIndex | None = None
        if new:
            if (
                stream is not None
                and stream.dedup is not None
                and stream.dedup.settings == self.settings.dedup
            ):
                index = stream.dedup
            else:
                with self.pipeline.timed("dedup"):
                    index = self.pipeline.new_index(self.store.articles())
        processed = self.pipeline.process(new, index, progress=progress) if index is not None else Processed()
        new = processed.articles  # as processed: a text cut for the parse says so in its metadata
        verdicts = processed.verdicts
        origins = processed.origins
        duplicates_new = processed.duplicates
        originals = processed.originals
        extractions = processed.extractions
        items = processed.items

        update: stream_stage.StoryUpdate | None = None
        incoming = stream_stage.Incoming(new, {item.id: item for item in items}, duplicates_new, origins)
        if new:
            assert index is not None
            if stream is not None and not stream_stage.resumable(stream, self.settings.cluster, originals):
                stream, why = (
                    None,
                    "the batch has articles older than the stored ones, or other cluster settings",
                )
            progress("cluster", 0, len(originals))
            with self.pipeline.timed("cluster"):
                if stream is not None:
                    stream.dedup = index
                    update = stream_stage.go_on(self.store, stream, incoming)
                else:
                    update = stream_stage.start_over(self.store, self.settings, index, incoming)
            progress("cluster", len(originals), len(originals))

        def write() -> stream_stage.StoryUpdate | None:
            nonlocal update, why
            if update is not None and self.store.meta(stream_stage.STREAM_TOKEN) != read_token:
                # Another ingest committed since this one read the stream: cluster everything
                # again, now that the transaction holds the database.
                why = "another ingest committed meanwhile"
                rebuilt = self.pipeline.new_index([*self.store.articles(), *new])
                update = stream_stage.start_over(self.store, self.settings, rebuilt, incoming)
            for article, verdict in zip(new, verdicts, strict=True):
                self.store.add_article(article, verdict)
            for extraction in extractions:
                self.store.put_extraction(extraction.article_id, extraction_to_json(extraction))
            for item in items:
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
            duplicates=len(duplicates_new),
            rejected=tuple(batch.rejections),
            stories=len(stories_after),
            new_stories=len(stories_after - stories_before),
            stream="" if update is None else ("resumed" if update.resumed else f"started over: {why}"),
            notes=tuple(f"{a.source or a.id}: {note}" for a in new for note in a.metadata.get("notes", ())),
        )

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
            stories = [self._rebuilt_story(sid) for sid in touched]
            self.store.update_stories(stories, (), (), {}, self.store.merges())
            self._store_views(touched)
            if also is not None:
                also()

        self._commit(write)
        return touched

    def _rebuilt_story(self, story_id: str) -> Story:
        """A stored story built again from its stored members (after one of them changed)."""
        members = self.story(story_id).article_ids
        items = {
            aid: cluster_stage.ClusterItem.from_record(rec)
            for aid, rec in self.store.cluster_records(members)
        }
        return stream_stage.build_story(
            story_id, self.store.articles(members), items, self.store.wire_origins(members)
        )

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
        view = self.store.story_view(stored.story.id, view_version())
        if view is None:
            facts, entities = _derive(stored.articles, stored.duplicates, extractions, stored.origins)
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
        version = view_version()
        with self.pipeline.timed("corroborate"):
            for story_id in sorted(set(story_ids)):
                stored = self.store.story_detail(story_id)
                if stored is None:
                    continue
                extractions = {aid: extraction_from_json(d) for aid, d in stored.extractions.items()}
                facts, entities = _derive(stored.articles, stored.duplicates, extractions, stored.origins)
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
        candidates = [aid for aid, _, _ in self.store.search(_phrase(name), 1000)]
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
        key = _sort_key(sort)
        where = where or StoryFilter()
        members: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in self.store.story_members():
            members[row["story"]].append(row)
        stories = self.store.story_rows()
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
        rows = [r for r in rows if self._keeps(r, where, members)]
        if where.conflicts:
            rows = [dataclasses.replace(r, conflicts=True) for r in rows if self.has_conflicts(r.story.id)]
        rows.sort(key=key)
        return rows

    def _keeps(
        self, row: StoryListing, where: StoryFilter, members: Mapping[str, list[dict[str, Any]]]
    ) -> bool:
        story = row.story
        if where.since is not None and (story.last_published is None or story.last_published < where.since):
            return False
        if where.until is not None and (story.first_published is None or story.first_published > where.until):
            return False
        if where.outlet and _fold(where.outlet) not in {_fold(o) for o in row.outlets}:
            return False
        if where.origin and _fold(where.origin) not in {
            _fold(o) for o in (*row.independent, *row.story.origins, *row.outlets)
        }:
            return False
        wanted = [
            (lab, _fold(v))
            for lab, v in (("PLACE", where.place), ("PERSON", where.person), ("ORG", where.organisation))
            if v
        ]
        if wanted:
            ids = [m["id"] for m in members.get(story.id, []) if not m["duplicate_of"]]
            extractions = [extraction_from_json(d) for d in self.store.extractions(ids).values()]
            entities = extract_stage.resolve_entities(extractions)
            for label, name in wanted:
                if not any(
                    e.label == label and name in {_fold(e.name), *(_fold(v) for v in e.variants)}
                    for e in entities
                ):
                    return False
        return True

    def has_conflicts(self, story_id: str) -> bool:
        """True when some fact of the story is reported with conflicting values."""
        return any(f.status == "conflicting" for f in self.detail(story_id).facts)

    def entity(self, name: str) -> EntityView:
        """A person, organisation or place across the desk: its canonical name, spellings, the stories
        naming it (newest first) and its quotes. A spelling ("Vladamir Putin") finds its canonical
        entity; NotFound when no story names it."""
        wanted = _fold(name)
        if not wanted:
            raise NotFound("no entity ''")
        # Any word of the name finds candidates: a misspelt first name still shares the surname.
        words = [w for w in name.split() if len(w) > 2] or name.split()
        query = " OR ".join(_phrase(w) for w in words)
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
            raw = self.store.extractions(originals)
            resolved = extract_stage.resolve_entities([extraction_from_json(d) for d in raw.values()])
            for entity in resolved:
                if wanted in {_fold(entity.name), *(_fold(v) for v in entity.variants)}:
                    found.append((story, entity))
                    break
        if not found:
            raise NotFound(f"no story names {name!r}")
        names = Counter(e.name for _, e in found)
        canonical = max(names, key=lambda n: (names[n], len(n), n))
        label = Counter(e.label for _, e in found if e.name == canonical).most_common(1)[0][0]
        variants = sorted({v for _, e in found for v in (e.name, *e.variants)} - {canonical})
        spellings = {_fold(canonical), *(_fold(v) for v in variants)}
        quotes: list[dict[str, Any]] = []
        times = self.store.story_times()
        stories = sorted(
            {s.id: s for s, _ in found}.values(),
            key=lambda s: (s.last_published or dt.date.min, times.get(s.id, ("", ""))[1], s.id),
            reverse=True,
        )
        for story in stories:
            originals = [a for a in story.article_ids if a not in duplicates]
            for article_id, data in self.store.extractions(originals).items():
                for q in extraction_from_json(data).quotes:
                    if spellings & {_fold(q.speaker), _fold(q.speaker_canonical)}:
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
                for article_id, _, _ in self.store.search(_phrase(term), 1000):
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


def _derive(
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


# --- the desk's story listing: rank, sort, filter (what `stories`, /api/stories and the web share) ------

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


def _sort_key(sort: str) -> Callable[[StoryListing], tuple[Any, ...]]:
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


def _fold(value: str | None) -> str:
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


def _phrase(term: str) -> str:
    """An FTS5 query matching ``term`` as a phrase (quotes in it doubled)."""
    return '"' + " ".join(term.split()).replace('"', '""') + '"'


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)
