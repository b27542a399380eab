"""Online story clustering: an article stream, in arrival order, becomes story assignments.

- ``items``: ``ClusterItem``, what the clusterer needs of one article (persistable), and the
  lexical and time features read from the article itself;
- ``featurize``: ``Featurizer``, batched title + lead embeddings and NER over the lead;
- ``index``: nearest-neighbour indexes over story centroids (exact, usearch, hnswlib);
- ``online``: ``OnlineClusterer``, the one pass in arrival order with its merges, splits and
  end-of-batch consolidation, and the helpers that order a stream.
"""

from __future__ import annotations

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
    StoryMove,
    StorySplit,
    _mean_within,
    _weight_pairs,
    arrival_keys,
    arrival_order,
    cluster_items,
    story_id_for,
)

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
