"""Story clustering evaluation: B-cubed and pairwise scores against gold labels, a baseline and a reference.

``evaluate_clusters`` runs any ``assign`` function (records -> article id -> story id) over a
labelled JSONL and reports B-cubed P/R/F1, pairwise P/R/F1 and story counts, next to the simple
baseline (TF-IDF + average-linkage agglomerative clustering with a distance threshold) and the
literature's reference point (K-means over TF-IDF, told the gold number of stories, which no online
clusterer is). ECB+ converts to the same record format: id, title, text, published, gold
(= subtopic); ``headlines_only`` turns any record set into a headline-only stream.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from storydesk.clean import first_sentence, stated_datetime
from storydesk.config import ClusterSettings, ModelSettings
from storydesk.errors import InputError
from storydesk.ingest import load_jsonl
from storydesk.ingest.records import FIELD_NAMES, lowered_keys
from storydesk.models import Article

__all__ = [
    "BASELINE_DISTANCE",
    "ClusterError",
    "ClusterReport",
    "Scores",
    "baseline_assign",
    "bcubed",
    "cluster_errors",
    "convert_ecbplus",
    "ecbplus_records",
    "evaluate_clusters",
    "featurize_records",
    "headlines_only",
    "load_gold_jsonl",
    "online_assign",
    "pairwise_f1",
    "records_to_articles",
    "reference_assign",
]

# Cosine distance threshold of the baseline, tuned on the ECB+ train split (never on dev).
BASELINE_DISTANCE = 0.85
# K-means depends on its random start: the reference reports the median run of this many seeds.
REFERENCE_SEEDS = 5


def _prf(p: float, r: float) -> tuple[float, float, float]:
    return p, r, (2 * p * r / (p + r) if p + r > 0 else 0.0)


def _common(pred: Mapping[str, str], gold: Mapping[str, str]) -> list[str]:
    return sorted(set(pred) & set(gold))


def bcubed(pred: Mapping[str, str], gold: Mapping[str, str]) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 over the items both mappings label (item -> cluster)."""
    items = _common(pred, gold)
    if not items:
        return 0.0, 0.0, 0.0
    pair_counts = Counter((pred[i], gold[i]) for i in items)
    pred_sizes = Counter(pred[i] for i in items)
    gold_sizes = Counter(gold[i] for i in items)
    precision = sum(n * n / pred_sizes[p] for (p, _), n in pair_counts.items()) / len(items)
    recall = sum(n * n / gold_sizes[g] for (_, g), n in pair_counts.items()) / len(items)
    return _prf(precision, recall)


def pairwise_f1(pred: Mapping[str, str], gold: Mapping[str, str]) -> tuple[float, float, float]:
    """Pairwise precision, recall and F1: item pairs put together by pred vs by gold."""
    items = _common(pred, gold)

    def pairs(counts: Counter[Any]) -> int:
        return sum(n * (n - 1) // 2 for n in counts.values())

    both = pairs(Counter((pred[i], gold[i]) for i in items))
    in_pred = pairs(Counter(pred[i] for i in items))
    in_gold = pairs(Counter(gold[i] for i in items))
    precision = both / in_pred if in_pred else 1.0
    recall = both / in_gold if in_gold else 1.0
    return _prf(precision, recall)


def load_gold_jsonl(path: str | Path, label: str = "gold") -> list[dict[str, Any]]:
    """Records of a labelled JSONL (article fields + a gold label field, copied to ``gold``).

    The label and id fields match case-insensitively (``--label story`` reads a ``STORY`` column); a
    record without an id is known by its record number.
    """
    records = []
    for n, record in enumerate(load_jsonl(path), start=1):
        keys = lowered_keys(record)
        gold_key = keys.get(label.lower())
        if gold_key is None:
            raise InputError(str(path), f"record {n} lacks the gold label field {label!r}")
        id_key = next((keys[a] for a in FIELD_NAMES["id"] if a in keys), None)
        record["gold"] = str(record[gold_key])
        record["id"] = str(record[id_key]) if id_key is not None else str(n)
        records.append(record)
    return records


def _parse_published(raw: Any) -> str | None:
    """An ISO date from a free-text date (ECB+ stores them as written on the page), else None.

    Only a date that states its year, month and day counts: ECB+'s field also holds "Mumbai, Nov
    11 -" and lines of article text ("She was 91."), which a parse filling the gaps would misdate.
    """
    if not raw or not isinstance(raw, str):
        return None
    text = raw.replace(" : ", ":").replace(" / ", "/")
    for marker in ("Originally published", "PUBLISHED", "Published", "First Published", "Posted on"):
        if marker in text:
            text = text.split(marker, 1)[1]
    when = stated_datetime(text, fuzzy=True, ignoretz=True)
    return when.date().isoformat() if when is not None and 1990 <= when.year <= 2030 else None


def ecbplus_records(path: str | Path, split: str | None = None) -> list[dict[str, Any]]:
    """ECB+ documents as evaluation records: id, title, text, published (ISO or None), gold = subtopic.

    The first sentence is stored as the title, so text = title + " " + text restores the document.
    """
    out = []
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            doc = json.loads(line)
            if split is not None and doc.get("split") != split:
                continue
            title = doc.get("title") or ""
            out.append(
                {
                    "id": str(doc["doc_id"]),
                    "title": title,
                    "text": f"{title} {doc.get('text') or ''}".strip(),
                    "published": _parse_published(doc.get("date_publish")),
                    "url": doc.get("url"),
                    "gold": str(doc["subtopic"]),
                    "topic": doc.get("topic"),
                    "split": doc.get("split"),
                }
            )
    return out


def convert_ecbplus(src: str | Path, dst: str | Path, split: str | None = None) -> int:
    """Write ECB+ as the storydesk JSONL format with a ``gold`` field; returns the record count."""
    records = ecbplus_records(src, split)
    with Path(dst).open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(records)


def records_to_articles(records: Sequence[Mapping[str, Any]]) -> list[Article]:
    """Minimal Articles (id = record id) for clustering records without the cleaning pipeline."""
    articles = []
    for r in records:
        published = None
        if r.get("published"):
            try:
                published = dt.date.fromisoformat(str(r["published"])[:10])
            except ValueError:
                published = None
        text = str(r.get("text") or "")
        articles.append(
            Article(
                id=str(r["id"]),
                text=text,
                raw_text=text,
                title=r.get("title") or None,
                published=published,
                outlet=r.get("source"),
            )
        )
    return articles


def featurize_records(
    records: Sequence[Mapping[str, Any]], settings: ClusterSettings, models: ModelSettings | None = None
) -> list[Any]:
    """ClusterItems for records (embeddings + NER), in record order, by the pipeline's featurizer."""
    from storydesk.config import Settings
    from storydesk.pipeline import Pipeline

    pipeline = Pipeline(Settings(cluster=settings, models=models or ModelSettings()))
    return list(pipeline.featurize(records_to_articles(records)))


def online_assign(
    records: Sequence[Mapping[str, Any]],
    settings: ClusterSettings,
    models: ModelSettings | None = None,
    items: Sequence[Any] | None = None,
) -> dict[str, str]:
    """Featurize records and run the online clusterer in arrival order: record id -> story id."""
    from storydesk.cluster import arrival_order, cluster_items

    articles = records_to_articles(records)
    if items is None:
        items = featurize_records(records, settings, models)
    order = arrival_order(articles)
    final, _, _ = cluster_items([items[i] for i in order], settings)
    return final


def baseline_assign(
    records: Sequence[Mapping[str, Any]], distance: float = BASELINE_DISTANCE
) -> dict[str, str]:
    """The simple baseline: TF-IDF over title + text, average-linkage with a cosine distance threshold."""
    from sklearn.cluster import AgglomerativeClustering

    ids = [str(r["id"]) for r in records]
    if len(ids) < 2:
        return {i: "b0" for i in ids}
    matrix = _tfidf(records)
    labels = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=distance
    ).fit_predict(matrix.toarray())
    return {i: f"b{label}" for i, label in zip(ids, labels, strict=True)}


def _tfidf(records: Sequence[Mapping[str, Any]]) -> Any:
    """The TF-IDF matrix of title + text the baseline and the reference both cluster (sparse)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [f"{r.get('title') or ''} {r.get('text') or ''}" for r in records]
    return TfidfVectorizer(stop_words="english", sublinear_tf=True, min_df=1).fit_transform(texts)


def reference_assign(
    records: Sequence[Mapping[str, Any]], stories: int, seed: int = 0, matrix: Any = None
) -> dict[str, str]:
    """The reference point: K-means over TF-IDF of title + text, given the number of stories.

    This is the set-up of the ~0.97 figure the ECB+ literature reports on its test topics (Barhom
    et al., 2019). Being told how many stories there are is an oracle no online clusterer has, so
    the reference measures what the words allow, not a competitor. ``matrix`` is the records'
    ``_tfidf``, passed in when several seeds cluster the same records.
    """
    from sklearn.cluster import KMeans

    ids = [str(r["id"]) for r in records]
    stories = max(1, min(stories, len(ids)))
    if stories == 1:
        return {i: "k0" for i in ids}
    matrix = _tfidf(records) if matrix is None else matrix
    labels = KMeans(n_clusters=stories, n_init=10, random_state=seed).fit_predict(matrix)
    return {i: f"k{label}" for i, label in zip(ids, labels, strict=True)}


def headlines_only(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The same records as a headline-only stream: title, time and outlet kept, the text dropped.

    A record without a title gets the headline ingest would give it: its text's first sentence.
    """
    return [{**r, "title": _headline(r), "text": ""} for r in records]


def _headline(record: Mapping[str, Any]) -> str:
    """A record's title, or the headline ingest would give it: its text's first sentence."""
    return str(record.get("title") or "").strip() or first_sentence(str(record.get("text") or "").strip())


@dataclass(slots=True)
class Scores:
    """One system's scores on one record set."""

    name: str
    bcubed: tuple[float, float, float]
    pairwise: tuple[float, float, float]
    predicted: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        b, p = self.bcubed, self.pairwise
        return {
            "name": self.name,
            "bcubed": {"precision": b[0], "recall": b[1], "f1": b[2]},
            "pairwise": {"precision": p[0], "recall": p[1], "f1": p[2]},
            "stories": self.predicted,
            "seconds": round(self.seconds, 3),
        }

    def row(self) -> str:
        b, p = self.bcubed, self.pairwise
        return (
            f"{self.name:<28} B3 P {b[0]:.3f} R {b[1]:.3f} F1 {b[2]:.3f} | "
            f"pairwise P {p[0]:.3f} R {p[1]:.3f} F1 {p[2]:.3f} | stories {self.predicted} | {self.seconds:.1f}s"
        )


@dataclass(slots=True)
class ClusterReport:
    """Scores of the system (and the baseline and reference) against gold, with the settings used."""

    records: int
    gold_stories: int
    system: Scores
    baseline: Scores | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    reference: Scores | None = None
    reference_f1s: tuple[float, ...] = ()  # B-cubed F1 of every seed, the reported run is their median
    errors: list[ClusterError] | None = None  # the system's errors, when asked for
    order_f1s: tuple[float, ...] = ()  # the system's B-cubed F1 on each shuffled input order

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-able data (absent parts are None)."""
        return {
            "articles": self.records,
            "gold_stories": self.gold_stories,
            "system": self.system.to_dict(),
            "baseline": None if self.baseline is None else self.baseline.to_dict(),
            "reference": None if self.reference is None else self.reference.to_dict(),
            "reference_f1s": list(self.reference_f1s),
            "errors": None if self.errors is None else [e.to_dict() for e in self.errors],
            "shuffled_order_f1s": list(self.order_f1s),
            "settings": {f"cluster.{k}": v for k, v in self.settings.items()},
        }

    def format(self) -> str:
        """A plain-text report: scores, story counts, the errors when asked for, then every cluster
        setting. Titles are quoted as the records give them: print it without markup."""
        lines = [f"{self.records} articles, {self.gold_stories} gold stories", self.system.row()]
        if self.baseline is not None:
            lines.append(self.baseline.row())
        if self.reference is not None:
            lines.append(self.reference.row())
            seeds = ", ".join(f"{f:.3f}" for f in self.reference_f1s)
            lines.append(
                f"  (reference: told the gold story count; B3 F1 of seeds 0-{len(self.reference_f1s) - 1}: {seeds})"
            )
        if self.order_f1s:
            f1s = self.order_f1s
            lines.append(
                f"  (arrival order: B3 F1 over {len(f1s)} shuffled input orders: median "
                f"{statistics.median(f1s):.3f}, min {min(f1s):.3f}, max {max(f1s):.3f})"
            )
        if self.errors is not None:
            lines.extend(_format_errors(self.errors))
        lines.append("cluster settings:")
        lines.extend(f"  cluster.{k} = {v!r}" for k, v in self.settings.items())
        return "\n".join(lines)


def _score(name: str, pred: Mapping[str, str], gold: Mapping[str, str], seconds: float) -> Scores:
    kept = {k: v for k, v in pred.items() if k in gold}
    return Scores(name, bcubed(kept, gold), pairwise_f1(kept, gold), len(set(kept.values())), seconds)


def evaluate_clusters(
    records: Sequence[Mapping[str, Any]],
    assign: Callable[[list[dict[str, Any]]], dict[str, str]] | None,
    settings: ClusterSettings,
    *,
    baseline: bool = True,
    reference: bool = False,
    errors: bool = False,
    orders: int = 0,
) -> ClusterReport:
    """Cluster the records with ``assign`` (default: featurize + online clusterer) and score them.

    ``baseline`` adds the TF-IDF + average-linkage baseline; ``reference`` adds K-means given the
    gold story count (the median of ``REFERENCE_SEEDS`` seeds by B-cubed F1, with every seed's F1);
    ``errors`` lists the system's mixed stories and split gold stories (``cluster_errors``);
    ``orders`` also clusters that many shuffles of the records (seeds 1..orders) and reports the
    system's B-cubed F1 on each: how much the score owes to the input order. Dated articles are
    placed by date whatever the order; a shuffle moves the undated ones, and which of two copies
    comes first.
    """
    rows = [dict(r) for r in records]
    gold = {str(r["id"]): str(r["gold"]) for r in rows}
    if assign is None:

        def assign(recs: list[dict[str, Any]]) -> dict[str, str]:
            return online_assign(recs, settings)

    start = time.perf_counter()
    pred = assign(rows)
    system = _score("storydesk online", pred, gold, time.perf_counter() - start)
    order_f1s = []
    for seed in range(1, orders + 1):
        shuffled = list(rows)
        random.Random(seed).shuffle(shuffled)
        order_f1s.append(bcubed(assign(shuffled), gold)[2])
    base = None
    if baseline:
        start = time.perf_counter()
        base_pred = baseline_assign(rows)
        base = _score(
            f"baseline tfidf+avg d={BASELINE_DISTANCE}", base_pred, gold, time.perf_counter() - start
        )
    ref: Scores | None = None
    ref_f1s: tuple[float, ...] = ()
    if reference:
        start = time.perf_counter()
        matrix = _tfidf(rows)
        fitted = time.perf_counter() - start  # each run's time counts the one shared TF-IDF fit
        runs = []
        for seed in range(REFERENCE_SEEDS):
            start = time.perf_counter()
            ref_pred = reference_assign(rows, len(set(gold.values())), seed, matrix)
            seconds = fitted + time.perf_counter() - start
            runs.append(_score("reference kmeans K=gold", ref_pred, gold, seconds))
        ref_f1s = tuple(r.bcubed[2] for r in runs)
        ref = sorted(runs, key=lambda r: r.bcubed[2])[len(runs) // 2]
    values = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}
    found = None
    if errors:
        found = cluster_errors(pred, gold, {str(r["id"]): _headline(r) for r in rows})
    return ClusterReport(
        len(rows), len(set(gold.values())), system, base, values, ref, ref_f1s, found, tuple(order_f1s)
    )


@dataclass(frozen=True, slots=True)
class ClusterError:
    """One predicted story that mixes gold stories (``merged``), or one gold story spread over
    predicted stories (``split``): ``key`` is the story id or the gold label, ``size`` its articles,
    and ``parts`` each gold label (or predicted story) in it with its article count and the title of
    its first article, largest part first."""

    kind: Literal["merged", "split"]
    key: str
    size: int
    parts: tuple[tuple[str, int, str], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "size": self.size,
            "parts": [{"label": label, "articles": n, "title": title} for label, n, title in self.parts],
        }


def cluster_errors(
    pred: Mapping[str, str], gold: Mapping[str, str], titles: Mapping[str, str] | None = None
) -> list[ClusterError]:
    """Error analysis: the predicted stories that mix gold stories, then the gold stories that are
    split, each largest first (ties by key). Only items with both a prediction and a gold label
    count; a part's title is its first item's (in ``pred``'s order), from ``titles``."""
    titles = titles or {}
    items = [i for i in pred if i in gold]

    def grouped(
        outer: Mapping[str, str], inner: Mapping[str, str], kind: Literal["merged", "split"]
    ) -> list[ClusterError]:
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        first: dict[tuple[str, str], str] = {}
        for i in items:
            counts[outer[i]][inner[i]] += 1
            first.setdefault((outer[i], inner[i]), i)
        found = [
            ClusterError(
                kind,
                key,
                sum(c.values()),
                tuple(
                    (label, n, titles.get(first[key, label], ""))
                    for label, n in sorted(c.items(), key=lambda x: (-x[1], x[0]))
                ),
            )
            for key, c in counts.items()
            if len(c) > 1
        ]
        return sorted(found, key=lambda e: (-e.size, e.key))

    return grouped(pred, gold, "merged") + grouped(gold, pred, "split")


def _format_errors(errors: Sequence[ClusterError], width: int = 60) -> list[str]:
    merged = sum(e.kind == "merged" for e in errors)
    lines = [f"errors: {merged} stories mix gold stories, {len(errors) - merged} gold stories are split"]
    for e in errors:
        what = "story" if e.kind == "merged" else "gold"
        lines.append(f"  {e.kind} {what} {e.key} ({e.size} articles):")
        for label, n, title in e.parts:
            short = " ".join(title.split())
            short = short if len(short) <= width else short[: width - 1] + "…"
            lines.append(f"    {n:>4}  {label}  {short!r}" if short else f"    {n:>4}  {label}")
    return lines
