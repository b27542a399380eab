"""Tiers: the two nearest-neighbour indexes a story's centroid is filed in, active and dormant.

A story idle for ``window_days`` before the newest article seen goes dormant: its centroid moves to
the dormant index, searched only when no active story fits (or for an undated article), so an
article that continues a running story pays one search of a window-sized index however many stories
have gone dormant. A story that gains an article is filed again where it belongs.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping

import numpy as np

from storydesk.cluster.index import VectorIndex, make_index
from storydesk.cluster.stats import StoryStats
from storydesk.config import ClusterSettings


class Tiers:
    """The active and dormant indexes of story centroids, and the timeline that moves stories between."""

    def __init__(self, settings: ClusterSettings) -> None:
        self.settings = settings
        self.active: VectorIndex | None = None  # centroids of the active stories
        self.dormant: VectorIndex | None = None  # and of the dormant ones, searched when no active one fits
        self.idle: list[tuple[float, int]] = []  # heap of (last article time, story key): who goes dormant
        self.latest: float | None = None  # the newest article time seen
        self.dormant_searches = 0  # dormant-index searches: no active story fitted (add or consolidate)

    def open(self, ndim: int) -> None:
        """Make the indexes on the first item, when the embedding's size is known."""
        if self.active is None:
            self.active = make_index(self.settings, ndim)
            self.dormant = make_index(self.settings, ndim)

    def search(self, vector: np.ndarray, *, dormant: bool = False) -> list[int]:
        """The keys of the stories nearest ``vector`` in one tier (none while it is empty)."""
        index = self.dormant if dormant else self.active
        if index is None or not len(index):
            return []
        return index.search(vector, self.settings.candidates)

    def holding(self, story: StoryStats) -> VectorIndex:
        """The index that holds the story's centroid."""
        index = self.dormant if story.dormant else self.active
        assert index is not None
        return index

    def idle_at(self, story: StoryStats) -> bool:
        """Idle for ``window_days`` before the newest article seen: belongs in the dormant index."""
        latest = self.latest
        return (
            latest is not None
            and story.last_time is not None
            and latest - story.last_time > self.settings.window_days
        )

    def see(self, time: float | None, by_key: Mapping[int, StoryStats]) -> None:
        """Note an article's time; when it is the newest yet, stories idle past the window go dormant."""
        if time is not None and (self.latest is None or time > self.latest):
            self.latest = time
            self._sweep(by_key)

    def _sweep(self, by_key: Mapping[int, StoryStats]) -> None:
        """Move stories idle past the window from the active to the dormant index (amortised O(log n))."""
        latest = self.latest
        if latest is None:
            return
        cutoff = latest - self.settings.window_days
        while self.idle and self.idle[0][0] < cutoff:
            _, key = heapq.heappop(self.idle)
            story = by_key.get(key)
            if story is not None and not story.dormant and self.idle_at(story):
                self._refile(story)

    def file(self, story: StoryStats) -> None:
        """File the story where it now belongs; re-index its centroid when it has drifted."""
        centroid = story.centroid()
        if story.last_time is not None:
            heapq.heappush(self.idle, (story.last_time, story.key))
        if story.dormant != self.idle_at(story):  # reopened, or joined only by old articles
            story.indexed = None
            self._refile(story)
        elif (
            story.indexed is None or float(np.dot(story.indexed, centroid)) < self.settings.reindex_similarity
        ):
            self.holding(story).upsert(story.key, centroid)
            story.indexed = centroid.copy()

    def _refile(self, story: StoryStats) -> None:
        """Move the story's centroid to the other index (active <-> dormant)."""
        self.holding(story).remove(story.key)
        story.dormant = not story.dormant
        centroid = story.centroid() if story.indexed is None else story.indexed
        self.holding(story).upsert(story.key, centroid)
        story.indexed = centroid.copy()

    def remove(self, story: StoryStats) -> None:
        """Take a story that is gone out of its index."""
        self.holding(story).remove(story.key)
