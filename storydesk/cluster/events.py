"""What the clusterer did to stories besides placing articles: merges, splits and moves, in order.

A merge is a ``storydesk.models.StoryMerge`` (the store and the API show it); a split and a move are
the clusterer's own records, kept for the stream to report and rewrite.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from storydesk.models import StoryMerge


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


@dataclass(slots=True)
class Events:
    """The clusterer's merges, splits and moves so far, each list in the order they happened."""

    merges: list[StoryMerge] = field(default_factory=list)
    splits: list[StorySplit] = field(default_factory=list)
    moves: list[StoryMove] = field(default_factory=list)
