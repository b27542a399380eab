"""Term weights: online document frequencies of terms and entities, and the weights drawn from them.

A term's weight is its online IDF, a background IDF from general word frequencies, or their mean
(``cluster.idf``). The counts grow only after an article is placed (``learn``), so the same stream
gives the same weights.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from storydesk.cluster.items import ClusterItem


def _zipf(term: str) -> float:
    """Zipf frequency of a word or name in general English (0 for unknown words)."""
    from wordfreq import zipf_frequency

    return float(zipf_frequency(term, "en"))


class TermWeights:
    """Online document frequencies (terms and entities, counted apart) and the IDF drawn from them."""

    def __init__(self, mode: str) -> None:
        self.mode = mode  # ``cluster.idf``: online, background or blend
        self.df: dict[str, int] = {}
        self.entity_df: dict[str, int] = {}
        self.docs = 0
        self.background: dict[str, float] = {}  # term -> background IDF, cached (wordfreq is slow)

    def idf(self, term: str) -> float:
        """A lexical term's weight."""
        return self._idf(term, self.df)

    def entity_idf(self, entity: str) -> float:
        """An entity's weight, from the entity counts."""
        return self._idf(entity, self.entity_df)

    def _idf(self, term: str, df: Mapping[str, int]) -> float:
        """Term weight: online IDF, a background IDF from general word frequencies, or their mean.

        The background (wordfreq Zipf) weight knows from the first article that a name is rarer than
        a common word, which online counts learn only after many articles.
        """
        mode = self.mode
        background = 0.0
        if mode != "online":
            cached = self.background.get(term)
            if cached is None:
                cached = self.background[term] = max(0.5, 7.5 - _zipf(term))
            if mode == "background":
                return cached
            background = cached
        online = math.log((self.docs + 1) / (df.get(term, 0) + 1)) + 1.0
        return online if mode == "online" else (online + background) / 2

    def weights(self, item: ClusterItem) -> dict[str, float]:
        """Item-side term weights (sublinear tf x online idf), L2-normalised."""
        weights = {t: (1.0 + math.log(c)) * self.idf(t) for t, c in item.terms}
        norm = math.sqrt(sum(w * w for w in weights.values()))
        return {t: w / norm for t, w in weights.items()} if norm > 0 else {}

    def entity_idfs(self, item: ClusterItem) -> dict[str, float]:
        """The item's entity weights, computed once per ranking rather than once per candidate."""
        return {e: self.entity_idf(e) for e in item.entities}

    def norm(self, raw: Mapping[str, float]) -> float:
        """The TF-IDF norm of raw term sums (a story's, for centroid linkage)."""
        return math.sqrt(sum((w * self.idf(t)) ** 2 for t, w in raw.items()))

    def learn(self, item: ClusterItem) -> None:
        """Count the item's terms and entities, after it is placed (deterministic)."""
        self.docs += 1
        for t, _ in item.terms:
            self.df[t] = self.df.get(t, 0) + 1
        for e in item.entities:
            self.entity_df[e] = self.entity_df.get(e, 0) + 1
