"""Scale figures of the Spark job: records/s per core, shuffle size, the share of model inference.

    .venv/bin/python bench/spark.py [--mb 1000] [--files 8] [--masters local[1] local[2]]
    .venv/bin/python bench/spark.py --parity ../shared/data/ecbplus/ecbplus_train_dev.jsonl [--stories one-pass windows]
    .venv/bin/python bench/spark.py --parity-slice 2000 [--write-slice slice.jsonl]

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
the file and prints the B³ F1 between them and whether the duplicates are identical, for each
``--stories`` mode (``--stories one-pass windows``: both, one machine computed once).
``--parity-slice 2000`` does the same on the parity slice: the ECB+ train+dev and PolNeAR train+dev
texts with deterministic exact and near copies up to 2,000 records (``build_slice``).
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
DATA = ROOT.parent / "shared" / "data"
PAGES = DATA / "article-extraction-benchmark" / "html"
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


def build_slice(path: Path, size: int = 2000) -> dict[str, int]:
    """Write the parity slice of ``size`` records to ``path`` (JSONL); returns what it holds.

    Deterministic, from the shared data only: the ECB+ train+dev records in file order, then the
    PolNeAR train and dev articles by (publication date, file name) (title: the first line; the
    compartment held back for evaluation is not used), then, to reach ``size``, copies: the k-th of
    ``size - n`` copies is of record ``k * n // (size - n)`` and comes right after it, an exact copy
    (same text, another title) for even k and a near copy (the first three " the " made " a ") for
    odd k, so the duplicates compared are many and of both kinds. Fewer than ``n`` asked: the first.
    """
    records: list[dict[str, Any]] = []
    ecb = DATA / "ecbplus" / "ecbplus_train_dev.jsonl"
    for line in ecb.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        records.append(
            {"id": r["doc_id"], "title": r["title"], "text": r["text"], "published": r["date_publish"]}
        )
    meta: dict[str, dict[str, str]] = {}
    with (DATA / "polnear" / "metadata.tsv").open(encoding="utf-8") as fh:
        head = fh.readline().rstrip("\n").split("\t")
        for row in fh:
            cells = dict(zip(head, row.rstrip("\n").split("\t"), strict=False))
            meta[cells["filename"]] = cells
    polnear = []
    for compartment in ("train", "dev"):
        for text in sorted((DATA / "polnear" / compartment / "text").glob("*.txt")):
            m = meta.get(text.stem, {})
            title, _, body = text.read_text(encoding="utf-8").partition("\n")
            polnear.append(
                {
                    "id": text.stem,
                    "title": title.strip(),
                    "text": body.strip(),
                    "published": m.get("publication_date"),
                    "source": m.get("publisher"),
                }
            )
    polnear.sort(key=lambda r: (r["published"] or "", r["id"]))
    records.extend(polnear)
    n = len(records)
    if size <= n:
        out, copies = records[:size], 0
    else:
        copies = size - n
        after: dict[int, list[dict[str, Any]]] = {}
        for k in range(copies):
            at = k * n // copies
            base = records[at]
            if k % 2 == 0:
                copy = dict(base, id=f"{base['id']}-copy{k}", title=f"Copy: {base['title']}")
            else:
                copy = dict(base, id=f"{base['id']}-near{k}", text=base["text"].replace(" the ", " a ", 3))
            after.setdefault(at, []).append(copy)
        out = [x for at, r in enumerate(records) for x in (r, *after.get(at, []))]
    path.write_text("".join(json.dumps(r) + "\n" for r in out), encoding="utf-8")
    return {"records": len(out), "ecbplus": min(len(out), 772), "copies": copies}


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


def parity(path: Path, overrides: list[str], modes: list[str]) -> list[dict[str, Any]]:
    """Run ``spark-run --master local[2]`` on ``path`` once per stories mode and compare each with
    one machine (``storydesk cluster`` and the duplicate index, computed once)."""
    from storydesk.config import Settings
    from storydesk.spark import job
    from storydesk.spark import parity as parity_mod

    settings = Settings().with_overrides(overrides)
    start = time.perf_counter()
    single = parity_mod.single_machine(path, settings)
    single_s = time.perf_counter() - start
    results = []
    for mode in modes:
        with tempfile.TemporaryDirectory(prefix="storydesk-parity-") as out:
            start = time.perf_counter()
            options = job.JobOptions(
                master="local[2]", stories="windows" if mode == "windows" else "one-pass"
            )
            summary = job.run([str(path)], out, settings, options)
            spark_s = time.perf_counter() - start
            result = parity_mod.compare(path, Path(out), settings, single)
        results.append(
            {
                "input": str(path),
                "stories": mode,
                "records": result.records,
                "bcubed_f1": round(result.bcubed_f1, 4),
                "duplicates_identical": result.duplicates_identical,
                "duplicates": len(result.duplicates_spark),
                "single_stories": len(set(single[0].values())),
                "spark_stories": summary.stories,
                "windows": summary.windows,
                "links": summary.links,
                "spark_s": round(spark_s, 1),
                "single_s": round(single_s, 1),
            }
        )
        print(json.dumps(results[-1]), flush=True)
    return results


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
        "--parity-slice",
        type=int,
        metavar="N",
        help="instead: parity on the N-record slice of PolNeAR + ECB+ (see build_slice; 2000 in the issue)",
    )
    parser.add_argument("--write-slice", type=Path, help="with --parity-slice: keep the slice JSONL here")
    parser.add_argument(
        "--stories",
        nargs="+",
        choices=("one-pass", "windows"),
        default=["one-pass"],
        help="with --parity: the stories modes to run",
    )
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="section.name=value")
    args = parser.parse_args()
    if args.parity is not None:
        parity(args.parity, args.overrides, args.stories)
        return 0
    if args.parity_slice is not None:
        with tempfile.TemporaryDirectory(prefix="storydesk-slice-") as tmp:
            path = args.write_slice or Path(tmp) / f"slice-{args.parity_slice}.jsonl"
            print(json.dumps({"slice": str(path), **build_slice(path, args.parity_slice)}), flush=True)
            parity(path, args.overrides, args.stories)
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
