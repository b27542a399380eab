"""Score HTML extraction (reader + cleaner) on the Scrapinghub article-extraction benchmark.

Each page ``html/<id>.html.gz`` goes through the HTML reader and ``clean``; the text is compared
with ``ground-truth.json``'s ``articleBody`` by word 4-gram shingles, as the benchmark does:
per-document tp/fp/fn normalised to sum 1, precision and recall averaged over documents (skipping
those where they are undefined), F1 from the two means. The reader's text before cleaning and,
optionally, plain ``trafilatura.extract`` are scored alongside, so a cleaning loss is visible.
"""

from __future__ import annotations

import gzip
import json
import re
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from storydesk.clean import clean
from storydesk.config import CleanSettings
from storydesk.ingest.html import extract_html
from storydesk.models import Article, Rejection, Source

__all__ = ["HtmlReport", "Score", "evaluate_html", "shingle_counts", "shingle_match"]

_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Score:
    """Mean precision, recall and the F1 of the two, over documents."""

    precision: float
    recall: float
    f1: float

    @classmethod
    def of(cls, matches: list[tuple[float, float, float]]) -> Score:
        """Aggregate per-document (tp, fp, fn) as the benchmark does."""
        precisions = [_precision(*m) for m in matches if m[0] + m[1] > 0]
        recalls = [_recall(*m) for m in matches if m[0] + m[2] > 0]
        p = statistics.fmean(precisions) if precisions else 0.0
        r = statistics.fmean(recalls) if recalls else 0.0
        return cls(p, r, 2 * p * r / (p + r) if p + r else 0.0)


@dataclass(slots=True)
class HtmlReport:
    """Scores of the cleaned text, the reader's raw text and (optionally) plain trafilatura."""

    documents: int
    clean: Score
    raw: Score
    baseline: Score | None = None
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (page id, reason)
    worst: list[tuple[str, float, float]] = field(default_factory=list)  # (page id, clean F1, raw F1)
    steps: Counter[str] = field(default_factory=Counter)  # cleaning steps applied, by kind
    seconds: float = 0.0

    def format(self) -> str:
        """A short human-readable report."""
        lines = [f"HTML extraction on {self.documents} pages ({self.seconds:.1f}s)"]
        rows = [("storydesk clean", self.clean), ("reader (before clean)", self.raw)]
        if self.baseline is not None:
            rows.append(("trafilatura.extract", self.baseline))
        for name, score in rows:
            lines.append(f"  {name:<22} P={score.precision:.3f}  R={score.recall:.3f}  F1={score.f1:.3f}")
        if self.rejected:
            lines.append(f"  rejected: {len(self.rejected)}")
            lines.extend(f"    {page[:12]}: {reason}" for page, reason in self.rejected[:10])
        if self.steps:
            lines.append("  cleaning steps: " + ", ".join(f"{k}={v}" for k, v in self.steps.most_common()))
        if self.worst:
            lines.append("  largest cleaning losses (page, clean F1, raw F1):")
            lines.extend(f"    {page[:12]}  {c:.3f}  {r:.3f}" for page, c, r in self.worst)
        return "\n".join(lines)


def shingle_counts(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    """Word n-gram counts (``\\w+`` tokens); a text shorter than n gives its one short shingle."""
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i : i + n])


def shingle_match(true: str, pred: str, n: int = 4) -> tuple[float, float, float]:
    """(tp, fp, fn) over shingle multisets, normalised to sum 1 so long pages weigh no more."""
    gold, guess = shingle_counts(true, n), shingle_counts(pred, n)
    tp = float(sum((gold & guess).values()))
    fp = float(sum((guess - gold).values()))
    fn = float(sum((gold - guess).values()))
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def _precision(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return tp / (tp + fp) if tp + fp else 0.0


def _recall(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return tp / (tp + fn) if tp + fn else 0.0


def _f1(match: tuple[float, float, float]) -> float:
    p, r = _precision(*match), _recall(*match)
    return 2 * p * r / (p + r) if p + r else 0.0


def evaluate_html(
    data_dir: Path, limit: int | None = None, *, baseline: bool = False, settings: CleanSettings | None = None
) -> HtmlReport:
    """Run reader + clean over the benchmark in ``data_dir`` (sorted page ids, the first ``limit``)."""
    settings = settings or CleanSettings()
    truth = json.loads((data_dir / "ground-truth.json").read_text(encoding="utf-8"))
    ids = sorted(truth)[:limit] if limit is not None else sorted(truth)
    started = time.perf_counter()
    cleaned, raw, base = [], [], []
    report = HtmlReport(documents=len(ids), clean=Score(0, 0, 0), raw=Score(0, 0, 0))
    losses = []
    for page in ids:
        gold = truth[page].get("articleBody") or ""
        path = data_dir / "html" / f"{page}.html.gz"
        html = gzip.decompress(path.read_bytes())
        doc = extract_html(html, Source(str(path)))
        raw_text = clean_text = ""
        if isinstance(doc, Rejection):
            report.rejected.append((page, doc.reason))
        else:
            raw_text = doc.text or ""
            article = clean(doc, settings)
            if isinstance(article, Article):
                clean_text = article.text
                report.steps.update(step.kind for step in article.steps)
            else:
                report.rejected.append((page, article.reason))
        cleaned.append(shingle_match(gold, clean_text))
        raw.append(shingle_match(gold, raw_text))
        losses.append((page, _f1(cleaned[-1]), _f1(raw[-1])))
        if baseline:
            import trafilatura

            base.append(shingle_match(gold, trafilatura.extract(html, include_comments=False) or ""))
    report.clean, report.raw = Score.of(cleaned), Score.of(raw)
    report.baseline = Score.of(base) if baseline else None
    report.worst = sorted((x for x in losses if x[2] - x[1] > 1e-9), key=lambda x: x[1] - x[2])[:10]
    report.seconds = time.perf_counter() - started
    return report
