"""Tests for the PolNeAR quote evaluation: brat parsing, the matching rule, and a dev quality gate."""

from __future__ import annotations

from pathlib import Path

import pytest

from storydesk.config import ExtractSettings, ModelSettings
from storydesk.errors import InputError, MalformedInput
from storydesk.evaluate.quotes import (
    GoldAttribution,
    PredictedQuote,
    evaluate_quotes,
    load_polnear,
    parse_ann,
    score_documents,
)
from storydesk.extract import Extractor

# Measured on the first 15 dev documents: precision 0.932, recall 0.470, F1 0.625, speaker accuracy 0.803;
# the floors are 0.01 below (all of dev: 0.906, 0.449, 0.601, 0.839).
PRECISION_MIN, RECALL_MIN, F1_MIN, SPEAKER_MIN = 0.922, 0.460, 0.615, 0.793

ANN = """T1\tSource 0 9\tThe Post
T2\tCue 10 17\treports
T3\tContent 18 40;45 60\tthat ...
T4\tAttribution 10 17\treports
E1\tAttribution:T4 Content:T3 Cue:T2 Source:T1
T5\tCue 70 74\tsaid
T6\tContent 80 120\tsomething
T7\tAttribution-no-source 70 74\tsaid
E2\tAttribution-no-source:T7 Content:T6 Cue:T5
T8\tDiscard 130 140\tRead more.
"""


def test_evaluate_quotes_parse_ann_joins_relations() -> None:
    gold = parse_ann(ANN)
    assert gold == [
        GoldAttribution(content=((18, 40), (45, 60)), source=((0, 9),)),
        GoldAttribution(content=((80, 120),), source=()),
    ]


@pytest.mark.parametrize("line", ["T1\tSource 0 x\tbad", "T1\tSource"])
def test_evaluate_quotes_parse_ann_rejects_bad_lines(line: str) -> None:
    with pytest.raises(MalformedInput):
        parse_ann(line, "x.ann")


@pytest.mark.parametrize(
    ("pred", "matched"),
    [
        ((18, 60), 1),  # covers both fragments
        ((18, 29), 1),  # short prediction, fully inside gold: overlap is all of the shorter span
        ((0, 100), 1),  # long prediction that holds all of the gold content
        ((0, 20), 0),  # 2 of 20 characters: less than half of the shorter span
        ((200, 260), 0),  # no overlap
    ],
)
def test_evaluate_quotes_matching_rule(pred: tuple[int, int], matched: int) -> None:
    gold = [GoldAttribution(content=((18, 40), (45, 60)), source=((0, 9),))]
    report = score_documents("t", [(gold, [PredictedQuote(pred, (0, 4))])])
    assert report.matched == matched
    assert report.precision == matched and report.recall == matched
    assert report.speaker_correct == matched


def test_evaluate_quotes_one_to_one_and_speaker_accuracy() -> None:
    gold = [GoldAttribution(((0, 50),), ((60, 70),)), GoldAttribution(((100, 150),), ())]
    predicted = [
        PredictedQuote((0, 50), (80, 90)),
        PredictedQuote((5, 45), (60, 65)),
        PredictedQuote((100, 150)),
    ]
    report = score_documents("t", [(gold, predicted)])
    assert (report.gold, report.predicted, report.matched) == (2, 3, 2)
    assert report.speaker_scored == 1  # the second gold relation has no source
    assert report.speaker_correct == 0  # the exact-content match wins, and its speaker is wrong
    assert report.f1 == pytest.approx(2 * (2 / 3) * 1 / (2 / 3 + 1))
    assert "F1" in report.format()


def test_evaluate_quotes_requires_polnear_layout(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        load_polnear(tmp_path)


def test_evaluate_quotes_dev_quality_gate(shared_data: Path) -> None:
    dev = shared_data / "polnear" / "dev"
    if not dev.is_dir():
        pytest.skip("polnear/dev is absent")
    report = evaluate_quotes(dev, Extractor(ExtractSettings(), ModelSettings()), limit=15)
    assert report.documents == 15 and report.gold > 100
    assert report.precision >= PRECISION_MIN
    assert report.recall >= RECALL_MIN
    assert report.f1 >= F1_MIN
    assert report.speaker_accuracy >= SPEAKER_MIN
