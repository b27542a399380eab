"""Online story clustering: an article stream, in arrival order, becomes story assignments.

- ``items``: ``ClusterItem``, what the clusterer needs of one article (persistable), and the
  lexical and time features read from the article itself;
- ``featurize``: ``Featurizer``, batched title + lead embeddings and NER over the lead;
- ``index``: nearest-neighbour indexes over story centroids (exact, usearch, hnswlib);
- ``terms``: ``TermWeights``, online document frequencies and the IDF drawn from them;
- ``stats``: ``StoryStats``, a story's running sums and counts over its members;
- ``tiers``: ``Tiers``, the active and dormant indexes and the timeline that moves stories between;
- ``score``: an article's score against a story, and a story's members against one another;
- ``split``: a story whose members form two events;
- ``consolidate``: the end-of-batch second look (moves, then reunions);
- ``events``: the merges, splits and moves the clusterer records;
- ``online``: ``OnlineClusterer``, the one pass in arrival order that runs those steps, and the
  helpers that order a stream.
"""

from __future__ import annotations

from storydesk.cluster.events import StoryMove, StorySplit
from storydesk.cluster.featurize import Featurizer, ner_components
from storydesk.cluster.index import (
    COMPACT_AFTER,
    ExactIndex,
    HnswlibIndex,
    UsearchIndex,
    VectorIndex,
    make_index,
)
from storydesk.cluster.items import ClusterItem, _time_of, item_terms, lead_text
from storydesk.cluster.online import (
    OnlineClusterer,
    arrival_keys,
    arrival_order,
    cluster_items,
    story_id_for,
)
from storydesk.cluster.score import weight_pairs as _weight_pairs
from storydesk.cluster.split import mean_within as _mean_within

__all__ = [
    "COMPACT_AFTER",
    "ClusterItem",
    "ExactIndex",
    "Featurizer",
    "HnswlibIndex",
    "OnlineClusterer",
    "StoryMove",
    "StorySplit",
    "UsearchIndex",
    "VectorIndex",
    "arrival_keys",
    "arrival_order",
    "cluster_items",
    "item_terms",
    "lead_text",
    "make_index",
    "ner_components",
    "story_id_for",
]

# The helpers tests and the model doubles reach for, kept importable from the package.
_HELPERS = (_mean_within, _time_of, _weight_pairs)
