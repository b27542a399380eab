"""Benchmark of a desk's ingest as it grows: one small batch, resumed from the saved stream vs clustering all again.

    python bench/ingest.py [--sizes 2000,10000,30000] [--batch 5] [--repeat 3]

For each size a fresh desk is filled with that many synthetic stored articles: the cluster features
come from bench/cluster.py's stream (derived from real ECB+ article features, ~3,000 articles a day)
and each text is 350 words drawn from ECB+ texts, so the duplicate index has real work. Then:

- **start over** (the baseline, what every batch cost before the stream state was saved): rebuild
  the duplicate index over every stored text and cluster every stored article in one pass
  (``Desk.recluster``), which also saves the stream state;
- **resumed**: ingest batches of ``--batch`` real ECB+ articles dated after the stored ones; the
  median of ``--repeat`` batches (after one warm-up batch that loads the models) is printed, split
  into the model work (extraction and embedding of the batch, the same at any desk size), the
  reading and writing of the stream state, and the state file's size. The ratio compares starting
  over with the part of a resumed batch that is not model work.

The resumed batch still reads and writes the whole state file, so it grows with the desk, at the
speed of a file copy rather than of re-clustering.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from cluster import ECBPLUS, _stream  # noqa: E402

from storydesk import snapshot  # noqa: E402
from storydesk.api import Desk  # noqa: E402
from storydesk.cluster import Featurizer  # noqa: E402
from storydesk.config import ClusterSettings, ModelSettings  # noqa: E402
from storydesk.evaluate.clusters import ecbplus_records, records_to_articles  # noqa: E402
from storydesk.models import Article, DedupResult  # noqa: E402

EPOCH = dt.date(1970, 1, 1)


def _fill(desk: Desk, size: int, base: list, words: list[str]) -> float:
    """Store ``size`` synthetic articles with their cluster features; returns the last day used."""
    rng = random.Random(size)
    last = 0.0
    with desk.store.transaction():
        for item in _stream(base, size):
            text = " ".join(rng.choice(words) for _ in range(350))
            day = EPOCH + dt.timedelta(days=int(item.time or 0))
            article = Article(id=item.id, text=text, raw_text=text, title=item.title, published=day)
            desk.store.add_article(article, DedupResult(article_id=item.id))
            desk.store.put_cluster_item(item.id, item.to_record())
            last = max(last, item.time or 0.0)
    return last


def _batch(folder: Path, name: str, records: list[dict], day: dt.date) -> Path:
    path = folder / f"{name}.jsonl"
    rows = [
        {"id": f"{name}-{r['id']}", "title": r["title"], "text": r["text"], "published": day.isoformat()}
        for r in records
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="2000,10000,30000", help="Stored articles per desk (comma-separated)."
    )
    parser.add_argument("--batch", type=int, default=5, help="Articles per ingested batch.")
    parser.add_argument("--repeat", type=int, default=3, help="Timed batches per size (median printed).")
    args = parser.parse_args()
    if not ECBPLUS.exists():
        sys.exit(f"{ECBPLUS} is absent: the bench derives its articles from ECB+")

    records = ecbplus_records(ECBPLUS)
    base = Featurizer(ClusterSettings(), ModelSettings()).featurize(records_to_articles(records[::4]))
    words = " ".join(r["text"] for r in records).split()
    print(
        f"{'stored':>8} {'start over':>11} {'resumed p50':>12} {'models':>8} {'state I/O':>9} "
        f"{'the rest':>9} {'ratio':>9} {'state file':>11}"
    )
    print(
        "(resumed = a whole batch; models = its extraction + embedding, the same at any desk size; "
        "the rest = resumed - models; ratio = start over / the rest)"
    )
    for size in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            db = folder / "desk.db"
            with Desk.open(db) as desk:
                last = _fill(desk, size, base, words)
                start = time.perf_counter()
                desk.recluster()
                start_over = time.perf_counter() - start
                day = EPOCH + dt.timedelta(days=int(last) + 1)
                times: list[float] = []
                models: list[float] = []
                io: list[float] = []
                offset = 0
                for n in range(args.repeat + 1):
                    batch = records[offset : offset + args.batch]
                    offset += args.batch
                    path = _batch(folder, f"b{n}", batch, day)
                    before = _state_io_seconds()
                    stages: dict[str, float] = {}

                    def clock(
                        stage: str, done: int, total: int | None, stages: dict[str, float] = stages
                    ) -> None:
                        stages.setdefault(f"{stage}-start", time.perf_counter())
                        stages[f"{stage}-end"] = time.perf_counter()

                    start = time.perf_counter()
                    summary = desk.ingest([path], progress=clock)
                    secs = time.perf_counter() - start
                    assert summary.stream == "resumed", summary.stream
                    if n:  # batch 0 loads the models
                        times.append(secs)
                        models.append(stages["embed-end"] - stages["dedup-end"])
                        io.append(_state_io_seconds() - before)
                state_mb = snapshot.path_for(db).stat().st_size / 1e6
            resumed, model, state_io = (statistics.median(x) for x in (times, models, io))
            rest = resumed - model
            print(
                f"{size:>8} {start_over:>10.1f}s {resumed:>11.2f}s {model:>7.2f}s {state_io:>8.2f}s "
                f"{rest:>8.2f}s {start_over / rest:>8.1f}x {state_mb:>8.0f} MB"
            )


_IO_SECONDS = [0.0]


def _state_io_seconds() -> float:
    return _IO_SECONDS[0]


def _timed(fn):  # type: ignore[no-untyped-def]
    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            _IO_SECONDS[0] += time.perf_counter() - start

    return wrapper


# The state's share of a batch: time spent (un)pickling it and writing/reading its file.
snapshot.dumps = _timed(snapshot.dumps)
snapshot.loads = _timed(snapshot.loads)
snapshot.stage = _timed(snapshot.stage)


if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    main()
