"""Scale figures of the Spark job: records/s per core, shuffle size, the share of model inference.

    .venv/bin/python bench/spark.py [--mb 1000] [--files 8] [--masters local[1] local[2]]
    .venv/bin/python bench/spark.py --parity ../shared/data/ecbplus/ecbplus_train_dev.jsonl

The input is a WARC built from the benchmark HTML pages (``../shared/data/article-extraction-
benchmark/html``) repeated until the archive holds ``--mb`` MB of HTML, split into ``--files``
gzipped WARC files (the job reads one file per task). Each copy of a page has ``--mutate`` of its
words replaced (seeded), so copies are new articles, not duplicates: every record goes through the
models, as a CC-NEWS record mostly does. For each master the job runs once, end to end, and prints:

- **records/s per core**: HTML 200 records read / wall seconds / cores;
- **shuffle**: bytes the shuffles wrote (from Spark's event log, summed over the tasks);
- **inference share**: seconds in the models (the spaCy parse, the NER pass, the embedder) over
  those plus every other stage's (reading, cleaning, extraction rules, lexical features, model
  loading, clustering, corroboration); and the share of task time in the whole ``Pipeline.process``
  call. Local mode runs one model thread per task (``OMP_NUM_THREADS=1``).

``--parity FILE.jsonl`` instead runs ``spark-run --master local[2]`` and ``storydesk cluster`` on
the file and prints the B³ F1 between them and whether the duplicates are identical.
Needs the spark extra (``pip install 'storydesk[spark]'``); ``--help`` does not.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT.parent / "shared" / "data" / "article-extraction-benchmark" / "html"
_TEXT = re.compile(r">([^<>]{20,})<")
_WORD = re.compile(r"\b[a-z]{4,}\b")
INFERENCE = ("parse", "features ner", "embed")


def warc_record(uri: str, payload: bytes, n: int) -> bytes:
    """One gzipped WARC response record holding an HTTP 200 HTML page."""
    http = (
        f"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    block = http.encode() + payload
    head = (
        f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: {uri}\r\n"
        f"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-{n:012d}>\r\n"
        "WARC-Date: 2021-07-05T10:00:00Z\r\nContent-Type: application/http; msgtype=response\r\n"
        f"Content-Length: {len(block)}\r\n\r\n"
    )
    return gzip.compress(head.encode() + block + b"\r\n\r\n", compresslevel=1)


def _mutate(html: str, rng: random.Random, share: float, vocabulary: list[str]) -> str:
    def words(match: re.Match[str]) -> str:
        return _WORD.sub(
            lambda w: rng.choice(vocabulary) if rng.random() < share else w.group(), match.group(0)
        )

    return _TEXT.sub(words, html)


def build_warcs(folder: Path, mb: float, files: int, mutate: float, seed: int = 1) -> tuple[int, int]:
    """Write ``files`` WARC.gz files holding ``mb`` MB of HTML; returns (records, bytes of HTML)."""
    pages = [
        gzip.decompress(p.read_bytes()).decode("utf-8", "replace") for p in sorted(PAGES.glob("*.html.gz"))
    ]
    if not pages:
        raise SystemExit(f"no benchmark pages under {PAGES}")
    vocabulary = sorted({w for p in pages[:20] for w in _WORD.findall(p)})
    rng = random.Random(seed)
    target = int(mb * 1_000_000)
    handles = [(folder / f"bench-{n:03d}.warc.gz").open("wb") for n in range(files)]
    written = records = 0
    try:
        while written < target:
            page = pages[records % len(pages)]
            html = page if records < len(pages) else _mutate(page, rng, mutate, vocabulary)
            payload = html.encode("utf-8")
            handles[records % files].write(
                warc_record(f"https://bench.example/{records:08d}", payload, records)
            )
            written += len(payload)
            records += 1
    finally:
        for h in handles:
            h.close()
    return records, written


def _shuffle_bytes(log_dir: Path) -> int:
    total = 0
    for path in log_dir.rglob("*"):
        if not path.is_file():
            continue
        with path.open(encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if '"SparkListenerTaskEnd"' not in line:
                    continue
                metrics = json.loads(line).get("Task Metrics") or {}
                total += int((metrics.get("Shuffle Write Metrics") or {}).get("Shuffle Bytes Written", 0))
    return total


def run_one(inputs: list[str], master: str, out: Path, overrides: list[str]) -> dict[str, Any]:
    from storydesk.config import Settings
    from storydesk.spark import job

    cores = (
        int(re.fullmatch(r"local\[(\d+)\]", master).group(1)) if re.fullmatch(r"local\[\d+\]", master) else 0
    )
    settings = Settings().with_overrides(["ingest.max_file_bytes=4000000000", *overrides])
    with tempfile.TemporaryDirectory(prefix="storydesk-events-") as events:
        spark = job.session(
            master,
            driver_memory="2g",
            app="storydesk-bench",
            conf={
                "spark.eventLog.enabled": "true",
                "spark.eventLog.dir": events,
                "spark.eventLog.compress": "false",
                "spark.eventLog.rolling.enabled": "false",
            },
        )
        start = time.perf_counter()
        summary = job.run(inputs, out, settings, job.JobOptions(master=master), spark=spark)
        wall = time.perf_counter() - start
        spark.stop()
        shuffle = _shuffle_bytes(Path(events))
    tasks = sum(v for k, v in summary.task_seconds.items() if ":" not in k)
    inference = sum(summary.model_seconds.get(k, 0.0) for k in INFERENCE)
    # the cluster features run in a thread beside the parse, so stage seconds overlap: the share is
    # of the work, inference against everything else (reading, cleaning, rules, model loading, ...)
    other = (
        tasks
        - summary.task_seconds.get("models: Pipeline.process", 0.0)
        + sum(v for k, v in summary.model_seconds.items() if k not in INFERENCE)
    )
    records = summary.documents + sum(1 for r in summary.rejected if r.stage == "clean")
    return {
        "master": master,
        "records": records,
        "articles": summary.articles,
        "duplicates": summary.duplicates,
        "stories": summary.stories,
        "wall_s": round(wall, 1),
        "records_per_s": round(records / wall, 2),
        "records_per_s_per_core": round(records / wall / cores, 2) if cores else None,
        "shuffle_bytes": shuffle,
        "shuffle_bytes_per_record": round(shuffle / max(records, 1)),
        "task_s": {k: round(v, 1) for k, v in summary.task_seconds.items()},
        "model_s": {k: round(v, 1) for k, v in summary.model_seconds.items()},
        "inference_share": round(inference / (inference + other), 3) if inference + other else None,
        "process_share": round(summary.task_seconds.get("models: Pipeline.process", 0.0) / tasks, 3)
        if tasks
        else None,
    }


def parity(path: Path, overrides: list[str], stories: str = "one-pass") -> dict[str, Any]:
    from storydesk.config import Settings
    from storydesk.spark import job
    from storydesk.spark import parity as parity_mod

    settings = Settings().with_overrides(overrides)
    with tempfile.TemporaryDirectory(prefix="storydesk-parity-") as out:
        start = time.perf_counter()
        options = job.JobOptions(master="local[2]", stories="windows" if stories == "windows" else "one-pass")
        summary = job.run([str(path)], out, settings, options)
        spark_s = time.perf_counter() - start
        result = parity_mod.compare(path, Path(out), settings)
    return {
        "input": str(path),
        "stories": stories,
        "records": result.records,
        "bcubed_f1": round(result.bcubed_f1, 4),
        "duplicates_identical": result.duplicates_identical,
        "duplicates": len(result.duplicates_spark),
        "spark_stories": summary.stories,
        "windows": summary.windows,
        "links": summary.links,
        "spark_s": round(spark_s, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--mb", type=float, default=1000.0, help="MB of HTML in the WARC input (default 1000)"
    )
    parser.add_argument("--files", type=int, default=8, help="WARC files the input is split into")
    parser.add_argument("--mutate", type=float, default=0.08, help="share of words replaced in each copy")
    parser.add_argument("--masters", nargs="+", default=["local[1]", "local[2]"])
    parser.add_argument(
        "--parity", type=Path, help="instead: parity of spark-run and storydesk cluster on this JSONL"
    )
    parser.add_argument(
        "--stories", choices=("one-pass", "windows"), default="one-pass", help="with --parity"
    )
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="section.name=value")
    args = parser.parse_args()
    if args.parity is not None:
        print(json.dumps(parity(args.parity, args.overrides, args.stories), indent=2))
        return 0
    with tempfile.TemporaryDirectory(prefix="storydesk-bench-") as tmp:
        folder = Path(tmp) / "warc"
        folder.mkdir()
        records, size = build_warcs(folder, args.mb, args.files, args.mutate)
        on_disk = sum(p.stat().st_size for p in folder.iterdir())
        print(
            f"input: {records} records, {size / 1e6:.1f} MB of HTML, {on_disk / 1e6:.1f} MB of WARC.gz "
            f"in {args.files} files",
            flush=True,
        )
        for master in args.masters:
            figures = run_one([str(folder)], master, Path(tmp) / "out", args.overrides)
            print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
