"""Where the Spark job meets the single-machine pipeline: the one module that calls ``Pipeline``.

Issue 17's ``Pipeline.process`` is still settling; everything the job needs of it goes through
here, so a change to its signature is a change to this file alone. The job never cleans, extracts
or featurizes by itself: it calls these functions, which call the stages the desk uses.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from storydesk import api, views
from storydesk import dedup as dedup_stage
from storydesk.cluster import ClusterItem
from storydesk.config import DedupSettings, Settings
from storydesk.models import Article, DedupResult, Extraction, Fact, ResolvedEntity
from storydesk.pipeline import Batch, Pipeline

__all__ = ["Modelled", "executor_pipeline", "read_file", "run_models", "story_view", "view_version"]

# One pipeline (and so one set of loaded models) per settings per Python worker: Spark reuses its
# workers across tasks (spark.python.worker.reuse), so each executor loads the models once.
_PIPELINES: dict[bytes, Pipeline] = {}


def executor_pipeline(settings: Settings) -> Pipeline:
    """This worker's pipeline for ``settings``; its models load lazily, on first use."""
    key = pickle.dumps(settings)
    pipeline = _PIPELINES.get(key)
    if pipeline is None:
        pipeline = _PIPELINES[key] = Pipeline(settings)
    return pipeline


def read_file(pipeline: Pipeline, path: str) -> Batch:
    """Read and clean one input file as ``storydesk ingest`` does; bad input becomes rejections."""
    return pipeline.read_paths([path])


class _KnownOriginals(dedup_stage.DuplicateIndex):
    """A duplicate index that calls every article an original: the job has already deduplicated the
    whole corpus (``storydesk.spark.job``), so ``process`` must not do it again per partition."""

    def add(self, article_id: str, text: str) -> DedupResult:
        return DedupResult(article_id=article_id)


@dataclass(frozen=True, slots=True)
class Modelled:
    """What the models made of one original article."""

    article: Article  # as processed (a text cut for the parse says so in its metadata)
    extraction: Extraction | None
    item: ClusterItem


def run_models(
    pipeline: Pipeline, originals: Sequence[Article], dedup: DedupSettings
) -> tuple[list[Modelled], float]:
    """One ``Pipeline.process`` over a partition's originals: one batched spaCy pass feeding
    extraction, and the cluster features. Returns them with the seconds the call took."""
    start = time.perf_counter()
    processed = pipeline.process(originals, _KnownOriginals(dedup), extract=True)
    seconds = time.perf_counter() - start
    extractions = {e.article_id: e for e in processed.extractions}
    items = {i.id: i for i in processed.items}
    out = [Modelled(a, extractions.get(a.id), items[a.id]) for a in processed.articles if a.id in items]
    return out, seconds


def story_view(
    articles: Sequence[Article],
    duplicates: Mapping[str, str],
    extractions: Mapping[str, Extraction],
    origins: Mapping[str, str | None],
) -> tuple[tuple[Fact, ...], tuple[ResolvedEntity, ...]]:
    """A story's corroborated facts and resolved entities, exactly as the desk stores them."""
    return views.derive(articles, duplicates, extractions, origins)


def view_version() -> str:
    """The version of the code that computes story views (stored with them; see ``api.view_version``)."""
    return api.view_version()
