"""Consolidation: the end-of-batch second look at the articles of small stories.

One online pass commits each article on what its story held when it arrived: an early article of a
second event can found or join the wrong story before that event's own articles exist. ``consolidate``
revisits those articles and moves each to a story that fits it clearly better; ``reunite`` then
merges two stories that would not be split were they one. Both work on an ``OnlineClusterer``
through the same steps ``add`` takes (ranking, joining, merging), so a second look scores exactly as
a first one does.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

from storydesk.cluster.events import StoryMove
from storydesk.cluster.items import ClusterItem
from storydesk.cluster.score import Scored, between_bound, explain, needed, pair_matrix, weight_pairs
from storydesk.cluster.split import mean_within
from storydesk.cluster.stats import StoryStats
from storydesk.models import Explanation

if TYPE_CHECKING:
    from storydesk.cluster.online import OnlineClusterer


def consolidate(clusterer: OnlineClusterer, rounds: int | None = None) -> list[tuple[StoryMove, Explanation]]:
    """Take a second look at every article of the stories small enough to still hold their items.

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
    be split were they one are merged (``reunite``). Deterministic, like ``add``.
    Returns each move with the explanation of the article's new place.
    """
    c = clusterer
    s = c.settings
    out: list[tuple[StoryMove, Explanation]] = []
    looked: dict[str, tuple[int, dict[str, Scored | None]]] = {}  # article -> (step, its scores then)
    touched: dict[str, int] = {}  # story -> the step that last moved an article in or out of it
    changed: set[str] = set()  # the stories the round before touched
    step = 0
    for round_ in range(s.consolidate_rounds if rounds is None else rounds):
        start = step
        pending = [
            it
            for story in c._stories.values()
            if story.items is not None and not c._tiers.idle_at(story)
            for it in story.items
            if round_ == 0 or not changed.isdisjoint(looked[it.id][1] if it.id in looked else (story.id,))
        ]
        pending.sort(key=lambda it: c._arrival[it.id])
        for item in pending:
            step += 1
            at, before = looked.get(item.id, (step, {}))
            known = {sid: x for sid, x in before.items() if touched.get(sid, -1) < at}
            found, scores = c._reconsider(item, c._stories[c.story_of(item.id)], known)
            looked[item.id] = (step, scores)
            if found is not None:
                out.append(found)
                move = found[0]
                touched[move.from_story] = touched[move.to_story] = step
        changed = {sid for sid, at in touched.items() if at > start}
        if not changed:
            break
    if s.reunite:
        reunite(c)
    return out


def reconsider(
    clusterer: OnlineClusterer, item: ClusterItem, story: StoryStats, known: Mapping[str, Scored | None]
) -> tuple[tuple[StoryMove, Explanation] | None, dict[str, Scored | None]]:
    """Move ``item`` out of ``story`` when another candidate fits it clearly better.

    ``known``: scores of the item still valid from its last look, by story id, taken as they are.
    Returns the move (None when it stays) and the item's scores now, by story id: its own
    story's without it (None when it is the story's only member), then its candidates'.
    """
    c = clusterer
    s = c.settings
    assert story.items is not None
    at = next(i for i, it in enumerate(story.items) if it.id == item.id)
    weights = dict(weight_pairs(item, story.item_weights[at]))
    if story.id in known:
        own = known[story.id]
    else:
        own = None
        if len(story.members) > 1:  # its own story's score without it
            own = c._score(item, story, weights, c._terms.entity_idfs(item), member=True)
    held = own is not None and own.score >= needed(own, item, s)  # an active story that takes it
    scored = c._ranked(item, weights, leave_out=story, known=known, held=held)
    scores: dict[str, Scored | None] = {story.id: own, **{x.story.id: x for x in scored}}
    best = scored[0] if scored else None
    own_score = own.score if own is not None else -math.inf
    if best is None or best.score < needed(best, item, s) or best.score <= own_score + s.move_margin:
        return None, scores
    rest = [it for it in story.items if it.id != item.id]
    if rest:
        c._rebuild(story, rest)
    target = best.story
    c._join(target, item, weights)
    if not rest:  # the article was the story's only member: the story is gone
        c._retire(story, target, item.id, best.score)
    move = StoryMove(
        article=item.id,
        from_story=story.id,
        to_story=target.id,
        score=round(best.score, 4),
        previous_score=round(own_score, 4) if own is not None else 0.0,
    )
    c._events.moves.append(move)
    explanation = explain(best, own, new_story=False)
    # The runner-up is now the story it left; "moved" marks an assignment made on the second look.
    moved = dataclasses.replace(explanation, components={**explanation.components, "moved": 1.0})
    return (move, moved), scores


def reunite(clusterer: OnlineClusterer) -> None:
    """Merge two stories that, were they one, would not be split: the pieces of one event.

    A split, or two early articles that founded stories of their own, can leave one event in two
    stories whose every article fits its own piece best, so no move joins them. Two small active
    stories (each with ``split_min`` articles or more, together at most ``split_max_members``)
    are one story when the mean score between their articles passes the join threshold and is
    at least ``split_ratio`` times the lower mean within either (copies left out): the split
    test, passed. Stories are taken oldest first, each against its nearest stories in the active
    index; the larger keeps its id, and the merge is recorded at the newest article of the two.
    The mean between is first bounded from above with the stories' sums (``between_bound``):
    few pairs need their articles scored pair by pair.
    """
    c = clusterer
    s = c.settings
    within: dict[str, float] = {}  # story -> mean score within, while it is unchanged
    profiles: dict[str, dict[str, float]] = {}

    def small(story: StoryStats) -> bool:
        return story.items is not None and len(story.members) >= s.split_min and not c._tiers.idle_at(story)

    def within_of(story: StoryStats) -> float:
        if story.id not in within:
            assert story.items is not None
            within[story.id] = mean_within(*pair_matrix(story.items, story.item_weights, s, c._terms))
        return within[story.id]

    for story in sorted(c._stories.values(), key=lambda x: c._order[x.id]):
        active = c._tiers.active
        if story.id not in c._stories or not small(story) or active is None:
            continue
        for key in active.search(story.centroid(), s.candidates):
            other = c._by_key.get(key)
            if other is None or other is story or not small(other):
                continue
            assert story.items is not None and other.items is not None
            if len(story.items) + len(other.items) > s.split_max_members:
                continue
            bound = between_bound(story, other, profiles, s, c._terms)
            if bound < s.threshold:
                continue
            need = max(s.threshold, s.split_ratio * min(within_of(story), within_of(other)))
            if bound < need:
                continue
            sims, _ = pair_matrix(
                story.items + other.items, story.item_weights + other.item_weights, s, c._terms
            )
            between = float(sims[: len(story.items), len(story.items) :].mean())
            if between >= need:
                last = max(story.members + other.members, key=lambda a: c._arrival[a])
                story = c._merge(story, other, last, between)
                for sid in (story.id, other.id):
                    within.pop(sid, None)
                    profiles.pop(sid, None)
                if not small(story):
                    break
