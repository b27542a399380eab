"""Splits: a story whose members form two groups much closer within than between holds two events.

Early in a stream the first article of a second, similar event (another earthquake) can join the
first event's story, and its followers join it there. Once both groups have a few members, the mean
similarity between them is well below the mean within each (``split_ratio``), and the group without
the founder gets its own story. The pairs that are one report reprinted do not count in a mean
within (``mean_within``).
"""

from __future__ import annotations

import numpy as np

from storydesk.cluster.items import ClusterItem
from storydesk.cluster.score import pair_matrix
from storydesk.cluster.stats import StoryStats
from storydesk.cluster.terms import TermWeights
from storydesk.config import ClusterSettings


def mean_within(sims: np.ndarray, copies: np.ndarray | None = None) -> float:
    """The mean pairwise score of a group (two members or more), its diagonal left out.

    ``copies`` marks the pairs that are one report reprinted (see ``score.pair_matrix``): they are
    left out too, so a wire report and its reprints do not look tighter than independent reports of
    one event. A group whose every pair is a copy keeps them all.
    """
    n = len(sims)
    pairs = ~np.eye(n, dtype=bool)
    if copies is not None and (kept := pairs & ~copies).any():
        pairs = kept
    return float(sims[pairs].mean())


def bipartition(
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
        within = min(mean_within(sims[b], None if copies is None else copies[b]) for b in blocks)
        between = float(sims[np.ix_(group, ~group)].mean())
        if within <= 0:
            continue
        ratio = between / within
        if best is None or ratio < best[0]:
            best = (ratio, group.copy(), between, float(within))
    return None if best is None else (best[1], best[2], best[3])


def find_split(
    story: StoryStats, settings: ClusterSettings, terms: TermWeights
) -> tuple[list[ClusterItem], list[ClusterItem], float] | None:
    """The story's members in two events: the founder's group, the later group and the mean score
    between them; None when the story holds one event (or is not checked).

    Checked from ``2 * split_min`` members to ``split_max_members`` (past that a story no longer
    keeps its items): a check skipped leaves a split to a later article, which may instead bridge
    the two groups.
    """
    s = settings
    items = story.items
    if not s.split or items is None or len(story.members) < 2 * s.split_min:
        return None
    sims, copies = pair_matrix(items, story.item_weights, s, terms)
    found = bipartition(sims, s.split_min, copies)
    if found is None:
        return None
    first, between, within = found
    if between >= s.split_ratio * within:
        return None
    keep = [it for it, f in zip(items, first, strict=True) if f]
    move = [it for it, f in zip(items, first, strict=True) if not f]
    return keep, move, between
