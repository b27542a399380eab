"""Tests for storydesk.dedup: fingerprints, the near-duplicate index and wire-origin detection."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from datasketch import LeanMinHash
from hypothesis import given, settings
from hypothesis import strategies as st

from storydesk.config import DedupSettings
from storydesk.dedup import (
    AGENCIES,
    DuplicateIndex,
    detect_wire_origin,
    detect_wire_origins,
    fingerprint,
    normalize_text,
)

_VOCAB = [f"{a}{b}" for a in ("ka", "lo", "mi", "nu", "pe", "ra", "so", "tu") for b in range(60)]


def _article(seed: int, words: int = 300) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(_VOCAB) for _ in range(words))


def _edit(text: str, positions: list[int]) -> str:
    words = text.split()
    for i in positions:
        words[i] = "changedword"
    return " ".join(words)


def _true_jaccard(a: str, b: str, size: int) -> float:
    """Jaccard of word-shingle sets computed directly, with no hashing, as an oracle."""

    def shingles(text: str) -> set[tuple[str, ...]]:
        words = normalize_text(text).split()
        return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}

    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb)


@pytest.fixture
def index() -> DuplicateIndex:
    return DuplicateIndex(DedupSettings())


# --- normalization and fingerprints -------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("The agency’s “interlocutor” said.", 'the agency\'s "interlocutor" said'),
        ("Rahmon  mobilized\n\n20,000 reservists", "RAHMON mobilized 20 000 reservists!"),
        ("border—guards", "border guards"),
        ("ＦＵＬＬ width", "full width"),
    ],
)
def test_dedup_fingerprint_ignores_typography(a: str, b: str) -> None:
    assert normalize_text(a) == normalize_text(b)
    assert fingerprint(a) == fingerprint(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("20,000 reservists", "10,000 reservists"),
        ("Taliban seized six districts", "Taliban seized seven districts"),
    ],
)
def test_dedup_fingerprint_separates_different_words(a: str, b: str) -> None:
    assert fingerprint(a) != fingerprint(b)


def test_dedup_fingerprint_is_sha256_hex() -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", fingerprint("any text"))


@given(st.text(max_size=300))
@settings(max_examples=200, deadline=None)
def test_dedup_normalize_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once
    assert once == once.strip() and "  " not in once


# --- the index --------------------------------------------------------------------


def test_dedup_identical_texts_are_exact_duplicates(index: DuplicateIndex) -> None:
    text = _article(1)
    first = index.add("a", text)
    second = index.add("b", text.upper().replace(" ", "\n"))
    assert first.duplicate_of is None and first.kind is None
    assert second.duplicate_of == "a"
    assert second.kind == "exact"
    assert second.similarity == 1.0


def test_dedup_exact_copies_point_to_the_first_article(index: DuplicateIndex) -> None:
    text = _article(2)
    index.add("first", text)
    index.add("second", text)
    assert index.add("third", text).duplicate_of == "first"


@pytest.mark.parametrize("changes", [[5], [10, 150], [3, 90, 200, 280]])
def test_dedup_few_changed_words_make_a_near_duplicate(index: DuplicateIndex, changes: list[int]) -> None:
    original = _article(3)
    copy = _edit(original, changes)
    index.add("orig", original)
    result = index.add("copy", copy)
    expected = _true_jaccard(original, copy, DedupSettings().shingle_size)
    assert expected >= DedupSettings().near_threshold  # the premise of the case
    assert result.kind == "near"
    assert result.duplicate_of == "orig"
    assert result.similarity == pytest.approx(expected, abs=1e-3)
    assert result.similarity is not None and result.similarity < 1.0


def test_dedup_unrelated_texts_are_originals(index: DuplicateIndex) -> None:
    results = [index.add(f"doc{i}", _article(100 + i)) for i in range(50)]
    assert all(r.duplicate_of is None and r.kind is None for r in results)
    assert len(index) == 50


def test_dedup_below_threshold_copy_is_an_original(index: DuplicateIndex) -> None:
    original = _article(4)
    rewrite = _edit(original, list(range(0, 300, 7)))  # every 7th word: Jaccard far below 0.8
    assert _true_jaccard(original, rewrite, 5) < 0.8
    index.add("orig", original)
    assert index.add("rewrite", rewrite).duplicate_of is None


def test_dedup_picks_the_most_similar_earlier_article(index: DuplicateIndex) -> None:
    a = _article(5)
    b = _edit(a, [20])
    c = _edit(b, [250])  # one edit away from b, two from a
    index.add("a", a)
    index.add("b", b)
    result = index.add("c", c)
    assert _true_jaccard(c, b, 5) > _true_jaccard(c, a, 5) >= 0.8
    assert result.duplicate_of == "b"
    assert result.similarity == pytest.approx(_true_jaccard(c, b, 5), abs=1e-3)


def test_dedup_adding_the_same_id_twice_is_idempotent(index: DuplicateIndex) -> None:
    text = _article(6)
    first = index.add("a", text)
    again = index.add("a", text)
    assert again == first
    assert again.duplicate_of is None  # never matches itself
    assert len(index) == 1
    copy = index.add("b", text)
    assert index.add("b", text) == copy


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Tajikistan mobilizes reservists", "Tajikistan mobilizes soldiers"),
        ("Taliban seize six districts of Badakhshan", "Taliban seize seven districts of Badakhshan"),
        ("one two three four five six seven eight nine", "one two three four five six seven eight ten"),
        # 5 of 6 shingles shared: Jaccard 0.83 would pass near_threshold on a headline plus one word
        ("one two three four five six seven eight nine", "one two three four five six seven eight nine ten"),
    ],
)
def test_dedup_short_texts_match_only_exactly(index: DuplicateIndex, a: str, b: str) -> None:
    index.add("a", a)
    assert index.add("b", b).duplicate_of is None
    exact = index.add("c", a.upper())
    assert (exact.duplicate_of, exact.kind) == ("a", "exact")


def test_dedup_empty_texts_are_exact_duplicates(index: DuplicateIndex) -> None:
    index.add("a", "")
    assert index.add("b", "  ...  ").kind == "exact"


def test_dedup_is_deterministic_across_fresh_indexes() -> None:
    texts = [_article(7), _edit(_article(7), [9]), _article(8), _article(7)]
    runs = []
    for _ in range(2):
        index = DuplicateIndex(DedupSettings())
        results = [index.add(str(i), t) for i, t in enumerate(texts)]
        runs.append((results, [index.signature(t) for t in texts]))
    assert runs[0] == runs[1]
    assert runs[0][1][0] == DuplicateIndex(DedupSettings()).signature(texts[0])


def test_dedup_signature_round_trips_through_lean_minhash(index: DuplicateIndex) -> None:
    settings_ = DedupSettings(num_perm=64, seed=42)
    index = DuplicateIndex(settings_)
    text = _article(9)
    copy = _edit(text, [40, 120])
    sig = index.signature(text)
    lean = LeanMinHash.deserialize(sig)
    assert lean.seed == 42
    assert len(lean) == 64
    assert lean.jaccard(LeanMinHash.deserialize(sig)) == 1.0
    buffer = bytearray(lean.bytesize())
    lean.serialize(buffer)
    assert bytes(buffer) == sig
    estimate = lean.jaccard(LeanMinHash.deserialize(index.signature(copy)))
    assert estimate == pytest.approx(_true_jaccard(text, copy, 5), abs=0.15)


def test_dedup_signature_depends_on_seed() -> None:
    text = _article(10)
    assert DuplicateIndex(DedupSettings(seed=1)).signature(text) != DuplicateIndex(
        DedupSettings(seed=2)
    ).signature(text)


def test_dedup_many_articles_with_planted_copies() -> None:
    index = DuplicateIndex(DedupSettings())
    planted = {}
    for i in range(600):
        if i % 50 == 49:
            source = i - 30
            planted[str(i)] = str(source)
            index.add(str(i), _edit(_article(1000 + source), [i % 300]))
        else:
            index.add(str(i), _article(1000 + i))
    found = {k: r.duplicate_of for k in map(str, range(600)) if (r := index.add(k, "")).duplicate_of}
    assert found == planted
    assert len(index) == 600


# --- wire origin ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [("000_", "RIA Novosti"), ("003_", "Reuters")],
)
def test_dedup_wire_origin_of_seeds(seeds_dir: Path, prefix: str, expected: str) -> None:
    path = next(seeds_dir.glob(f"{prefix}*.txt"))
    text = path.read_text(encoding="utf-8")
    origin = detect_wire_origin(text)
    assert origin is not None
    assert origin.name == expected
    assert text[origin.start : origin.end].strip() == origin.evidence


_LEAD = "The minister announced new measures on Monday. "
_FILLER = "Officials gave further details about the plan and its costs over the following days. " * 8


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("WASHINGTON (AP) — The Senate voted on Tuesday.", "AP"),
        ("RENO, Nev. (AP) — Trump spoke.", "AP"),
        ("PARIS, Aug 31 (Reuters) - Le Pen backed Trump.", "Reuters"),
        ("Dec 29 (Reuters) - Clinton said.", "Reuters"),
        ("Cleveland (AFP) – The convention ended.", "AFP"),
        ("NEW YORK, Nov. 19 (UPI) — Clinton called.", "UPI"),
        ("BEIJING, July 5 (Xinhua) -- China said.", "Xinhua"),
        ("MOSCOW, July 5. /TASS/. Russia said.", "TASS"),
        ("SEOUL, July 5 (Yonhap) -- The ministry said.", "Yonhap"),
        (_LEAD + "Tajikistan mobilized reservists, RIA Novosti reported.", "RIA Novosti"),
        (_LEAD + "Reuters reported on Monday that troops crossed.", "Reuters"),
        (_LEAD + "A border official told Reuters the crossing was closed.", "Reuters"),
        (_LEAD + "A source told Interfax the talks failed.", "Interfax"),
        (_LEAD + "He said in an interview with RIA Novosti that it was serious.", "RIA Novosti"),
        (_LEAD + "Troops crossed the border, according to Reuters.", "Reuters"),
        (_LEAD + "The Associated Press reported the vote.", "AP"),
        (_LEAD + "The minister told the Kyodo News agency.", "Kyodo"),
        (_LEAD + "the state news agency Xinhua reported.", "Xinhua"),
        (_LEAD + _FILLER + "The story ends here.\n— AFP", "AFP"),
        (_LEAD + _FILLER + "The story ends here.\n-- AFP", "AFP"),
        (_LEAD + _FILLER + "(Reporting by Amanda Becker; Editing by Eric Beech.)", "Reuters"),
        (_LEAD + _FILLER + "Copyright 2016 The Associated Press. All rights reserved.", "AP"),
        (_LEAD + _FILLER + "AFP contributed to this report.", "AFP"),
        (_LEAD + _FILLER + "(c) Agence France-Presse", "AFP"),
        (_LEAD + _FILLER + "Associated Press writer Julie Pace in Washington contributed to this.", "AP"),
    ],
)
def test_dedup_wire_origin_credit_cues(text: str, expected: str) -> None:
    origin = detect_wire_origin(text)
    assert origin is not None, text
    assert origin.name == expected
    assert origin.evidence and origin.evidence in text[origin.start : origin.end]


@pytest.mark.parametrize(
    "text",
    [
        "Reuters is a news agency with its headquarters in London.",
        "The Associated Press has covered American elections since 1848; its vote counts are widely used.",
        "Michael Bloomberg told reporters he would not run.",
        "Fighting continued in Syria on Monday, the ministry said.",
        "An AP-GfK poll shows voters are unhappy.",
        "A story about the AP's decision to call the race drew criticism from campaigns.",
        _LEAD + _FILLER + "Clinton reached the threshold, according to the Associated Press.",
        _LEAD + _FILLER + "Sanders told the AP that he would not seek a recount.",
        "The minister thanked AFP and Reuters journalists for their work.",
        "",
    ],
)
def test_dedup_wire_origin_ignores_mere_mentions(text: str) -> None:
    assert detect_wire_origin(text) is None


def test_dedup_wire_origins_rank_by_cue_strength() -> None:
    text = "WASHINGTON (AP) — A border official told Reuters, RIA Novosti reported, according to TASS."
    assert [o.name for o in detect_wire_origins(text)] == ["AP", "RIA Novosti", "Reuters", "TASS"]


def test_dedup_wire_origins_earlier_cue_wins_at_equal_strength() -> None:
    text = _LEAD + "Interfax reported the shelling; TASS reported it an hour later."
    assert [o.name for o in detect_wire_origins(text)] == ["Interfax", "TASS"]


def test_dedup_wire_origin_falls_back_to_the_title() -> None:
    origin = detect_wire_origin("The ministry gave no details.", title="MOSCOW (Reuters) - Talks fail")
    assert origin is not None and origin.name == "Reuters"
    assert (origin.start, origin.end) == (0, 0)
    assert detect_wire_origin("WASHINGTON (AP) — x.", title="MOSCOW (Reuters) - y").name == "AP"  # type: ignore[union-attr]


def test_dedup_agency_table_is_consistent() -> None:
    names = [a.name for a in AGENCIES]
    assert len(names) == len(set(names))
    expected = {"Reuters", "AP", "AFP", "RIA Novosti", "TASS", "Interfax", "Xinhua", "Bloomberg", "dpa"}
    assert expected <= set(names)
    for agency in AGENCIES:
        assert agency.aliases and agency.tags
        for alias in agency.aliases:
            re.compile(alias)


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=2000))
@settings(max_examples=150, deadline=None)
def test_dedup_wire_origins_offsets_are_valid(text: str) -> None:
    for origin in detect_wire_origins(text):
        assert 0 <= origin.start <= origin.end <= len(text)
        assert origin.evidence in text[origin.start : origin.end]
