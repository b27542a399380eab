"""Quote extraction on PolNeAR: storydesk against textacy's direct_quotations (the peer baseline).

Usage: .venv/bin/python bench/quotes_peer.py ../shared/data/polnear/dev [LIMIT]
Both systems are scored the same way (storydesk.evaluate.quotes): content overlap >= half
of the shorter span, speaker accuracy among matches.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from storydesk.config import Settings
from storydesk.evaluate.quotes import PredictedQuote, evaluate_quotes, evaluate_with
from storydesk.extract import Extractor
from storydesk.nlp import load_spacy


def textacy_predictor(model: str) -> Callable[[str], list[PredictedQuote]]:
    """A function text -> predicted quotes using textacy.extract.triples.direct_quotations."""
    from textacy.extract.triples import direct_quotations

    nlp = load_spacy(model)
    bailed: list[str] = []

    def predict(text: str) -> list[PredictedQuote]:
        out: list[PredictedQuote] = []
        try:
            triples = list(direct_quotations(nlp(text)))
        except ValueError:  # textacy bails out on an odd number of quotation marks
            bailed.append(text[:40])
            return out
        for triple in triples:
            content = triple.content
            speaker = triple.speaker
            who = (speaker[0].idx, speaker[-1].idx + len(speaker[-1].text)) if speaker else None
            out.append(PredictedQuote((content.start_char, content.end_char), who))
        return out

    predict.bailed = bailed  # type: ignore[attr-defined]
    return predict


def main(argv: list[str]) -> int:
    """Print both reports for a PolNeAR compartment."""
    data = Path(argv[1]) if len(argv) > 1 else Path("../shared/data/polnear/dev")
    limit = int(argv[2]) if len(argv) > 2 else None
    settings = Settings()
    started = time.perf_counter()
    report = evaluate_quotes(data, Extractor(settings.extract, settings.models), limit)
    print(report.format(), f"\n  ({time.perf_counter() - started:.1f}s)")
    started = time.perf_counter()
    predict = textacy_predictor(settings.models.spacy_model)
    peer = evaluate_with("textacy direct_quotations", data, predict, limit)
    bailed = len(predict.bailed)  # type: ignore[attr-defined]
    print(
        peer.format(), f"\n  ({time.perf_counter() - started:.1f}s; textacy bailed out on {bailed} documents)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
