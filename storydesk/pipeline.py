"""Wires the stages together; the only module that knows their order.

read -> clean -> dedup (+ wire origin) -> extract -> featurize -> cluster -> stories.

Nothing here touches the store: ``storydesk.api.Desk`` persists what these
functions return, and the stateless commands (``storydesk cluster``,
``storydesk extract``) print it. Both paths call the same functions, so the
same input gives the same stories either way.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storydesk import clean as clean_stage
from storydesk import cluster as cluster_stage
from storydesk import dedup as dedup_stage
from storydesk import extract as extract_stage
from storydesk import ingest as ingest_stage
from storydesk import snapshot
from storydesk.config import Settings
from storydesk.models import (
    Article,
    Assignment,
    DedupResult,
    Explanation,
    Extraction,
    RawDocument,
    Rejection,
    Story,
    StoryMerge,
)

# (stage, done, total): how long work reports its progress; the CLI draws a bar from it.
Progress = Callable[[str, int, int | None], None]


def _no_progress(stage: str, done: int, total: int | None) -> None:
    return None


@dataclass
class Batch:
    """What one pass over some inputs produced, before anything is stored."""

    articles: list[Article] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    documents: int = 0
    files: int = 0


class Pipeline:
    """The stages with their settings and their (lazily loaded) models."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self._extractor: extract_stage.Extractor | None = None
        self._featurizer: cluster_stage.Featurizer | None = None

    @property
    def extractor(self) -> extract_stage.Extractor:
        if self._extractor is None:
            self._extractor = extract_stage.Extractor(self.settings.extract, self.settings.models)
        return self._extractor

    @property
    def featurizer(self) -> cluster_stage.Featurizer:
        if self._featurizer is None:
            self._featurizer = cluster_stage.Featurizer(self.settings.cluster, self.settings.models)
        return self._featurizer

    # --- read and clean -------------------------------------------------------

    def read_paths(self, paths: Sequence[str | Path], progress: Progress = _no_progress) -> Batch:
        """Read and clean every document under these paths; bad input becomes rejections."""
        files, rejections = ingest_stage.expand_paths(paths, self.settings.ingest)
        batch = Batch(rejections=list(rejections), files=len(files))
        for n, path in enumerate(files, 1):
            self._take(ingest_stage.read_path(path, self.settings.ingest), batch)
            progress("read", n, len(files))
        return batch

    def read_records(self, records: Iterable[Mapping[str, Any]], origin: str) -> Batch:
        """Clean in-memory JSONL-shaped records (the stateless commands' input)."""
        batch = Batch()
        self._take(ingest_stage.read_records(records, origin), batch)
        return batch

    def read_documents(self, docs: Iterable[RawDocument | Rejection]) -> Batch:
        """Clean documents read elsewhere (the watcher's feed items and pages)."""
        batch = Batch()
        self._take(docs, batch)
        return batch

    def _take(self, docs: Iterable[RawDocument | Rejection], batch: Batch) -> None:
        for doc in docs:
            if isinstance(doc, Rejection):
                batch.rejections.append(doc)
                continue
            batch.documents += 1
            try:
                result = clean_stage.clean(doc, self.settings.clean)
            except Exception as exc:  # a cleaner bug must not sink the batch; report it with its source
                result = Rejection("clean", f"cleaning failed: {type(exc).__name__}: {exc}", doc.source)
            if isinstance(result, Rejection):
                batch.rejections.append(result)
                continue
            batch.articles.append(result)
            if doc.published and result.published is None:
                # The article is kept, undated; the date that could not be read is reported with its line.
                given = " ".join(doc.published.split())
                given = given if len(given) <= 80 else given[:77] + "..."
                reason = f"published date {given!r} not understood: article stored without a date"
                batch.rejections.append(Rejection("clean", reason, doc.source))

    # --- dedup ----------------------------------------------------------------

    def new_index(self, existing: Iterable[Article] = ()) -> dedup_stage.DuplicateIndex:
        """A duplicate index holding these (already stored) articles."""
        index = dedup_stage.DuplicateIndex(self.settings.dedup)
        for article in existing:
            index.add(article.id, article.text)
        return index

    def dedup(self, index: dedup_stage.DuplicateIndex, articles: Sequence[Article]) -> list[DedupResult]:
        """Duplicate verdicts and wire origins for new articles, in order."""
        results = []
        for article in articles:
            verdict = index.add(article.id, article.text)
            wire = dedup_stage.detect_wire_origin(article.text, article.title)
            results.append(dataclasses.replace(verdict, wire_origin=wire))
        return results

    # --- extract and featurize --------------------------------------------------

    def extract(self, articles: Sequence[Article], origins: Mapping[str, str | None]) -> list[Extraction]:
        """Extraction for each article (clean text, resolved against its own date)."""
        out = []
        for article in articles:
            out.append(
                self.extractor.extract(
                    article.text,
                    article_id=article.id,
                    published=article.published,
                    wire_origin=origins.get(article.id),
                    dateline=article.dateline,
                )
            )
        return out

    def featurize(self, articles: Sequence[Article]) -> list[cluster_stage.ClusterItem]:
        return self.featurizer.featurize(articles) if articles else []

    # --- stories ----------------------------------------------------------------

    def stories(
        self,
        articles: Sequence[Article],
        items: Mapping[str, cluster_stage.ClusterItem],
        duplicates: Mapping[str, str],
        origins: Mapping[str, str | None],
    ) -> tuple[list[Story], list[Assignment], list[StoryMerge]]:
        """Cluster the originals in arrival order; duplicates join their original's story."""
        stream = StreamState(dedup=None, clusterer=cluster_stage.OnlineClusterer(self.settings.cluster))
        run = self.run_stream(stream, articles, items, duplicates)
        stories = build_stories(run.story_of, {a.id: a for a in articles}, items, origins)
        return stories, run.final, stream.clusterer.merges

    # --- the stream: stories kept up to date batch after batch ------------------------

    def resumable(self, stream: StreamState, originals: Sequence[Article]) -> bool:
        """Whether a new batch's originals (ingest order) all arrive at or after the stream's end.

        Then adding them to the stream places every article as clustering everything again in one
        pass would; otherwise (an older article, other cluster settings) the caller starts over.
        """
        if stream.clusterer.settings != self.settings.cluster:
            return False
        keys, _ = cluster_stage.arrival_keys(originals, stream.carry)
        return all(k >= stream.latest for k in keys)

    def run_stream(
        self,
        stream: StreamState,
        articles: Sequence[Article],
        items: Mapping[str, cluster_stage.ClusterItem],
        duplicates: Mapping[str, str],
        assign: Iterable[str] | None = None,
        *,
        freeze: bool = False,
    ) -> StreamRun:
        """Add the originals among ``articles`` (ingest order) to the stream in arrival order, then
        consolidate: the assignments of the originals and of the duplicates in ``assign`` (all of
        them when None), and article -> story for every article, duplicates included.

        With ``freeze`` the clusterer is also pickled between placing and consolidating: the state
        the next batch goes on from.
        """
        originals = [a for a in articles if a.id not in duplicates and a.id in items]
        keys, stream.carry = cluster_stage.arrival_keys(originals, stream.carry)
        if keys:
            stream.latest = max(stream.latest, *keys)
        order = sorted(range(len(keys)), key=lambda i: (keys[i], i))
        clusterer = stream.clusterer
        placed = [clusterer.add(items[originals[i].id]) for i in order]
        frozen = snapshot.dumps(clusterer) if freeze else None
        revised = clusterer.settle()
        story_of = clusterer.placements()
        final = [
            Assignment(a.article_id, story_of[a.article_id], revised.get(a.article_id, a.explanation))
            for a in placed
        ]
        for dup, original in duplicates.items():
            root = _root(original, duplicates)
            if root in story_of:
                story_of[dup] = story_of[root]
        for dup in duplicates if assign is None else assign:
            if dup in story_of:
                final.append(
                    Assignment(dup, story_of[dup], Explanation(similarity=1.0, score=1.0, runner_up=None))
                )
        return StreamRun(placed, revised, final, story_of, frozen)


@dataclass(slots=True)
class StreamState:
    """A desk's stream between batches: what the next batch goes on from instead of starting over.

    ``dedup`` has indexed every stored article; ``clusterer`` has placed every stored original and
    has not been consolidated (each batch saves it before its end-of-batch consolidation, so the
    next batch starts where a one-pass run would be); ``carry`` is the time an undated next article takes (the last dated
    one's) and ``latest`` the latest arrival key placed. ``placed`` keeps, for each article the last
    consolidation moved, the explanation from when it was placed (its stored one is the move's).
    """

    dedup: dedup_stage.DuplicateIndex | None
    clusterer: cluster_stage.OnlineClusterer
    carry: float = -math.inf
    latest: float = -math.inf
    placed: dict[str, Explanation] = field(default_factory=dict)


@dataclass(slots=True)
class StreamRun:
    """What ``Pipeline.run_stream`` produced for one batch of a stream."""

    placed: list[Assignment]  # each original as the online pass placed it, in arrival order
    revised: dict[str, Explanation]  # articles consolidation moved -> the explanation of their new place
    final: list[Assignment]  # the batch's assignments after consolidation, duplicates included
    story_of: dict[str, str]  # every article in the stream -> its story
    frozen: bytes | None  # the clusterer pickled before consolidation (``freeze``)


def _root(article_id: str, duplicates: Mapping[str, str]) -> str:
    seen = set()
    while article_id in duplicates and article_id not in seen:
        seen.add(article_id)
        article_id = duplicates[article_id]
    return article_id


def build_stories(
    story_of: Mapping[str, str],
    articles: Mapping[str, Article],
    items: Mapping[str, cluster_stage.ClusterItem],
    origins: Mapping[str, str | None],
) -> list[Story]:
    """The stories of ``story_of`` (article -> story), from the members ``articles`` holds, by id."""
    members: dict[str, list[Article]] = {}
    for article_id, story_id in story_of.items():
        if article_id in articles:
            members.setdefault(story_id, []).append(articles[article_id])
    stories = [build_story(story_id, group, items, origins) for story_id, group in members.items()]
    stories.sort(key=lambda s: s.id)
    return stories


def build_story(
    story_id: str,
    articles: Sequence[Article],
    items: Mapping[str, cluster_stage.ClusterItem],
    origins: Mapping[str, str | None],
) -> Story:
    """A Story from its members: headline of the most central article, date span, origins."""
    ordered = sorted(articles, key=lambda a: (a.published or dt.date.max, a.id))
    dates = [a.published for a in ordered if a.published]
    central = _headline_article(ordered, items)
    headline = central.title or central.text[:120]
    counts = Counter(o for a in ordered if (o := origins.get(a.id)))
    return Story(
        id=story_id,
        headline=headline,
        article_ids=tuple(a.id for a in ordered),
        first_published=min(dates) if dates else None,
        last_published=max(dates) if dates else None,
        origins=tuple(sorted(counts, key=lambda o: (-counts[o], o))),
    )


def _headline_article(articles: Sequence[Article], items: Mapping[str, cluster_stage.ClusterItem]) -> Article:
    """The article whose title heads the story: the most central one with a headline-like title.

    A title that is a site section or a shouted line ("THE WHITE HOUSE."), a word or two, or cut
    from the text is passed over for the next most central article's, when one has a better title.
    """
    central = _most_central(articles, items)
    if _headline_like(central):
        return central
    ranked = _by_centrality(articles, items)
    return next((a for a in ranked if _headline_like(a)), central)


def _headline_like(article: Article) -> bool:
    title = (article.title or "").strip()
    if not title or article.metadata.get("title_derived") or title.endswith("…"):
        return False
    words = title.split()
    letters = [c for c in title if c.isalpha()]
    shouted = bool(letters) and sum(c.isupper() for c in letters) / len(letters) > 0.8
    return len(words) >= 4 and not shouted


def _by_centrality(
    articles: Sequence[Article], items: Mapping[str, cluster_stage.ClusterItem]
) -> list[Article]:
    """The articles, the closest to the story centroid first (those without vectors last)."""
    import numpy as np

    with_vectors = [(a, items[a.id].vector) for a in articles if a.id in items]
    rest = [a for a in articles if a.id not in items]
    if not with_vectors:
        return sorted(rest, key=lambda a: (-len(a.text), a.id))
    matrix = np.stack([np.asarray(v, dtype=np.float32) for _, v in with_vectors])
    scores = matrix @ matrix.mean(axis=0)
    order = sorted(range(len(with_vectors)), key=lambda i: (-float(scores[i]), with_vectors[i][0].id))
    return [with_vectors[i][0] for i in order] + rest


def _most_central(articles: Sequence[Article], items: Mapping[str, cluster_stage.ClusterItem]) -> Article:
    """The article whose vector is closest to the story centroid (given titles win ties)."""
    import numpy as np

    with_vectors = [(a, items[a.id].vector) for a in articles if a.id in items]
    if len(with_vectors) < 3:
        # With one or two articles there is no centre: prefer a real (not derived) title, then the longest text.
        return max(articles, key=lambda a: (not a.metadata.get("title_derived"), len(a.text), a.id))
    matrix = np.stack([np.asarray(v, dtype=np.float32) for _, v in with_vectors])
    centroid = matrix.mean(axis=0)
    scores = matrix @ centroid
    best = int(np.argmax(scores))
    return with_vectors[best][0]


# --- stateless commands ----------------------------------------------------------


def cluster_records(
    records: Sequence[Mapping[str, Any]],
    settings: Settings | None = None,
    origin: str = "<records>",
    *,
    features: dict[tuple[str, Any], cluster_stage.ClusterItem] | None = None,
) -> list[tuple[Any, str | None]]:
    """clean -> dedup -> cluster over JSONL-shaped records, no database.

    Returns ``(input id, story id)`` per record, in input order; a record that
    could not be read or cleaned gets ``None``. ``features``: a cache of cluster items by article
    (id, publication time), filled and reused, so the same records clustered again in another
    order skip the embedding and NER. The items depend on the featurizing settings (``max_chars``,
    ``ner_chars``, ``lexical_chars``, ``use_ner``, the models): keep one cache per settings.
    """
    pipeline = Pipeline(settings)
    keyed = [dict(r) for r in records]
    ids = [r.get("id", n) for n, r in enumerate(keyed, 1)]
    for n, r in enumerate(keyed, 1):
        r.setdefault("id", str(n))
    # read_records gives each document Source(origin, line=<1-based record number>).
    batch = pipeline.read_records(keyed, origin)
    by_line: dict[int, str] = {}
    unique: dict[str, Article] = {}
    for article in batch.articles:
        line = article.source.line if article.source else None
        if line is not None:
            by_line[line] = article.id
        unique.setdefault(article.id, article)
    articles = list(unique.values())
    index = pipeline.new_index()
    verdicts = pipeline.dedup(index, articles)
    duplicates = {v.article_id: v.duplicate_of for v in verdicts if v.duplicate_of}
    origins = {v.article_id: (v.wire_origin.name if v.wire_origin else None) for v in verdicts}
    originals = [a for a in articles if a.id not in duplicates]
    cache = {} if features is None else features
    missing = [a for a in originals if (a.id, a.published) not in cache]
    for article, item in zip(missing, pipeline.featurize(missing), strict=True):
        cache[article.id, article.published] = item
    items = {a.id: cache[a.id, a.published] for a in originals}
    _, assignments, _ = pipeline.stories(articles, items, duplicates, origins)
    story_of = {a.article_id: a.story_id for a in assignments}
    return [(ids[n - 1], story_of.get(by_line.get(n, ""))) for n in range(1, len(keyed) + 1)]


def extract_records(
    records: Sequence[Mapping[str, Any]], settings: Settings | None = None
) -> list[dict[str, Any]]:
    """Extraction over records' text exactly as given (offsets index the input ``text``)."""
    pipeline = Pipeline(settings)
    out = []
    for n, record in enumerate(records, 1):
        text = str(record.get("text") or "")
        published, _ = clean_stage.parse_published(_opt_str(record.get("published")))
        wire = dedup_stage.detect_wire_origin(text, _opt_str(record.get("title")))
        extraction = pipeline.extractor.extract(
            text,
            article_id=str(record.get("id", n)),
            published=published,
            wire_origin=wire.name if wire else None,
        )
        line = extract_stage.extraction_to_dict(extraction)
        line["id"] = record.get("id", n)
        out.append(line)
    return out


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)
