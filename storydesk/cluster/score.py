"""Scores: how well an article fits a story, and how well a story's members fit one another.

An article's score against a story is a weighted sum of embedding similarity, TF-IDF similarity,
entity overlap and shared numbers, minus penalties for conflicting years and for a title naming other
protagonists than the story's titles do (``score_against``). The same parts, pair by pair, score a
story's members against one another (``pair_matrix``), which splits and reunions compare.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from storydesk.cluster.items import ClusterItem
from storydesk.cluster.stats import StoryStats
from storydesk.cluster.terms import TermWeights
from storydesk.config import ClusterSettings
from storydesk.models import Explanation


@dataclass(slots=True)
class Scored:
    """One candidate story's score for an article, with the parts an explanation shows."""

    story: StoryStats
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


def needed(scored: Scored, item: ClusterItem, settings: ClusterSettings) -> float:
    """The join threshold: higher for a dormant story, lower for a short (headline-only) item.

    A headline shares fewer words and names with its story than a full article does, so its
    scores run lower; ``short_discount`` scales down as the item's distinct terms approach 20.
    """
    s = settings
    short = max(0.0, 1.0 - len(item.terms) / 20.0)
    return s.threshold - s.short_discount * short + (s.reopen_margin if scored.dormant else 0.0)


def score_against(
    item: ClusterItem,
    story: StoryStats,
    weights: dict[str, float],
    entity_idf: dict[str, float],
    settings: ClusterSettings,
    terms: TermWeights,
    *,
    member: bool = False,
) -> Scored:
    """The item's score against the story; ``member``: the item is one of the story's members,
    scored against the story without it (its share taken out of the sums and counts here, not
    by changing the story)."""
    s = settings
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
        emb, lex = _centroid_similarity(item, story, weights, terms, member=member)
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
    person_conflict = _person_conflict(item, story, member=member)
    score = (
        s.w_embedding * emb
        + s.w_lexical * lex
        + s.w_entities * ent
        + s.w_numbers * min(len(shared_numbers), 2) / 2
        - s.year_penalty * year_conflict
        - s.person_penalty * person_conflict
    )
    parts = (emb, lex, ent, float(len(shared_numbers)), year_conflict, person_conflict)
    return Scored(story, score, parts, shared, shared_numbers, gap, dormant)


def _centroid_similarity(
    item: ClusterItem, story: StoryStats, weights: dict[str, float], terms: TermWeights, *, member: bool
) -> tuple[float, float]:
    """Centroid linkage: the embedding cosine and the TF-IDF cosine of the item with the story's
    sums (``member``: with the item's own share taken out of them)."""
    vec_sum = story.vec_sum - item.vector if member else story.vec_sum
    norm = float(np.linalg.norm(vec_sum))
    emb = float(np.dot(item.vector, vec_sum)) / norm if norm > 0 else 0.0
    raw = {t: 1.0 + math.log(c) for t, c in item.terms} if member else {}
    idf = {t: terms.idf(t) for t in weights.keys() | raw.keys()}
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


def _person_conflict(item: ClusterItem, story: StoryStats, *, member: bool = False) -> float:
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


def explain(best: Scored, runner: Scored | None, *, new_story: bool) -> Explanation:
    """The explanation of an article placed in ``best``'s story, ``runner`` the next best."""
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


def explain_new(best: Scored | None) -> Explanation:
    """The explanation of an article that founded a story, ``best`` the candidate it did not join."""
    return Explanation(
        similarity=best.components["embedding"] if best else 0.0,
        runner_up=best.story.id if best else None,
        runner_up_score=round(best.score, 4) if best else None,
        time_gap_days=best.gap if best else None,
        score=0.0,
        new_story=True,
        components=best.components if best else {},
    )


# --- members against one another ---------------------------------------------------------------


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


def weight_pairs(item: ClusterItem, weights: np.ndarray) -> Iterable[tuple[str, float]]:
    """An item's stored term weights (an array in ``item.terms`` order) as (term, weight) pairs."""
    if not weights.size:  # an item without terms
        return ()
    return zip((t for t, _ in item.terms), weights.tolist(), strict=True)


def pair_matrix(
    items: list[ClusterItem], weights: list[np.ndarray], settings: ClusterSettings, terms: TermWeights
) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise scores of a story's members, on the same scale as an article-story score, and
    the pairs that are copies of one report: title + lead embeddings at ``copy_similarity`` or
    closer (outlets reprinting one wire story under their own tails, which dedup keeps apart).
    """
    s = settings
    vectors = np.stack([it.vector for it in items])
    cosines = vectors @ vectors.T
    copies = cosines >= s.copy_similarity
    np.fill_diagonal(copies, False)
    sims = s.w_embedding * cosines
    sims += s.w_lexical * _gram([weight_pairs(it, w) for it, w in zip(items, weights, strict=True)])
    ent_rows = [[(e, math.sqrt(terms.entity_idf(e))) for e in it.entities] for it in items]
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


def between_bound(
    a: StoryStats,
    b: StoryStats,
    profiles: dict[str, dict[str, float]],
    settings: ClusterSettings,
    terms: TermWeights,
) -> float:
    """An upper bound of the mean pairwise score between two stories' articles, from their sums.

    The embedding and lexical means are exact (dot products of the sums); so is the entity
    share, through each story's profile (entity -> the sum over its articles naming it of the
    entity's idf over the article's total, cached in ``profiles``); the numbers term is bounded by
    half the mean number shared, and the year and person penalties, which only lower a score, are
    left out.
    """
    s = settings
    pairs = len(a.members) * len(b.members)
    for story in (a, b):
        if story.id not in profiles:
            profile: dict[str, float] = {}
            assert story.items is not None
            for it in story.items:
                idf = terms.entity_idfs(it)
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
        s.w_embedding * emb + s.w_lexical * lex + s.w_entities * ent + s.w_numbers * min(1.0, numbers) + 1e-6
    )
