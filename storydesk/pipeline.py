"""Wires the stages together; the only module that knows their order.

read -> clean -> dedup (+ wire origin) -> parse + extract -> featurize (embed, lead NER) -> cluster
-> stories.

``Pipeline.process`` runs a batch of cleaned articles through the models: one batched spaCy pass
(``nlp.pipe``, ``models.n_process`` processes) over the texts feeds extraction, and the cluster
features embed every title + lead in batches. Nothing here touches the store:
``storydesk.api.Desk`` persists what ``process`` returns and goes on with ``storydesk.stream``, and
the stateless commands (``storydesk cluster``, ``storydesk extract``) print it. Both paths call the
same functions, so the same input gives the same stories either way.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from storydesk import clean as clean_stage
from storydesk import cluster as cluster_stage
from storydesk import dedup as dedup_stage
from storydesk import extract as extract_stage
from storydesk import ingest as ingest_stage
from storydesk import stream as stream_stage
from storydesk.config import Settings
from storydesk.models import (
    Article,
    Assignment,
    DedupResult,
    Extraction,
    RawDocument,
    Rejection,
    Story,
    StoryMerge,
)

# (stage, done, total): how long work reports its progress; the CLI draws a bar from it.
Progress = Callable[[str, int, int | None], None]


def _no_progress(stage: str, done: int, total: int | None) -> None:
    return None


@dataclass
class Batch:
    """What one pass over some inputs produced, before anything is stored."""

    articles: list[Article] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    documents: int = 0
    files: int = 0


class FeaturizerLike(Protocol):
    """What the pipeline needs of a featurizer (``cluster.Featurizer``, or a test double)."""

    def featurize(
        self, articles: Sequence[Article], *, progress: bool = False, timings: dict[str, float] | None = None
    ) -> list[cluster_stage.ClusterItem]: ...


class ExtractorLike(Protocol):
    """What the pipeline needs of an extractor (``extract.Extractor``, or a test double)."""

    def extract_stream(
        self, tasks: Iterable[extract_stage.Task], *, timings: dict[str, float] | None = None
    ) -> Iterator[Extraction]: ...


@dataclass
class Processed:
    """What the models made of a batch's new articles: everything the stream and the store take."""

    articles: list[Article] = field(default_factory=list)  # new, unique, in ingest order
    verdicts: list[DedupResult] = field(default_factory=list)  # one per article
    extractions: list[Extraction] = field(default_factory=list)  # one per original
    items: list[cluster_stage.ClusterItem] = field(default_factory=list)  # one per original

    @property
    def duplicates(self) -> dict[str, str]:
        """New duplicate -> its original."""
        return {v.article_id: v.duplicate_of for v in self.verdicts if v.duplicate_of}

    @property
    def origins(self) -> dict[str, str | None]:
        """Wire origin of each new article."""
        return {v.article_id: (v.wire_origin.name if v.wire_origin else None) for v in self.verdicts}

    @property
    def originals(self) -> list[Article]:
        duplicates = self.duplicates
        return [a for a in self.articles if a.id not in duplicates]


@dataclass(frozen=True, slots=True)
class ModelInputs:
    """The texts each model pass of ``Pipeline.process`` reads."""

    parse: list[str]  # the full spaCy pipeline, for extraction
    ner: list[str]  # NER alone, over title + lead, for the cluster features
    embed: list[str]  # the sentence embedder, over title + lead


class Pipeline:
    """The stages with their settings and their (lazily loaded) models.

    ``featurizer`` and ``extractor`` replace the model-backed stages (tests pass doubles, so the unit
    suite runs without loading a model). ``timings`` sums each stage's seconds over the pipeline's
    life (``bench/pipeline.py`` prints their shares).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        featurizer: FeaturizerLike | None = None,
        extractor: ExtractorLike | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self._extractor = extractor
        self._featurizer = featurizer
        self.timings: dict[str, float] = {}

    @property
    def extractor(self) -> ExtractorLike:
        if self._extractor is None:
            self._extractor = extract_stage.Extractor(self.settings.extract, self.settings.models)
        return self._extractor

    @property
    def featurizer(self) -> FeaturizerLike:
        if self._featurizer is None:
            self._featurizer = cluster_stage.Featurizer(self.settings.cluster, self.settings.models)
        return self._featurizer

    @contextlib.contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Add the block's wall time to ``timings[stage]``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - start

    # --- the models over a batch -------------------------------------------------

    def process(
        self,
        articles: Sequence[Article],
        index: dedup_stage.DuplicateIndex,
        *,
        extract: bool = True,
        features: dict[tuple[str, Any], cluster_stage.ClusterItem] | None = None,
        progress: Progress = _no_progress,
    ) -> Processed:
        """dedup -> one batched parse feeding extraction -> cluster features, for new articles.

        ``articles`` are new and unique (ingest order); ``index`` gains them. Duplicates get a
        verdict and no model work. An article longer than ``extract.max_chars`` is parsed up to
        there, and its metadata says so (``parsed_chars``). ``extract=False`` (``storydesk cluster``)
        skips the parse and extraction. ``features``: a cache of cluster items by (id, publication
        date), filled and reused.
        """
        if not articles:
            return Processed()
        progress("dedup", 0, len(articles))
        with self.timed("dedup"):
            verdicts = self.dedup(index, articles)
        progress("dedup", len(articles), len(articles))
        limit = self.settings.extract.max_chars
        marked = [
            dataclasses.replace(
                a, metadata={**a.metadata, "parsed_chars": {"kept": limit, "total": len(a.text)}}
            )
            if extract and len(a.text) > limit
            else a
            for a in articles
        ]
        out = Processed(articles=marked, verdicts=verdicts)
        originals = out.originals
        missing = (
            originals if features is None else [a for a in originals if (a.id, a.published) not in features]
        )
        # The cluster features (the embedder, and NER on its own copy of the model) run in a thread
        # beside the parse: both spend their time in native code that releases the GIL. With
        # n_process > 1 spaCy forks its workers when the parse starts, so the first extraction is
        # taken before the thread exists: a process must not fork while another thread runs.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            pending = None
            if extract and originals:
                extractions = self._extract_stream(originals, out.origins, progress)
                out.extractions = [next(extractions)]
                pending = pool.submit(self.featurize, missing)
                out.extractions.extend(extractions)
            progress("embed", 0, len(originals))
            computed = pending.result() if pending is not None else self.featurize(missing)
        if features is None:
            out.items = computed
        else:
            for article, item in zip(missing, computed, strict=True):
                features[article.id, article.published] = item
            out.items = [features[a.id, a.published] for a in originals]
        progress("embed", len(originals), len(originals))
        return out

    def model_inputs(self, articles: Sequence[Article]) -> ModelInputs:
        """Exactly what ``process`` gives the models for these (original) articles: the floor
        ``bench/pipeline.py`` measures the models alone on."""
        leads = [cluster_stage.lead_text(a, self.settings.cluster.max_chars) for a in articles]
        return ModelInputs(
            parse=[a.text[: self.settings.extract.max_chars] for a in articles],
            ner=[lead[: self.settings.cluster.ner_chars] for lead in leads]
            if self.settings.cluster.use_ner
            else [],
            embed=leads,
        )

    # --- read and clean -------------------------------------------------------

    def read_paths(self, paths: Sequence[str | Path], progress: Progress = _no_progress) -> Batch:
        """Read and clean every document under these paths; bad input becomes rejections."""
        files, rejections = ingest_stage.expand_paths(paths, self.settings.ingest)
        batch = Batch(rejections=list(rejections), files=len(files))
        for n, path in enumerate(files, 1):
            self._take(ingest_stage.read_path(path, self.settings.ingest), batch)
            progress("read", n, len(files))
        return batch

    def read_records(self, records: Iterable[Mapping[str, Any]], origin: str) -> Batch:
        """Clean in-memory JSONL-shaped records (the stateless commands' input)."""
        batch = Batch()
        self._take(ingest_stage.read_records(records, origin), batch)
        return batch

    def read_documents(self, docs: Iterable[RawDocument | Rejection]) -> Batch:
        """Clean documents read elsewhere (the watcher's feed items and pages)."""
        batch = Batch()
        self._take(docs, batch)
        return batch

    def _take(self, docs: Iterable[RawDocument | Rejection], batch: Batch) -> None:
        start = time.perf_counter()
        cleaning = 0.0
        for doc in docs:
            if isinstance(doc, Rejection):
                batch.rejections.append(doc)
                continue
            batch.documents += 1
            began = time.perf_counter()
            try:
                result = clean_stage.clean(doc, self.settings.clean)
            except Exception as exc:  # a cleaner bug must not sink the batch; report it with its source
                result = Rejection("clean", f"cleaning failed: {type(exc).__name__}: {exc}", doc.source)
            cleaning += time.perf_counter() - began
            if isinstance(result, Rejection):
                batch.rejections.append(result)
                continue
            batch.articles.append(result)
            if doc.published and result.published is None:
                # The article is kept, undated; the date that could not be read is reported with its line.
                given = " ".join(doc.published.split())
                given = given if len(given) <= 80 else given[:77] + "..."
                reason = f"published date {given!r} not understood: article stored without a date"
                batch.rejections.append(Rejection("clean", reason, doc.source))
        self.timings["clean"] = self.timings.get("clean", 0.0) + cleaning
        self.timings["read"] = self.timings.get("read", 0.0) + time.perf_counter() - start - cleaning

    # --- dedup ----------------------------------------------------------------

    def new_index(self, existing: Iterable[Article] = ()) -> dedup_stage.DuplicateIndex:
        """A duplicate index holding these (already stored) articles."""
        index = dedup_stage.DuplicateIndex(self.settings.dedup)
        for article in existing:
            index.add(article.id, article.text)
        return index

    def dedup(self, index: dedup_stage.DuplicateIndex, articles: Sequence[Article]) -> list[DedupResult]:
        """Duplicate verdicts and wire origins for new articles, in order."""
        results = []
        for article in articles:
            verdict = index.add(article.id, article.text)
            wire = dedup_stage.detect_wire_origin(article.text, article.title)
            results.append(dataclasses.replace(verdict, wire_origin=wire))
        return results

    # --- extract and featurize --------------------------------------------------

    def extract(
        self,
        articles: Sequence[Article],
        origins: Mapping[str, str | None],
        *,
        progress: Progress = _no_progress,
    ) -> list[Extraction]:
        """Extraction for each article (clean text, resolved against its own date), one batched parse."""
        return list(self._extract_stream(articles, origins, progress))

    def _extract_stream(
        self, articles: Sequence[Article], origins: Mapping[str, str | None], progress: Progress
    ) -> Iterator[Extraction]:
        tasks = (
            extract_stage.Task(a.text, a.id, a.published, origins.get(a.id), a.dateline) for a in articles
        )
        for n, extraction in enumerate(self.extractor.extract_stream(tasks, timings=self.timings), 1):
            yield extraction
            progress("extract", n, len(articles))

    def featurize(self, articles: Sequence[Article]) -> list[cluster_stage.ClusterItem]:
        """Cluster features (title + lead embeddings in batches, lead NER, lexical terms) per article."""
        if not articles:
            return []
        start = time.perf_counter()
        before = sum(self.timings.get(k, 0.0) for k in ("embed", "features ner"))
        items = self.featurizer.featurize(articles, timings=self.timings)
        inner = sum(self.timings.get(k, 0.0) for k in ("embed", "features ner")) - before
        rest = time.perf_counter() - start - inner
        self.timings["features"] = self.timings.get("features", 0.0) + rest
        return items

    # --- stories ----------------------------------------------------------------

    def stories(
        self,
        articles: Sequence[Article],
        items: Mapping[str, cluster_stage.ClusterItem],
        duplicates: Mapping[str, str],
        origins: Mapping[str, str | None],
    ) -> tuple[list[Story], list[Assignment], list[StoryMerge]]:
        """Cluster the originals in arrival order; duplicates join their original's story."""
        stream = stream_stage.StreamState(
            dedup=None, clusterer=cluster_stage.OnlineClusterer(self.settings.cluster)
        )
        run = stream_stage.run_batch(stream, articles, items, duplicates)
        stories = stream_stage.build_stories(run.story_of, {a.id: a for a in articles}, items, origins)
        return stories, run.final, stream.clusterer.merges


# --- stateless commands ----------------------------------------------------------


def cluster_records(
    records: Sequence[Mapping[str, Any]],
    settings: Settings | None = None,
    origin: str = "<records>",
    *,
    features: dict[tuple[str, Any], cluster_stage.ClusterItem] | None = None,
) -> list[tuple[Any, str | None]]:
    """clean -> dedup -> cluster over JSONL-shaped records, no database.

    Returns ``(input id, story id)`` per record, in input order; a record that
    could not be read or cleaned gets ``None``. ``features``: a cache of cluster items by article
    (id, publication time), filled and reused, so the same records clustered again in another
    order skip the embedding and NER. The items depend on the featurizing settings (``max_chars``,
    ``ner_chars``, ``lexical_chars``, ``use_ner``, the models): keep one cache per settings.
    """
    pipeline = Pipeline(settings)
    keyed = [dict(r) for r in records]
    ids = [r.get("id", n) for n, r in enumerate(keyed, 1)]
    for n, r in enumerate(keyed, 1):
        r.setdefault("id", str(n))
    # read_records gives each document Source(origin, line=<1-based record number>).
    batch = pipeline.read_records(keyed, origin)
    by_line: dict[int, str] = {}
    unique: dict[str, Article] = {}
    for article in batch.articles:
        line = article.source.line if article.source else None
        if line is not None:
            by_line[line] = article.id
        unique.setdefault(article.id, article)
    articles = list(unique.values())
    processed = pipeline.process(
        articles, pipeline.new_index(), extract=False, features={} if features is None else features
    )
    items = {item.id: item for item in processed.items}
    _, assignments, _ = pipeline.stories(articles, items, processed.duplicates, processed.origins)
    story_of = {a.article_id: a.story_id for a in assignments}
    return [(ids[n - 1], story_of.get(by_line.get(n, ""))) for n in range(1, len(keyed) + 1)]


def extract_records(
    records: Sequence[Mapping[str, Any]], settings: Settings | None = None
) -> list[dict[str, Any]]:
    """Extraction over records' text exactly as given (offsets index the input ``text``)."""
    pipeline = Pipeline(settings)
    tasks = []
    for n, record in enumerate(records, 1):
        text = str(record.get("text") or "")
        published, _ = clean_stage.parse_published(_opt_str(record.get("published")))
        wire = dedup_stage.detect_wire_origin(text, _opt_str(record.get("title")))
        tasks.append(
            extract_stage.Task(text, str(record.get("id", n)), published, wire.name if wire else None)
        )
    out = []
    for n, (record, extraction) in enumerate(
        zip(records, pipeline.extractor.extract_stream(tasks, timings=pipeline.timings), strict=True), 1
    ):
        line = extract_stage.extraction_to_dict(extraction)
        line["id"] = record.get("id", n)
        out.append(line)
    return out


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)
