"""Online story clustering: an article stream, in arrival order, becomes story assignments.

Each article is featurized once (unit sentence embedding of title + lead, lexical term counts,
named-entity keys, numbers and years) into a persistable ``ClusterItem``. The ``OnlineClusterer``
then makes one pass: candidate stories come from an approximate nearest-neighbour index over story
centroids, each candidate is scored by a weighted sum of embedding similarity, online TF-IDF
similarity, entity overlap and shared numbers, minus penalties for conflicting years and for a
title naming other protagonists than the story's titles do; the article joins the best story above
the threshold or founds a new one. Stories idle for ``window_days`` go dormant (still searchable,
reopened only by a stronger match), two stories merge when one article matches both strongly, and a
story whose members form two groups splits. At the end of a batch, ``consolidate`` takes a second
look at the articles of small stories and moves those that fit a later-formed story better.
Everything is deterministic: no randomness, ties broken by story age.
"""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from storydesk.cluster.index import VectorIndex, make_index
from storydesk.cluster.items import ClusterItem, _time_of, _zipf
from storydesk.config import ClusterSettings
from storydesk.models import Article, Assignment, Explanation, StoryMerge

if TYPE_CHECKING:
    pass


# --- the online clusterer -----------------------------------------------------------------------


@dataclass(slots=True)
class _Story:
    """A story's running statistics: sums, not members' vectors, so memory stays per-story."""

    id: str
    key: int
    vec_sum: np.ndarray
    members: list[str]
    terms: dict[str, float] = field(default_factory=dict)  # raw term sums: kept for centroid linkage only
    entities: dict[str, int] = field(default_factory=dict)
    numbers: dict[str, int] = field(default_factory=dict)
    years: dict[str, int] = field(default_factory=dict)
    head_people: dict[str, int] = field(default_factory=dict)
    first_time: float | None = None
    last_time: float | None = None
    indexed: np.ndarray | None = None
    dormant: bool = False  # filed in the dormant index: idle for ``window_days`` before the newest article
    term_norm: float = 0.0
    unit_terms: dict[str, float] = field(default_factory=dict)  # sum of members' unit TF-IDF vectors
    items: list[ClusterItem] | None = field(default_factory=list)  # kept while small enough to split
    item_weights: list[np.ndarray] = field(default_factory=list)  # their term weights, in item.terms order

    def centroid(self) -> np.ndarray:
        norm = float(np.linalg.norm(self.vec_sum))
        return self.vec_sum / norm if norm > 0 else self.vec_sum


@dataclass(slots=True)
class _Scored:
    story: _Story
    score: float
    parts: tuple[float, float, float, float, float, float]  # embedding .. person conflict, unrounded
    shared_entities: tuple[str, ...]
    shared_numbers: tuple[str, ...]
    gap: float | None
    dormant: bool

    @property
    def components(self) -> dict[str, float]:
        """The score's parts as an explanation shows them (built only for the stories explained)."""
        emb, lex, ent, numbers, year_conflict, person_conflict = self.parts
        return {
            "embedding": round(emb, 4),
            "lexical": round(lex, 4),
            "entities": round(ent, 4),
            "numbers": numbers,
            "year_conflict": year_conflict,
            "person_conflict": person_conflict,
            "dormant": float(self.dormant),
        }


def _gram(rows: Sequence[Iterable[tuple[str, float]]]) -> np.ndarray:
    """Dot products of sparse rows (key -> value pairs), through a small dense matrix."""
    vocab: dict[str, int] = {}
    coords = [[(vocab.setdefault(k, len(vocab)), v) for k, v in row] for row in rows]
    dense = np.zeros((len(rows), max(1, len(vocab))), dtype=np.float64)
    for r, row in enumerate(coords):
        for c, v in row:
            dense[r, c] = v
    return dense @ dense.T


def _disjoint(rows: Sequence[Iterable[str]]) -> np.ndarray:
    """Pairs of rows that both name values and share none (conflicting years, other protagonists)."""
    shared = _gram([[(v, 1.0) for v in row] for row in rows])
    named = np.diag(shared) > 0
    return (named[:, None] & named[None, :]) & (shared == 0)


def _weight_pairs(item: ClusterItem, weights: np.ndarray) -> Iterable[tuple[str, float]]:
    """An item's stored term weights (an array in ``item.terms`` order) as (term, weight) pairs."""
    if not weights.size:  # an item without terms
        return ()
    return zip((t for t, _ in item.terms), weights.tolist(), strict=True)


def _mean_within(sims: np.ndarray, copies: np.ndarray | None = None) -> float:
    """The mean pairwise score of a group (two members or more), its diagonal left out.

    ``copies`` marks the pairs that are one report reprinted (see ``OnlineClusterer._pair_matrix``):
    they are left out too, so a wire report and its reprints do not look tighter than independent
    reports of one event. A group whose every pair is a copy keeps them all.
    """
    n = len(sims)
    pairs = ~np.eye(n, dtype=bool)
    if copies is not None and (kept := pairs & ~copies).any():
        pairs = kept
    return float(sims[pairs].mean())


def _bipartition(
    sims: np.ndarray, min_size: int, copies: np.ndarray | None = None
) -> tuple[np.ndarray, float, float] | None:
    """The founder's group vs the rest: 2-seed average-link reassignment, deterministic.

    Seeds are the founder (row 0) and, in turn, each of the three members least like it; each round
    puts every member with the group it is more similar to on average. Returns the mask of the
    founder's group, the mean similarity between groups and the lower of the two within-group means
    (``copies``, the pairs that are one report reprinted, left out of them), for the partition with
    the lowest between/within ratio; None when no partition is large enough.
    """
    best: tuple[float, np.ndarray, float, float] | None = None
    for seed in np.argsort(sims[0], kind="stable")[:3]:
        if seed == 0:
            continue
        to_a, to_b = sims[:, 0], sims[:, seed]
        group = to_a >= to_b
        for _ in range(10):
            group[0] = True
            if group.all():
                break
            to_a, to_b = sims[:, group].mean(axis=1), sims[:, ~group].mean(axis=1)
            new = to_a >= to_b
            new[0] = True
            if (new == group).all():
                break
            group = new
        na, nb = int(group.sum()), int((~group).sum())
        if na < min_size or nb < min_size:
            continue
        blocks = [np.ix_(group, group), np.ix_(~group, ~group)]
        within = min(_mean_within(sims[b], None if copies is None else copies[b]) for b in blocks)
        between = float(sims[np.ix_(group, ~group)].mean())
        if within <= 0:
            continue
        ratio = between / within
        if best is None or ratio < best[0]:
            best = (ratio, group.copy(), between, float(within))
    return None if best is None else (best[1], best[2], best[3])


@dataclass(frozen=True, slots=True)
class StorySplit:
    """A story found to hold two events: ``split_off`` now holds the later group."""

    kept: str
    split_off: str
    at_article: str
    score: float  # mean similarity between the two groups


@dataclass(frozen=True, slots=True)
class StoryMove:
    """An article moved by consolidation from the story it first joined to one it fits better."""

    article: str
    from_story: str
    to_story: str
    score: float  # its mean score with the story it moved to
    previous_score: float  # its mean score with the story it left (without itself)


def story_id_for(article_id: str) -> str:
    """A stable story id from the founding article's id: its first 12 hex chars, else a hash's."""
    if re.fullmatch(r"[0-9a-f]{12,}", article_id):
        return "s" + article_id[:12]
    return "s" + hashlib.sha1(article_id.encode("utf-8")).hexdigest()[:12]


class OnlineClusterer:
    """One pass over items in arrival order; each joins its best candidate story or founds one."""

    def __init__(self, settings: ClusterSettings) -> None:
        self.settings = settings
        self._stories: dict[str, _Story] = {}  # live (unabsorbed) stories by id
        self._by_key: dict[int, _Story] = {}
        self._order: dict[str, int] = {}  # story id -> founding order, the tie-breaker
        self._absorbed: dict[str, str] = {}
        self._article_story: dict[str, str] = {}
        self._merges: list[StoryMerge] = []
        self._splits: list[StorySplit] = []
        self._moves: list[StoryMove] = []
        self._index: VectorIndex | None = None  # centroids of the active stories
        self._dormant: VectorIndex | None = None  # and of the dormant ones, searched when no active one fits
        self._idle: list[tuple[float, int]] = []  # heap of (last article time, story key): who goes dormant
        self.dormant_searches = 0  # dormant-index searches: no active story fitted (add or consolidate)
        self._df: dict[str, int] = {}
        self._entity_df: dict[str, int] = {}
        self._docs = 0
        self._next_key = 0
        self._background: dict[str, float] = {}
        self._pairs: dict[tuple[str, int], tuple[str, int]] = {}  # one tuple per (term, count) kept
        self._arrival: dict[str, int] = {}
        self._latest: float | None = None  # the newest article time seen

    # -- public API

    @property
    def merges(self) -> list[StoryMerge]:
        """Merges so far, in the order they happened."""
        return list(self._merges)

    @property
    def splits(self) -> list[StorySplit]:
        """Splits so far: a story found to hold two events gave its later part a new id."""
        return list(self._splits)

    @property
    def moves(self) -> list[StoryMove]:
        """Articles consolidation moved to a better-fitting story, in the order it moved them."""
        return list(self._moves)

    def stories(self) -> dict[str, list[str]]:
        """Story id -> article ids in arrival order, merged stories resolved."""
        arrival = self._arrival
        return {sid: sorted(story.members, key=arrival.__getitem__) for sid, story in self._stories.items()}

    def story_of(self, article_id: str) -> str:
        """The story an article belongs to now, following merges."""
        return self._resolve(self._article_story[article_id])

    def add(self, item: ClusterItem) -> Assignment:
        """Assign one item; returns the assignment with its explanation."""
        if item.id in self._article_story:
            sid = self.story_of(item.id)
            return Assignment(item.id, sid, Explanation(similarity=1.0, score=1.0))
        if self._index is None:
            self._index = make_index(self.settings, int(item.vector.shape[0]))
            self._dormant = make_index(self.settings, int(item.vector.shape[0]))
        weights = self._weights(item)
        scored = self._ranked(item, weights)
        best = scored[0] if scored else None
        accepted = best is not None and best.score >= self._needed(best, item)
        if best is not None and accepted:
            story = best.story
            runner = scored[1] if len(scored) > 1 else None
            explanation = self._explain(best, runner, new_story=False)
        else:
            story = self._found(item)
            runner = best
            explanation = Explanation(
                similarity=best.components["embedding"] if best else 0.0,
                runner_up=best.story.id if best else None,
                runner_up_score=round(best.score, 4) if best else None,
                time_gap_days=best.gap if best else None,
                score=0.0,
                new_story=True,
                components=best.components if best else {},
            )
        self._join(story, item, weights)
        if accepted:
            for other in scored[1:]:
                merge_at = self.settings.merge_threshold + (
                    self.settings.reopen_margin if other.dormant else 0.0
                )
                if other.score >= merge_at and other.story.id in self._stories:
                    story = self._merge(story, other.story, item.id, other.score)
        self._maybe_split(story, item.id)
        self._learn(item)
        return Assignment(item.id, self._resolve(self._article_story[item.id]), explanation)

    def consolidate(self, rounds: int | None = None) -> list[tuple[StoryMove, Explanation]]:
        """Take a second look at every article of the stories small enough to still hold their items.

        One online pass commits each article on what its story held when it arrived: an early article
        of a second event can found or join the wrong story before that event's own articles exist.
        Each round revisits the articles in arrival order: the article is taken out of its story,
        scored against its candidates exactly as ``add`` scores a new one (its own story counting as
        an active candidate: one that takes it spares the dormant search), and moved when another
        story both passes the join threshold and beats its own story by ``move_margin``. A story left
        empty is absorbed by the one its last article moved to (recorded as a merge). Large stories
        (past ``split_max_members``) and dormant ones (idle for ``window_days`` before the newest
        article) are settled and left alone. A later round revisits only the articles whose own story,
        or a story they were compared with, changed in the round before: for the others every score
        is what it was, so the decision is too (unless a changed story's new centroid now enters
        their nearest candidates, which this skips). An article revisited keeps the scores of the
        stories no move has touched since its last look: a score is a function of the article and the
        story's sums, which only a move changes. Then, with ``reunite``, two stories that would not
        be split were they one are merged (``_reunite``). Deterministic, like ``add``.
        Returns each move with the explanation of the article's new place.
        """
        s = self.settings
        out: list[tuple[StoryMove, Explanation]] = []
        looked: dict[str, tuple[int, dict[str, _Scored | None]]] = {}  # article -> (step, its scores then)
        touched: dict[str, int] = {}  # story -> the step that last moved an article in or out of it
        changed: set[str] = set()  # the stories the round before touched
        step = 0
        for round_ in range(s.consolidate_rounds if rounds is None else rounds):
            start = step
            pending = [
                it
                for story in self._stories.values()
                if story.items is not None and not self._idle_at(story)
                for it in story.items
                if round_ == 0 or not changed.isdisjoint(looked[it.id][1] if it.id in looked else (story.id,))
            ]
            pending.sort(key=lambda it: self._arrival[it.id])
            for item in pending:
                step += 1
                at, before = looked.get(item.id, (step, {}))
                known = {sid: x for sid, x in before.items() if touched.get(sid, -1) < at}
                found, scores = self._reconsider(item, self._stories[self.story_of(item.id)], known)
                looked[item.id] = (step, scores)
                if found is not None:
                    out.append(found)
                    move = found[0]
                    touched[move.from_story] = touched[move.to_story] = step
            changed = {sid for sid, at in touched.items() if at > start}
            if not changed:
                break
        if s.reunite:
            self._reunite()
        return out

    def _reunite(self) -> None:
        """Merge two stories that, were they one, would not be split: the pieces of one event.

        A split, or two early articles that founded stories of their own, can leave one event in two
        stories whose every article fits its own piece best, so no move joins them. Two small active
        stories (each with ``split_min`` articles or more, together at most ``split_max_members``)
        are one story when the mean score between their articles passes the join threshold and is
        at least ``split_ratio`` times the lower mean within either (copies left out): the split
        test, passed. Stories are taken oldest first, each against its nearest stories in the active
        index; the larger keeps its id, and the merge is recorded at the newest article of the two.
        The mean between is first bounded from above with the stories' sums (``_between_bound``):
        few pairs need their articles scored pair by pair.
        """
        s = self.settings
        within: dict[str, float] = {}  # story -> mean score within, while it is unchanged
        profiles: dict[str, dict[str, float]] = {}

        def small(story: _Story) -> bool:
            return story.items is not None and len(story.members) >= s.split_min and not self._idle_at(story)

        def within_of(story: _Story) -> float:
            if story.id not in within:
                assert story.items is not None
                within[story.id] = _mean_within(*self._pair_matrix(story.items, story.item_weights))
            return within[story.id]

        for story in sorted(self._stories.values(), key=lambda x: self._order[x.id]):
            if story.id not in self._stories or not small(story) or self._index is None:
                continue
            for key in self._index.search(story.centroid(), s.candidates):
                other = self._by_key.get(key)
                if other is None or other is story or not small(other):
                    continue
                assert story.items is not None and other.items is not None
                if len(story.items) + len(other.items) > s.split_max_members:
                    continue
                bound = self._between_bound(story, other, profiles)
                if bound < s.threshold:
                    continue
                need = max(s.threshold, s.split_ratio * min(within_of(story), within_of(other)))
                if bound < need:
                    continue
                sims, _ = self._pair_matrix(
                    story.items + other.items, story.item_weights + other.item_weights
                )
                between = float(sims[: len(story.items), len(story.items) :].mean())
                if between >= need:
                    last = max(story.members + other.members, key=lambda a: self._arrival[a])
                    story = self._merge(story, other, last, between)
                    for sid in (story.id, other.id):
                        within.pop(sid, None)
                        profiles.pop(sid, None)
                    if not small(story):
                        break

    def _between_bound(self, a: _Story, b: _Story, profiles: dict[str, dict[str, float]]) -> float:
        """An upper bound of the mean pairwise score between two stories' articles, from their sums.

        The embedding and lexical means are exact (dot products of the sums); so is the entity
        share, through each story's profile (entity -> the sum over its articles naming it of the
        entity's idf over the article's total); the numbers term is bounded by half the mean number
        shared, and the year and person penalties, which only lower a score, are left out.
        """
        s = self.settings
        pairs = len(a.members) * len(b.members)
        for story in (a, b):
            if story.id not in profiles:
                profile: dict[str, float] = {}
                assert story.items is not None
                for it in story.items:
                    idf = self._entity_idfs(it)
                    total = sum(idf.values())
                    for e, w in idf.items():
                        profile[e] = profile.get(e, 0.0) + w / total
                profiles[story.id] = profile
        emb = float(np.dot(a.vec_sum, b.vec_sum)) / pairs
        small_, large = sorted((a.unit_terms, b.unit_terms), key=len)
        lex = sum([w * large[t] for t, w in small_.items() if t in large]) / pairs
        ent = sum(
            sum([w * y.entities.get(e, 0) for e, w in profiles[x.id].items()]) for x, y in ((a, b), (b, a))
        ) / (2 * pairs)
        numbers = sum([n * b.numbers.get(v, 0) for v, n in a.numbers.items()]) / (2 * pairs)
        return (
            s.w_embedding * emb
            + s.w_lexical * lex
            + s.w_entities * ent
            + s.w_numbers * min(1.0, numbers)
            + 1e-6
        )

    def settle(self) -> dict[str, Explanation]:
        """Consolidate (see ``consolidate``); the moved articles with the explanation of their new place."""
        return {move.article: explanation for move, explanation in self.consolidate()}

    def placements(self) -> dict[str, str]:
        """Every article seen -> its story now, merges followed."""
        return {article: self._resolve(sid) for article, sid in self._article_story.items()}

    # -- internals

    def _reconsider(
        self, item: ClusterItem, story: _Story, known: Mapping[str, _Scored | None]
    ) -> tuple[tuple[StoryMove, Explanation] | None, dict[str, _Scored | None]]:
        """Move ``item`` out of ``story`` when another candidate fits it clearly better.

        ``known``: scores of the item still valid from its last look, by story id, taken as they are.
        Returns the move (None when it stays) and the item's scores now, by story id: its own
        story's without it (None when it is the story's only member), then its candidates'.
        """
        s = self.settings
        assert story.items is not None
        at = next(i for i, it in enumerate(story.items) if it.id == item.id)
        weights = dict(_weight_pairs(item, story.item_weights[at]))
        if story.id in known:
            own = known[story.id]
        else:
            own = None
            if len(story.members) > 1:  # its own story's score without it
                own = self._score(item, story, weights, self._entity_idfs(item), member=True)
        held = own is not None and own.score >= self._needed(own, item)  # an active story that takes it
        scored = self._ranked(item, weights, leave_out=story, known=known, held=held)
        scores: dict[str, _Scored | None] = {story.id: own, **{x.story.id: x for x in scored}}
        best = scored[0] if scored else None
        own_score = own.score if own is not None else -math.inf
        if best is None or best.score < self._needed(best, item) or best.score <= own_score + s.move_margin:
            return None, scores
        rest = [it for it in story.items if it.id != item.id]
        if rest:
            self._rebuild(story, rest)
        target = best.story
        self._join(target, item, weights)
        if not rest:  # the article was the story's only member: the story is gone
            self._retire(story, target, item.id, best.score)
        move = StoryMove(
            article=item.id,
            from_story=story.id,
            to_story=target.id,
            score=round(best.score, 4),
            previous_score=round(own_score, 4) if own is not None else 0.0,
        )
        self._moves.append(move)
        explanation = self._explain(best, own, new_story=False)
        # The runner-up is now the story it left; "moved" marks an assignment made on the second look.
        moved = dataclasses.replace(explanation, components={**explanation.components, "moved": 1.0})
        return (move, moved), scores

    def _resolve(self, sid: str) -> str:
        while sid in self._absorbed:
            sid = self._absorbed[sid]
        return sid

    def _needed(self, scored: _Scored, item: ClusterItem) -> float:
        """The join threshold: higher for a dormant story, lower for a short (headline-only) item.

        A headline shares fewer words and names with its story than a full article does, so its
        scores run lower; ``short_discount`` scales down as the item's distinct terms approach 20.
        """
        s = self.settings
        short = max(0.0, 1.0 - len(item.terms) / 20.0)
        return s.threshold - s.short_discount * short + (s.reopen_margin if scored.dormant else 0.0)

    def _ranked(
        self,
        item: ClusterItem,
        weights: dict[str, float],
        leave_out: _Story | None = None,
        known: Mapping[str, _Scored | None] | None = None,
        held: bool = False,
    ) -> list[_Scored]:
        """Candidate stories scored for ``item``, best first (ties: the older story).

        The active stories come first; for a dated article the dormant index is searched only when
        none of them passes the join threshold, so an article that continues a running story pays
        one search of a window-sized index however many stories have gone dormant. ``held``: the
        article's own story (left out of the ranking) is active and takes it, which spares the
        dormant search the same way. A dormant story still needs ``reopen_margin`` more than the
        threshold to take it. An undated article has no place on the timeline: every story is open
        to it, so both indexes are searched.
        """

        entity_idf = self._entity_idfs(item)
        known = known or {}

        def score(story: _Story) -> _Scored:
            earlier = known.get(story.id)
            return earlier if earlier is not None else self._score(item, story, weights, entity_idf)

        def rank(stories: list[_Story]) -> list[_Scored]:
            return [score(story) for story in stories if story is not leave_out]

        def order(x: _Scored) -> tuple[float, int]:
            return (-x.score, self._order[x.story.id])

        scored = sorted(rank(self._candidates(item)), key=order)
        passed = held or (bool(scored) and scored[0].score >= self._needed(scored[0], item))
        if item.time is None or not passed:
            more = rank(self._candidates(item, dormant=True))
            if more:
                self.dormant_searches += 1
                scored = sorted(scored + more, key=order)
        return scored

    def _candidates(self, item: ClusterItem, *, dormant: bool = False) -> list[_Story]:
        index = self._dormant if dormant else self._index
        if index is None or not len(index):
            return []
        keys = index.search(item.vector, self.settings.candidates)
        return [self._by_key[k] for k in keys if k in self._by_key]

    def _tier(self, story: _Story) -> VectorIndex:
        """The index that holds the story's centroid."""
        index = self._dormant if story.dormant else self._index
        assert index is not None
        return index

    def _idle_at(self, story: _Story) -> bool:
        """Idle for ``window_days`` before the newest article seen: belongs in the dormant index."""
        latest = self._latest
        return (
            latest is not None
            and story.last_time is not None
            and latest - story.last_time > self.settings.window_days
        )

    def _sweep(self) -> None:
        """Move stories idle past the window from the active to the dormant index (amortised O(log n))."""
        latest = self._latest
        if latest is None:
            return
        cutoff = latest - self.settings.window_days
        while self._idle and self._idle[0][0] < cutoff:
            _, key = heapq.heappop(self._idle)
            story = self._by_key.get(key)
            if story is not None and not story.dormant and self._idle_at(story):
                self._refile(story)

    def _term_idf(self, term: str, df: dict[str, int]) -> float:
        """Term weight: online IDF, a background IDF from general word frequencies, or their mean.

        The background (wordfreq Zipf) weight knows from the first article that a name is rarer than
        a common word, which online counts learn only after many articles.
        """
        mode = self.settings.idf
        background = 0.0
        if mode != "online":
            cached = self._background.get(term)
            if cached is None:
                cached = self._background[term] = max(0.5, 7.5 - _zipf(term))
            if mode == "background":
                return cached
            background = cached
        online = math.log((self._docs + 1) / (df.get(term, 0) + 1)) + 1.0
        return online if mode == "online" else (online + background) / 2

    def _weights(self, item: ClusterItem) -> dict[str, float]:
        """Item-side term weights (sublinear tf x online idf), L2-normalised."""
        weights = {t: (1.0 + math.log(c)) * self._term_idf(t, self._df) for t, c in item.terms}
        norm = math.sqrt(sum(w * w for w in weights.values()))
        return {t: w / norm for t, w in weights.items()} if norm > 0 else {}

    def _entity_idfs(self, item: ClusterItem) -> dict[str, float]:
        """The item's entity weights, computed once per ranking rather than once per candidate."""
        return {e: self._term_idf(e, self._entity_df) for e in item.entities}

    def _score(
        self,
        item: ClusterItem,
        story: _Story,
        weights: dict[str, float],
        entity_idf: dict[str, float],
        *,
        member: bool = False,
    ) -> _Scored:
        """The item's score against the story; ``member``: the item is one of the story's members,
        scored against the story without it (its share taken out of the sums and counts here, not
        by changing the story)."""
        s = self.settings
        out = int(member)  # the item's own share of the story's counts
        size = len(story.members) - out
        shared = tuple(e for e in item.entities if story.entities.get(e, 0) > out)
        ent = 0.0
        if s.linkage == "average":
            # Mean similarity to the story's members: a large story gains no edge from its size.
            dot = float(np.dot(item.vector, story.vec_sum))
            unit = story.unit_terms  # terms the story lacks add exactly 0.0: skipping them is the same sum
            lex_sum = sum([w * unit[t] for t, w in weights.items() if t in unit])
            if member:  # take the member's own embedding and unit term vector out of the sums
                dot -= float(np.dot(item.vector, item.vector))
                lex_sum -= sum([w * w for w in weights.values()])
            emb = dot / size
            lex = lex_sum / size
            if item.entities:
                total = sum(entity_idf.values())
                hits = sum(entity_idf[e] * (story.entities[e] - out) for e in shared)
                ent = hits / total / size
        else:
            emb, lex = self._centroid_similarity(item, story, weights, member=member)
            if item.entities:
                total = sum(entity_idf.values())
                ent = sum(entity_idf[e] for e in shared) / total
        shared_numbers = tuple(n for n in item.numbers if story.numbers.get(n, 0) > out)
        years = story.years
        if member:  # the story's years without the item's own mentions
            years = {y: n for y, n in years.items() if n > (y in item.years)}
        year_conflict = 1.0 if item.years and years and not any(y in years for y in item.years) else 0.0
        gap = None
        if item.time is not None and story.last_time is not None:
            gap = item.time - story.last_time
            if gap < 0 and story.first_time is not None:
                gap = min(0.0, item.time - story.first_time)
        dormant = gap is not None and abs(gap) > s.window_days
        person_conflict = self._person_conflict(item, story, member=member)
        score = (
            s.w_embedding * emb
            + s.w_lexical * lex
            + s.w_entities * ent
            + s.w_numbers * min(len(shared_numbers), 2) / 2
            - s.year_penalty * year_conflict
            - s.person_penalty * person_conflict
        )
        parts = (emb, lex, ent, float(len(shared_numbers)), year_conflict, person_conflict)
        return _Scored(story, score, parts, shared, shared_numbers, gap, dormant)

    def _centroid_similarity(
        self, item: ClusterItem, story: _Story, weights: dict[str, float], *, member: bool
    ) -> tuple[float, float]:
        """Centroid linkage: the embedding cosine and the TF-IDF cosine of the item with the story's
        sums (``member``: with the item's own share taken out of them)."""
        vec_sum = story.vec_sum - item.vector if member else story.vec_sum
        norm = float(np.linalg.norm(vec_sum))
        emb = float(np.dot(item.vector, vec_sum)) / norm if norm > 0 else 0.0
        raw = {t: 1.0 + math.log(c) for t, c in item.terms} if member else {}
        idf = {t: self._term_idf(t, self._df) for t in weights.keys() | raw.keys()}
        term_norm = story.term_norm
        if raw:  # |sums - own|^2 = |sums|^2 - sum over own terms of (sum^2 - (sum - own)^2) idf^2
            lost = sum(
                (story.terms.get(t, 0.0) ** 2 - (story.terms.get(t, 0.0) - r) ** 2) * idf[t] ** 2
                for t, r in raw.items()
            )
            term_norm = math.sqrt(max(0.0, term_norm**2 - lost))
        if not weights or term_norm <= 0:
            return emb, 0.0
        dot = sum(w * (story.terms.get(t, 0.0) - raw.get(t, 0.0)) * idf[t] for t, w in weights.items())
        return emb, dot / term_norm

    def _kept(self, item: ClusterItem) -> ClusterItem:
        """The item as a story keeps it, its (term, count) pairs shared with every other kept item's.

        Stories hold their members' items for split checks and consolidation. A real article has
        about a hundred terms, and most (term, count) pairs recur across articles: one tuple per
        distinct pair takes a fraction of what a tuple per pair per article would.
        """
        pairs = self._pairs
        return dataclasses.replace(item, terms=tuple([pairs.setdefault(p, p) for p in item.terms]))

    @staticmethod
    def _person_conflict(item: ClusterItem, story: _Story, *, member: bool = False) -> float:
        """1.0 when the article's title names people and none of those the story's titles keep naming.

        Two arrests of the same kind share every word but the suspect's name: a headline about
        another protagonist is the clearest sign of a sibling event. The story's protagonists are the
        people named in the titles of at least half of its members (and at least two); a ``member``
        is judged against the others, its own mentions not counted.
        """
        if not item.head_people or not story.head_people:
            return 0.0
        need = max(2.0, (len(story.members) - member) / 2)
        mine = set(item.head_people) if member else set()
        core = {p for p, n in story.head_people.items() if n - (p in mine) >= need}
        return 1.0 if core and core.isdisjoint(item.head_people) else 0.0

    def _explain(self, best: _Scored, runner: _Scored | None, *, new_story: bool) -> Explanation:
        return Explanation(
            similarity=best.components["embedding"],
            shared_entities=best.shared_entities,
            shared_numbers=best.shared_numbers,
            time_gap_days=None if best.gap is None else round(best.gap, 3),
            runner_up=runner.story.id if runner else None,
            runner_up_score=round(runner.score, 4) if runner else None,
            score=round(best.score, 4),
            new_story=new_story,
            components=best.components,
        )

    def _found(self, item: ClusterItem) -> _Story:
        sid = story_id_for(item.id)
        while sid in self._order:  # a prefix collision: derive deterministically from the id again
            sid = "s" + hashlib.sha1((sid + item.id).encode("utf-8")).hexdigest()[:12]
        story = _Story(id=sid, key=self._next_key, vec_sum=np.zeros_like(item.vector), members=[])
        self._next_key += 1
        self._stories[sid] = story
        self._by_key[story.key] = story
        self._order[sid] = len(self._order)
        return story

    def _join(
        self, story: _Story, item: ClusterItem, weights: dict[str, float], *, refresh: bool = True
    ) -> None:
        story.members.append(item.id)
        if story.items is not None:
            story.items.append(self._kept(item))
            story.item_weights.append(np.fromiter(weights.values(), dtype=np.float64, count=len(weights)))
            if len(story.items) > self.settings.split_max_members:
                story.items = None  # large stories are settled; stop paying for split checks
                story.item_weights = []
        self._add_sums(story, item, weights)
        if item.time is not None:
            story.first_time = item.time if story.first_time is None else min(story.first_time, item.time)
            story.last_time = item.time if story.last_time is None else max(story.last_time, item.time)
        self._article_story[item.id] = story.id
        if refresh:
            self._refresh(story)

    def _add_sums(self, story: _Story, item: ClusterItem, weights: dict[str, float]) -> None:
        """Add an item's share to the story's sums and counts.

        Sums are only ever added to: a story that loses a member is rebuilt from the rest
        (``_rebuild``), and a member is scored without its share by ``_score(member=True)``. The raw
        term sums serve only centroid linkage; average linkage scores on ``unit_terms`` alone, so it
        does not keep them.
        """
        story.vec_sum += item.vector
        unit = story.unit_terms
        for t, w in weights.items():
            unit[t] = unit.get(t, 0.0) + w
        if self.settings.linkage == "centroid":
            raw = story.terms
            for t, c in item.terms:
                raw[t] = raw.get(t, 0.0) + 1.0 + math.log(c)
        for bag, values in (
            (story.entities, item.entities),
            (story.numbers, item.numbers),
            (story.years, item.years),
            (story.head_people, item.head_people),
        ):
            for v in values:
                bag[v] = bag.get(v, 0) + 1

    def _refresh(self, story: _Story) -> None:
        """Recompute the story's term norm and re-index its centroid when it has drifted."""
        if self.settings.linkage == "centroid":
            story.term_norm = math.sqrt(
                sum((w * self._term_idf(t, self._df)) ** 2 for t, w in story.terms.items())
            )
        centroid = story.centroid()
        if story.last_time is not None:
            heapq.heappush(self._idle, (story.last_time, story.key))
        if story.dormant != self._idle_at(story):  # reopened, or joined only by old articles
            story.indexed = None
            self._refile(story)
        elif (
            story.indexed is None or float(np.dot(story.indexed, centroid)) < self.settings.reindex_similarity
        ):
            self._tier(story).upsert(story.key, centroid)
            story.indexed = centroid.copy()

    def _refile(self, story: _Story) -> None:
        """Move the story's centroid to the other index (active <-> dormant)."""
        self._tier(story).remove(story.key)
        story.dormant = not story.dormant
        centroid = story.centroid() if story.indexed is None else story.indexed
        self._tier(story).upsert(story.key, centroid)
        story.indexed = centroid.copy()

    def _merge(self, a: _Story, b: _Story, at_article: str, score: float) -> _Story:
        """Fold the smaller story into the larger (older wins ties); record the merge."""
        kept, gone = (
            (a, b) if (len(a.members), -self._order[a.id]) >= (len(b.members), -self._order[b.id]) else (b, a)
        )
        kept.members.extend(gone.members)
        if kept.items is not None and gone.items is not None:
            kept.items.extend(gone.items)
            kept.item_weights.extend(gone.item_weights)
        if kept.items is None or gone.items is None or len(kept.items) > self.settings.split_max_members:
            kept.items = None
            kept.item_weights = []
        kept.vec_sum += gone.vec_sum
        for src, dst in ((gone.terms, kept.terms), (gone.unit_terms, kept.unit_terms)):
            for t, w in src.items():
                dst[t] = dst.get(t, 0.0) + w
        for src_bag, dst_bag in (
            (gone.entities, kept.entities),
            (gone.numbers, kept.numbers),
            (gone.years, kept.years),
            (gone.head_people, kept.head_people),
        ):
            for v, c in src_bag.items():
                dst_bag[v] = dst_bag.get(v, 0) + c
        for lo, hi in ((gone.first_time, gone.last_time),):
            if lo is not None:
                kept.first_time = lo if kept.first_time is None else min(kept.first_time, lo)
            if hi is not None:
                kept.last_time = hi if kept.last_time is None else max(kept.last_time, hi)
        self._retire(gone, kept, at_article, score)
        self._refresh(kept)
        return kept

    def _retire(self, gone: _Story, kept: _Story, at_article: str, score: float) -> None:
        """Drop ``gone`` from the index and the live stories; its id now resolves to ``kept``'s."""
        self._tier(gone).remove(gone.key)
        del self._by_key[gone.key]
        del self._stories[gone.id]
        self._absorbed[gone.id] = kept.id
        self._merges.append(
            StoryMerge(kept=kept.id, absorbed=gone.id, at_article=at_article, score=round(score, 4))
        )

    def _maybe_split(self, story: _Story, at_article: str) -> None:
        """Split a story whose members form two groups much closer within than between.

        Early in a stream the first article of a second, similar event (another earthquake) can join
        the first event's story, and its followers join it there. Once both groups have a few members,
        the mean similarity between them is well below the mean within each (``split_ratio``), and the
        group without the founder gets its own story (id from its first article). A wire report and
        its reprints would make their group look tighter than independent reports of one event do,
        so a pair of copies (``copy_similarity``) does not count in a mean within. Checked each time
        the story gains an article, from ``2 * split_min`` members to ``split_max_members``: a check
        skipped leaves a split to a later article, which may instead bridge the two groups.
        """
        s = self.settings
        items = story.items
        m = len(story.members)
        if not s.split or items is None or m < 2 * s.split_min:
            return
        sims, copies = self._pair_matrix(items, story.item_weights)
        found = _bipartition(sims, s.split_min, copies)
        if found is None:
            return
        first, between, within = found
        if between >= s.split_ratio * within:
            return
        keep = [it for it, f in zip(items, first, strict=True) if f]
        move = [it for it, f in zip(items, first, strict=True) if not f]
        self._rebuild(story, keep)
        new = self._found(move[0])
        self._rebuild(new, move)
        self._splits.append(
            StorySplit(kept=story.id, split_off=new.id, at_article=at_article, score=round(between, 4))
        )

    def _rebuild(self, story: _Story, items: list[ClusterItem]) -> None:
        story.members = []
        story.items = []
        story.item_weights = []
        story.vec_sum = np.zeros_like(items[0].vector)
        story.terms, story.unit_terms, story.entities, story.numbers, story.years = {}, {}, {}, {}, {}
        story.head_people = {}
        story.first_time = story.last_time = None
        for it in items:
            self._join(story, it, self._weights(it), refresh=False)
        story.indexed = None
        self._refresh(story)

    def _pair_matrix(
        self, items: list[ClusterItem], weights: list[np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Pairwise scores of a story's members, on the same scale as an article-story score, and
        the pairs that are copies of one report: title + lead embeddings at ``copy_similarity`` or
        closer (outlets reprinting one wire story under their own tails, which dedup keeps apart).
        """
        s = self.settings
        vectors = np.stack([it.vector for it in items])
        cosines = vectors @ vectors.T
        copies = cosines >= s.copy_similarity
        np.fill_diagonal(copies, False)
        sims = s.w_embedding * cosines
        sims += s.w_lexical * _gram([_weight_pairs(it, w) for it, w in zip(items, weights, strict=True)])
        ent_rows = [[(e, math.sqrt(self._term_idf(e, self._entity_df))) for e in it.entities] for it in items]
        shared = _gram(ent_rows)
        total = np.diag(shared).copy()
        share = np.divide(shared, total[:, None], out=np.zeros_like(shared), where=total[:, None] > 0)
        sims += s.w_entities * (share + share.T) / 2
        if s.w_numbers:
            numbers = _gram([[(n, 1.0) for n in it.numbers] for it in items])
            sims += s.w_numbers * np.minimum(numbers, 2.0) / 2.0
        sims -= s.year_penalty * _disjoint([it.years for it in items])
        if s.person_penalty:
            sims -= s.person_penalty * _disjoint([it.head_people for it in items])
        return np.asarray(sims), copies

    def _learn(self, item: ClusterItem) -> None:
        """Update online document frequencies after the item is placed (deterministic)."""
        self._docs += 1
        self._arrival[item.id] = len(self._arrival)
        if item.time is not None and (self._latest is None or item.time > self._latest):
            self._latest = item.time
            self._sweep()
        for t, _ in item.terms:
            self._df[t] = self._df.get(t, 0) + 1
        for e in item.entities:
            self._entity_df[e] = self._entity_df.get(e, 0) + 1


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
