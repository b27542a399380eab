"""End-to-end ingest throughput on a fixed real set, beside the models alone and the previous code.

    .venv/bin/python bench/pipeline.py [--n 600] [--repeat 3] [--baseline REV] [--modes ...]
        [--variant NAME:SECTION.NAME=VALUE,...]
    .venv/bin/python bench/pipeline.py --stories-desk 10000

The set: the first ``n/2`` PolNeAR train articles (sorted by file name, titles and dates from
``metadata.tsv``) and the first ``n/2`` ECB+ articles (train and dev, file order), from
``../shared/data``. Every measurement runs in a fresh child process (so peak RSS is its own), with
the models loaded before the clock starts; each is repeated ``--repeat`` times, interleaved, and
the median is printed:

- **ingest**: ``storydesk ingest`` of the set (one JSONL file) into a new desk, end to end: read,
  clean, dedup, parse, extract, embed, cluster, corroborate, store; with each stage's share;
- **spacy**: one bare full ``en_core_web_sm`` ``nlp.pipe`` pass over the same texts, one process:
  the yardstick of the issue (ingest / spacy >= 1.0);
- **floor**: the models this desk runs, alone, on the same inputs (the parse of the texts with the
  components extraction reads, NER over the title + lead when clustering features need their own,
  MiniLM over title + lead): what ingest cannot beat;
- **baseline** (``--baseline REV``): the same ingest with the code of git revision ``REV``, run
  from a temporary worktree of this repository;
- **variants** (``--variant NAME:SETTINGS``): the same ingest with other settings, e.g.
  ``np2:models.n_process=2`` or ``onnx:models.embedding_backend=onnx``.

Peak RSS is the child's ``ru_maxrss``. Speeds are articles (or docs) per second.
``--stories-desk SIZE`` instead times ``stories`` on a desk of SIZE synthetic stored articles.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
MODES = ("ingest", "spacy", "floor")


def load_set(n: int, data: Path = DATA) -> list[dict[str, Any]]:
    """The fixed set: n/2 PolNeAR train articles then n/2 ECB+ articles, as JSONL records."""
    half = n // 2
    meta: dict[str, dict[str, str]] = {}
    with (data / "polnear" / "metadata.tsv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            meta[row["filename"]] = row
    records: list[dict[str, Any]] = []
    for path in sorted((data / "polnear" / "train" / "text").glob("*.txt"))[:half]:
        row = meta.get(path.stem, {})
        records.append(
            {
                "id": f"polnear-{path.stem}",
                "title": row.get("title") or None,
                "text": path.read_text(encoding="utf-8"),
                "published": row.get("publication_date") or None,
                "source": row.get("publisher") or None,
            }
        )
    with (data / "ecbplus" / "ecbplus_train_dev.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if len(records) >= 2 * half:
                break
            r = json.loads(line)
            records.append(
                {
                    "id": f"ecb-{r['doc_id']}",
                    "title": r.get("title"),
                    "text": r.get("text") or "",
                    "published": r.get("date_publish"),
                }
            )
    return records


def _settings() -> Any:
    """Default settings, with the parent's ``--set`` overrides (passed in BENCH_SET)."""
    from storydesk.config import Settings

    pairs = [p for p in os.environ.get("BENCH_SET", "").split("\n") if p]
    return Settings().with_overrides(pairs) if pairs else Settings()


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the children: one measurement each, printed as one JSON line ---------------------------------


def _child(mode: str, data_file: Path) -> dict[str, Any]:
    records = [json.loads(line) for line in data_file.read_text(encoding="utf-8").splitlines()]
    if mode == "ingest":
        return _child_ingest(data_file, len(records))
    if mode == "spacy":
        from storydesk.nlp import load_spacy

        nlp = load_spacy("en_core_web_sm")
        nlp("warm up")
        start = time.perf_counter()
        for _ in nlp.pipe(r["text"] for r in records):
            pass
        return {"seconds": time.perf_counter() - start, "count": len(records), "rss_mb": _rss_mb()}
    if mode == "floor":
        return _child_floor(records)
    raise SystemExit(f"unknown mode {mode!r}")


def _child_ingest(data_file: Path, count: int) -> dict[str, Any]:
    import storydesk.nlp
    from storydesk.api import Desk
    from storydesk.nlp import load_embedder, load_spacy

    settings = _settings()
    load_spacy(settings.models.spacy_model)("warm up")
    load_embedder(settings.models).encode(["warm up"])
    if hasattr(storydesk.nlp, "load_spacy_ner"):  # the NER-only copy the features use (not in older code)
        storydesk.nlp.load_spacy_ner(settings.models.spacy_model)("warm up")
    from storydesk.extract import Extractor

    # One-time loads (unit tables, gazetteers) are not per-article work: pay them before the clock.
    Extractor(settings.extract, settings.models).extract("Officials said 5,000 people fled 30 km on Monday.")
    with tempfile.TemporaryDirectory() as tmp:
        desk = Desk.open(Path(tmp) / "bench.db", settings)
        start = time.perf_counter()
        summary = desk.ingest([data_file])
        seconds = time.perf_counter() - start
        stages = dict(getattr(desk, "timings", {}) or {})
        desk.close()
    return {
        "seconds": seconds,
        "count": count,
        "added": summary.added,
        "stories": summary.stories,
        "stages": stages,
        "rss_mb": _rss_mb(),
        # spaCy's worker processes under models.n_process > 1: the largest of them (forked, so much
        # of it is shared with the parent's pages)
        "workers_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def _child_floor(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The models alone, over exactly the inputs the desk gives them (``Pipeline.model_inputs``)."""
    from storydesk.cluster import ner_components
    from storydesk.nlp import load_embedder, load_spacy
    from storydesk.pipeline import Pipeline

    settings = _settings()
    pipeline = Pipeline(settings)
    nlp = load_spacy(settings.models.spacy_model)
    embedder = load_embedder(settings.models)
    nlp("warm up")
    embedder.encode(["warm up"])
    inputs = pipeline.model_inputs(pipeline.read_records(records, "<bench>").articles)
    parts: dict[str, float] = {}
    size = settings.models.spacy_batch_size
    t = time.perf_counter()
    for _ in nlp.pipe(inputs.parse, batch_size=size, n_process=settings.models.n_process):
        pass
    parts["parse (full pipeline)"] = time.perf_counter() - t
    t = time.perf_counter()
    with nlp.select_pipes(enable=ner_components(nlp)):
        for _ in nlp.pipe(inputs.ner, batch_size=64, n_process=settings.models.n_process):
            pass
    parts["lead NER"] = time.perf_counter() - t
    t = time.perf_counter()
    embedder.encode(inputs.embed)
    parts["embed"] = time.perf_counter() - t
    return {"seconds": sum(parts.values()), "count": len(records), "stages": parts, "rss_mb": _rss_mb()}


def stories_figure(size: int) -> dict[str, float]:
    """``stories`` on a desk of ``size`` stored articles (three to a story): the API call and the
    whole command (a fresh process: imports included), medians of 5."""
    import datetime as dt

    from storydesk.api import Desk
    from storydesk.models import Article, Assignment, DedupResult, Explanation, Story

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "large.db"
        desk = Desk.open(path)
        stories, assignments = [], []
        with desk.store.transaction():
            for n in range(size):
                text = f"Report {n} on the council vote number {n // 3}, with its figures and quotes."
                article = Article(
                    id=f"a{n:06d}",
                    text=text,
                    raw_text=text,
                    title=f"Vote {n // 3}",
                    published=dt.date(2024, 1, 1) + dt.timedelta(days=n // 300),
                )
                desk.store.add_article(article, DedupResult(article.id))
                assignments.append(Assignment(article.id, f"s{n // 3:06d}", Explanation(1.0, 1.0, None)))
            for k in range((size + 2) // 3):
                ids = tuple(f"a{n:06d}" for n in range(3 * k, min(size, 3 * k + 3)))
                stories.append(Story(f"s{k:06d}", f"Vote {k}", ids, dt.date(2024, 1, 1), dt.date(2024, 1, 2)))
            desk.store.replace_stories(stories, assignments, [])
        api_s = []
        for _ in range(5):
            start = time.perf_counter()
            desk.stories()
            api_s.append(time.perf_counter() - start)
        desk.close()
        cli_s = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run(
                [str(Path(sys.executable).parent / "storydesk"), "--db", str(path), "stories", "--json"],
                check=True,
                capture_output=True,
            )
            cli_s.append(time.perf_counter() - start)
    return {"api": statistics.median(api_s), "cli": statistics.median(cli_s)}


# --- the parent ---------------------------------------------------------------------------------


@contextlib.contextmanager
def _worktree(rev: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="storydesk-baseline-") as tmp:
        path = Path(tmp) / "tree"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(path), rev], check=True
        )
        try:
            yield path
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], check=False)


def _run(mode: str, data_file: Path, code: Path, overrides: list[str]) -> dict[str, Any]:
    env = dict(
        os.environ, PYTHONPATH=str(code), TOKENIZERS_PARALLELISM="false", BENCH_SET="\n".join(overrides)
    )
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", mode, "--data-file", str(data_file)],
        cwd=code,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{mode} run failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=600, help="articles in the set (half PolNeAR, half ECB+)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement; medians are printed")
    parser.add_argument("--baseline", metavar="REV", help="also ingest with the code of this git revision")
    parser.add_argument("--modes", default=",".join(MODES), help=f"which of {','.join(MODES)} to run")
    parser.add_argument("--json", action="store_true", help="print every run as JSON too")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.NAME=VALUE",
        help="a setting for this code's runs (not the baseline's), e.g. models.n_process=2",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:SECTION.NAME=VALUE,...",
        help="also ingest with these settings, in the same run, e.g. np2:models.n_process=2",
    )
    parser.add_argument(
        "--stories-desk",
        type=int,
        metavar="SIZE",
        help="only time `stories` (API call and command) on a desk of SIZE stored articles",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.data_file)))
        return

    if args.stories_desk:
        figure = stories_figure(args.stories_desk)
        print(
            f"stories on a {args.stories_desk:,}-article desk: Desk.stories() {figure['api'] * 1000:.0f} ms, "
            f"`storydesk stories --json` {figure['cli']:.2f} s (a fresh process), medians of 5"
        )
        return
    records = load_set(args.n)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    runs: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        data_file = Path(tmp) / "set.jsonl"
        data_file.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        # name -> (measurement, code, settings)
        codes = {m: (m, ROOT, args.set) for m in modes}
        if args.baseline:
            codes["baseline"] = ("ingest", stack.enter_context(_worktree(args.baseline)), [])
        for variant in args.variant:
            label, _, sets = variant.partition(":")
            codes[label] = ("ingest", ROOT, [*args.set, *(x for x in sets.split(",") if x)])
        for r in range(args.repeat):
            for name, (mode, code, overrides) in codes.items():
                result = _run(mode, data_file, code, overrides)
                runs.setdefault(name, []).append(result)
                print(
                    f"  run {r + 1} {name}: {result['count'] / result['seconds']:.2f}/s, "
                    f"{result['rss_mb']:.0f} MB",
                    file=sys.stderr,
                )
    if args.json:
        print(json.dumps(runs, indent=2))
    _report(records, runs, args)


def _median_rate(results: list[dict[str, Any]]) -> float:
    return statistics.median(r["count"] / r["seconds"] for r in results)


def _report(records: list[dict[str, Any]], runs: dict[str, list[dict[str, Any]]], args: Any) -> None:
    words = statistics.median(len(str(r["text"]).split()) for r in records)
    print(f"set: {len(records)} articles (median {words:.0f} words), {args.repeat} runs each, medians")
    rates = {name: _median_rate(results) for name, results in runs.items()}
    for name, results in runs.items():
        rss = statistics.median(r["rss_mb"] for r in results)
        workers = statistics.median(r.get("workers_rss_mb", 0.0) for r in results)
        more = f" (+ spaCy workers, the largest {workers:.0f} MB)" if workers else ""
        print(f"{name:>9}: {rates[name]:6.2f} articles/s   peak RSS {rss:6.0f} MB{more}")
    if "ingest" in rates and "spacy" in rates:
        print(f"ingest / bare full spaCy pass: {rates['ingest'] / rates['spacy']:.2f} (target >= 1.0)")
    if "ingest" in rates and "baseline" in rates:
        print(f"ingest / baseline ({args.baseline}): {rates['ingest'] / rates['baseline']:.2f}")
    for variant in args.variant:
        label = variant.partition(":")[0]
        if label in rates and "spacy" in rates:
            print(f"{label} / bare full spaCy pass: {rates[label] / rates['spacy']:.2f} ({variant})")
        if label in rates and "baseline" in rates:
            print(f"{label} / baseline ({args.baseline}): {rates[label] / rates['baseline']:.2f}")
    if "ingest" in rates and "floor" in rates:
        floor_s = 1 / rates["floor"]
        rest = 1 / rates["ingest"] - floor_s
        print(
            f"ingest beyond the models run one after another: {rest:.3f} s/article = {rest / floor_s:.2f} x the"
            f" model floor ({floor_s:.3f} s/article; aim <= 1.5)"
        )
    for name in ("ingest", "floor"):
        results = runs.get(name, [])
        stages = [r.get("stages") or {} for r in results]
        if not stages or not stages[0]:
            continue
        totals = {k: statistics.median(s.get(k, 0.0) for s in stages) for k in stages[0]}
        whole = statistics.median(r["seconds"] for r in results) or 1.0
        totals["other"] = max(0.0, whole - sum(totals.values()))
        shares = ", ".join(f"{k} {v / whole:.0%}" for k, v in sorted(totals.items(), key=lambda kv: -kv[1]))
        note = " (the features run in a thread beside the parse: shares overlap)" if name == "ingest" else ""
        print(f"{name} stages (share of its wall time{note}): {shares}")


if __name__ == "__main__":
    main()
