"""Linking the stories of time windows into multi-day stories, the way EMM links daily clusters.

With ``--stories windows`` each time window is clustered in its own task. The window stories are
then linked in time order by the online clusterer's own tests, lifted from an article to a window
story:

- **assignment**: a window story's score against a linked story is the mean, over its articles, of
  the score the clusterer gives an article against a story (average linkage: embedding cosine,
  TF-IDF cosine and entity share, each a mean over the story's members; shared numbers; the year
  and protagonist penalties). It must pass the clusterer's join threshold (``cluster.threshold``,
  lowered for headline-only articles by ``short_discount``, raised by ``reopen_margin`` for a story
  idle longer than ``cluster.window_days``), and the split test as the clusterer would run it while
  the window story's articles joined one by one (``split_min``, ``split_ratio``). Candidates come
  from a nearest-neighbour index over the linked stories' centroids, dormant ones included (the
  clusterer reopens a dormant story); the best passing one takes it, and a second one that passes
  ``merge_threshold`` merges into it.
- **split**: a linked story that gained a window story gets the clusterer's split check (its
  ``bipartition`` of the articles); when it splits, the window stories mostly in the later group
  form a linked story of their own.

A linked story keeps sums (vectors, term weights, entity, number, year and protagonist counts) and,
while it has at most ``split_max_members`` articles, the articles' features for the split test, as
the clusterer's stories do. The linking costs one scoring per window story and candidate, not per
article, and runs as one task over the window stories. Term and entity weights are the clusterer's
background IDF (wordfreq Zipf), known without counts, so the same in every window.

Not fitted to a data set: every number used is one of the clusterer's settings.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from storydesk import cluster as cluster_stage
from storydesk.cluster import ClusterItem
from storydesk.cluster.split import bipartition  # the clusterer's own split partition
from storydesk.cluster.stats import count_item, merge_counts  # the clusterer's own sums
from storydesk.config import ClusterSettings

__all__ = ["Linker", "WindowStory", "link_window_stories"]


@functools.cache
def _idf(term: str) -> float:
    """The clusterer's background IDF of a term or name (``cluster.idf = background``)."""
    from wordfreq import zipf_frequency

    return max(0.5, 7.5 - float(zipf_frequency(term, "en")))


def _unit_weights(item: ClusterItem) -> dict[str, float]:
    """Sublinear tf x background idf, L2-normalised: an article's TF-IDF vector in the clusterer."""
    weights = {t: (1.0 + math.log(c)) * _idf(t) for t, c in item.terms}
    norm = math.sqrt(sum(w * w for w in weights.values()))
    return {t: w / norm for t, w in weights.items()} if norm > 0 else {}


@dataclass(frozen=True, slots=True)
class WindowStory:
    """One story of one window: its owned articles' items in time order."""

    window: int
    id: str
    items: tuple[ClusterItem, ...]
    first: tuple[float, int]  # (arrival key, ingest order) of its first article: the linking order


@dataclass(slots=True)
class _Linked:
    """A story's sums: what scoring an article against it needs, per story, not per article. Both a
    window story (a part) and a linked story (the parts linked so far) are kept this way."""

    key: int
    name: tuple[int, str]  # (window, story id) of the window story, or of a linked story's founder
    first: tuple[float, int] = (math.inf, 0)  # (arrival key, ingest order) of its first article
    size: int = 0
    vec_sum: np.ndarray | None = None
    unit_terms: dict[str, float] = field(default_factory=dict)
    entities: dict[str, int] = field(default_factory=dict)
    numbers: dict[str, int] = field(default_factory=dict)
    years: dict[str, int] = field(default_factory=dict)
    head_people: dict[str, int] = field(default_factory=dict)
    first_time: float | None = None
    last_time: float | None = None
    # its articles (with their term weights) while it is small enough for the clusterer's split
    # test, ``split_max_members``; None past that: settled, as the clusterer settles large stories
    items: list[tuple[ClusterItem, dict[str, float]]] | None = field(default_factory=list)

    def add(self, item: ClusterItem, weights: dict[str, float], keep: int) -> None:
        self.size += 1
        if self.items is not None:
            self.items.append((item, weights))
            if len(self.items) > keep:
                self.items = None
        vec = item.vector.astype(np.float64)
        self.vec_sum = vec.copy() if self.vec_sum is None else self.vec_sum + vec
        count_item(self, item, weights)

    def absorb(self, other: _Linked, keep: int) -> None:
        self.size += other.size
        self.first = min(self.first, other.first)
        if self.items is not None and other.items is not None and self.size <= keep:
            self.items = self.items + other.items
        else:
            self.items = None
        if other.vec_sum is not None:
            self.vec_sum = other.vec_sum.copy() if self.vec_sum is None else self.vec_sum + other.vec_sum
        merge_counts(self, other)

    def centroid(self) -> np.ndarray:
        assert self.vec_sum is not None
        norm = float(np.linalg.norm(self.vec_sum))
        return (self.vec_sum / norm if norm > 0 else self.vec_sum).astype(np.float32)


class Linker:
    """Window stories in time order -> linked stories (see the module docstring)."""

    def __init__(self, settings: ClusterSettings) -> None:
        self.settings = settings
        self._linked: dict[int, _Linked] = {}  # live linked stories by key
        self._parts: dict[int, list[_Linked]] = {}  # a linked story's window stories, in time order
        self._where: dict[tuple[int, str], int] = {}  # window story -> its linked story's key
        self._index: cluster_stage.VectorIndex | None = None
        self._keys = 0
        self.links = 0  # window stories that joined an earlier linked story
        self.merges = 0  # linked stories merged by a window story that fitted both
        self.splits = 0  # linked stories split in two by the clusterer's split check

    def add(self, story: WindowStory) -> None:
        """Link one window story (in time order): it joins the best linked story that passes the
        assignment test and the split test, or founds one."""
        s = self.settings
        part = _Linked(key=-1, name=(story.window, story.id), first=story.first)
        pairs = [(it, _unit_weights(it)) for it in story.items]
        for it, w in pairs:
            part.add(it, w, s.split_max_members)
        if self._index is None:
            self._index = cluster_stage.make_index(s, int(pairs[0][0].vector.shape[0]))
        passed = self._passing(part, pairs)
        if passed:
            target = self._linked[passed[0][2]]
            self._join(target, part)
            self.links += 1
            self._maybe_split(target)
            for score, needed, key in passed[1:]:
                dormant = needed > s.threshold  # the reopen margin was added
                if score >= s.merge_threshold + (s.reopen_margin if dormant else 0) and key in self._linked:
                    self._merge(target, self._linked[key])
        else:
            target = _Linked(key=self._keys, name=part.name)
            self._keys += 1
            self._linked[target.key] = target
            self._parts[target.key] = []
            self._join(target, part)

    def _passing(
        self, part: _Linked, pairs: Sequence[tuple[ClusterItem, dict[str, float]]], leave_out: int = -1
    ) -> list[tuple[float, float, int]]:
        """(score, needed, key) of the candidate linked stories that would take ``part``, best first."""
        assert self._index is not None
        if not len(self._index) or part.vec_sum is None or not np.linalg.norm(part.vec_sum):
            return []
        scored = []
        for key in self._index.search(part.centroid(), self.settings.candidates):
            linked = self._linked.get(key)
            if linked is None or key == leave_out:
                continue
            score, needed = self._score(pairs, linked)
            if score >= needed and self._one_event(part, linked):
                scored.append((score, needed, key))
        return sorted(scored, key=lambda x: (-x[0], x[2]))

    def _join(self, target: _Linked, part: _Linked) -> None:
        target.absorb(part, self.settings.split_max_members)
        self._parts[target.key].append(part)
        self._where[part.name] = target.key
        assert self._index is not None
        self._index.upsert(target.key, target.centroid())

    def _merge(self, kept: _Linked, gone: _Linked) -> None:
        kept.absorb(gone, self.settings.split_max_members)
        for part in self._parts.pop(gone.key):
            self._parts[kept.key].append(part)
            self._where[part.name] = kept.key
        self._parts[kept.key].sort(key=lambda p: p.first)
        assert self._index is not None
        self._index.remove(gone.key)
        self._index.upsert(kept.key, kept.centroid())
        del self._linked[gone.key]
        self.merges += 1

    def _maybe_split(self, linked: _Linked) -> None:
        """The clusterer's split check on a linked story that just gained a window story: when its
        articles form two groups far closer within than between, the window stories whose articles
        are mostly in the later group become a linked story of their own."""
        s = self.settings
        parts = self._parts[linked.key]
        if not s.split or linked.items is None or len(parts) < 2 or len(linked.items) < 2 * s.split_min:
            return
        items = [pair for p in parts for pair in (p.items or [])]
        if len(items) != len(linked.items):
            return
        sims, copies = _pair_matrix(items, s)
        found = bipartition(sims, s.split_min, copies)
        if found is None:
            return
        first, between, within = found
        if between >= s.split_ratio * within:
            return
        keep: list[_Linked] = []
        move: list[_Linked] = []
        at = 0
        for p in parts:
            n = len(p.items or [])
            (keep if first[at : at + n].mean() >= 0.5 else move).append(p)
            at += n
        if not keep or not move:
            return
        self._rebuild(linked.key, keep)
        new = _Linked(key=self._keys, name=move[0].name)
        self._keys += 1
        self._linked[new.key] = new
        self._parts[new.key] = []
        for p in move:
            self._join(new, p)
        self.splits += 1

    def _rebuild(self, key: int, parts: list[_Linked]) -> _Linked:
        linked = _Linked(key=key, name=parts[0].name)
        for part in parts:
            linked.absorb(part, self.settings.split_max_members)
        self._linked[key] = linked
        self._parts[key] = parts
        assert self._index is not None
        self._index.upsert(key, linked.centroid())
        return linked

    def _one_event(self, a: _Linked, b: _Linked) -> bool:
        """The clusterer's split test, as it would run while ``a``'s articles join ``b`` one by one:
        once ``split_min`` of them have joined, and after each one more, the two groups must not be
        far closer within than between (``split_ratio``). Checked, as the clusterer checks, while
        both are small enough to keep their articles (``split_max_members``)."""
        s = self.settings
        if not s.split or a.items is None or b.items is None:
            return True
        if len(a.items) < s.split_min or len(b.items) < s.split_min:
            return True
        sims, copies = _pair_matrix(b.items + a.items, s)
        n = len(b.items)
        within_b = _mean_within(sims[:n, :n], copies[:n, :n])
        for k in range(n + s.split_min, min(len(sims), s.split_max_members) + 1):
            between = float(sims[:n, n:k].mean())
            within = min(within_b, _mean_within(sims[n:k, n:k], copies[n:k, n:k]))
            if within > 0 and between < s.split_ratio * within:
                return False
        return True

    def _score(
        self, pairs: Sequence[tuple[ClusterItem, dict[str, float]]], linked: _Linked
    ) -> tuple[float, float]:
        """The mean over ``pairs``' articles of the clusterer's average-linkage score of each
        against ``linked``, and the mean threshold they must pass."""
        s = self.settings
        assert linked.vec_sum is not None
        size = linked.size
        core = {p for p, n in linked.head_people.items() if n >= max(2.0, size / 2)}
        times = [it.time for it, _ in pairs if it.time is not None]
        gap = None if linked.last_time is None or not times else min(times) - linked.last_time
        dormant = gap is not None and abs(gap) > s.window_days
        total = needed = 0.0
        for item, w in pairs:
            emb = float(np.dot(item.vector, linked.vec_sum)) / size
            lex = sum([v * linked.unit_terms.get(t, 0.0) for t, v in w.items()]) / size
            ent = 0.0
            if item.entities:
                idf = {e: _idf(e) for e in item.entities}
                hits = sum(idf[e] * linked.entities.get(e, 0) for e in item.entities)
                ent = hits / sum(idf.values()) / size
            shared_numbers = sum(1 for n in item.numbers if linked.numbers.get(n, 0) > 0)
            years = bool(item.years and linked.years and not any(y in linked.years for y in item.years))
            person = bool(item.head_people and core and core.isdisjoint(item.head_people))
            total += (
                s.w_embedding * emb
                + s.w_lexical * lex
                + s.w_entities * ent
                + s.w_numbers * min(shared_numbers, 2) / 2
                - s.year_penalty * years
                - s.person_penalty * person
            )
            needed += s.threshold - s.short_discount * max(0.0, 1.0 - len(item.terms) / 20.0)
        n = len(pairs)
        return total / n, needed / n + (s.reopen_margin if dormant else 0.0)

    def names(self) -> dict[tuple[int, str], tuple[int, str]]:
        """Window story -> the first window story of its linked story."""
        return {part.name: parts[0].name for parts in self._parts.values() for part in parts}


def _gram(rows: Sequence[dict[str, float]]) -> np.ndarray:
    """Dot products of sparse rows through a small dense matrix."""
    vocab: dict[str, int] = {}
    for row in rows:
        for k in row:
            vocab.setdefault(k, len(vocab))
    dense = np.zeros((len(rows), max(1, len(vocab))))
    for r, row in enumerate(rows):
        for k, v in row.items():
            dense[r, vocab[k]] = v
    return dense @ dense.T


def _disjoint(rows: Sequence[Iterable[str]]) -> np.ndarray:
    shared = _gram([dict.fromkeys(row, 1.0) for row in rows])
    named = np.diag(shared) > 0
    return (named[:, None] & named[None, :]) & (shared == 0)


def _pair_matrix(
    items: Sequence[tuple[ClusterItem, dict[str, float]]], s: ClusterSettings
) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise article scores on the clusterer's scale (as its split test computes them), and the
    pairs that are copies of one report (title + lead embeddings at ``copy_similarity``)."""
    vectors = np.stack([it.vector for it, _ in items]).astype(np.float64)
    cosines = vectors @ vectors.T
    copies = cosines >= s.copy_similarity
    np.fill_diagonal(copies, False)
    sims = s.w_embedding * cosines + s.w_lexical * _gram([w for _, w in items])
    shared = _gram([{e: math.sqrt(_idf(e)) for e in it.entities} for it, _ in items])
    total = np.diag(shared).copy()
    share = np.divide(shared, total[:, None], out=np.zeros_like(shared), where=total[:, None] > 0)
    sims += s.w_entities * (share + share.T) / 2
    if s.w_numbers:
        numbers = _gram([dict.fromkeys(it.numbers, 1.0) for it, _ in items])
        sims += s.w_numbers * np.minimum(numbers, 2.0) / 2.0
    sims -= s.year_penalty * _disjoint([it.years for it, _ in items])
    if s.person_penalty:
        sims -= s.person_penalty * _disjoint([it.head_people for it, _ in items])
    return sims, copies


def _mean_within(sims: np.ndarray, copies: np.ndarray) -> float:
    """The mean pairwise score of a group, its diagonal and (unless that is all) its copies left out."""
    pairs = ~np.eye(len(sims), dtype=bool)
    if (kept := pairs & ~copies).any():
        pairs = kept
    return float(sims[pairs].mean())


def link_window_stories(
    stories: Iterable[WindowStory], settings: ClusterSettings
) -> Iterator[tuple[tuple[int, str], tuple[int, str]]]:
    """(window story, founder of its linked story) for every window story, linked in time order."""
    linker = Linker(settings)
    for story in sorted(stories, key=lambda x: (x.first, x.window, x.id)):
        linker.add(story)
    yield from sorted(linker.names().items())
