"""Score quote/attribution extraction against PolNeAR's brat annotations.

A predicted quote matches a gold attribution when their content spans overlap by at
least half of the shorter one (one-to-one, greedy by overlap). Speaker accuracy counts
matched pairs whose speaker spans overlap, among matches whose gold relation has a source.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from storydesk.errors import InputError, MalformedInput

if TYPE_CHECKING:
    from storydesk.extract import Extractor

__all__ = [
    "GoldAttribution",
    "PredictedQuote",
    "QuoteReport",
    "evaluate_quotes",
    "load_polnear",
    "score_documents",
]

Fragments = tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class GoldAttribution:
    """One annotated attribution relation: content fragments and (optional) source fragments."""

    content: Fragments
    source: Fragments = ()


@dataclass(frozen=True, slots=True)
class PredictedQuote:
    """A system's quote reduced to what the scorer compares: content and speaker spans."""

    content: tuple[int, int]
    speaker: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class QuoteReport:
    """Precision, recall and F1 of attributions, and speaker accuracy among matches."""

    system: str
    documents: int
    gold: int
    predicted: int
    matched: int
    speaker_scored: int
    speaker_correct: int

    @property
    def precision(self) -> float:
        return self.matched / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.matched / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def speaker_accuracy(self) -> float:
        return self.speaker_correct / self.speaker_scored if self.speaker_scored else 0.0

    def format(self) -> str:
        """A short human-readable report."""
        return (
            f"{self.system}: {self.documents} documents, {self.gold} gold attributions, "
            f"{self.predicted} predicted, {self.matched} matched\n"
            f"  precision {self.precision:.3f}  recall {self.recall:.3f}  F1 {self.f1:.3f}\n"
            f"  speaker accuracy {self.speaker_accuracy:.3f} ({self.speaker_correct}/{self.speaker_scored})"
        )


def _fragments(offsets: str) -> Fragments:
    return tuple((int(a), int(b)) for a, b in (part.split() for part in offsets.split(";")))


def parse_ann(text: str, path: str = "") -> list[GoldAttribution]:
    """Attribution relations of one brat .ann file (Content required, Source optional)."""
    spans: dict[str, tuple[str, Fragments]] = {}
    relations: list[GoldAttribution] = []
    events: list[list[str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("T"):
            parts = line.split("\t")
            if len(parts) < 2 or " " not in parts[1]:
                raise MalformedInput(path, "bad text-bound annotation", number)
            label, _, offsets = parts[1].partition(" ")
            try:
                spans[parts[0]] = (label, _fragments(offsets))
            except ValueError as exc:
                raise MalformedInput(path, f"bad offsets {offsets!r}", number) from exc
        elif line.startswith("E"):
            events.append(line.split("\t", 1)[-1].split())
    for args in events:
        roles = dict(arg.split(":", 1) for arg in args if ":" in arg)
        content = roles.get("Content")
        if content not in spans:
            continue
        source = roles.get("Source")
        relations.append(GoldAttribution(spans[content][1], spans[source][1] if source in spans else ()))
    return relations


def load_polnear(data_dir: Path, limit: int | None = None) -> list[tuple[str, str, list[GoldAttribution]]]:
    """(name, text, gold attributions) for the articles of a PolNeAR compartment, sorted by name.

    Some articles were annotated twice (``NAME_<annotator>.ann``); the first annotation wins.
    """
    text_dir, ann_dir = data_dir / "text", data_dir / "attributions"
    if not text_dir.is_dir() or not ann_dir.is_dir():
        raise InputError(str(data_dir), "expected text/ and attributions/ folders (PolNeAR layout)")
    anns: dict[str, Path] = {}
    for ann in sorted(ann_dir.glob("*.ann")):
        anns.setdefault(re.sub(r"_[^_]+$", "", ann.stem), ann)
    out = []
    for txt in sorted(text_dir.glob("*.txt")):
        if txt.stem not in anns:
            continue
        gold = parse_ann(anns[txt.stem].read_text(encoding="utf-8"), str(anns[txt.stem]))
        out.append((txt.stem, txt.read_text(encoding="utf-8"), gold))
        if limit is not None and len(out) >= limit:
            break
    return out


def _overlap_with(span: tuple[int, int], fragments: Fragments) -> int:
    return sum(max(0, min(span[1], b) - max(span[0], a)) for a, b in fragments)


def _match_document(
    gold: Sequence[GoldAttribution], predicted: Sequence[PredictedQuote]
) -> list[tuple[GoldAttribution, PredictedQuote]]:
    """Greedy one-to-one matching on content overlap of at least half the shorter span."""
    candidates = []
    for gi, g in enumerate(gold):
        glen = sum(b - a for a, b in g.content)
        for pi, p in enumerate(predicted):
            overlap = _overlap_with(p.content, g.content)
            shorter = min(glen, p.content[1] - p.content[0])
            if overlap > 0 and overlap * 2 >= shorter:
                candidates.append((overlap, gi, pi))
    used_g: set[int] = set()
    used_p: set[int] = set()
    pairs = []
    for _, gi, pi in sorted(candidates, reverse=True):
        if gi in used_g or pi in used_p:
            continue
        used_g.add(gi)
        used_p.add(pi)
        pairs.append((gold[gi], predicted[pi]))
    return pairs


def score_documents(
    system: str, docs: Iterable[tuple[Sequence[GoldAttribution], Sequence[PredictedQuote]]]
) -> QuoteReport:
    """Aggregate matching over documents into one report."""
    n = gold_n = pred_n = matched = scored = correct = 0
    for gold, predicted in docs:
        n += 1
        gold_n += len(gold)
        pred_n += len(predicted)
        for g, p in _match_document(gold, predicted):
            matched += 1
            if g.source:
                scored += 1
                if p.speaker is not None and _overlap_with(p.speaker, g.source) > 0:
                    correct += 1
    return QuoteReport(system, n, gold_n, pred_n, matched, scored, correct)


def evaluate_quotes(data_dir: Path, extractor: Extractor, limit: int | None = None) -> QuoteReport:
    """Score storydesk's quote extraction on a PolNeAR compartment (``.../polnear/dev``)."""
    articles = load_polnear(data_dir, limit)
    extractions = extractor.extract_many([(name, text, None) for name, text, _ in articles])
    docs = []
    for (_, _, gold), ex in zip(articles, extractions, strict=True):
        predicted = [
            PredictedQuote(
                (q.content_start, q.content_end),
                (q.speaker_start, q.speaker_end)
                if q.speaker_start is not None and q.speaker_end is not None
                else None,
            )
            for q in ex.quotes
        ]
        docs.append((gold, predicted))
    return score_documents("storydesk", docs)


def evaluate_with(
    system: str, data_dir: Path, predict: Callable[[str], list[PredictedQuote]], limit: int | None = None
) -> QuoteReport:
    """Score any quote extractor given as a function from text to predicted quotes."""
    articles = load_polnear(data_dir, limit)
    return score_documents(system, ((gold, predict(text)) for _, text, gold in articles))
