"""Score wire-origin detection against PolNeAR's ``wire`` column.

PolNeAR's ``metadata.tsv`` labels each article with the agency it comes from
(``AP``, ``AFP``, ``UPI``, ``reuters``/``Reuters``) or ``None``; ``NA`` (all of
one outlet) means "not annotated" and is left out of the score. Only rows
whose text file exists in the given folder are scored, so pointing at
``polnear/dev/text`` scores the dev split.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from storydesk.dedup import AGENCIES, detect_wire_origin

# Any spelling of any agency's name, to find articles that mention one without deriving from it.
_NAMED = re.compile("|".join(rf"(?<![\w-])(?:{a})(?![\w-])" for agency in AGENCIES for a in agency.aliases))

__all__ = ["LabelScore", "WireReport", "canonical_wire_label", "evaluate_wire"]

NONE_LABEL = "None"
# PolNeAR's spellings -> storydesk's canonical agency names.
_LABELS = {
    "ap": "AP",
    "associated press": "AP",
    "afp": "AFP",
    "upi": "UPI",
    "reuters": "Reuters",
    "none": NONE_LABEL,
    "": NONE_LABEL,
}
_UNANNOTATED = {"na", "n/a"}


def canonical_wire_label(raw: str) -> str | None:
    """Map a ``wire`` value to a canonical agency name, ``"None"``, or None when unannotated."""
    key = raw.strip().lower()
    if key in _UNANNOTATED:
        return None
    return _LABELS.get(key, raw.strip())


@dataclass(frozen=True, slots=True)
class LabelScore:
    """Precision, recall and F1 of one label."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, slots=True)
class WireReport:
    """Accuracy, per-label scores and confusions of wire-origin detection."""

    total: int
    correct: int
    labels: tuple[LabelScore, ...]
    confusions: dict[tuple[str, str], int] = field(default_factory=dict)  # (gold, predicted) -> count
    unannotated: int = 0
    errors: tuple[tuple[str, str, str], ...] = ()  # (filename, gold, predicted)
    # Articles with no wire origin that still name an agency (a quote "told the AP", a story
    # about Reuters): how many there are, and how many of them we wrongly credit.
    unwired_naming_agency: int = 0
    unwired_naming_agency_credited: int = 0

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def score(self, label: str) -> LabelScore:
        """The scores of one label (KeyError when it never occurs)."""
        for item in self.labels:
            if item.label == label:
                return item
        raise KeyError(label)

    @property
    def wire_f1(self) -> float:
        """Micro F1 over agency labels only: did we find the right agency when there was one."""
        tp = sum(n for (g, p), n in self.confusions.items() if g == p and g != NONE_LABEL)
        fp = sum(n for (g, p), n in self.confusions.items() if g != p and p != NONE_LABEL)
        fn = sum(n for (g, p), n in self.confusions.items() if g != p and g != NONE_LABEL)
        return _f1(tp, fp, fn)[2]

    def format(self) -> str:
        """A plain-text report: accuracy, per-label P/R/F1, and every confusion."""
        lines = [
            f"wire origin: {self.correct}/{self.total} correct, accuracy {self.accuracy:.3f}, "
            f"agency micro-F1 {self.wire_f1:.3f} ({self.unannotated} unannotated rows skipped)",
            f"{'label':<12}{'P':>7}{'R':>7}{'F1':>7}{'n':>6}",
        ]
        for s in self.labels:
            lines.append(f"{s.label:<12}{s.precision:>7.3f}{s.recall:>7.3f}{s.f1:>7.3f}{s.support:>6}")
        wrong = sorted(((g, p, n) for (g, p), n in self.confusions.items() if g != p), key=lambda x: -x[2])
        lines.append(
            f"mere mentions: {self.unwired_naming_agency_credited} of {self.unwired_naming_agency} "
            "articles without a wire origin that name an agency were credited to one"
        )
        lines.append("confusions (gold -> predicted):" + ("" if wrong else " none"))
        lines.extend(f"  {g} -> {p}: {n}" for g, p, n in wrong)
        return "\n".join(lines)


def _f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def evaluate_wire(metadata_tsv: Path, text_dir: Path) -> WireReport:
    """Compare ``detect_wire_origin`` with the gold ``wire`` of every article found in ``text_dir``."""
    confusions: Counter[tuple[str, str]] = Counter()
    errors: list[tuple[str, str, str]] = []
    unannotated = 0
    naming = naming_credited = 0
    with Path(metadata_tsv).open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            path = Path(text_dir) / f"{row['filename']}.txt"
            if not path.is_file():
                continue
            gold = canonical_wire_label(row.get("wire") or "")
            if gold is None:
                unannotated += 1
                continue
            text = path.read_text(encoding="utf-8")
            found = detect_wire_origin(text, title=row.get("title") or None)
            predicted = found.name if found else NONE_LABEL
            if gold == NONE_LABEL and _NAMED.search(text):
                naming += 1
                naming_credited += predicted != NONE_LABEL
            confusions[(gold, predicted)] += 1
            if gold != predicted:
                errors.append((row["filename"], gold, predicted))
    seen = {g for g, _ in confusions} | {p for _, p in confusions}
    labels = sorted(seen, key=lambda x: (x == NONE_LABEL, x))
    scores = []
    for label in labels:
        tp = confusions[(label, label)]
        fp = sum(n for (g, p), n in confusions.items() if p == label and g != label)
        fn = sum(n for (g, p), n in confusions.items() if g == label and p != label)
        scores.append(LabelScore(label, *_f1(tp, fp, fn), support=tp + fn))
    total = sum(confusions.values())
    correct = sum(n for (g, p), n in confusions.items() if g == p)
    return WireReport(
        total=total,
        correct=correct,
        labels=tuple(scores),
        confusions=dict(confusions),
        unannotated=unannotated,
        errors=tuple(errors),
        unwired_naming_agency=naming,
        unwired_naming_agency_credited=naming_credited,
    )
