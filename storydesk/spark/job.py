"""The storydesk pipeline as one Spark job: WARC, JSONL or folders in, Parquet tables out.

    storydesk spark-run INPUT... --out DIR [--master local[2]]
    spark-submit storydesk/spark/job.py INPUT... --out DIR

1. **Read** (per partition of input files): each file is read and cleaned by the desk's own readers
   (WARC through fastwarc: HTTP 200 HTML responses), then each article gets its exact fingerprint,
   its shingle hashes and MinHash LSH band keys, and its wire origin.
2. **Dedup across the corpus**: exact copies group by fingerprint; near copies are candidate pairs
   from a join on band keys, kept when their verified Jaccard similarity passes
   ``dedup.near_threshold``; an article copies its most similar earlier one (ties: the earliest).
   Those are the ``DuplicateIndex`` rules, so the verdicts equal a single machine's.
3. **Models** (per partition, originals only): one ``Pipeline.process`` per partition, with the
   pipeline and its models loaded once per Python worker (``adapter.executor_pipeline``) from the
   broadcast settings.
4. **Stories**: originals are bucketed into time windows of ``window_days`` by their arrival key (the
   clusterer's: publication time, an undated article at the last dated one before it in ingest
   order, computed as a prefix scan over partitions). With ``stories="one-pass"`` (the default) the
   windows go through one online clusterer in time order, in one task: the stories one machine
   makes (clustering is cheap beside the models; a day of CC-NEWS fits one task). With
   ``stories="windows"`` each window is clustered in its own task, after the last ``overlap_days``
   of the windows before it as context; the window stories are then linked into multi-day stories
   the way EMM links daily clusters, by the clusterer's own assignment and split tests applied to
   a window story against the stories linked so far (``storydesk.spark.link``: one task over story
   sums, not articles). Within a window the clusterer's candidates come from its ANN index over
   story centroids (blocking by embedding). Duplicates join their original's story.
5. **Per story**: the story (headline, dates, origins), its corroborated facts and resolved entities.

The driver holds no per-article data: it lists the input files, gathers one carry per partition
for the arrival keys and the counts of the summary (with at most ``REJECTIONS_SHOWN`` skipped
inputs), besides the bounded key samples Spark takes to range-partition a sort; everything else stays in Spark and is written to Parquet by the executors.

The output tables (``articles``, ``stories``, ``facts``, ``quotes``, ``rejections``) are documented
in ``storydesk.spark.tables`` and the README; ``storydesk import`` loads them into a desk.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from storydesk import cluster as cluster_stage
from storydesk import dedup as dedup_stage
from storydesk import ingest as ingest_stage
from storydesk import stream as stream_stage
from storydesk.config import Settings
from storydesk.errors import ConfigError
from storydesk.extract.serialise import extraction_to_json
from storydesk.models import Article, DedupResult, Explanation, Rejection, Source
from storydesk.spark import adapter, link, tables

__all__ = [
    "REJECTIONS_SHOWN",
    "JobOptions",
    "JobSummary",
    "arrival_keys_of",
    "corpus_duplicates",
    "link_stories",
    "main",
    "run",
    "session",
    "windows_of",
]


@dataclass(frozen=True, slots=True)
class JobOptions:
    """How the job runs (the pipeline's own settings stay in ``Settings``)."""

    master: str | None = None  # None: whatever spark-submit or the environment says
    window_days: float = 7.0  # story windows; each is clustered in one task
    overlap_days: float | None = None  # context from the windows before; None: cluster.window_days
    partitions: int = 0  # input and window partitions; 0: twice the default parallelism
    driver_memory: str = "2g"
    model_chunk: int = 256  # originals per Pipeline.process call inside a partition
    # one-pass: the windows in time order through one clusterer (one task; the stories of one
    # machine); windows: each window in its own task, linked across neighbouring windows
    stories: Literal["one-pass", "windows"] = "one-pass"


@dataclass(slots=True)
class JobSummary:
    """What one run did, and where its time went (seconds summed over the tasks)."""

    out: str
    files: int = 0
    documents: int = 0
    articles: int = 0
    duplicates: int = 0
    stories: int = 0
    facts: int = 0
    quotes: int = 0
    windows: int = 0
    links: int = 0  # window stories linked into an earlier one (--stories windows)
    rejections: int = 0  # inputs skipped, all in the rejections table
    rejected: list[Rejection] = field(default_factory=list)  # the first REJECTIONS_SHOWN of them
    seconds: float = 0.0
    task_seconds: dict[str, float] = field(default_factory=dict)  # read, models, cluster, stories
    model_seconds: dict[str, float] = field(default_factory=dict)  # the pipeline's stage timings

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["rejected"] = [
            {"path": r.source.path, "line": r.source.line, "member": r.source.member, "stage": r.stage}
            | {"reason": r.reason}
            for r in self.rejected
        ]
        return data


REJECTIONS_SHOWN = 1000  # skipped inputs the summary carries (the rejections table holds them all)


# --- Spark ---------------------------------------------------------------------------------------


def session(
    master: str | None = None,
    *,
    driver_memory: str = "2g",
    app: str = "storydesk",
    conf: Mapping[str, str] | None = None,
) -> Any:
    """A SparkSession with the UI off and the workers on this Python (local mode: no cluster needed);
    ``conf``: more Spark settings (the benchmark turns the event log on)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # the spark extra is optional
        raise ConfigError("the Spark job needs PySpark: pip install 'storydesk[spark]'") from exc
    if master and master.startswith("local"):
        # local mode starts the Python workers from this process's environment (executorEnv is for
        # cluster executors): one model thread per task, or two tasks fight over each core
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        os.environ.setdefault("MKL_NUM_THREADS", "1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app)
    if master:
        builder = builder.master(master)
    builder = (
        builder.config("spark.ui.enabled", "false")
        .config("spark.driver.memory", driver_memory)
        .config("spark.python.worker.reuse", "true")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.sql.session.timeZone", "UTC")
        # each task runs its models on one thread: the cores are Spark's to share out
        .config("spark.executorEnv.OMP_NUM_THREADS", "1")
        .config("spark.executorEnv.TOKENIZERS_PARALLELISM", "false")
    )
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _sum_dicts(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0.0) + v
    return out


class _Seconds:
    """An accumulator param: stage -> seconds, summed over the tasks."""

    def zero(self, value: dict[str, float]) -> dict[str, float]:
        return {}

    def addInPlace(self, a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
        return _sum_dicts(a, b)


# --- step 1: read ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Read:
    """One article as read, with what the corpus-wide dedup needs."""

    order: int  # (file number << 32) | article number in the file: the single machine's ingest order
    article: Article
    fingerprint: str
    shingles: bytes  # sorted uint32 shingle hashes
    bands: tuple[bytes, ...]
    wire: Any  # WireOrigin | None


_FILE_SHIFT = 32


def _read_files(
    files: Iterable[tuple[int, str, bytes | None]], settings: Settings, seconds: Any
) -> Iterator[Any]:
    """Per partition: each (file number, path, content) read and cleaned (content: the bytes of a
    Hadoop URI, read by Spark; None for a local path); rejections pass through as such."""
    start = time.perf_counter()
    pipeline = adapter.executor_pipeline(settings)
    for number, path, content in files:
        batch = adapter.read_file(pipeline, path) if content is None else _read_bytes(pipeline, path, content)
        for rejection in batch.rejections:
            yield ("rejection", rejection)
        for n, article in enumerate(batch.articles):
            hashes = dedup_stage.shingles(article.text, settings.dedup)
            yield (
                "article",
                _Read(
                    order=(number << _FILE_SHIFT) | n,
                    article=article,
                    fingerprint=dedup_stage.fingerprint(article.text),
                    shingles=hashes.tobytes(),
                    bands=tuple(dedup_stage.band_keys(hashes, settings.dedup)),
                    wire=dedup_stage.detect_wire_origin(article.text, article.title),
                ),
            )
    seconds.add({"read": time.perf_counter() - start})


def _read_bytes(pipeline: Any, uri: str, content: bytes) -> Any:
    """Read a Hadoop file's bytes with the desk's readers (through a temporary file of the same
    name: the readers choose by extension); sources name the URI."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="storydesk-") as folder:
        local = os.path.join(folder, uri.rstrip("/").rsplit("/", 1)[-1] or "input")
        with open(local, "wb") as fh:
            fh.write(content)
        batch = adapter.read_file(pipeline, local)

    def named(source: Any) -> Any:
        return (
            dataclasses.replace(source, path=uri) if source is not None and source.path == local else source
        )

    batch.articles = [dataclasses.replace(a, source=named(a.source)) for a in batch.articles]
    batch.rejections = [dataclasses.replace(r, source=named(r.source)) for r in batch.rejections]
    return batch


# --- step 2: dedup -----------------------------------------------------------------------------------


def _best(a: tuple[float, int, str], b: tuple[float, int, str]) -> tuple[float, int, str]:
    """The better of two near-copy candidates: higher similarity, then the earlier original."""
    return a if (a[0], -a[1]) >= (b[0], -b[1]) else b


def _near_pairs(eligible: Any, partitions: int) -> Any:
    """(later id, (earlier id, earlier order)) for every pair sharing an LSH band, earlier first."""
    bands = eligible.flatMap(lambda r: [(key, (r.order, r.article.id)) for key in r.bands])
    joined = bands.join(bands, partitions)
    return (
        joined.filter(lambda kv: kv[1][0][0] > kv[1][1][0])
        .map(lambda kv: (kv[1][0][1], (kv[1][1][1], kv[1][1][0])))
        .distinct(partitions)
    )


def corpus_duplicates(reads: Any, settings: Settings, partitions: int) -> Any:
    """Duplicate verdicts across the corpus (``reads``: one ``_Read`` per distinct article id), as
    ``DuplicateIndex`` would give adding them in order: an RDD of (duplicate id, verdict)."""
    import numpy as np

    threshold = settings.dedup.near_threshold
    keyed = reads.map(lambda r: (r.fingerprint, (r.order, r.article.id)))
    first = keyed.reduceByKey(min, partitions)
    exact = (
        keyed.join(first, partitions)
        .filter(lambda kv: kv[1][0][1] != kv[1][1][1])
        .map(lambda kv: (kv[1][0][1], DedupResult(kv[1][0][1], kv[1][1][1], "exact", 1.0)))
    )
    firsts = first.map(lambda kv: (kv[1][1], None))
    eligible = reads.map(lambda r: (r.article.id, r)).join(firsts, partitions).map(lambda kv: kv[1][0])
    eligible = eligible.filter(lambda r: bool(r.bands))
    shingles = eligible.map(lambda r: (r.article.id, r.shingles))
    pairs = _near_pairs(eligible, partitions)

    def similarity(kv: Any) -> tuple[str, tuple[float, int, str]]:
        earlier, ((later, earlier_order, later_shingles), earlier_shingles) = kv
        sim = dedup_stage.jaccard(
            np.frombuffer(later_shingles, dtype=np.uint32), np.frombuffer(earlier_shingles, dtype=np.uint32)
        )
        return later, (sim, earlier_order, earlier)

    near = (
        pairs.join(shingles, partitions)
        .map(lambda kv: (kv[1][0][0], (kv[0], kv[1][0][1], kv[1][1])))
        .join(shingles, partitions)
        .map(similarity)
        .filter(lambda kv: kv[1][0] >= threshold)
        .reduceByKey(_best, partitions)
        .map(lambda kv: (kv[0], DedupResult(kv[0], kv[1][2], "near", kv[1][0])))
    )
    return exact.union(near)


# --- step 3: models -----------------------------------------------------------------------------------


def _model_partition(
    reads: Iterable[_Read], settings: Settings, chunk: int, seconds: Any, models: Any
) -> Iterator[tuple[str, tuple[int, Article, dict[str, Any] | None, dict[str, Any]]]]:
    start = time.perf_counter()
    pipeline = adapter.executor_pipeline(settings)
    before = dict(pipeline.timings)
    ordered = sorted(reads, key=lambda r: r.order)
    order = {r.article.id: r.order for r in ordered}
    inside = 0.0
    for at in range(0, len(ordered), chunk):
        done, took = adapter.run_models(
            pipeline, [r.article for r in ordered[at : at + chunk]], settings.dedup
        )
        inside += took
        for m in done:
            extraction = extraction_to_json(m.extraction) if m.extraction is not None else None
            yield m.article.id, (order[m.article.id], m.article, extraction, m.item.to_record())
    after = pipeline.timings
    models.add({k: v - before.get(k, 0.0) for k, v in after.items() if v - before.get(k, 0.0) > 0})
    seconds.add({"models": time.perf_counter() - start, "models: Pipeline.process": inside})


# --- step 4: stories ------------------------------------------------------------------------------------


_UNDATED = -(2**62)  # window number of articles before any dated one (joined to the first dated window)


def windows_of(
    keys: Sequence[float], window_days: float, overlap_days: float
) -> tuple[list[int], list[list[int]]]:
    """Each arrival key's own window and the later windows it is context for.

    A window covers ``[w * window_days, (w + 1) * window_days)``; its context is the last
    ``overlap_days`` before its start. Keys of -inf (undated articles before any dated one) go to
    the first dated window, whose clusterer meets them first, as a single pass would.
    """
    finite = [k for k in keys if not math.isinf(k)]
    first = math.floor(min(finite) / window_days) if finite else _UNDATED
    placed = [_window_of(key, first, window_days, overlap_days) for key in keys]
    return [own for own, _ in placed], [contexts for _, contexts in placed]


def _window_of(key: float, first: int, window_days: float, overlap_days: float) -> tuple[int, list[int]]:
    """One arrival key's own window and the windows it is context for (``first``: the first dated
    window, where keys of -inf go)."""
    if math.isinf(key):
        return first, []
    own = math.floor(key / window_days)
    last = math.floor((key + overlap_days) / window_days)
    return own, list(range(own + 1, last + 1)) if overlap_days > 0 else []


def _scan_keys(
    rows: Iterable[tuple[int, tuple[str, Any, Any]]], carry: float
) -> Iterator[tuple[str, tuple[float, int]]]:
    """Arrival keys of a run of articles in ingest order, ``carry`` the last dated time before it."""
    rows = list(rows)
    stubs = [Article(id=i, text="", raw_text="", published=p, published_at=pa) for _, (i, p, pa) in rows]
    keys, _ = cluster_stage.arrival_keys(stubs, carry)
    for (order, (article_id, _, _)), key in zip(rows, keys, strict=True):
        yield article_id, (key, order)


def _scan_summary(index: int, rows: Iterable[tuple[int, tuple[str, Any, Any]]]) -> Iterator[Any]:
    """A partition's last dated time and its earliest one (one row per partition)."""
    stubs = [Article(id=i, text="", raw_text="", published=p, published_at=pa) for _, (i, p, pa) in rows]
    keys, last = cluster_stage.arrival_keys(stubs)
    finite = [k for k in keys if not math.isinf(k)]
    yield index, last, min(finite) if finite else math.inf


def arrival_keys_of(modelled: Any, parts: int) -> tuple[Any, float]:
    """(article id, (arrival key, ingest order)) of every original, and the earliest dated time.

    The clusterer's arrival key of an undated article is the time of the last dated one before it
    in ingest order: a prefix scan. The articles are range-partitioned by ingest order; each
    partition reports its last dated time (one number per partition: the only part that must be
    sequential is the carry from one partition to the next, so only that reaches the driver), and
    each partition then computes its keys from the carry of those before it.
    """
    ordered = modelled.map(
        lambda kv: (kv[1][0], (kv[0], kv[1][1].published, kv[1][1].published_at))
    ).sortByKey(numPartitions=parts)
    ordered.persist()
    summaries = sorted(ordered.mapPartitionsWithIndex(_scan_summary).collect())
    carries: dict[int, float] = {}
    carry = -math.inf
    for index, last, _ in summaries:
        carries[index] = carry
        if not math.isinf(last):
            carry = last
    earliest = min((low for _, _, low in summaries), default=math.inf)
    carry_bc = ordered.context.broadcast(carries)
    keyed = ordered.mapPartitionsWithIndex(lambda i, rows: _scan_keys(rows, carry_bc.value.get(i, -math.inf)))
    return keyed, earliest


def _cluster_window(
    window: int,
    members: Iterable[tuple[float, int, str, dict[str, Any], bool]],
    settings: Settings,
    stories: bool = True,
) -> Iterator[tuple[str, Any]]:
    """Cluster one window (context first, all in time order): each owned article's placement, and
    (``stories``) each story holding owned articles as a ``WindowStory`` for the linking."""
    ordered = sorted(members, key=lambda m: (m[0], m[1]))
    items = [cluster_stage.ClusterItem.from_record(m[3]) for m in ordered]
    story_of, assignments, _ = cluster_stage.cluster_items(items, settings.cluster)
    explanations = {a.article_id: a.explanation for a in assignments}
    held: dict[str, list[tuple[tuple[float, int], cluster_stage.ClusterItem]]] = defaultdict(list)
    for m, item in zip(ordered, items, strict=True):
        if m[4]:
            continue
        sid = story_of[m[2]]
        held[sid].append(((m[0], m[1]), item))
        yield ("owned", (m[2], (window, sid, explanations[m[2]])))
    for sid, owned in held.items() if stories else ():
        yield ("story", link.WindowStory(window, sid, tuple(i for _, i in owned), owned[0][0]))


def _link_task(stories: Iterable[link.WindowStory], settings: Settings) -> Iterator[tuple[Any, str]]:
    """Every window story -> its linked story's id. One task over all the window stories: the
    linking goes in time order through one linker (story sums, not articles; see ``link``)."""
    founders = dict(link.link_window_stories(stories, settings.cluster))
    final = link_stories(founders, [(ws, f) for ws, f in founders.items() if ws != f])
    yield from final.items()


def link_stories(
    stories: Iterable[tuple[int, str]], links: Iterable[tuple[tuple[int, str], tuple[int, str]]]
) -> dict[tuple[int, str], str]:
    """(window, story) -> the id of its linked story: union-find over the links; a group takes the
    id of its earliest window's story (another window's when that id is taken)."""
    parent: dict[tuple[int, str], tuple[int, str]] = {}

    def find(x: tuple[int, str]) -> tuple[int, str]:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    for a, b in links:
        ra, rb = find(a), find(b)
        if ra != rb:
            lo, hi = sorted((ra, rb))
            parent[hi] = lo
    groups: dict[tuple[int, str], list[tuple[int, str]]] = defaultdict(list)
    for s in sorted(set(stories)):
        groups[find(s)].append(s)
    out: dict[tuple[int, str], str] = {}
    taken: set[str] = set()
    for root in sorted(groups):
        name = next((sid for _, sid in groups[root] if sid not in taken), None)
        if name is None:
            name = f"{root[1]}-{root[0]}"
        taken.add(name)
        for s in groups[root]:
            out[s] = name
    return out


# --- step 5: per story ---------------------------------------------------------------------------------------


def _story_rows(
    story_id: str,
    members: Iterable[tuple[Article, DedupResult, dict[str, Any] | None, dict[str, Any] | None]],
) -> Iterator[tuple[str, Any]]:
    from storydesk.extract.serialise import extraction_from_json

    members = list(members)
    articles = [m[0] for m in members]
    duplicates = {m[1].article_id: m[1].duplicate_of for m in members if m[1].duplicate_of}
    origins = {m[1].article_id: (m[1].wire_origin.name if m[1].wire_origin else None) for m in members}
    items = {m[0].id: cluster_stage.ClusterItem.from_record(m[3]) for m in members if m[3] is not None}
    extractions = {m[0].id: extraction_from_json(m[2]) for m in members if m[2] is not None}
    story = stream_stage.build_story(story_id, articles, items, origins)
    version = adapter.view_version()
    try:
        facts, entities = adapter.story_view(
            story_articles(story, articles), duplicates, extractions, origins
        )
    except Exception as exc:  # a bug in corroboration must not sink the job: the story is kept, reported
        facts, entities, version = (), (), ""
        reason = f"facts and entities not computed: {type(exc).__name__}: {exc}"
        yield ("rejection", Rejection("corroborate", reason, Source(f"story {story_id}")))
    yield ("story", tables.story_row(story, entities, version))
    for row in tables.fact_rows(story_id, facts):
        yield ("fact", row)
    for extraction in extractions.values():
        for row in tables.quote_rows(extraction, story_id):
            yield ("quote", row)


def story_articles(story: Any, articles: Sequence[Article]) -> list[Article]:
    """A story's articles in its own (date) order."""
    by_id = {a.id: a for a in articles}
    return [by_id[i] for i in story.article_ids if i in by_id]


# --- the job -----------------------------------------------------------------------------------------


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:/")


def _input_files(
    inputs: Sequence[str], settings: Settings, sc: Any = None
) -> tuple[list[tuple[str, bool]], list[Rejection]]:
    """Every input file in ingest order, and whether it is a Hadoop URI: local paths expanded as
    ``storydesk ingest`` expands them; a URI (``hdfs://``, ``s3a://``, ``file:/`` ...) listed through
    Hadoop (a folder recursively, globs expanded, hidden and ``_`` files skipped, sorted)."""
    files: list[tuple[str, bool]] = []
    rejections: list[Rejection] = []
    for given in inputs:
        if _SCHEME.match(given) and sc is not None:
            found, why = _hadoop_list(sc, given)
            files.extend((f, True) for f in found)
            if why:
                rejections.append(Rejection("ingest", why, Source(given)))
            continue
        local, bad = ingest_stage.expand_paths([given], settings.ingest)
        files.extend((str(p), False) for p in local)
        rejections.extend(bad)
    return files, rejections


def _hadoop_list(sc: Any, uri: str) -> tuple[list[str], str]:
    """The files under a Hadoop URI, and why there are none when there are none."""
    jvm = sc._jvm
    try:
        path = jvm.org.apache.hadoop.fs.Path(uri)
        fs = path.getFileSystem(sc._jsc.hadoopConfiguration())
        statuses = fs.globStatus(path) or []
        found: list[str] = []
        for status in statuses:
            if not status.isDirectory():
                found.append(status.getPath().toString())
                continue
            listing = fs.listFiles(status.getPath(), True)
            while listing.hasNext():
                found.append(listing.next().getPath().toString())
    except Exception as exc:  # py4j wraps the Hadoop client's errors (no such file system, denied, ...)
        return [], f"cannot list: {str(exc).splitlines()[0][:300]}"
    kept = sorted(f for f in found if not f.rstrip("/").rsplit("/", 1)[-1].startswith((".", "_")))
    return kept, "" if kept else "no such file or directory"


def run(
    inputs: Sequence[str],
    out: str | Path,
    settings: Settings | None = None,
    options: JobOptions | None = None,
    *,
    spark: Any = None,
) -> JobSummary:
    """Run the whole job; write the tables under ``out`` (replacing them). Bad input is reported in
    the summary (and the ``rejections`` table), the rest goes on."""
    settings = settings or Settings()
    options = options or JobOptions()
    began = time.perf_counter()
    own_session = spark is None
    spark = spark or session(options.master, driver_memory=options.driver_memory)
    try:
        return _run(spark, inputs, str(out), settings, options, began)
    finally:
        if own_session:
            spark.stop()


def _run(
    spark: Any, inputs: Sequence[str], out: str, settings: Settings, options: JobOptions, began: float
) -> JobSummary:
    from pyspark import StorageLevel

    sc = spark.sparkContext
    parts = options.partitions or max(2, 2 * sc.defaultParallelism)
    overlap = settings.cluster.window_days if options.overlap_days is None else options.overlap_days
    if options.window_days <= 0 or overlap < 0:
        raise ConfigError("window_days must be positive and overlap_days not negative")
    bc = sc.broadcast(settings)
    seconds = sc.accumulator({}, _Seconds())
    models = sc.accumulator({}, _Seconds())
    summary = JobSummary(out=out)

    files, bad = _input_files(inputs, settings, sc)
    summary.files = len(files)
    local = [(n, f, None) for n, (f, remote) in enumerate(files) if not remote]
    remote = {f: n for n, (f, remote) in enumerate(files) if remote}
    sources = sc.parallelize(local, max(1, min(len(local), parts)))
    if remote:
        number = sc.broadcast(remote)
        content = sc.binaryFiles(",".join(remote), max(1, min(len(remote), parts)))
        sources = sources.union(content.map(lambda kv: (number.value[kv[0]], kv[0], kv[1])))
    read = sources.mapPartitions(lambda it: _read_files(it, bc.value, seconds))
    read.persist(StorageLevel.MEMORY_AND_DISK)
    # one per article id (the same content twice is one article, as on one machine), the first read
    reads = (
        read.filter(lambda x: x[0] == "article")
        .map(lambda x: (x[1].article.id, x[1]))
        .reduceByKey(lambda a, b: a if a.order <= b.order else b, parts)
        .values()
    )
    reads.persist(StorageLevel.MEMORY_AND_DISK)
    summary.documents = reads.count()

    duplicates = corpus_duplicates(reads, settings, parts).persist(StorageLevel.MEMORY_AND_DISK)
    chunk = options.model_chunk
    modelled = (
        reads.map(lambda r: (r.article.id, r))
        .subtractByKey(duplicates, parts)
        .values()
        .mapPartitions(lambda it: _model_partition(it, bc.value, chunk, seconds, models))
        .persist(StorageLevel.MEMORY_AND_DISK)
    )

    keyed, earliest = arrival_keys_of(modelled, parts)
    first = math.floor(earliest / options.window_days) if not math.isinf(earliest) else _UNDATED
    window_days = options.window_days
    placed = keyed.mapValues(lambda ko: (ko[0], ko[1], *_window_of(ko[0], first, window_days, overlap)))
    placed.persist(StorageLevel.MEMORY_AND_DISK)
    summary.windows = placed.map(lambda kv: kv[1][2]).distinct().count()

    def spread(kv: Any) -> Iterator[tuple[int, tuple[float, int, str, dict[str, Any], bool]]]:
        article_id, ((key, order, own, contexts), item) = kv
        yield own, (key, order, article_id, item, False)
        for w in contexts:
            yield w, (key, order, article_id, item, True)

    # only the cluster features travel to the windows (not the texts and extractions)
    members = placed.join(modelled.mapValues(lambda v: v[3]), parts).flatMap(spread)
    if options.stories == "one-pass":
        # every window in time order through one clusterer, in one task: one machine's stories
        clustered = (
            members.filter(lambda wm: not wm[1][4])
            .map(lambda wm: ((wm[1][0], wm[1][1]), wm[1]))
            .sortByKey(numPartitions=1)
            .values()
            .mapPartitions(
                lambda it: _timed(_cluster_window(0, it, bc.value, stories=False), seconds, "cluster")
            )
            .persist(StorageLevel.MEMORY_AND_DISK)
        )
        # one clusterer made every story: each is its own final story
        final = (
            clustered.filter(lambda x: x[0] == "owned")
            .map(lambda x: ((x[1][1][0], x[1][1][1]), x[1][1][1]))
            .distinct(parts)
        )
    else:
        clustered = (
            members.groupByKey(parts)
            .flatMap(lambda kv: _timed(_cluster_window(kv[0], kv[1], bc.value), seconds, "cluster"))
            .persist(StorageLevel.MEMORY_AND_DISK)
        )
        # the window stories, in one task, through one linker (sums per story, not articles)
        final = (
            clustered.filter(lambda x: x[0] == "story")
            .map(lambda x: (0, x[1]))
            .partitionBy(1)
            .values()
            .mapPartitions(lambda it: _timed(_link_task(it, bc.value), seconds, "link"))
        )
    final.persist(StorageLevel.MEMORY_AND_DISK)
    if options.stories == "windows":
        summary.links = final.count() - final.values().distinct().count()
    owned = clustered.filter(lambda x: x[0] == "owned").map(lambda x: x[1])
    story_of_original = (
        owned.map(lambda kv: ((kv[1][0], kv[1][1]), (kv[0], kv[1][2])))
        .join(final, parts)
        .map(lambda kv: (kv[1][0][0], (kv[1][1], kv[1][0][1])))
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    explanations = story_of_original.mapValues(lambda v: v[1])
    story_of = story_of_original.mapValues(lambda v: v[0])
    story_of = story_of.union(_duplicate_stories(duplicates, story_of, parts))
    copy_explanation = Explanation(similarity=1.0, score=1.0, runner_up=None)

    def whole(kv: Any) -> tuple[str, Any]:
        article_id, (read_, model_, small_) = kv
        (order, article, wire), model = next(iter(read_)), next(iter(model_), None)
        small = dict(small_)
        verdict = dataclasses.replace(small.get("verdict") or DedupResult(article_id), wire_origin=wire)
        extraction = item = None
        if model is not None:
            _, article, extraction, item = model
        explanation = small.get("explanation") or copy_explanation
        return article_id, (order, article, verdict, extraction, item, explanation, small.get("story"))

    # the small per-article values first, so the texts and extractions are shuffled once, together
    small = (
        duplicates.mapValues(lambda v: ("verdict", v))
        .union(explanations.mapValues(lambda v: ("explanation", v)))
        .union(story_of.mapValues(lambda v: ("story", v)))
    )
    everything = (
        reads.map(lambda r: (r.article.id, (r.order, r.article, r.wire)))
        .groupWith(modelled, small)
        .filter(lambda kv: len(kv[1][0]) > 0)  # every key is a read article; a guard, not a filter
        .map(whole)
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    article_rows = everything.map(
        lambda kv: tables.article_row(kv[1][0], kv[1][1], kv[1][2], kv[1][6], kv[1][5], kv[1][3], kv[1][4])
    )
    per_story = (
        everything.filter(lambda kv: kv[1][6] is not None)
        .map(lambda kv: (kv[1][6], (kv[1][1], kv[1][2], kv[1][3], kv[1][4])))
        .groupByKey(parts)
        .flatMap(lambda kv: _timed(_story_rows(kv[0], kv[1]), seconds, "stories"))
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    rejections = (
        sc.parallelize(bad, 1)
        .union(read.filter(lambda x: x[0] == "rejection").map(lambda x: x[1]))
        .union(per_story.filter(lambda x: x[0] == "rejection").map(lambda x: x[1]))
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    _write(spark, out, "articles", article_rows)
    _write(spark, out, "stories", per_story.filter(lambda x: x[0] == "story").map(lambda x: x[1]))
    _write(spark, out, "facts", per_story.filter(lambda x: x[0] == "fact").map(lambda x: x[1]))
    _write(spark, out, "quotes", per_story.filter(lambda x: x[0] == "quote").map(lambda x: x[1]))
    _write(
        spark,
        out,
        "rejections",
        rejections.map(
            lambda r: tables.rejection_row(r.source.path, r.source.line, r.source.member, r.stage, r.reason)
        ),
    )
    # counts and a bounded sample of what was skipped (the table holds them all) for the summary
    counts = dict(per_story.map(lambda x: (x[0], 1)).reduceByKey(lambda a, b: a + b).collect())
    summary.rejections = rejections.count()
    summary.rejected = rejections.take(REJECTIONS_SHOWN)
    summary.articles = everything.count()
    summary.duplicates = duplicates.count()
    summary.stories = counts.get("story", 0)
    summary.facts = counts.get("fact", 0)
    summary.quotes = counts.get("quote", 0)
    summary.task_seconds = dict(seconds.value)
    summary.model_seconds = dict(models.value)
    summary.seconds = time.perf_counter() - began
    for rdd in (read, reads, duplicates, modelled, placed, clustered, final, story_of_original, everything):
        rdd.unpersist()
    for rdd in (per_story, rejections):
        rdd.unpersist()
    return summary


def _duplicate_stories(duplicates: Any, story_of: Any, parts: int) -> Any:
    """(duplicate id, story) for every duplicate whose chain of originals ends in a story: each
    copy follows ``duplicate_of`` to its root original (``stream.duplicate_root``), by joins; a
    chain is a copy of a copy, so a few rounds resolve them all."""
    from pyspark import StorageLevel

    pointer = duplicates.mapValues(lambda v: v.duplicate_of).persist(StorageLevel.MEMORY_AND_DISK)
    root = pointer
    while True:
        # one hop: a copy whose original is itself a copy now points to that copy's original
        hop = (
            root.map(lambda kv: (kv[1], kv[0]))
            .leftOuterJoin(pointer, parts)
            .map(lambda kv: (kv[1][0], kv[1][1] if kv[1][1] is not None else kv[0]))
            .persist(StorageLevel.MEMORY_AND_DISK)
        )
        moved = hop.join(root, parts).filter(lambda kv: kv[1][0] != kv[1][1]).count()
        root = hop
        if not moved:
            break
    return root.map(lambda kv: (kv[1], kv[0])).join(story_of, parts).map(lambda kv: (kv[1][0], kv[1][1]))


def _timed(rows: Iterator[Any], seconds: Any, stage: str) -> Iterator[Any]:
    start = time.perf_counter()
    yield from rows
    seconds.add({stage: time.perf_counter() - start})


def _spark_schema(table: str) -> Any:
    from pyspark.sql import types as T

    simple = {
        "string": T.StringType(),
        "long": T.LongType(),
        "double": T.DoubleType(),
        "boolean": T.BooleanType(),
        "array<string>": T.ArrayType(T.StringType()),
    }
    return T.StructType([T.StructField(name, simple[kind], True) for name, kind, _ in tables.COLUMNS[table]])


def _write(spark: Any, out: str, table: str, rows: Any) -> None:
    names = [name for name, _, _ in tables.COLUMNS[table]]
    data = rows.map(lambda row: tuple(row[n] for n in names))
    frame = spark.createDataFrame(data, _spark_schema(table))
    frame.write.mode("overwrite").parquet(os.path.join(out, table))


# --- spark-submit ------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``spark-submit storydesk/spark/job.py INPUT... --out DIR``: the same job as ``spark-run``."""
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="storydesk-spark", description=main.__doc__)
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="WARC, WARC.gz, JSONL files or folders")
    parser.add_argument("--out", required=True, help="folder for the Parquet tables")
    parser.add_argument("--master", default=None, help="Spark master (default: spark-submit's)")
    parser.add_argument("--window-days", type=float, default=7.0)
    parser.add_argument("--overlap-days", type=float, default=None)
    parser.add_argument("--partitions", type=int, default=0)
    parser.add_argument("--stories", choices=("one-pass", "windows"), default="one-pass")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="section.name=value")
    args = parser.parse_args(argv)
    settings = Settings().with_overrides(args.overrides)
    options = JobOptions(
        master=args.master,
        window_days=args.window_days,
        overlap_days=args.overlap_days,
        partitions=args.partitions,
        stories=args.stories,
    )
    summary = run(args.inputs, args.out, settings, options)
    for r in summary.rejected:
        print(f"skipped {r}", file=sys.stderr)
    data = summary.to_dict()
    data.pop("rejected")
    print(json.dumps(data, indent=2))
    return 1 if summary.rejected else 0


if __name__ == "__main__":
    from storydesk.spark.job import main as _main

    sys.exit(_main())
