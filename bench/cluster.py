"""Benchmark of the online story clusterer: throughput, assignment latency and memory as the index grows.

    python bench/cluster.py [--sizes 10000,100000] [--index usearch] [--peer]

Streams at 10k/100k/1M articles are derived from real ECB+ article features (embeddings, terms and
entities of real articles): each synthetic story takes a real article, moves its vector to a new
direction with noise, keeps its whole term list with a fifth of the terms made its own, gets its own
rare term and entity, and is re-dated on a timeline of ~3,000 articles a day, so the story index keeps
growing while old stories go dormant. Embedding throughput is measured on its own over the real
texts. Stories idle for ``window_days`` move from the active centroid index to the dormant one,
which is searched only for articles no active story takes; the latency baseline is an exact
brute-force scan over all story centroids, measured in the same run. ``--peer`` runs BERTopic
(UMAP + HDBSCAN over our embeddings) and plain HDBSCAN on ECB+ dev next to storydesk.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

# One BLAS thread: the exact-scan baseline and the clusterer are measured single-threaded, and an
# oversubscribed BLAS pool on a shared 2-core machine makes small matrix products erratic.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from storydesk.cluster import ClusterItem, ExactIndex, OnlineClusterer  # noqa: E402
from storydesk.config import ClusterSettings, ModelSettings  # noqa: E402
from storydesk.evaluate.clusters import (  # noqa: E402
    bcubed,
    ecbplus_records,
    online_assign,
    records_to_articles,
)

ECBPLUS = ROOT.parent / "shared" / "data" / "ecbplus" / "ecbplus_train_dev.jsonl"
ARTICLES_PER_DAY = 3000.0


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _rss_mb() -> float:
    """The process's resident memory now (Linux /proc; the peak where that is missing)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return _peak_mb()
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _real_items(settings: ClusterSettings) -> tuple[list[ClusterItem], list[dict[str, object]]]:
    """Featurize ECB+ (all 772 docs), printing embedding and full featurization throughput."""
    from storydesk.cluster import Featurizer, lead_text
    from storydesk.nlp import load_embedder

    records = ecbplus_records(ECBPLUS)
    articles = records_to_articles(records)
    embedder = load_embedder(ModelSettings())
    leads = [lead_text(a, settings.max_chars) for a in articles]
    embedder.encode(leads[:16])  # warm-up
    sample = leads[::3]
    start = time.perf_counter()
    embedder.encode(sample)
    secs = time.perf_counter() - start
    print(
        f"embedding: {len(sample)} texts (title + lead, <= {settings.max_chars} chars) in {secs:.1f}s "
        f"= {len(sample) / secs:.1f} texts/s on {torch_threads()} torch threads"
    )
    start = time.perf_counter()
    items = Featurizer(settings, ModelSettings()).featurize(articles)
    secs = time.perf_counter() - start
    print(f"featurize (embedding + NER + terms): {len(items) / secs:.1f} articles/s")
    return items, records


def torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


def _stream(base: list[ClusterItem], n: int, seed: int = 0) -> Iterator[ClusterItem]:
    """n synthetic items in time order, made as they are consumed; an item's story label is ``_gold(id)``.

    The bench holds no item itself, so the memory it reports is what the clusterer keeps.
    """
    rng = np.random.default_rng(seed)
    sizes: list[int] = []
    while sum(sizes) < n:
        sizes.append(int(min(rng.geometric(0.2), 60)))
    sizes[-1] -= sum(sizes) - n
    horizon = n / ARTICLES_PER_DAY
    starts = rng.uniform(0, horizon, len(sizes))
    story_of = np.repeat(np.arange(len(sizes)), sizes)
    times = starts[story_of] + rng.exponential(0.5, n)
    order = np.argsort(times, kind="stable")
    dim = base[0].vector.shape[0]
    for rank, i in enumerate(order):
        sid = int(story_of[i])
        srng = np.random.default_rng((seed, sid))
        src = base[int(srng.integers(len(base)))]
        center = src.vector + np.asarray(srng.normal(0, 1.0, dim), dtype=np.float32) / np.sqrt(dim) * 2.0
        center /= np.linalg.norm(center)
        # The real article's whole term list (~100 terms), a fifth of it made the story's own (its
        # names and places), so kept items weigh what real ones do and the vocabulary keeps growing.
        own = srng.random(len(src.terms)) < 0.2
        story_terms = [(f"{t}{sid}" if o else t, c) for (t, c), o in zip(src.terms, own, strict=True)]
        story_terms.append((f"zq{sid}", 1))
        story_entities = [*src.entities[:1], f"ent{sid}", f"place{sid}"]
        irng = np.random.default_rng((seed, sid, rank))
        vec = center + np.asarray(irng.normal(0, 1.0, dim), dtype=np.float32) / np.sqrt(dim) * 0.5
        vec = (vec / np.linalg.norm(vec)).astype(np.float32)
        keep = irng.random(len(story_terms)) < 0.8
        aid = f"{rank:08x}{sid:08x}"
        yield ClusterItem(
            id=aid,
            title=src.title,
            time=float(times[i]),
            vector=vec,
            terms=tuple(sorted(t for t, k in zip(story_terms, keep, strict=True) if k)),
            entities=tuple(story_entities),
            numbers=src.numbers[:3],
            years=(),
        )


def _gold(article_id: str) -> str:
    """A synthetic article's story label: the id is its rank then its story, 8 hex digits each."""
    return article_id[8:]


def _bench_size(base: list[ClusterItem], n: int, settings: ClusterSettings) -> dict[str, float]:
    items = _stream(base, n)
    last: deque[ClusterItem] = deque(maxlen=300)  # the articles the exact-scan baseline searches for
    first = next(items)  # the stream's timeline is laid out before the memory baseline is taken
    rss_start = _rss_mb()
    clusterer = OnlineClusterer(settings)
    clusterer.add(first)
    # Time every index search the stream makes, as it makes it (the bench may look inside).
    searches: dict[str, list[float]] = {"active": [], "dormant": []}
    for name, index in (("active", clusterer._tiers.active), ("dormant", clusterer._tiers.dormant)):
        index.search = _timed(index.search, searches[name])  # type: ignore[method-assign,union-attr]
    lat = np.empty(n - 1)
    for k, item in enumerate(items):
        t0 = time.perf_counter()
        clusterer.add(item)
        lat[k] = time.perf_counter() - t0
        last.append(item)
    total = float(lat.sum())  # time in add() only, not in making the synthetic items
    held_mb = _rss_mb() - rss_start  # what the clusterer keeps after the stream
    online = clusterer.placements()
    gold = {aid: _gold(aid) for aid in online}
    ann_lat, dormant_lat = list(searches["active"]), list(searches["dormant"])  # before consolidation's
    online_b3 = bcubed(online, gold)[2]
    # The end-of-batch second look (consolidation), timed on its own: it is not part of add().
    t0 = time.perf_counter()
    moves = clusterer.consolidate()
    consolidate_s = time.perf_counter() - t0
    pred = clusterer.placements()
    stories = clusterer._stories  # the bench may look inside: it measures the indexes the clusterer holds
    dormant = sum(story.dormant for story in stories.values())
    # The O(n) baseline: an exact brute-force scan over all story centroids, for the last 300 articles.
    exact = ExactIndex(base[0].vector.shape[0])
    for story in stories.values():
        exact.upsert(story.key, story.centroid())
    exact_lat = []
    for item in last:
        t0 = time.perf_counter()
        exact.search(item.vector, settings.candidates)
        exact_lat.append(time.perf_counter() - t0)
    b3 = bcubed(pred, gold)[2]
    row = {
        "n": n,
        "stories": len(stories),
        "gold": len(set(gold.values())),
        "per_s": n / total,
        "p50_ms": float(np.percentile(lat, 50) * 1e3),
        "p99_ms": float(np.percentile(lat, 99) * 1e3),
        "active": len(stories) - dormant,
        "dormant": dormant,
        "dormant_searched": len(dormant_lat) / n,
        "ann_p50_ms": float(np.percentile(ann_lat, 50) * 1e3),
        "ann_p99_ms": float(np.percentile(ann_lat, 99) * 1e3),
        "dormant_p50_ms": float(np.percentile(dormant_lat, 50) * 1e3) if dormant_lat else float("nan"),
        "exact_p50_ms": float(np.percentile(exact_lat, 50) * 1e3),
        "bcubed_f1": b3,
        "online_bcubed_f1": online_b3,
        "consolidate_s": consolidate_s,
        "moves": len(moves),
        "peak_mb": _peak_mb(),
        "held_mb": held_mb,
    }
    print(
        f"n={n:>8}: {row['per_s']:8.0f} articles/s | add p50 {row['p50_ms']:.3f} ms p99 {row['p99_ms']:.3f} ms | "
        f"in-stream ann search: active index (ends with {row['active']} stories) p50 {row['ann_p50_ms']:.3f} ms "
        f"p99 {row['ann_p99_ms']:.3f} ms, dormant index ({row['dormant']}) p50 {row['dormant_p50_ms']:.3f} ms, "
        f"searched for {row['dormant_searched']:.0%} of articles | exact scan of all {row['stories']} "
        f"p50 {row['exact_p50_ms']:.3f} ms | "
        f"consolidation {consolidate_s:.1f} s, "
        f"{len(moves)} moves | synthetic B3 F1 {online_b3:.3f} online, {b3:.3f} consolidated "
        f"({row['stories']} stories vs {row['gold']}) | RSS grew {held_mb:.0f} MB over the stream "
        f"({held_mb * 1024 / n:.1f} KB/article), peak RSS {row['peak_mb']:.0f} MB",
        flush=True,
    )
    return row


def _timed(search: Callable[[np.ndarray, int], list[int]], into: list[float]) -> Callable[..., list[int]]:
    """``search``, appending each call's seconds to ``into``."""

    def timed(vector: np.ndarray, k: int) -> list[int]:
        t0 = time.perf_counter()
        found = search(vector, k)
        into.append(time.perf_counter() - t0)
        return found

    return timed


def _peer(items: list[ClusterItem], records: list[dict[str, object]], settings: ClusterSettings) -> None:
    """storydesk vs BERTopic vs HDBSCAN on ECB+ dev, same embeddings, same run."""
    dev = [i for i, r in enumerate(records) if r.get("gold") and _split(r) == "dev"]
    recs = [records[i] for i in dev]
    dev_items = [items[i] for i in dev]
    gold = {str(r["id"]): str(r["gold"]) for r in recs}
    vectors = np.stack([it.vector for it in dev_items])
    print(f"peer comparison on ECB+ dev: {len(recs)} articles, {len(set(gold.values()))} gold stories")

    start = time.perf_counter()
    pred = online_assign(recs, settings, items=dev_items)
    secs = time.perf_counter() - start
    _peer_row("storydesk online", pred, gold, secs)

    from sklearn.cluster import HDBSCAN

    start = time.perf_counter()
    labels = HDBSCAN(min_cluster_size=3, metric="euclidean").fit_predict(vectors)
    secs = time.perf_counter() - start
    _peer_row("HDBSCAN (sklearn, mcs=3)", _with_singletons(recs, labels), gold, secs)

    try:
        from bertopic import BERTopic
        from umap import UMAP
    except ImportError as exc:
        print(f"BERTopic not installed ({exc}); pip install bertopic")
        return
    import bertopic

    start = time.perf_counter()
    umap = UMAP(n_neighbors=10, n_components=5, min_dist=0.0, metric="cosine", random_state=42)
    from hdbscan import HDBSCAN as HDB

    topic_model = BERTopic(umap_model=umap, hdbscan_model=HDB(min_cluster_size=3, prediction_data=True))
    texts = [str(r.get("text") or "") for r in recs]
    topics, _ = topic_model.fit_transform(texts, embeddings=vectors)
    secs = time.perf_counter() - start
    _peer_row(f"BERTopic {bertopic.__version__} (mcs=3)", _with_singletons(recs, topics), gold, secs)


def _split(record: dict[str, object]) -> str | None:
    split = record.get("split")
    return split if isinstance(split, str) else None


def _with_singletons(recs: list[dict[str, object]], labels: object) -> dict[str, str]:
    """Cluster labels by id; outliers (-1) become singleton stories."""
    return {
        str(r["id"]): (f"c{int(label)}" if int(label) >= 0 else f"o{r['id']}")
        for r, label in zip(recs, labels, strict=True)  # type: ignore[call-overload]
    }


def _peer_row(name: str, pred: dict[str, str], gold: dict[str, str], secs: float) -> None:
    p, r, f = bcubed(pred, gold)
    print(f"  {name:<30} B3 P {p:.3f} R {r:.3f} F1 {f:.3f} | stories {len(set(pred.values()))} | {secs:.2f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="10000,100000",
        help="comma-separated stream sizes (1000000 adds ~25 min on 2 cores; the whole 10k+100k+1M run ~35 min)",
    )
    parser.add_argument("--index", default=None, help="override cluster.index (usearch, hnswlib, exact)")
    parser.add_argument("--peer", action="store_true", help="also run BERTopic and HDBSCAN on ECB+ dev")
    args = parser.parse_args()
    if not ECBPLUS.is_file():
        sys.exit(f"{ECBPLUS} not found: the benchmark derives its streams from real ECB+ articles")
    settings = ClusterSettings()
    if args.index:
        settings = dataclasses.replace(settings, index=args.index)
    print(f"cpus: {os.cpu_count()}, index: {settings.index}, settings: {dataclasses.asdict(settings)}")
    items, records = _real_items(settings)
    rows = [_bench_size(items, int(s), settings) for s in args.sizes.split(",") if s.strip()]
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        print(
            f"latency ratio p50@{last['n']:.0f} / p50@{first['n']:.0f}: add {last['p50_ms'] / first['p50_ms']:.2f}x, "
            f"active ann search {last['ann_p50_ms'] / first['ann_p50_ms']:.2f}x, "
            f"exact scan {last['exact_p50_ms'] / first['exact_p50_ms']:.2f}x "
            f"(stories {first['stories']:.0f} -> {last['stories']:.0f})"
        )
        asleep = [row for row in rows if row["dormant_searched"] > 0]  # small streams have none yet
        if len(asleep) > 1:
            lo, hi = asleep[0], asleep[-1]
            print(
                f"dormant ann search p50@{hi['n']:.0f} / p50@{lo['n']:.0f}: "
                f"{hi['dormant_p50_ms'] / lo['dormant_p50_ms']:.2f}x (dormant stories {lo['dormant']:.0f} -> "
                f"{hi['dormant']:.0f})"
            )
    if args.peer:
        _peer(items, records, settings)


if __name__ == "__main__":
    main()
