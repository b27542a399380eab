"""Story statistics: a story's running sums and counts over its members, so memory stays per story.

Sums are only ever added to (``join``, ``absorb``): a story that loses a member is cleared and
rebuilt from the rest, and a member is scored without its share by taking it out of the sums at
scoring time (``storydesk.cluster.score``), never by changing the story.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from storydesk.cluster.items import ClusterItem


class Counted(Protocol):
    """What a story counts of its members: their unit term weights, signals and time span (the
    clusterer's ``StoryStats``, the Spark linker's window and linked stories)."""

    unit_terms: dict[str, float]
    entities: dict[str, int]
    numbers: dict[str, int]
    years: dict[str, int]
    head_people: dict[str, int]
    first_time: float | None
    last_time: float | None


def count_item(story: Counted, item: ClusterItem, weights: dict[str, float]) -> None:
    """Count one member into the story: its unit term weights, signals and time."""
    unit = story.unit_terms
    for t, w in weights.items():
        unit[t] = unit.get(t, 0.0) + w
    for bag, values in (
        (story.entities, item.entities),
        (story.numbers, item.numbers),
        (story.years, item.years),
        (story.head_people, item.head_people),
    ):
        for v in values:
            bag[v] = bag.get(v, 0) + 1
    if item.time is not None:
        widen(story, item.time, item.time)


def merge_counts(kept: Counted, gone: Counted) -> None:
    """Fold ``gone``'s unit term weights, signal counts and time span into ``kept``."""
    for t, w in gone.unit_terms.items():
        kept.unit_terms[t] = kept.unit_terms.get(t, 0.0) + w
    for src_bag, dst_bag in (
        (gone.entities, kept.entities),
        (gone.numbers, kept.numbers),
        (gone.years, kept.years),
        (gone.head_people, kept.head_people),
    ):
        for v, c in src_bag.items():
            dst_bag[v] = dst_bag.get(v, 0) + c
    widen(kept, gone.first_time, gone.last_time)


def widen(story: Counted, first: float | None, last: float | None) -> None:
    """Stretch the story's time span to take in ``first`` and ``last`` (None: nothing to take in)."""
    if first is not None:
        story.first_time = first if story.first_time is None else min(story.first_time, first)
    if last is not None:
        story.last_time = last if story.last_time is None else max(story.last_time, last)


@dataclass(slots=True)
class StoryStats:
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


class SharedPairs:
    """One tuple per distinct (term, count) pair, shared by every item a story keeps.

    Stories hold their members' items for split checks and consolidation. A real article has
    about a hundred terms, and most (term, count) pairs recur across articles: one tuple per
    distinct pair takes a fraction of what a tuple per pair per article would.
    """

    def __init__(self) -> None:
        self.pairs: dict[tuple[str, int], tuple[str, int]] = {}

    def kept(self, item: ClusterItem) -> ClusterItem:
        """The item as a story keeps it, its (term, count) pairs shared with every other kept item's."""
        pairs = self.pairs
        return dataclasses.replace(item, terms=tuple([pairs.setdefault(p, p) for p in item.terms]))


def join(
    story: StoryStats,
    item: ClusterItem,
    weights: dict[str, float],
    *,
    linkage: str,
    max_items: int,
    shared: SharedPairs,
) -> None:
    """Add a member: its id, its item while the story is small enough to keep them, its share of
    the sums and its time."""
    story.members.append(item.id)
    if story.items is not None:
        story.items.append(shared.kept(item))
        story.item_weights.append(np.fromiter(weights.values(), dtype=np.float64, count=len(weights)))
        if len(story.items) > max_items:
            story.items = None  # large stories are settled; stop paying for split checks
            story.item_weights = []
    _add_sums(story, item, weights, linkage)


def _add_sums(story: StoryStats, item: ClusterItem, weights: dict[str, float], linkage: str) -> None:
    """Add an item's share to the story's sums and counts.

    The raw term sums serve only centroid linkage; average linkage scores on ``unit_terms`` alone,
    so it does not keep them.
    """
    story.vec_sum += item.vector
    if linkage == "centroid":
        raw = story.terms
        for t, c in item.terms:
            raw[t] = raw.get(t, 0.0) + 1.0 + math.log(c)
    count_item(story, item, weights)


def absorb(kept: StoryStats, gone: StoryStats, *, max_items: int) -> None:
    """Fold ``gone``'s members, items, sums, counts and time span into ``kept``."""
    kept.members.extend(gone.members)
    if kept.items is not None and gone.items is not None:
        kept.items.extend(gone.items)
        kept.item_weights.extend(gone.item_weights)
    if kept.items is None or gone.items is None or len(kept.items) > max_items:
        kept.items = None
        kept.item_weights = []
    kept.vec_sum += gone.vec_sum
    for t, w in gone.terms.items():
        kept.terms[t] = kept.terms.get(t, 0.0) + w
    merge_counts(kept, gone)


def clear(story: StoryStats, like: np.ndarray) -> None:
    """Empty the story's members, items, sums and counts (``like``: a vector of the embedding's shape),
    to be rebuilt from the members it keeps."""
    story.members = []
    story.items = []
    story.item_weights = []
    story.vec_sum = np.zeros_like(like)
    story.terms, story.unit_terms, story.entities, story.numbers, story.years = {}, {}, {}, {}, {}
    story.head_people = {}
    story.first_time = story.last_time = None
