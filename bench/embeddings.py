"""The embedding backends side by side, in one run, on the same texts.

    .venv/bin/python bench/embeddings.py [--n 200] [--repeat 3] [--backends torch,onnx,onnx-int8,static]

For each ``models.embedding_backend``: the time to make it ready (the first use exports or distils
it into ``--cache-dir``; later loads read the cached file), docs/s over the title + lead of the
``bench/pipeline.py`` set (exactly what ingest embeds; median of ``--repeat``), the cosine of its
vectors to the torch model's (where the dimensions agree), and the ECB+ dev clustering B-cubed F1
(``storydesk eval clusters ... --ecbplus --split dev``) with those vectors. ``onnx`` and
``onnx-int8`` need the onnx extra (``pip install -e '.[onnx]'``). Everything runs with
``--threads`` threads (models.embed_threads; 0, the default, is the library's own count).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pipeline import DATA, load_set  # bench/pipeline.py: the fixed real set

BACKENDS = ("torch", "onnx", "onnx-int8", "static")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=200, help="articles whose title + lead are embedded")
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed passes per backend; the median is printed"
    )
    parser.add_argument("--backends", default=",".join(BACKENDS), help=f"which of {','.join(BACKENDS)}")
    parser.add_argument("--cache-dir", default="", help="models.cache_dir (default: the user's cache)")
    parser.add_argument(
        "--threads", type=int, default=0, help="models.embed_threads (0: the library default)"
    )
    parser.add_argument("--no-eval", action="store_true", help="skip the ECB+ dev clustering scores")
    args = parser.parse_args()

    import numpy as np

    from storydesk.config import ModelSettings, Settings
    from storydesk.evaluate.clusters import bcubed, ecbplus_records, online_assign
    from storydesk.nlp import load_embedder
    from storydesk.pipeline import Pipeline

    settings = Settings()
    pipeline = Pipeline(settings)
    texts = pipeline.model_inputs(pipeline.read_records(load_set(args.n), "<bench>").articles).embed
    dev = [] if args.no_eval else ecbplus_records(DATA / "ecbplus" / "ecbplus_train_dev.jsonl", "dev")
    gold = {str(r["id"]): str(r["gold"]) for r in dev}
    reference: np.ndarray | None = None
    rows = []
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        models = dataclasses.replace(
            ModelSettings(), embedding_backend=backend, cache_dir=args.cache_dir, embed_threads=args.threads
        )
        start = time.perf_counter()
        embedder = load_embedder(models)
        embedder.encode(["warm up"])
        ready = time.perf_counter() - start
        runs = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            vectors = embedder.encode(texts)
            runs.append(time.perf_counter() - start)
        if backend == "torch":
            reference = vectors
        cosine = (
            (vectors * reference).sum(axis=1)
            if reference is not None and reference.shape == vectors.shape
            else None
        )
        f1 = bcubed(online_assign(dev, settings.cluster, models), gold)[2] if dev else None
        rows.append((backend, ready, len(texts) / statistics.median(runs), cosine, f1))
        print(f"  {backend}: done", file=sys.stderr)

    print(
        f"{len(texts)} title + lead texts (<= {settings.cluster.max_chars} chars), {args.threads} thread(s)"
    )
    print(f"{'backend':<10} {'ready s':>8} {'docs/s':>8} {'cos min':>8} {'cos mean':>8} {'ECB+ dev B3':>11}")
    for backend, ready, rate, cosine, f1 in rows:
        cmin = f"{cosine.min():.4f}" if cosine is not None else "-"
        cmean = f"{cosine.mean():.4f}" if cosine is not None else "-"
        score = f"{f1:.3f}" if f1 is not None else "-"
        print(f"{backend:<10} {ready:8.1f} {rate:8.1f} {cmin:>8} {cmean:>8} {score:>11}")


if __name__ == "__main__":
    main()
