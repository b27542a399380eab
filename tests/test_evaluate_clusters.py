"""Tests of the clustering evaluation: B-cubed and pairwise scores, gold loading, ECB+ and the baseline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storydesk.config import ClusterSettings
from storydesk.errors import InputError, MalformedInput
from storydesk.evaluate.clusters import (
    baseline_assign,
    bcubed,
    cluster_errors,
    convert_ecbplus,
    ecbplus_records,
    evaluate_clusters,
    headlines_only,
    load_gold_jsonl,
    pairwise_f1,
    records_to_articles,
    reference_assign,
)

GOLD = {"a": "x", "b": "x", "c": "x", "d": "y", "e": "y"}


@pytest.mark.parametrize(
    ("pred", "expected"),
    [
        # perfect clustering
        (dict(GOLD), (1.0, 1.0, 1.0)),
        # everything in one cluster: recall 1, precision = (3*3/5 + 2*2/5)/5 = 13/25
        ({k: "one" for k in GOLD}, (13 / 25, 1.0, 2 * (13 / 25) / (1 + 13 / 25))),
        # all singletons: precision 1, recall = (3*1/3 + 2*1/2)/5 = 2/5
        ({k: k for k in GOLD}, (1.0, 2 / 5, 2 * 0.4 / 1.4)),
        # c moved to y's cluster: P = (2*2/2 + 3*(1/3)... computed by hand below
        (
            {"a": "1", "b": "1", "c": "2", "d": "2", "e": "2"},
            ((1 + 1 + 1 / 3 + 2 / 3 + 2 / 3) / 5, (2 / 3 + 2 / 3 + 1 / 3 + 1 + 1) / 5, None),
        ),
    ],
)
def test_evaluate_clusters_bcubed_hand_cases(
    pred: dict[str, str], expected: tuple[float, float, float | None]
) -> None:
    p, r, f = bcubed(pred, GOLD)
    assert p == pytest.approx(expected[0])
    assert r == pytest.approx(expected[1])
    if expected[2] is not None:
        assert f == pytest.approx(expected[2])
    assert f == pytest.approx(2 * p * r / (p + r))


def test_evaluate_clusters_bcubed_ignores_labels_and_unlabelled_items() -> None:
    renamed = {k: v.upper() + "!" for k, v in GOLD.items()}
    assert bcubed(renamed, GOLD) == (1.0, 1.0, 1.0)
    assert bcubed({**GOLD, "extra": "x"}, GOLD) == (1.0, 1.0, 1.0)
    assert bcubed({}, GOLD) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize(
    ("pred", "expected"),
    [
        (dict(GOLD), (1.0, 1.0)),
        # one cluster: 10 pairs predicted, 4 gold pairs (3 + 1), all 4 found
        ({k: "one" for k in GOLD}, (4 / 10, 1.0)),
        ({"a": "1", "b": "1", "c": "2", "d": "2", "e": "2"}, (2 / 4, 2 / 4)),
    ],
)
def test_evaluate_clusters_pairwise(pred: dict[str, str], expected: tuple[float, float]) -> None:
    p, r, _ = pairwise_f1(pred, GOLD)
    assert (p, r) == pytest.approx(expected)


def test_evaluate_clusters_load_gold_with_label(tmp_path: Path) -> None:
    path = tmp_path / "gold.jsonl"
    rows = [{"id": 1, "text": "a", "event": "e1"}, {"id": "2", "text": "b", "event": "e2"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    records = load_gold_jsonl(path, label="event")
    assert [(r["id"], r["gold"]) for r in records] == [("1", "e1"), ("2", "e2")]
    with pytest.raises(InputError):
        load_gold_jsonl(path)  # no "gold" field
    path.write_text(
        '{"ID": 9, "TITLE": "t", "STORY": "s1"}\n{"TITLE": "u", "STORY": "s2"}\n', encoding="utf-8"
    )
    records = load_gold_jsonl(path, label="story")  # aggregator columns: case-insensitive, id optional
    assert [(r["id"], r["gold"]) for r in records] == [("9", "s1"), ("2", "s2")]
    path.write_text('{"id": 1, "gold": "x"}\n{broken\n', encoding="utf-8")
    with pytest.raises(MalformedInput) as info:
        load_gold_jsonl(path)
    assert info.value.line == 2


def test_evaluate_clusters_baseline_groups_shared_vocabulary() -> None:
    records = [
        {
            "id": "1",
            "title": "Volcano erupts in Iceland",
            "text": "lava ash flights grounded Iceland volcano",
        },
        {"id": "2", "title": "Iceland volcano eruption", "text": "ash cloud lava Iceland flights volcano"},
        {"id": "3", "title": "Central bank raises rates", "text": "inflation interest rates bank decision"},
        {"id": "4", "title": "Bank lifts interest rates", "text": "rates inflation central bank interest"},
    ]
    pred = baseline_assign(records)
    assert pred["1"] == pred["2"] != pred["3"] == pred["4"]


def _two_topics() -> list[dict[str, str]]:
    volcano = [
        "Volcano erupts in Iceland",
        "Iceland volcano eruption grounds flights",
        "Lava and ash over Iceland",
    ]
    bank = ["Central bank raises rates", "Bank lifts interest rates again", "Rates rise at the central bank"]
    return [
        {"id": f"{gold}{i}", "title": title, "text": f"{title}. {title}.", "gold": gold}
        for gold, titles in (("v", volcano), ("b", bank))
        for i, title in enumerate(titles)
    ]


def test_evaluate_clusters_reference_is_told_the_story_count() -> None:
    records = _two_topics()
    pred = reference_assign(records, 2)
    assert len(set(pred.values())) == 2
    assert len({pred[f"v{i}"] for i in range(3)}) == 1 and len({pred[f"b{i}"] for i in range(3)}) == 1
    assert set(reference_assign(records, 1).values()) == {"k0"}
    assert len(set(reference_assign(records, 99).values())) == len(records)  # capped at one per article


def test_evaluate_clusters_report_adds_the_median_reference_run() -> None:
    records = _two_topics()
    report = evaluate_clusters(
        records,
        lambda recs: {r["id"]: r["id"] for r in recs},
        ClusterSettings(),
        baseline=False,
        reference=True,
    )
    assert report.reference is not None and report.baseline is None
    assert len(report.reference_f1s) == 5
    assert report.reference.bcubed[2] == sorted(report.reference_f1s)[2]
    assert report.reference.predicted == 2 and report.system.predicted == 6
    text = report.format()
    assert "reference kmeans K=gold" in text and "told the gold story count" in text


def test_evaluate_clusters_headlines_only_drops_the_text() -> None:
    records = [
        {
            "id": "1",
            "title": "Quake hits Chile",
            "text": "A long body.",
            "published": "2014-04-01",
            "gold": "q",
        },
        {"id": "2", "title": None, "text": "First sentence as headline. The rest of the body.", "gold": "q"},
    ]
    heads = headlines_only(records)
    assert [(h["title"], h["text"]) for h in heads] == [
        ("Quake hits Chile", ""),
        ("First sentence as headline.", ""),
    ]
    assert heads[0]["published"] == "2014-04-01" and heads[0]["gold"] == "q"
    assert records[0]["text"] == "A long body."  # the input is left alone
    articles = records_to_articles(heads)
    assert [(a.title, a.text) for a in articles] == [
        ("Quake hits Chile", ""),
        ("First sentence as headline.", ""),
    ]


def test_evaluate_clusters_report_prints_scores_and_settings() -> None:
    records = [{"id": str(i), "text": "t", "gold": "g" if i < 2 else "h"} for i in range(4)]
    report = evaluate_clusters(
        records, lambda recs: {r["id"]: "s" for r in recs}, ClusterSettings(threshold=0.42), baseline=False
    )
    text = report.format()
    assert report.system.bcubed[1] == 1.0 and report.system.predicted == 1 and report.gold_stories == 2
    assert "cluster.threshold = 0.42" in text and "B3 P 0.500" in text


def test_evaluate_clusters_errors_list_mixed_stories_then_split_gold() -> None:
    # gold: x = a b c, y = d e, z = f; predicted: 1 = a b d (mixes x and y), 2 = c, 3 = e f (mixes y and z)
    pred = {"a": "1", "b": "1", "d": "1", "c": "2", "e": "3", "f": "3", "unlabelled": "1"}
    gold = {"a": "x", "b": "x", "c": "x", "d": "y", "e": "y", "f": "z"}
    titles = {"a": "A first", "d": "D first", "c": "C alone", "e": "E first", "f": "F"}
    errors = cluster_errors(pred, gold, titles)
    assert [(e.kind, e.key, e.size) for e in errors] == [
        ("merged", "1", 3),  # largest mixed story first
        ("merged", "3", 2),
        ("split", "x", 3),  # then the split gold stories, largest first
        ("split", "y", 2),
    ]
    assert errors[0].parts == (
        ("x", 2, "A first"),
        ("y", 1, "D first"),
    )  # largest part first, its first title
    assert errors[2].parts == (("1", 2, "A first"), ("2", 1, "C alone"))
    assert errors[3].to_dict()["parts"][1] == {"label": "3", "articles": 1, "title": "E first"}
    assert cluster_errors(gold, gold) == []


def test_evaluate_clusters_report_lists_errors_only_when_asked() -> None:
    records = [
        {"id": "1", "title": "[bold]Quake[/bold] hits", "text": "t", "gold": "g"},
        {"id": "2", "title": "Floods", "text": "t", "gold": "h"},
    ]
    one_story = lambda recs: {r["id"]: "s" for r in recs}  # noqa: E731
    plain = evaluate_clusters(records, one_story, ClusterSettings(), baseline=False)
    assert plain.errors is None and "errors:" not in plain.format()
    report = evaluate_clusters(records, one_story, ClusterSettings(), baseline=False, errors=True)
    text = report.format()
    assert "errors: 1 stories mix gold stories, 0 gold stories are split" in text
    assert "'[bold]Quake[/bold] hits'" in text  # the title as given, quoted
    data = json.loads(json.dumps(report.to_dict()))
    assert data["system"]["bcubed"]["recall"] == 1.0 and data["system"]["stories"] == 1
    assert (
        data["errors"][0]["key"] == "s"
        and data["settings"]["cluster.threshold"] == ClusterSettings().threshold
    )


@pytest.mark.parametrize(
    ("date_publish", "published"),
    [
        ("Last updated on : March 3, 2012 10 : 04 IST", "2012-03-03"),
        ("PUBLISHED FRIDAY, MAY 3, 2013 AT 10 : 46 AM", "2013-05-03"),
        ("Friday, Sep 7, 2012 | Updated 8 : 52 PM EDT", "2012-09-07"),
        ("Chennai, Dec 3 -", None),  # no year: not 3 December of some default year
        ("He was 47.", None),  # a line of article text, not 1 January 1947
        ("Knicks win again in 2012", None),  # a year alone is no date
        ("Updated 9 : 06 AM", None),
        ("", None),
    ],
)
def test_evaluate_clusters_ecbplus_dates_are_only_the_ones_stated(
    date_publish: str, published: str | None, tmp_path: Path
) -> None:
    src = tmp_path / "ecb.jsonl"
    doc = {"doc_id": "1_1ecb", "title": "T.", "text": "x", "subtopic": "1_ecb", "split": "dev"}
    src.write_text(json.dumps({**doc, "date_publish": date_publish}) + "\n", encoding="utf-8")
    (record,) = ecbplus_records(src)
    assert record["published"] == published


@pytest.mark.data
def test_evaluate_clusters_ecbplus_conversion(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "ecbplus" / "ecbplus_train_dev.jsonl"
    dev = ecbplus_records(src, "dev")
    assert len(dev) == 197 and len({r["gold"] for r in dev}) == 16
    first = json.loads(next(line for line in src.open() if '"dev"' in line))
    assert dev[0]["text"].startswith(first["title"]) and dev[0]["gold"] == first["subtopic"]
    assert all(r["published"] is None or r["published"][:2] in {"19", "20"} for r in dev)
    dst = tmp_path / "dev.jsonl"
    assert convert_ecbplus(src, dst, "dev") == 197
    assert [r["id"] for r in load_gold_jsonl(dst)] == [r["id"] for r in dev]


@pytest.mark.slow
@pytest.mark.data
def test_evaluate_clusters_ecbplus_dev_quality_gate(shared_data: Path) -> None:
    records = ecbplus_records(shared_data / "ecbplus" / "ecbplus_train_dev.jsonl", "dev")
    report = evaluate_clusters(records, None, ClusterSettings(), baseline=True)
    assert report.baseline is not None
    assert report.system.bcubed[2] >= MIN_DEV_F1
    assert report.system.bcubed[2] > report.baseline.bcubed[2]


# Measured dev B-cubed F1 (0.976) minus 0.01.
MIN_DEV_F1 = 0.965


def test_evaluate_clusters_orders_score_shuffles_of_the_same_records() -> None:
    records = [{"id": str(i), "text": "t", "gold": "g" if i < 3 else "h"} for i in range(6)]
    seen: list[list[str]] = []

    def first_three_together(recs: list[dict[str, object]]) -> dict[str, str]:
        # An order-sensitive clusterer: the first three records it sees form one story.
        seen.append([str(r["id"]) for r in recs])
        return {str(r["id"]): "a" if n < 3 else str(r["id"]) for n, r in enumerate(recs)}

    report = evaluate_clusters(records, first_three_together, ClusterSettings(), baseline=False, orders=4)
    assert report.system.bcubed == pytest.approx((1.0, 2 / 3, 0.8))  # the input order: g first
    assert len(seen) == 5 and all(sorted(s) == sorted(seen[0]) for s in seen)
    assert len({tuple(s) for s in seen[1:]}) > 1  # the shuffles differ
    assert len(report.order_f1s) == 4 and any(f != pytest.approx(0.8) for f in report.order_f1s)
    assert "over 4 shuffled input orders" in report.format()
    again = evaluate_clusters(records, first_three_together, ClusterSettings(), baseline=False, orders=4)
    assert again.order_f1s == report.order_f1s  # seeded: the same shuffles every run
