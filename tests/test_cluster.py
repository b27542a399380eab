"""Tests of the online story clusterer: determinism, separation, joins, merges, dormancy, explanations."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storydesk.cluster import (
    ClusterItem,
    ExactIndex,
    OnlineClusterer,
    _mean_within,
    _weight_pairs,
    arrival_order,
    cluster_items,
    item_terms,
    make_index,
    story_id_for,
)
from storydesk.cluster.consolidate import reunite
from storydesk.cluster.score import between_bound, pair_matrix
from storydesk.config import ClusterSettings
from storydesk.models import Article

DIM = 16
# hnswlib is an optional backend (the bench extra); usearch is the default and always installed.
INDEXES = ["usearch", pytest.param("hnswlib", marks=pytest.mark.skipif(
    importlib.util.find_spec("hnswlib") is None, reason="hnswlib not installed")), "exact"]  # fmt: skip


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


def _basis(i: int) -> np.ndarray:
    v = np.zeros(DIM, dtype=np.float32)
    v[i] = 1.0
    return v


def _item(
    aid: str,
    vector: np.ndarray,
    text: str = "",
    *,
    time: float | None = None,
    entities: tuple[str, ...] = (),
    years: tuple[str, ...] = (),
    people: tuple[str, ...] = (),
) -> ClusterItem:
    return ClusterItem(
        id=aid,
        title=text,
        time=time,
        vector=_unit(vector),
        terms=item_terms(text, "", 1000),
        entities=entities,
        years=years,
        head_people=people,
    )


def _embedding_only(**overrides: object) -> ClusterSettings:
    """Settings that score by embedding cosine alone, so a test's vectors decide every join."""
    only = ClusterSettings(
        w_embedding=1.0, w_lexical=0.0, w_entities=0.0, w_numbers=0.0, year_penalty=0.0,
        person_penalty=0.0, short_discount=0.0, threshold=0.5,
    )  # fmt: skip
    return dataclasses.replace(only, **overrides)


def _events(seed: int = 7) -> list[ClusterItem]:
    """Three synthetic events of four paraphrases each, interleaved in time."""
    rng = np.random.default_rng(seed)
    words = [
        ("earthquake", "magnitude", "tremor", "indonesia", "sumatra"),
        ("election", "ballot", "parliament", "turkmenistan", "vote"),
        ("heist", "jewellery", "robbers", "paris", "diamonds"),
    ]
    items = []
    for k in range(4):
        for e, vocab in enumerate(words):
            vec = _basis(e) * 3 + rng.normal(0, 0.15, DIM)
            text = " ".join(vocab[: 3 + (k % 3)])
            items.append(_item(f"{e}-{k}", vec, text, time=float(k), entities=(vocab[3],)))
    return items


@pytest.mark.parametrize("index", INDEXES)
def test_cluster_deterministic_across_runs(index: str) -> None:
    config = ClusterSettings(index=index)
    first = cluster_items(_events(), config)
    second = cluster_items(_events(), config)
    assert first[0] == second[0]
    assert [a.explanation for a in first[1]] == [a.explanation for a in second[1]]


@pytest.mark.parametrize("index", INDEXES)
def test_cluster_separates_events_and_joins_paraphrases(index: str) -> None:
    final, _, _ = cluster_items(_events(), ClusterSettings(index=index))
    by_event: dict[str, set[str]] = {}
    for aid, story in final.items():
        by_event.setdefault(aid.split("-")[0], set()).add(story)
    assert all(len(stories) == 1 for stories in by_event.values())
    assert len(set(final.values())) == 3


@pytest.mark.parametrize("linkage", ["average", "centroid"])
def test_cluster_lexical_score_alone_separates_events_under_either_linkage(linkage: str) -> None:
    """Words decide here (no embedding, entity or number weight): each linkage keeps its own term sums."""
    config = ClusterSettings(
        linkage=linkage, w_embedding=0.0, w_entities=0.0, w_numbers=0.0, threshold=0.3, short_discount=0.0
    )
    final, assignments, _ = cluster_items(_events(), config)
    by_event: dict[str, set[str]] = {}
    for aid, story in final.items():
        by_event.setdefault(aid.split("-")[0], set()).add(story)
    assert all(len(stories) == 1 for stories in by_event.values())
    assert len(set(final.values())) == 3
    joined = [a.explanation for a in assignments if not a.explanation.new_story]
    assert joined and all(e.components["lexical"] > 0.3 for e in joined)


def test_cluster_stories_keep_one_tuple_per_term_pair() -> None:
    """Kept items share their (term, count) pairs: memory per article does not carry ~100 tuples."""
    clusterer = OnlineClusterer(_embedding_only())
    first = _item("a", _basis(0), "storm floods coastal towns", time=0.0)
    second = _item("b", _basis(0), "storm floods coastal towns again", time=0.1)
    assert first.terms[0] == second.terms[0] and first.terms[0] is not second.terms[0]
    clusterer.add(first)
    clusterer.add(second)
    (story,) = clusterer._stories.values()
    assert story.items is not None and [it.id for it in story.items] == ["a", "b"]
    kept_a, kept_b = story.items
    assert kept_a.terms == first.terms and kept_b.terms == second.terms
    shared = [t for t in kept_a.terms if t in kept_b.terms]
    assert len(shared) == 4 and all(any(t is u for u in kept_b.terms) for t in shared)


def test_cluster_story_id_from_founding_article() -> None:
    hex_id = "0123456789abcdef0123"
    final, assignments, _ = cluster_items([_item(hex_id, _basis(0), "alpha beta")], ClusterSettings())
    assert final[hex_id] == "s0123456789ab"
    assert assignments[0].explanation.new_story
    assert story_id_for("doc-1") == story_id_for("doc-1") != story_id_for("doc-2")
    assert story_id_for("doc-1").startswith("s") and len(story_id_for("doc-1")) == 13


def test_cluster_merges_stories_bridged_by_an_article() -> None:
    config = _embedding_only(merge_threshold=0.68)
    clusterer = OnlineClusterer(config)
    a1 = clusterer.add(_item("a1", _basis(0)))
    clusterer.add(_item("a2", _basis(0) + 0.01 * _basis(2)))
    b1 = clusterer.add(_item("b1", _basis(1)))
    assert a1.story_id != b1.story_id
    bridge = clusterer.add(_item("bridge", _basis(0) + _basis(1)))
    assert clusterer.merges, "the bridging article matches both stories above merge_threshold"
    merge = clusterer.merges[0]
    assert (merge.kept, merge.absorbed, merge.at_article) == (a1.story_id, b1.story_id, "bridge")
    assert bridge.story_id == a1.story_id
    assert clusterer.story_of("b1") == a1.story_id
    assert clusterer.stories() == {a1.story_id: ["a1", "a2", "b1", "bridge"]}


def test_cluster_no_merge_below_merge_threshold() -> None:
    config = _embedding_only(merge_threshold=0.9)
    _, _, merges = cluster_items(
        [_item("a", _basis(0)), _item("b", _basis(1)), _item("c", _basis(0) + _basis(1))], config
    )
    assert merges == []


@pytest.mark.parametrize(
    ("days", "cosine", "joins"),
    [
        (3.0, 0.6, True),  # active story, moderate match joins
        (30.0, 0.6, False),  # dormant story, moderate match founds a new story
        (30.0, 0.95, True),  # dormant story reopened by a strong match
    ],
)
def test_cluster_dormancy_and_reopening(days: float, cosine: float, joins: bool) -> None:
    config = _embedding_only(reopen_margin=0.3)
    clusterer = OnlineClusterer(config)
    first = clusterer.add(_item("old", _basis(0), time=0.0))
    probe = cosine * _basis(0) + np.sqrt(1 - cosine**2) * _basis(1)
    later = clusterer.add(_item("new", probe, time=days))
    assert (later.story_id == first.story_id) is joins
    if not joins:
        assert later.explanation.runner_up == first.story_id
        assert later.explanation.components["dormant"] == 1.0


@pytest.mark.parametrize("backend", INDEXES)
def test_cluster_dormant_index_searched_only_when_no_active_story_fits(backend: str) -> None:
    clusterer = OnlineClusterer(_embedding_only(reopen_margin=0.3, window_days=7.0, index=backend))
    a = clusterer.add(_item("a", _basis(0), time=0.0)).story_id
    b = clusterer.add(_item("b", _basis(1), time=10.0)).story_id  # a is idle past the window: dormant
    # Continuing the active story b: one search of the active index, none of the dormant one.
    assert clusterer.add(_item("b2", _basis(1) + 0.1 * _basis(2), time=10.5)).story_id == b
    assert clusterer.dormant_searches == 0
    # A strong match for a: no active story takes it, the dormant index is searched and a reopens.
    assert clusterer.add(_item("a2", _basis(0) + 0.1 * _basis(3), time=11.0)).story_id == a
    assert clusterer.dormant_searches == 1
    # Reopened, a is active again: a moderate match joins it without searching the dormant index.
    probe = 0.6 * _basis(0) + 0.8 * _basis(4)
    assert clusterer.add(_item("a3", probe, time=11.2)).story_id == a
    assert clusterer.dormant_searches == 1
    # An undated article has no place on the timeline: dormant stories stay open to it.
    clusterer.add(_item("c", _basis(5), time=30.0))  # a and b are dormant now
    assert clusterer.add(_item("u", _basis(1) + 0.1 * _basis(6))).story_id == b


def test_cluster_explanation_fields_populated() -> None:
    clusterer = OnlineClusterer(ClusterSettings())
    clusterer.add(_item("x1", _basis(0), "quake strikes sumatra", time=1.0, entities=("sumatra",)))
    clusterer.add(_item("y1", _basis(1), "ballot counted", time=1.0, entities=("ashgabat",)))
    joined = clusterer.add(
        _item(
            "x2", _basis(0) + 0.05 * _basis(1), "quake strikes sumatra again", time=2.5, entities=("sumatra",)
        )
    )
    exp = joined.explanation
    assert not exp.new_story
    assert exp.similarity > 0.9
    assert exp.shared_entities == ("sumatra",)
    assert exp.time_gap_days == pytest.approx(1.5)
    assert exp.runner_up == clusterer.story_of("y1")
    assert exp.runner_up_score is not None and exp.runner_up_score < exp.score
    assert {"embedding", "lexical", "entities", "year_conflict"} <= set(exp.components)


def test_cluster_conflicting_years_lower_the_score() -> None:
    config = ClusterSettings(year_penalty=0.5)
    clusterer = OnlineClusterer(config)
    clusterer.add(_item("a", _basis(0), "fight title defended", years=("2008",)))
    same = OnlineClusterer(config)
    same.add(_item("a", _basis(0), "fight title defended", years=("2008",)))
    other_year = clusterer.add(_item("b", _basis(0), "fight title defended", years=("2013",)))
    same_year = same.add(_item("b", _basis(0), "fight title defended", years=("2008",)))
    assert other_year.explanation.components["year_conflict"] == 1.0
    assert same_year.explanation.score - 0.5 == pytest.approx(other_year.explanation.score, abs=1e-3)


@given(
    st.lists(st.floats(-1, 1, allow_nan=False, width=32), min_size=4, max_size=4).filter(
        lambda v: sum(x * x for x in v) > 0.01
    ),
    st.one_of(st.none(), st.floats(0, 40000, allow_nan=False)),
    st.lists(st.text(min_size=1, max_size=8), max_size=3),
)
@settings(max_examples=50, deadline=None)
def test_cluster_item_record_round_trip(vector: list[float], time: float | None, names: list[str]) -> None:
    item = ClusterItem(
        id="a1",
        title="T",
        time=time,
        vector=np.asarray(vector, dtype=np.float32),
        terms=(("quake", 2),),
        entities=tuple(names),
        numbers=("7",),
        years=("2013",),
        head_people=("jamal williams", "williams"),
    )
    back = ClusterItem.from_record(json.loads(json.dumps(item.to_record())))
    assert np.array_equal(back.vector, item.vector)
    assert (back.id, back.title, back.time, back.terms, back.entities, back.numbers, back.years) == (
        item.id, item.title, item.time, item.terms, item.entities, item.numbers, item.years,
    )  # fmt: skip
    assert back.head_people == item.head_people
    old = {k: v for k, v in item.to_record().items() if k != "head_people"}  # stored before the field
    assert ClusterItem.from_record(old).head_people == ()
    as_list = dict(item.to_record(), vector=[float(x) for x in item.vector])
    assert np.allclose(ClusterItem.from_record(as_list).vector, item.vector)


def test_cluster_arrival_order_by_time_else_input_order() -> None:
    def art(aid: str, day: int | None) -> Article:
        return Article(
            id=aid, text="x", raw_text="x", published=None if day is None else dt.date(2020, 1, day)
        )

    articles = [art("a", 5), art("b", None), art("c", 2), art("d", None), art("e", 2)]
    order = arrival_order(articles)
    # d has no date: it stays right after c, the dated article before it in the input
    assert [articles[i].id for i in order] == ["c", "d", "e", "a", "b"]
    assert arrival_order(articles) == order


class _Twin:
    """An ANN backend and the exact index, given the same operations."""

    def __init__(self, backend: str) -> None:
        self.ann = make_index(ClusterSettings(index=backend), DIM)
        self.exact = ExactIndex(DIM)

    def upsert(self, key: int, vector: np.ndarray) -> None:
        self.ann.upsert(key, vector)
        self.exact.upsert(key, vector)

    def remove(self, key: int) -> None:
        self.ann.remove(key)
        self.exact.remove(key)

    def agreement(self, rng: np.random.Generator, queries: int = 50) -> int:
        """How many random queries get the same nearest key from both."""
        probes = [_unit(v) for v in rng.normal(size=(queries, DIM))]
        return sum(self.ann.search(q, 1)[0] == self.exact.search(q, 1)[0] for q in probes)


@pytest.mark.parametrize("backend", INDEXES[:2])
def test_cluster_ann_index_finds_exact_nearest(backend: str) -> None:
    rng = np.random.default_rng(3)
    vectors = np.stack([_unit(v) for v in rng.normal(size=(300, DIM))])
    twin = _Twin(backend)
    for key, vec in enumerate(vectors):
        twin.upsert(key, vec)
    twin.upsert(5, vectors[6])  # an update replaces the old vector
    twin.remove(7)
    assert len(twin.ann) == len(twin.exact) == 299
    assert twin.agreement(rng) >= 48
    assert 7 not in twin.ann.search(vectors[7], 5)


@pytest.mark.parametrize("backend", INDEXES[:2])
def test_cluster_ann_index_stays_exact_through_compaction(backend: str) -> None:
    """Stories leave the active index all the time: its graph is rebuilt once tombstones pile up."""
    rng = np.random.default_rng(4)
    vectors = np.stack([_unit(v) for v in rng.normal(size=(1200, DIM))])
    twin = _Twin(backend)
    for key, vec in enumerate(vectors):
        twin.upsert(key, vec)
        if key >= 100:  # a sliding window of 100 live keys: 1,100 removals, several rebuilds
            twin.remove(key - 100)
    for key in (3, 1150):  # a removed key comes back (a story reopens); a live one moves
        twin.upsert(key, vectors[key - 1])
    assert len(twin.ann) == len(twin.exact) == 101
    assert not set(twin.ann.search(vectors[500], 5)) - set(range(1100, 1200)) - {3}
    assert twin.agreement(rng) >= 48
    assert 3 in twin.ann.search(vectors[2], 3)


def test_cluster_settings_reject_unknown_index() -> None:
    from storydesk.errors import ConfigError

    with pytest.raises(ConfigError):
        make_index(dataclasses.replace(ClusterSettings(), index="faiss-gpu"), DIM)


@pytest.fixture(scope="module")
def featurizer() -> object:
    from storydesk.cluster import Featurizer
    from storydesk.config import ModelSettings

    return Featurizer(ClusterSettings(), ModelSettings())


@pytest.mark.slow
def test_cluster_real_text_events(featurizer: object) -> None:
    texts = [
        (
            "q1",
            "Strong earthquake hits Indonesia's Sumatra",
            "A magnitude 7.1 earthquake struck off Sumatra.",
        ),
        (
            "v1",
            "Turkmenistan votes in parliamentary election",
            "Voters in Turkmenistan cast ballots on Sunday.",
        ),
        (
            "q2",
            "Powerful quake strikes off Sumatra, Indonesia",
            "The 7.1-magnitude tremor shook western Sumatra.",
        ),
        (
            "v2",
            "Turkmen voters go to the polls for parliament",
            "Turkmenistan held a parliamentary vote Sunday.",
        ),
    ]
    articles = [Article(id=a, text=f"{t}. {b}", raw_text=b, title=t) for a, t, b in texts]
    items = featurizer.featurize(articles)  # type: ignore[attr-defined]
    assert "sumatra" in items[0].entities and "7.1" in items[0].numbers
    final, _, _ = cluster_items(items, ClusterSettings())
    assert final["q1"] == final["q2"] != final["v1"] == final["v2"]


@pytest.mark.parametrize("split", [True, False])
def test_cluster_splits_a_story_holding_two_events(split: bool) -> None:
    config = _embedding_only(threshold=0.2, merge_threshold=5.0, split=split, split_min=3, split_ratio=0.75)
    clusterer = OnlineClusterer(config)
    shared = 0.6 * _basis(2)
    for i in range(3):
        clusterer.add(_item(f"a{i}", _basis(0) + shared + 0.01 * i * _basis(3)))
    for i in range(3):  # a second event, similar enough (0.26) to join the first story on arrival
        clusterer.add(_item(f"b{i}", _basis(1) + shared + 0.01 * i * _basis(4)))
    stories = clusterer.stories()
    if split:
        assert sorted(stories.values()) == [["a0", "a1", "a2"], ["b0", "b1", "b2"]]
        assert clusterer.story_of("a0") == story_id_for("a0")
        assert clusterer.story_of("b2") == story_id_for("b0")
        assert [(x.kept, x.split_off) for x in clusterer.splits] == [(story_id_for("a0"), story_id_for("b0"))]
    else:
        assert list(stories.values()) == [["a0", "a1", "a2", "b0", "b1", "b2"]]
        assert clusterer.splits == []


def test_cluster_split_is_checked_at_every_size() -> None:
    """Five a-articles, then four b-articles: the b group reaches split_min at the ninth article,
    and the story splits then, not one article later."""
    config = _embedding_only(threshold=0.2, merge_threshold=5.0, split_min=4, split_ratio=0.75)
    clusterer = OnlineClusterer(config)
    shared = 0.6 * _basis(2)
    for i in range(5):
        clusterer.add(_item(f"a{i}", _basis(0) + shared + 0.01 * i * _basis(3)))
    for i in range(3):
        clusterer.add(_item(f"b{i}", _basis(1) + shared + 0.01 * i * _basis(4)))
    assert clusterer.splits == [] and len(clusterer.stories()) == 1  # three b's: too few to split off
    clusterer.add(_item("b3", _basis(1) + shared + 0.03 * _basis(5)))
    assert [(x.kept, x.split_off, x.at_article) for x in clusterer.splits] == [
        (story_id_for("a0"), story_id_for("b0"), "b3")
    ]
    assert sorted(clusterer.stories().values()) == [[f"a{i}" for i in range(5)], [f"b{i}" for i in range(4)]]


def test_cluster_mean_within_leaves_copies_out() -> None:
    sims = np.array([[3.0, 2.9, 1.0], [2.9, 3.0, 1.4], [1.0, 1.4, 3.0]])
    copies = np.zeros((3, 3), dtype=bool)
    assert _mean_within(sims, copies) == pytest.approx((2.9 + 1.0 + 1.4) / 3)
    copies[0, 1] = copies[1, 0] = True
    assert _mean_within(sims, copies) == pytest.approx((1.0 + 1.4) / 2)
    assert _mean_within(sims[:2, :2], copies[:2, :2]) == pytest.approx(2.9)  # copies only: all pairs


def _reprinted() -> list[ClusterItem]:
    """a1 reprints a0 (cosine 0.995); a2 is another report (0.70); the b's are close to each other
    (0.94) and 0.54 from the a's on average. Counted in, the reprint lifts the a's mean within to
    0.80 (0.54 < 0.75 x 0.80: two events); left out, the a's are as close as 0.70 (0.54 >= 0.75 x
    0.70: one)."""
    lean = _unit(0.56 * _basis(0) + 0.2 * _basis(1) + 0.8 * _basis(2))
    vectors = [_basis(0), _basis(0) + 0.1 * _basis(5), 0.7 * _basis(0) + 0.714 * _basis(1)]
    vectors += [lean + 0.25 * _basis(6 + k) for k in range(3)]
    return [_item(aid, v) for aid, v in zip(["a0", "a1", "a2", "b0", "b1", "b2"], vectors, strict=True)]


@pytest.mark.parametrize(("copy_similarity", "split"), [(0.95, False), (1.01, True)])
def test_cluster_reprints_of_one_report_do_not_split_a_story(copy_similarity: float, split: bool) -> None:
    config = _embedding_only(
        threshold=0.3, merge_threshold=5.0, split_min=3, split_ratio=0.75, copy_similarity=copy_similarity
    )
    clusterer = OnlineClusterer(config)
    for item in _reprinted():
        clusterer.add(item)
    if split:
        assert sorted(clusterer.stories().values()) == [["a0", "a1", "a2"], ["b0", "b1", "b2"]]
    else:
        assert list(clusterer.stories().values()) == [["a0", "a1", "a2", "b0", "b1", "b2"]]
        assert clusterer.splits == []


@pytest.mark.parametrize(("copy_similarity", "one"), [(0.95, True), (1.01, False)])
def test_cluster_reunion_leaves_reprints_out_of_the_mean_within(copy_similarity: float, one: bool) -> None:
    """The a's and the b's of ``_reprinted`` as two stories: reunited unless the reprint counts."""
    config = _embedding_only(
        threshold=0.3, merge_threshold=5.0, split=False, split_min=3, copy_similarity=copy_similarity
    )
    clusterer = OnlineClusterer(config)
    clusterer._tiers.open(DIM)
    items = _reprinted()
    for group in (items[:3], items[3:]):
        story = clusterer._found(group[0])
        for it in group:
            clusterer._join(story, it, clusterer._terms.weights(it))
            clusterer._learn(it)
    reunite(clusterer)
    assert (clusterer.story_of("a0") == clusterer.story_of("b0")) is one
    assert len(clusterer.merges) == int(one)


def test_cluster_person_conflict_lowers_the_score() -> None:
    config = ClusterSettings(person_penalty=0.5)

    def scored(people: tuple[str, ...]) -> dict[str, float]:
        clusterer = OnlineClusterer(config)
        for i in range(2):
            clusterer.add(_item(f"j{i}", _basis(0), "charger arrested dui", people=("jackson",)))
        added = clusterer.add(_item("x", _basis(0), "charger arrested dui", people=people))
        return {"score": added.explanation.score, **added.explanation.components}

    same, other, both, nobody = (
        scored(p) for p in [("jackson",), ("williams",), ("williams", "jackson"), ()]
    )
    assert other["person_conflict"] == 1.0
    assert same["person_conflict"] == both["person_conflict"] == nobody["person_conflict"] == 0.0
    assert same["score"] - 0.5 == pytest.approx(other["score"], abs=1e-3)


@pytest.mark.parametrize("rounds", [0, 2])
def test_cluster_consolidation_moves_an_article_to_the_event_that_formed_later(rounds: int) -> None:
    config = _embedding_only(merge_threshold=5.0, split=False, consolidate_rounds=rounds)
    items = [_item(f"a{i}", _basis(0) + 0.01 * i * _basis(3)) for i in range(3)]
    # x arrives before its own event exists: cosine 0.6 with the first event is enough to join it.
    items.append(_item("x", 0.6 * _basis(0) + 0.8 * _basis(1)))
    items += [_item(f"b{i}", _basis(1) + 0.01 * i * _basis(4)) for i in range(3)]
    final, assignments, merges = cluster_items(items, config)
    first, second = story_id_for("a0"), story_id_for("b0")
    assert {final[f"a{i}"] for i in range(3)} == {first}
    assert {final[f"b{i}"] for i in range(3)} == {second}
    explained = {a.article_id: a.explanation for a in assignments}["x"]
    if rounds:
        assert final["x"] == second
        assert explained.runner_up == first  # the story it left
        assert explained.score == pytest.approx(0.8, abs=0.01)
    else:
        assert final["x"] == first
    assert merges == []


def _member_items() -> list[ClusterItem]:
    """Four articles of one story whose names, numbers, years and headline people overlap in part."""
    base = _basis(0) * 3
    specs = [
        ("m0", "troops reservists mobilised border", ("dushanbe", "rahmon"), ("20,000",), ("2021",), ("rahmon",)),
        ("m1", "reservists border drills tajikistan", ("rahmon",), ("20,000", "230"), ("2021",), ("mirzo",)),
        ("m2", "tajikistan border troops drills", ("dushanbe", "taliban"), ("230",), ("2020",), ("mirzo",)),
        ("m3", "reservists troops taliban border", ("taliban", "rahmon"), ("20,000",), ("2021", "2001"), ("rahmon",)),
    ]  # fmt: skip
    rng = np.random.default_rng(3)
    return [
        dataclasses.replace(
            _item(
                aid,
                base + rng.normal(0, 0.4, DIM),
                text,
                time=float(k),
                entities=ents,
                years=years,
                people=people,
            ),
            numbers=numbers,
        )
        for k, (aid, text, ents, numbers, years, people) in enumerate(specs)
    ]


@pytest.mark.parametrize("linkage", ["average", "centroid"])
@pytest.mark.parametrize("member", range(4))
def test_cluster_member_scored_without_itself_matches_the_story_of_the_others(
    linkage: str, member: int
) -> None:
    """Consolidation scores an article against its own story as if it had never joined: every part of
    that score equals its score against a story made of the other members, and the story is not touched."""
    config = ClusterSettings(linkage=linkage, threshold=-10.0, split=False, merge_threshold=50.0)
    items = _member_items()
    whole = OnlineClusterer(config)
    for it in items:
        whole.add(it)
    (story,) = whole._stories.values()
    kept = story.items[member]
    weights = dict(_weight_pairs(kept, story.item_weights[member]))
    sums = (story.vec_sum.copy(), dict(story.unit_terms), dict(story.terms), dict(story.entities))
    left_out = whole._score(kept, story, weights, whole._terms.entity_idfs(kept), member=True)
    assert np.array_equal(sums[0], story.vec_sum)
    assert sums[1:] == (story.unit_terms, story.terms, story.entities)
    others = OnlineClusterer(config)
    for it in items:
        if it.id != kept.id:
            others.add(it)
    (rest,) = others._stories.values()
    against = others._score(kept, rest, weights, others._terms.entity_idfs(kept))
    assert left_out.parts == pytest.approx(against.parts, abs=1e-5)
    assert left_out.score == pytest.approx(against.score, abs=1e-5)
    assert left_out.shared_entities == against.shared_entities
    assert left_out.shared_numbers == against.shared_numbers
    # Without its own mentions, each member's headline person is named by one other member only,
    # the other person by two: a conflict it does not have with itself counted. m2 alone says 2020.
    assert left_out.parts[4:] == (float(member == 2), 1.0)


def _held_then_freed() -> list[ClusterItem]:
    """Story A, then the first articles of events B (p) and C (q), which join A online, then B and C.

    p and q share a direction of their own: while q is in A it holds p there. Consolidation's first
    round leaves p (A without p, q included, still fits it best) and moves q to C; only a second
    look at p, now that A has changed, moves it to B.
    """

    def vec(*xyzw: float) -> np.ndarray:
        return np.array([*xyzw, *[0.0] * (DIM - 4)], dtype=np.float32)

    items = [_item(f"a{k}", _basis(0) + 0.01 * k * _basis(5), time=0.1 * k) for k in range(4)]
    items.append(_item("p", vec(0.5, 0.52, 0.0, 0.7), time=0.5))
    items.append(_item("q", vec(0.5, 0.0, 0.6, 0.62), time=0.6))
    items += [_item(f"b{k}", _basis(1) + 0.01 * k * _basis(6), time=0.7 + 0.01 * k) for k in range(4)]
    items += [_item(f"c{k}", _basis(2) + 0.01 * k * _basis(7), time=0.8 + 0.01 * k) for k in range(4)]
    return items


def _count_scores(clusterer: OnlineClusterer) -> list[int]:
    """Make the clusterer count the scores it computes, in the returned one-element list."""
    calls = [0]
    score = clusterer._score

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls[0] += 1
        return score(*args, **kwargs)

    clusterer._score = counted  # type: ignore[method-assign]
    return calls


def test_cluster_consolidation_reuses_scores_without_changing_a_decision() -> None:
    """A later round keeps an article's scores for the stories no move has touched since its last
    look, and rescores the rest: fewer scores are computed, and every move and placement is what
    scoring everything afresh gives, including a move that only a changed story allows."""

    class Afresh(OnlineClusterer):
        def _reconsider(self, item, story, known):  # type: ignore[no-untyped-def]
            return super()._reconsider(item, story, {})

    config = _embedding_only(merge_threshold=5.0, split=False, consolidate_rounds=4, threshold=0.45)
    runs = []
    for kind in (OnlineClusterer, Afresh):
        clusterer = kind(config)
        for it in _held_then_freed():
            clusterer.add(it)
        assert clusterer.story_of("p") == clusterer.story_of("q") == clusterer.story_of("a0")
        calls = _count_scores(clusterer)
        moves = clusterer.consolidate()
        runs.append(([(m.article, m.to_story) for m, _ in moves], clusterer.placements(), calls[0]))
    (moves, placed, calls), (fresh_moves, fresh_placed, fresh_calls) = runs
    # q moved in the first round; p, which came before q, could only move in the second.
    assert moves == [("q", story_id_for("c0")), ("p", story_id_for("b0"))]
    assert moves == fresh_moves and placed == fresh_placed
    assert calls < fresh_calls


def test_cluster_consolidation_leaves_the_dormant_index_alone_for_articles_their_story_holds() -> None:
    """As in ``add``, a running story that takes a dated article spares it the dormant search: a
    second look does not pull it into a story that went quiet a month before, however well it fits."""
    config = _embedding_only(reopen_margin=0.3, merge_threshold=5.0, split=False, window_days=7.0)
    clusterer = OnlineClusterer(config)
    for k in range(3):  # D: a month old, dormant by the time the others come
        clusterer.add(_item(f"d{k}", _basis(0) + 0.01 * k * _basis(3), time=0.0))
    for k in range(3):  # S: cosine 0.6 with D; x fits S (0.75) less than D (0.98), even past the margin
        clusterer.add(_item(f"s{k}", 0.6 * _basis(0) + 0.8 * _basis(1) + 0.01 * k * _basis(4), time=30.0))
    clusterer.add(_item("x", 0.98 * _basis(0) + 0.2 * _basis(1), time=30.5))
    assert clusterer.story_of("x") == story_id_for("s0") != story_id_for("d0")
    searched = clusterer.dormant_searches
    assert clusterer.consolidate() == []
    assert clusterer.dormant_searches == searched
    assert clusterer.story_of("x") == story_id_for("s0")


def test_cluster_consolidation_of_a_singleton_is_recorded_as_a_merge() -> None:
    config = _embedding_only(merge_threshold=5.0, split=False)
    clusterer = OnlineClusterer(config)
    clusterer.add(_item("s", 0.3 * _basis(0) + 0.954 * _basis(1)))
    clusterer.add(_item("b0", _basis(0)))  # cosine 0.3 with s: a story of its own
    for i in (1, 2):  # cosine 0.89 with b0, 0.69 with s: they join b0
        clusterer.add(_item(f"b{i}", _basis(0) + 0.5 * _basis(1) + 0.01 * i * _basis(3)))
    # s now fits b0's story on average (0.56, above the 0.5 threshold), which did not exist when it came.
    assert clusterer.story_of("s") == story_id_for("s")
    moves = clusterer.consolidate()
    assert [m.article for m, _ in moves] == ["s"]
    assert clusterer.story_of("s") == clusterer.story_of("b0")
    assert [(m.kept, m.absorbed) for m in clusterer.merges] == [(clusterer.story_of("b0"), story_id_for("s"))]
    assert clusterer.consolidate() == []  # settled: a second look moves nothing more


def test_cluster_consolidation_leaves_settled_stories_alone() -> None:
    config = _embedding_only(reopen_margin=0.0, merge_threshold=5.0, split=False, window_days=7.0)
    items = [_item(f"a{i}", _basis(0) + 0.01 * i * _basis(3), time=0.0) for i in range(3)]
    items.append(_item("x", 0.6 * _basis(0) + 0.8 * _basis(1), time=1.0))
    # The event x fits better comes a month later: x's story is dormant by then and stays as it was.
    items += [_item(f"b{i}", _basis(1) + 0.01 * i * _basis(4), time=30.0 + i) for i in range(3)]
    final, _, _ = cluster_items(items, config)
    assert final["x"] == final["a0"] != final["b0"]


def _pieces(split_ratio: float = 0.8, reunite: bool = True, years: bool = False) -> OnlineClusterer:
    """One event in two stories: b0 comes first, too far from the a-story (cosine 0.64, below the
    0.7 threshold) to join it; b1..b3 (cosine 0.87 with every a, 0.94 with b0) then fit b0 best.
    ``years``: the a-articles name 2008, the b-articles 2013, at a penalty of 0.2."""
    config = _embedding_only(
        threshold=0.7, merge_threshold=5.0, split=False, split_min=3, split_ratio=split_ratio
    )
    config = dataclasses.replace(config, reunite=reunite, year_penalty=0.2 if years else 0.0)
    clusterer = OnlineClusterer(config)

    def at(degrees: float, nudge: int = 0) -> np.ndarray:
        rad = np.radians(degrees)
        return np.cos(rad) * _basis(0) + np.sin(rad) * _basis(1) + 0.001 * nudge * _basis(5)

    a_years, b_years = (("2008",), ("2013",)) if years else ((), ())
    for i in range(3):
        clusterer.add(_item(f"a{i}", at(0.0, i), years=a_years))
    clusterer.add(_item("b0", at(50.0), years=b_years))
    for i in (1, 2, 3):
        clusterer.add(_item(f"b{i}", at(30.0, i), years=b_years))
    assert clusterer.story_of("b0") == clusterer.story_of("b3") != clusterer.story_of("a0")
    return clusterer


@pytest.mark.parametrize(
    ("split_ratio", "reunite", "years", "one"),
    [
        (0.8, True, False, True),
        (0.8, False, False, False),
        (0.9, True, False, False),
        (0.8, True, True, False),
    ],
)
def test_cluster_consolidation_reunites_two_pieces_of_one_event(
    split_ratio: float, reunite: bool, years: bool, one: bool
) -> None:
    """Between the pieces the mean cosine is 0.81 (above the threshold); within, 1.0 and 0.97. As one
    story they would not split at a ratio of 0.8 (0.81 >= 0.78), so they become one; at 0.9 they
    would, and stay apart. With conflicting years the mean score between (0.61) fails the threshold,
    though the bound from the sums, which leaves penalties out, passes it."""
    clusterer = _pieces(split_ratio, reunite, years)
    assert clusterer.consolidate() == []  # no single article fits the other piece better
    if one:
        assert clusterer.story_of("a0") == clusterer.story_of("b0") == story_id_for("b0")  # the larger's id
        (merge,) = clusterer.merges
        assert (merge.kept, merge.absorbed, merge.at_article) == (
            story_id_for("b0"),
            story_id_for("a0"),
            "b3",
        )
        assert merge.score == pytest.approx(0.81, abs=0.01)
    else:
        assert clusterer.story_of("a0") != clusterer.story_of("b0")
        assert clusterer.merges == []


def test_cluster_between_bound_is_exact_but_for_numbers_and_penalties() -> None:
    """The bound from the stories' sums never falls below the mean pairwise score; without numbers,
    years and headline people it is that mean."""
    clusterer = OnlineClusterer(ClusterSettings(split=False))
    items = _member_items()
    rng = np.random.default_rng(5)
    others = [
        dataclasses.replace(
            _item(f"o{k}", _basis(0) * 3 + rng.normal(0, 0.6, DIM), text, entities=ents, years=("2021",)),
            numbers=numbers,
        )
        for k, (text, ents, numbers) in enumerate(
            [
                ("reservists border taliban", ("taliban", "kabul"), ("20,000",)),
                ("tajikistan troops kabul", ("dushanbe",), ("230", "20,000")),
                ("mobilised troops", (), ("5",)),
            ]
        )
    ]

    def story_of(group: list[ClusterItem]):  # type: ignore[no-untyped-def]
        story = clusterer._found(group[0])
        for it in group:
            clusterer._join(story, it, clusterer._terms.weights(it), refresh=False)
            clusterer._learn(it)
        return story

    def exact(a, b) -> float:  # type: ignore[no-untyped-def]
        sims, _ = pair_matrix(
            a.items + b.items, a.item_weights + b.item_weights, clusterer.settings, clusterer._terms
        )
        return float(sims[: len(a.items), len(a.items) :].mean())

    plain = [dataclasses.replace(it, id=f"p{it.id}", numbers=(), years=(), head_people=()) for it in items]
    plain_others = [dataclasses.replace(it, id=f"p{it.id}", numbers=(), years=()) for it in others]
    a, b, pa, pb = (story_of(g) for g in (items, others, plain, plain_others))
    for x, y in ((a, b), (b, a)):
        assert between_bound(x, y, {}, clusterer.settings, clusterer._terms) >= exact(x, y)
    assert (
        between_bound(a, b, {}, clusterer.settings, clusterer._terms) > exact(a, b) + 0.05
    )  # a year conflict and numbers
    assert between_bound(pa, pb, {}, clusterer.settings, clusterer._terms) == pytest.approx(
        exact(pa, pb), abs=1e-5
    )
    assert between_bound(pb, pa, {}, clusterer.settings, clusterer._terms) == pytest.approx(
        exact(pa, pb), abs=1e-5
    )
