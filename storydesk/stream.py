"""A desk's stream: what the next batch goes on from, and the batch's change to the story layer.

``StreamState`` is the duplicate index and the online clusterer between batches (saved beside the
database by ``storydesk.snapshot``, under the token the database keeps as ``STREAM_TOKEN``).
A batch whose originals all arrive after the stream's end goes on from it (``go_on``); otherwise
the desk clusters everything again (``start_over``). Either gives a ``StoryUpdate``: the stories
to write, the assignments, and ``changed``, the stories whose members changed.

The stage modules never see the store; this module reads it (stored articles, features, stories)
to build the update, and ``storydesk.api.Desk`` writes it in the batch's transaction.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from storydesk import cluster as cluster_stage
from storydesk import dedup as dedup_stage
from storydesk import snapshot
from storydesk.config import ClusterSettings, DedupSettings, Settings
from storydesk.errors import SnapshotError
from storydesk.models import Article, Assignment, Explanation, Story, StoryMerge

if TYPE_CHECKING:
    from storydesk.store import Store

__all__ = [
    "STREAM_TOKEN",
    "Incoming",
    "StoryUpdate",
    "StreamRun",
    "StreamState",
    "advance",
    "build_stories",
    "build_story",
    "duplicate_root",
    "go_on",
    "load",
    "rebuild_story",
    "resumable",
    "run_batch",
    "saved_index",
    "stage",
    "start_over",
]


@dataclass(slots=True)
class StreamState:
    """A desk's stream between batches: what the next batch goes on from instead of starting over.

    ``dedup`` has indexed every stored article; ``clusterer`` has placed every stored original and
    has not been consolidated (each batch saves it before its end-of-batch consolidation, so the
    next batch starts where a one-pass run would be); ``carry`` is the time an undated next article takes (the last dated
    one's) and ``latest`` the latest arrival key placed. ``placed`` keeps, for each article the last
    consolidation moved, the explanation from when it was placed (its stored one is the move's).
    ``settled`` holds the originals whose stored story is not where ``clusterer`` placed them: those
    the last consolidation moved or merged into another story. For every other article the stored
    story is the clusterer's placement, which is what lets the next batch read only the stored
    assignments that may have changed.
    """

    dedup: dedup_stage.DuplicateIndex | None
    clusterer: cluster_stage.OnlineClusterer
    carry: float = -math.inf
    latest: float = -math.inf
    placed: dict[str, Explanation] = field(default_factory=dict)
    settled: set[str] = field(default_factory=set)


@dataclass(slots=True)
class StreamRun:
    """What ``run_batch`` produced for one batch of a stream."""

    placed: list[Assignment]  # each original as the online pass placed it, in arrival order
    revised: dict[str, Explanation]  # articles consolidation moved -> the explanation of their new place
    final: list[Assignment]  # the batch's assignments after consolidation, duplicates included
    story_of: dict[str, str]  # every article in the stream -> its story
    frozen: bytes | None  # the clusterer pickled before consolidation (``freeze``)
    settled: set[str] = field(default_factory=set)  # originals consolidation placed elsewhere than ``frozen``


def duplicate_root(article_id: str, duplicates: Mapping[str, str]) -> str:
    """The original a duplicate chain ends at (a duplicate of a duplicate is its original's copy)."""
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


def rebuild_story(store: Store, story: Story) -> Story:
    """A stored story built again from its stored members (after one of them changed)."""
    members = story.article_ids
    items = {aid: cluster_stage.ClusterItem.from_record(rec) for aid, rec in store.cluster_records(members)}
    return build_story(story.id, store.articles(members), items, store.wire_origins(members))


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


STREAM_TOKEN = "stream_token"


@dataclass(frozen=True, slots=True)
class Incoming:
    """A batch's new articles and what the models made of them: what clustering the batch takes."""

    articles: Sequence[Article] = ()
    items: Mapping[str, cluster_stage.ClusterItem] = field(default_factory=dict)  # the originals' features
    duplicates: Mapping[str, str] = field(default_factory=dict)  # new duplicate -> its original
    origins: Mapping[str, str | None] = field(default_factory=dict)  # wire origin of each new article


@dataclass(slots=True)
class StoryUpdate:
    """One batch's change to the story layer, and the stream state to save with it."""

    stream: StreamState
    frozen: bytes  # the clusterer before consolidation, as the next batch starts from it
    resumed: bool
    stories: Sequence[Story]
    gone: Sequence[str]
    assignments: Sequence[Assignment]
    moved: Mapping[str, str]
    merges: Sequence[StoryMerge]
    replace: bool
    token: str = field(default_factory=lambda: uuid.uuid4().hex)

    def changed(self, store: Store) -> set[str]:
        """The stories whose members this update changes (or creates): those whose derived views
        (facts, entities) must be computed again. Read before ``write``."""
        out = set()
        for story in self.stories:
            before = store.story(story.id)
            if before is None or before.id != story.id or before.article_ids != story.article_ids:
                out.add(story.id)
        return out

    def write(self, store: Store) -> None:
        if self.replace:
            store.replace_stories(self.stories, self.assignments, self.merges)
        else:
            store.update_stories(self.stories, self.gone, self.assignments, self.moved, self.merges)


def resumable(stream: StreamState, settings: ClusterSettings, originals: Sequence[Article]) -> bool:
    """Whether a new batch's originals (ingest order) all arrive at or after the stream's end.

    Then adding them to the stream places every article as clustering everything again in one
    pass would; otherwise (an older article, other cluster settings) the caller starts over.
    """
    if stream.clusterer.settings != settings:
        return False
    keys, _ = cluster_stage.arrival_keys(originals, stream.carry)
    return all(k >= stream.latest for k in keys)


def saved_index(stream: StreamState | None, settings: DedupSettings) -> dedup_stage.DuplicateIndex | None:
    """The saved stream's duplicate index when the next batch can use it (made with these settings)."""
    if stream is not None and stream.dedup is not None and stream.dedup.settings == settings:
        return stream.dedup
    return None


def advance(
    store: Store,
    settings: Settings,
    stream: StreamState | None,
    index: dedup_stage.DuplicateIndex,
    batch: Incoming,
    originals: Sequence[Article],
    *,
    why: str,
) -> tuple[StoryUpdate, str]:
    """Cluster a batch: go on from the saved stream when the batch's originals allow it (``resumable``),
    else start over. ``why``: why there is no saved stream (from ``load``); returns the update and why
    it started over ("" when it went on)."""
    if stream is not None and not resumable(stream, settings.cluster, originals):
        stream, why = None, "the batch has articles older than the stored ones, or other cluster settings"
    if stream is not None:
        stream.dedup = index
        return go_on(store, stream, batch), why
    return start_over(store, settings, index, batch), why


def run_batch(
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
    at_freeze = clusterer.placements() if freeze else {}
    revised = clusterer.settle()
    story_of = clusterer.placements()
    settled = {a for a, sid in at_freeze.items() if story_of[a] != sid}
    final = [
        Assignment(a.article_id, story_of[a.article_id], revised.get(a.article_id, a.explanation))
        for a in placed
    ]
    for dup, original in duplicates.items():
        root = duplicate_root(original, duplicates)
        if root in story_of:
            story_of[dup] = story_of[root]
    for dup in duplicates if assign is None else assign:
        if dup in story_of:
            final.append(
                Assignment(dup, story_of[dup], Explanation(similarity=1.0, score=1.0, runner_up=None))
            )
    return StreamRun(placed, revised, final, story_of, frozen, settled)


def load(store: Store, settings: Settings, token: str | None) -> tuple[StreamState | None, str]:
    """The stream state saved with batch ``token`` (the last), or None and why it cannot be used."""
    if store.path == ":memory:":
        return None, "an in-memory desk keeps no stream state"
    if token is None:
        return None, "no stream state saved yet"
    try:
        frozen, dedup, carry, latest, placed, settled = snapshot.read(
            store.path, token, settings.ingest.max_stream_state_bytes
        )
        clusterer = snapshot.loads(frozen)
    except (SnapshotError, TypeError, ValueError) as exc:
        return None, str(exc)
    if not isinstance(clusterer, cluster_stage.OnlineClusterer) or not isinstance(
        dedup, dedup_stage.DuplicateIndex
    ):
        return None, "the stream state holds something else"
    return StreamState(dedup, clusterer, float(carry), float(latest), dict(placed), set(settled)), ""


def stage(store: Store, update: StoryUpdate) -> Path | None:
    """Write the batch's stream state under a temporary name (moved into place after commit)."""
    if store.path == ":memory:":
        return None
    stream = update.stream
    payload = snapshot.dumps(
        (update.frozen, stream.dedup, stream.carry, stream.latest, stream.placed, stream.settled)
    )
    return snapshot.stage(store.path, update.token, payload)


def _settle(
    store: Store,
    stream: StreamState,
    articles: Sequence[Article],
    items: Mapping[str, cluster_stage.ClusterItem],
    duplicates: Mapping[str, str],
    assign: Iterable[str] | None,
) -> tuple[StreamRun, bytes]:
    """Place the originals, freeze the unconsolidated clusterer, consolidate: the run and the frozen state."""
    run = run_batch(stream, articles, items, duplicates, assign, freeze=True)
    frozen = run.frozen
    assert frozen is not None
    stream.settled = run.settled
    at_placing = {a.article_id: a.explanation for a in run.placed}
    before = stream.placed
    stream.placed = {}
    for article_id in run.revised:
        if article_id in at_placing:
            stream.placed[article_id] = at_placing[article_id]
        elif article_id in before:
            stream.placed[article_id] = before[article_id]
        else:
            stored = store.assignment(article_id)
            if stored is not None:
                stream.placed[article_id] = stored.explanation
    return run, frozen


def start_over(
    store: Store, settings: Settings, index: dedup_stage.DuplicateIndex, batch: Incoming
) -> StoryUpdate:
    """Cluster every stored article and the new ones in one pass (features are stored: no model runs)."""
    articles = [*store.articles(), *batch.articles]
    items = {aid: cluster_stage.ClusterItem.from_record(rec) for aid, rec in store.cluster_records()}
    items.update(batch.items)
    duplicates = {**store.duplicates(), **batch.duplicates}
    origins = {**store.wire_origins(), **batch.origins}
    stream = StreamState(dedup=index, clusterer=cluster_stage.OnlineClusterer(settings.cluster))
    run, frozen = _settle(store, stream, articles, items, duplicates, None)
    stories = build_stories(run.story_of, {a.id: a for a in articles}, items, origins)
    return StoryUpdate(stream, frozen, False, stories, (), run.final, {}, stream.clusterer.merges, True)


def go_on(store: Store, stream: StreamState, batch: Incoming) -> StoryUpdate:
    """Add the batch to the saved stream; write only the stories and assignments that changed."""
    before = stream.placed  # _settle replaces it with this batch's moves
    settled = stream.settled  # and this with the articles this batch's consolidation placed elsewhere
    frozen_at = stream.clusterer.placements()  # the stored stories, but for ``settled``
    duplicates = {**store.duplicates(), **batch.duplicates}
    run, frozen = _settle(store, stream, batch.articles, batch.items, duplicates, batch.duplicates)
    story_of = run.story_of
    # A stored assignment can differ from ``story_of`` only where the last consolidation placed an
    # article elsewhere than the saved clusterer, or this batch changed the clusterer's placement
    # (and for the duplicates of those): only those, and the ones rewritten, are read.
    maybe = {a for a, sid in frozen_at.items() if story_of[a] != sid} | settled
    maybe |= {d for d, o in duplicates.items() if duplicate_root(o, duplicates) in maybe}
    rewrite = {a.article_id: a for a in run.final}
    for article_id, explanation in run.revised.items():  # older articles consolidation moved this time
        rewrite.setdefault(article_id, Assignment(article_id, story_of[article_id], explanation))
    for article_id, explanation in before.items():  # moved last time, placed as first placed now
        if article_id not in rewrite and article_id in story_of:
            rewrite[article_id] = Assignment(article_id, story_of[article_id], explanation)
    stored = store.story_map([*maybe, *rewrite])
    moved = {
        a: sid for a, sid in story_of.items() if a in maybe and a not in rewrite and stored.get(a) != sid
    }
    touched = {sid for a in [*moved, *rewrite] if (sid := stored.get(a)) is not None}
    touched |= set(moved.values()) | {a.story_id for a in rewrite.values()}
    members = {a: sid for a, sid in story_of.items() if sid in touched}
    fresh = {a.id: a for a in batch.articles}
    stored_members = [a for a in members if a not in fresh]
    by_id = {a.id: a for a in store.articles(stored_members)} | fresh
    items = {
        aid: cluster_stage.ClusterItem.from_record(rec) for aid, rec in store.cluster_records(stored_members)
    }
    items.update(batch.items)
    origins = {**store.wire_origins(stored_members), **batch.origins}
    stories = build_stories(members, by_id, items, origins)
    gone = sorted(touched - {st.id for st in stories})
    return StoryUpdate(
        stream, frozen, True, stories, gone, list(rewrite.values()), moved, stream.clusterer.merges, False
    )
