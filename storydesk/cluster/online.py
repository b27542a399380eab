"""Online story clustering: one pass over an article stream in arrival order.

Each article, featurized once into a persistable ``ClusterItem``, is scored against candidate
stories from the nearest-neighbour indexes over story centroids (``tiers``, ``score``) and joins the
best story above the threshold or founds a new one. Stories idle for ``window_days`` go dormant
(still searchable, reopened only by a stronger match), two stories merge when one article matches
both strongly, and a story whose members form two groups splits (``split``). At the end of a batch
``consolidate`` takes a second look at the articles of small stories. Everything is deterministic:
no randomness, ties broken by story age.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from storydesk.cluster import consolidate as second_look
from storydesk.cluster import stats
from storydesk.cluster.events import Events, StoryMove, StorySplit
from storydesk.cluster.items import ClusterItem, _time_of
from storydesk.cluster.score import Scored, explain, explain_new, needed, score_against
from storydesk.cluster.split import find_split
from storydesk.cluster.stats import SharedPairs, StoryStats
from storydesk.cluster.terms import TermWeights
from storydesk.cluster.tiers import Tiers
from storydesk.config import ClusterSettings
from storydesk.models import Article, Assignment, Explanation, StoryMerge


def story_id_for(article_id: str) -> str:
    """A stable story id from the founding article's id: its first 12 hex chars, else a hash's."""
    if re.fullmatch(r"[0-9a-f]{12,}", article_id):
        return "s" + article_id[:12]
    return "s" + hashlib.sha1(article_id.encode("utf-8")).hexdigest()[:12]


class OnlineClusterer:
    """One pass over items in arrival order; each joins its best candidate story or founds one."""

    def __init__(self, settings: ClusterSettings) -> None:
        self.settings = settings
        self._stories: dict[str, StoryStats] = {}  # live (unabsorbed) stories by id
        self._by_key: dict[int, StoryStats] = {}
        self._order: dict[str, int] = {}  # story id -> founding order, the tie-breaker
        self._absorbed: dict[str, str] = {}
        self._article_story: dict[str, str] = {}
        self._arrival: dict[str, int] = {}
        self._next_key = 0
        self._tiers = Tiers(settings)
        self._terms = TermWeights(settings.idf)
        self._shared = SharedPairs()
        self._events = Events()

    # -- public API

    @property
    def merges(self) -> list[StoryMerge]:
        """Merges so far, in the order they happened."""
        return list(self._events.merges)

    @property
    def splits(self) -> list[StorySplit]:
        """Splits so far: a story found to hold two events gave its later part a new id."""
        return list(self._events.splits)

    @property
    def moves(self) -> list[StoryMove]:
        """Articles consolidation moved to a better-fitting story, in the order it moved them."""
        return list(self._events.moves)

    @property
    def dormant_searches(self) -> int:
        """Dormant-index searches so far: no active story fitted (in ``add`` or consolidation)."""
        return self._tiers.dormant_searches

    def stories(self) -> dict[str, list[str]]:
        """Story id -> article ids in arrival order, merged stories resolved."""
        arrival = self._arrival
        return {sid: sorted(story.members, key=arrival.__getitem__) for sid, story in self._stories.items()}

    def story_of(self, article_id: str) -> str:
        """The story an article belongs to now, following merges."""
        return self._resolve(self._article_story[article_id])

    def placements(self) -> dict[str, str]:
        """Every article seen -> its story now, merges followed."""
        return {article: self._resolve(sid) for article, sid in self._article_story.items()}

    def add(self, item: ClusterItem) -> Assignment:
        """Assign one item; returns the assignment with its explanation."""
        if item.id in self._article_story:  # seen before: it stays where it is
            return Assignment(item.id, self.story_of(item.id), Explanation(similarity=1.0, score=1.0))
        self._tiers.open(int(item.vector.shape[0]))
        weights = self._terms.weights(item)
        scored = self._ranked(item, weights)
        best = scored[0] if scored else None
        if best is not None and best.score >= needed(best, item, self.settings):
            explanation = explain(best, scored[1] if len(scored) > 1 else None, new_story=False)
            self._join(best.story, item, weights)
            story = self._merge_bridged(best.story, scored[1:], item.id)
        else:
            explanation = explain_new(best)
            story = self._found(item)
            self._join(story, item, weights)
        self._maybe_split(story, item.id)
        self._learn(item)
        return Assignment(item.id, self.story_of(item.id), explanation)

    def consolidate(self, rounds: int | None = None) -> list[tuple[StoryMove, Explanation]]:
        """Take a second look at the articles of small stories; each move with the explanation of
        the article's new place (see ``storydesk.cluster.consolidate``)."""
        return second_look.consolidate(self, rounds)

    def settle(self) -> dict[str, Explanation]:
        """Consolidate (see ``consolidate``); the moved articles with the explanation of their new place."""
        return {move.article: explanation for move, explanation in self.consolidate()}

    # -- the steps of ``add`` and of the second look

    def _ranked(
        self,
        item: ClusterItem,
        weights: dict[str, float],
        leave_out: StoryStats | None = None,
        known: Mapping[str, Scored | None] | None = None,
        held: bool = False,
    ) -> list[Scored]:
        """Candidate stories scored for ``item``, best first (ties: the older story).

        The active stories come first; for a dated article the dormant index is searched only when
        none of them passes the join threshold, so an article that continues a running story pays
        one search of a window-sized index however many stories have gone dormant. ``held``: the
        article's own story (left out of the ranking) is active and takes it, which spares the
        dormant search the same way. A dormant story still needs ``reopen_margin`` more than the
        threshold to take it. An undated article has no place on the timeline: every story is open
        to it, so both indexes are searched.
        """

        entity_idf = self._terms.entity_idfs(item)
        known = known or {}

        def score(story: StoryStats) -> Scored:
            earlier = known.get(story.id)
            return earlier if earlier is not None else self._score(item, story, weights, entity_idf)

        def rank(stories: list[StoryStats]) -> list[Scored]:
            return [score(story) for story in stories if story is not leave_out]

        def order(x: Scored) -> tuple[float, int]:
            return (-x.score, self._order[x.story.id])

        scored = sorted(rank(self._candidates(item)), key=order)
        passed = held or (bool(scored) and scored[0].score >= needed(scored[0], item, self.settings))
        if item.time is None or not passed:
            more = rank(self._candidates(item, dormant=True))
            if more:
                self._tiers.dormant_searches += 1
                scored = sorted(scored + more, key=order)
        return scored

    def _candidates(self, item: ClusterItem, *, dormant: bool = False) -> list[StoryStats]:
        keys = self._tiers.search(item.vector, dormant=dormant)
        return [self._by_key[k] for k in keys if k in self._by_key]

    def _score(
        self,
        item: ClusterItem,
        story: StoryStats,
        weights: dict[str, float],
        entity_idf: dict[str, float],
        *,
        member: bool = False,
    ) -> Scored:
        """The item's score against the story (``member``: against the story without it)."""
        return score_against(item, story, weights, entity_idf, self.settings, self._terms, member=member)

    def _found(self, item: ClusterItem) -> StoryStats:
        """A new, empty story with an id from the founding item's."""
        sid = story_id_for(item.id)
        while sid in self._order:  # a prefix collision: derive deterministically from the id again
            sid = "s" + hashlib.sha1((sid + item.id).encode("utf-8")).hexdigest()[:12]
        story = StoryStats(id=sid, key=self._next_key, vec_sum=np.zeros_like(item.vector), members=[])
        self._next_key += 1
        self._stories[sid] = story
        self._by_key[story.key] = story
        self._order[sid] = len(self._order)
        return story

    def _join(
        self, story: StoryStats, item: ClusterItem, weights: dict[str, float], *, refresh: bool = True
    ) -> None:
        s = self.settings
        stats.join(
            story, item, weights, linkage=s.linkage, max_items=s.split_max_members, shared=self._shared
        )
        self._article_story[item.id] = story.id
        if refresh:
            self._refresh(story)

    def _refresh(self, story: StoryStats) -> None:
        """Recompute the story's term norm and file its centroid where it now belongs."""
        if self.settings.linkage == "centroid":
            story.term_norm = self._terms.norm(story.terms)
        self._tiers.file(story)

    def _merge_bridged(self, story: StoryStats, others: Sequence[Scored], at_article: str) -> StoryStats:
        """Merge into ``story`` the other candidates the article matched strongly enough to bridge."""
        for other in others:
            merge_at = self.settings.merge_threshold + (self.settings.reopen_margin if other.dormant else 0.0)
            if other.score >= merge_at and other.story.id in self._stories:
                story = self._merge(story, other.story, at_article, other.score)
        return story

    def _merge(self, a: StoryStats, b: StoryStats, at_article: str, score: float) -> StoryStats:
        """Fold the smaller story into the larger (older wins ties); record the merge."""
        kept, gone = (
            (a, b) if (len(a.members), -self._order[a.id]) >= (len(b.members), -self._order[b.id]) else (b, a)
        )
        stats.absorb(kept, gone, max_items=self.settings.split_max_members)
        self._retire(gone, kept, at_article, score)
        self._refresh(kept)
        return kept

    def _retire(self, gone: StoryStats, kept: StoryStats, at_article: str, score: float) -> None:
        """Drop ``gone`` from the index and the live stories; its id now resolves to ``kept``'s."""
        self._tiers.remove(gone)
        del self._by_key[gone.key]
        del self._stories[gone.id]
        self._absorbed[gone.id] = kept.id
        self._events.merges.append(
            StoryMerge(kept=kept.id, absorbed=gone.id, at_article=at_article, score=round(score, 4))
        )

    def _maybe_split(self, story: StoryStats, at_article: str) -> None:
        """Split the story when its members form two events (``split.find_split``): the group
        without the founder gets its own story, with an id from its first article."""
        found = find_split(story, self.settings, self._terms)
        if found is None:
            return
        keep, move, between = found
        self._rebuild(story, keep)
        new = self._found(move[0])
        self._rebuild(new, move)
        self._events.splits.append(
            StorySplit(kept=story.id, split_off=new.id, at_article=at_article, score=round(between, 4))
        )

    def _rebuild(self, story: StoryStats, items: list[ClusterItem]) -> None:
        """Make the story hold exactly ``items``, its sums recomputed from them."""
        stats.clear(story, items[0].vector)
        for it in items:
            self._join(story, it, self._terms.weights(it), refresh=False)
        story.indexed = None
        self._refresh(story)

    def _reconsider(
        self, item: ClusterItem, story: StoryStats, known: Mapping[str, Scored | None]
    ) -> tuple[tuple[StoryMove, Explanation] | None, dict[str, Scored | None]]:
        """Move ``item`` out of ``story`` when another candidate fits it clearly better
        (see ``storydesk.cluster.consolidate.reconsider``)."""
        return second_look.reconsider(self, item, story, known)

    def _learn(self, item: ClusterItem) -> None:
        """Count the item once it is placed: term weights, arrival order, the timeline (deterministic)."""
        self._terms.learn(item)
        self._arrival[item.id] = len(self._arrival)
        self._tiers.see(item.time, self._by_key)

    def _resolve(self, sid: str) -> str:
        while sid in self._absorbed:
            sid = self._absorbed[sid]
        return sid


def arrival_keys(articles: Sequence[Article], last: float = -math.inf) -> tuple[list[float], float]:
    """Each article's place on the timeline, and the last dated time seen (to carry into a next batch).

    A dated article's key is its time; an undated one keeps its place after the last dated article
    before it in the input (``last`` when none is: the carry of the articles before this batch).
    """
    keys = []
    for article in articles:
        t = _time_of(article)
        if t is not None:
            last = t
        keys.append(t if t is not None else last)
    return keys, last


def arrival_order(articles: Sequence[Article]) -> list[int]:
    """Indices in arrival order: by publication time when known, else input order (stable)."""
    keys, _ = arrival_keys(articles)
    return [i for _, i in sorted(zip(keys, range(len(keys)), strict=True))]


def cluster_items(
    items: Sequence[ClusterItem] | Iterable[ClusterItem], settings: ClusterSettings
) -> tuple[dict[str, str], list[Assignment], list[StoryMerge]]:
    """Run a fresh clusterer over items in the given order; article id -> final story id."""
    clusterer = OnlineClusterer(settings)
    assignments = [clusterer.add(item) for item in items]
    revised = clusterer.settle()
    if revised:
        assignments = [
            dataclasses.replace(a, explanation=revised[a.article_id]) if a.article_id in revised else a
            for a in assignments
        ]
    final = {a.article_id: clusterer.story_of(a.article_id) for a in assignments}
    return final, assignments, clusterer.merges
