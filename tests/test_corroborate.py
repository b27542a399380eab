"""Corroboration: claims aligned into facts, statuses by independent origin, citations at sentences."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storydesk.corroborate import corroborate, sentence_spans, source_of, values_compatible
from storydesk.models import Article, Bound, Extraction, Fact, Quantity, Quote

# Hand-written stand-ins for the two seed reports (RIA Novosti and Reuters), same claims, own wording.
RIA = (
    "Tajik President Emomali Rahmon ordered Defense Minister Sherali Mirzo to mobilize 20,000 reserve "
    "servicemen to strengthen the Tajik-Afghan border, RIA Novosti reported on Monday.\n\n"
    "Earlier, a security source told RIA Novosti that the Taliban control more than 70% of the line of the "
    "state border with the republic.\n\n"
    "“The head of state ordered to mobilize 20,000 servicemen during a meeting of the Security Council,” "
    "the agency’s interlocutor said. Peace talks began on September 12, 2020 in Qatar."
)
REUTERS = (
    "Tajikistan President Emomali Rahmon has mobilized 20,000 military reservists to help bolster the "
    "border with Afghanistan, Reuters reported on Monday.\n\n"
    "This comes as more than 1,000 members of the Afghan security force members have fled to the country.\n\n"
    "The Taliban have taken over six districts in the northern province of Badakhshan, which led to "
    "1,037 Afghan service members moving across the border in Tajikistan, its border guard service told "
    "Reuters.\n\n"
    "U.S. troops vacated the Bagram Airfield after 20 years."
)


def _article(aid: str, text: str, outlet: str | None = None) -> Article:
    return Article(id=aid, text=text, raw_text=text, outlet=outlet, title=f"Title {aid}")


def _qty(
    text: str,
    phrase: str,
    value: float,
    counts: str | None,
    bound: Bound = "=",
    unit: str | None = None,
    occurrence: int = 0,
) -> Quantity:
    """A Quantity at the ``occurrence``-th place ``phrase`` appears in ``text``, as extraction gives it."""
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(phrase, start + 1)
    return Quantity(
        text=phrase, value=value, bound=bound, unit=unit, counts=counts, start=start, end=start + len(phrase)
    )


def _seed_like() -> tuple[list[Article], dict[str, Extraction], dict[str, str | None]]:
    ria, reuters = _article("ria", RIA, "Monitoring Desk"), _article("reu", REUTERS, "The Hill")
    extractions = {
        "ria": Extraction(
            "ria",
            quantities=(
                _qty(RIA, "20,000", 20000, "reserve servicemen"),
                _qty(RIA, "more than 70%", 70, "of the line of the state border", ">", "%"),
                _qty(RIA, "20,000", 20000, "servicemen", occurrence=1),
                _qty(RIA, "2020", 2020, None),
            ),
        ),
        "reu": Extraction(
            "reu",
            quantities=(
                _qty(REUTERS, "20,000", 20000, "military reservists"),
                _qty(REUTERS, "more than 1,000", 1000, "members of the Afghan security force members", ">"),
                _qty(REUTERS, "six", 6, "districts"),
                _qty(REUTERS, "1,037", 1037, "Afghan service members"),
                _qty(REUTERS, "20 years", 20, "years"),
            ),
        ),
    }
    return [ria, reuters], extractions, {"ria": "RIA Novosti", "reu": "Reuters"}


def _by_value(facts: Sequence[Fact]) -> dict[float, Fact]:
    return {f.value: f for f in facts if f.kind == "quantity" and f.value is not None}


def test_corroborate_seed_like_story_gives_the_expected_facts() -> None:
    articles, extractions, origins = _seed_like()
    facts = _by_value(corroborate(articles, extractions, origins))
    assert sorted(facts) == [6, 20, 70, 1037, 20000]  # a year is timeline; a duration is a fact
    assert (facts[20].status, facts[20].counts) == ("single-source", "years")
    assert facts[20000].status == "corroborated"
    assert set(facts[20000].origins) == {"RIA Novosti", "Reuters"}
    assert {c.article_id for c in facts[20000].citations} == {"ria", "reu"}
    assert (facts[70].status, facts[70].origins, facts[70].bound) == ("single-source", ("RIA Novosti",), ">")
    assert (facts[1037].status, facts[1037].origins) == ("single-source", ("Reuters",))
    assert facts[1037].note == "1,037 is compatible with more than 1,000"
    assert set(facts[1037].variants) == {"1,037", "more than 1,000"}
    assert (facts[6].status, facts[6].counts) == ("single-source", "districts")


def test_corroborate_orders_corroborated_facts_first() -> None:
    articles, extractions, origins = _seed_like()
    statuses = [f.status for f in corroborate(articles, extractions, origins)]
    assert statuses == sorted(statuses, key=["corroborated", "conflicting", "single-source"].index)


def test_corroborate_citations_are_sentences_that_contain_the_claim() -> None:
    articles, extractions, origins = _seed_like()
    texts = {a.id: a.text for a in articles}
    for fact in corroborate(articles, extractions, origins):
        assert fact.citations
        for c in fact.citations:
            sentence = texts[c.article_id][c.start : c.end]
            assert c.text == " ".join(sentence.split())
            assert any(v.removeprefix("more than ") in sentence for v in fact.variants)
            # a sentence span: it starts a sentence and does not run into the next paragraph
            assert c.start == 0 or texts[c.article_id][c.start - 1].isspace()
            assert "\n\n" not in sentence


def test_corroborate_uses_extraction_sentences_when_given() -> None:
    text = "Rahmon mobilized 20,000 reservists on Monday and they went to the border. Nothing else."
    spans = ((0, 40), (40, len(text)))  # deliberately not where a splitter would cut
    art = _article("a", text, "Outlet")
    ext = Extraction("a", quantities=(_qty(text, "20,000", 20000, "reservists"),), sentences=spans)
    (fact,) = corroborate([art], {"a": ext}, {"a": None})
    assert (fact.citations[0].start, fact.citations[0].end) == (0, 40)


# --- status logic -------------------------------------------------------------------------------

_A = "Tajikistan mobilized {n} {counts} to guard the Afghan border, Reuters said on Monday."
_B = "Tajikistan mobilized {n} {counts} to guard the Afghan border, AP reported."


_Claim = tuple[str, float, Bound, str, str | None]  # text, value, bound, counts, unit


def _c(text: str, value: float, counts: str, bound: Bound = "=", unit: str | None = None) -> _Claim:
    return (text, value, bound, counts, unit)


@pytest.mark.parametrize(
    ("a", "b", "same_origin", "expected"),
    [
        # -> (number of facts, status of the first fact)
        (
            _c("20,000", 20000, "reservists"),
            _c("20,000", 20000, "reserve servicemen"),
            False,
            (1, "corroborated"),
        ),
        (
            _c("20,000", 20000, "military reservists"),
            _c("20,000", 20000, "servicemen"),
            False,
            (1, "corroborated"),
        ),
        (_c("20,000", 20000, "reservists"), _c("20,000", 20000, "reservists"), True, (1, "single-source")),
        (_c("20,000", 20000, "reservists"), _c("10,000", 10000, "reservists"), False, (1, "conflicting")),
        (
            _c("1,037", 1037, "soldiers"),
            _c("more than 1,000", 1000, "soldiers", ">"),
            False,
            (1, "corroborated"),
        ),
        (_c("1,037", 1037, "soldiers"), _c("about 1,000", 1000, "soldiers", "~"), False, (1, "corroborated")),
        (
            _c("1,037", 1037, "soldiers"),
            _c("fewer than 500", 500, "soldiers", "<"),
            False,
            (1, "conflicting"),
        ),
        (_c("1,037", 1037, "soldiers"), _c("about 500", 500, "soldiers", "~"), False, (1, "conflicting")),
        # a share of the border and a count of troops are never one fact
        (_c("70%", 70, "of the border", unit="%"), _c("70", 70, "troops"), False, (2, "single-source")),
        # the same number under two nouns in one reworded sentence is one fact ("pirates" / "suspects")
        (_c("20,000", 20000, "reservists"), _c("20,000", 20000, "soldiers"), False, (1, "corroborated")),
    ],
)
def test_corroborate_status_logic(a: _Claim, b: _Claim, same_origin: bool, expected: tuple[int, str]) -> None:
    text_a = _A.format(n=a[0], counts=a[3].removeprefix("of the "))
    text_b = _B.format(n=b[0], counts=b[3].removeprefix("of the "))
    arts = [_article("a", text_a, "Outlet A"), _article("b", text_b, "Outlet B")]
    ext = {
        "a": Extraction("a", quantities=(_qty(text_a, a[0], a[1], a[3], a[2], a[4]),)),
        "b": Extraction("b", quantities=(_qty(text_b, b[0], b[1], b[3], b[2], b[4]),)),
    }
    origins: dict[str, str | None] = {"a": "Reuters", "b": "Reuters" if same_origin else "AP"}
    facts = [f for f in corroborate(arts, ext, origins) if f.kind == "quantity"]
    assert (len(facts), facts[0].status) == expected
    if expected == (1, "corroborated") and a[0] != b[0]:
        assert facts[0].note is not None and "compatible" in facts[0].note
        assert set(facts[0].variants) == {a[0], b[0]}
    if expected[1] == "conflicting":
        assert facts[0].note is not None and a[0] in facts[0].note and b[0] in facts[0].note


def test_corroborate_different_contexts_do_not_conflict() -> None:
    """Two different counts of reservists in unrelated sentences are two facts, not a conflict."""
    text_a = "Tajikistan mobilized 20,000 reservists to guard the Afghan border."
    text_b = "Kyrgyzstan keeps 10,000 reservists in its army for emergencies."
    arts = [_article("a", text_a), _article("b", text_b)]
    ext = {
        "a": Extraction("a", quantities=(_qty(text_a, "20,000", 20000, "reservists"),)),
        "b": Extraction("b", quantities=(_qty(text_b, "10,000", 10000, "reservists"),)),
    }
    facts = corroborate(arts, ext, {"a": "Reuters", "b": "AP"})
    assert sorted(f.status for f in facts) == ["single-source", "single-source"]


@pytest.mark.parametrize(
    ("copies", "extra_outlet", "status"),
    [(2, False, "single-source"), (5, False, "single-source"), (5, True, "corroborated")],
)
def test_corroborate_independence_is_by_wire_origin_not_outlet(
    copies: int, extra_outlet: bool, status: str
) -> None:
    """Rewrites of one Reuters report in several outlets are one source; an unattributed outlet is another."""
    arts: list[Article] = []
    ext: dict[str, Extraction] = {}
    origins: dict[str, str | None] = {}
    sources: list[tuple[str, str, str | None]] = [(f"r{i}", f"Outlet {i}", "Reuters") for i in range(copies)]
    if extra_outlet:
        sources.append(("x", "Daily Independent", None))
    for aid, outlet, origin in sources:
        text = f"Rahmon mobilized 20,000 reservists, {outlet} wrote."
        arts.append(_article(aid, text, outlet))
        ext[aid] = Extraction(aid, quantities=(_qty(text, "20,000", 20000, "reservists"),))
        origins[aid] = origin
    (fact,) = corroborate(arts, ext, origins)
    assert fact.status == status
    assert fact.origins == (("Reuters", "Daily Independent") if extra_outlet else ("Reuters",))
    assert len(fact.citations) == len(sources)


@pytest.mark.parametrize(
    ("origin", "outlet", "expected"),
    [("Reuters", "The Hill", "Reuters"), (None, "The Hill", "The Hill"), (None, None, "article:x"),
     ("  ", "  ", "article:x")],
)  # fmt: skip
def test_corroborate_source_of(origin: str | None, outlet: str | None, expected: str) -> None:
    assert source_of(_article("x", "Text.", outlet), origin) == expected


@pytest.mark.parametrize(
    ("a", "b", "compatible"),
    [
        ((1037, "="), (1000, ">"), True),
        ((1000, "="), (1000, ">"), True),  # "more than" read as "at least": writers round
        ((1037, "="), (1000, "~"), True),
        ((1200, "="), (1000, "~"), False),
        ((1037, "="), (500, "<"), False),
        ((20000, "="), (10000, "="), False),
        ((20000, "="), (20000, "="), True),
        ((1000, ">"), (5000, ">"), True),
        ((1000, ">"), (500, "<"), False),
    ],
)
def test_corroborate_values_compatible(a: tuple[float, str], b: tuple[float, str], compatible: bool) -> None:
    assert values_compatible(a, b) is compatible
    assert values_compatible(b, a) is compatible


@pytest.mark.parametrize(
    ("phrase", "value", "counts", "unit"), [("2020", 2020, None, None), ("three", 3, None, None)]
)
def test_corroborate_drops_years_and_bare_numbers(
    phrase: str, value: float, counts: str | None, unit: str | None
) -> None:
    text = f"Something happened with {phrase} in it, Reuters said."
    ext = Extraction("a", quantities=(_qty(text, phrase, value, counts, "=", unit),))
    assert corroborate([_article("a", text)], {"a": ext}, {"a": "Reuters"}) == ()


@pytest.mark.parametrize(
    ("phrase", "value", "counts", "unit"), [("20 years", 20, "years", None), ("12 days", 12, None, "days")]
)
def test_corroborate_keeps_durations(phrase: str, value: float, counts: str | None, unit: str | None) -> None:
    text = f"The siege lasted {phrase}, Reuters said."
    ext = Extraction("a", quantities=(_qty(text, phrase, value, counts, "=", unit),))
    facts = corroborate([_article("a", text)], {"a": ext}, {"a": "Reuters"})
    assert [(f.kind, f.value, f.status) for f in facts] == [("quantity", value, "single-source")]


# --- quotes and statements ----------------------------------------------------------------------


def _quote(text: str, content: str, speaker: str) -> Quote:
    cs, ss = text.index(content), text.index(speaker)
    return Quote(speaker, ss, ss + len(speaker), "said", None, None, content, cs, cs + len(content), True)


def test_corroborate_same_quote_in_two_origins_is_a_corroborated_fact() -> None:
    said = "We will support Tajikistan if needed to stabilize its border"
    text_a = f"“{said},” Putin said, according to Reuters."
    text_b = f"“{said} with Russia,” Putin said, AP reported."
    text_c = "“Special attention was paid to the situation in the north of the country,” his office said."
    arts = [_article("a", text_a), _article("b", text_b), _article("c", text_c)]
    ext = {
        "a": Extraction("a", quotes=(_quote(text_a, said, "Putin"),)),
        "b": Extraction("b", quotes=(_quote(text_b, said + " with Russia", "Putin"),)),
        "c": Extraction("c", quotes=(_quote(text_c, text_c[1:71], "his office"),)),
    }
    facts = [f for f in corroborate(arts, ext, {"a": "Reuters", "b": "AP", "c": "AFP"}) if f.kind == "quote"]
    assert len(facts) == 1  # a quote found once is not a fact
    assert facts[0].status == "corroborated" and set(facts[0].origins) == {"Reuters", "AP"}
    assert {c.article_id for c in facts[0].citations} == {"a", "b"}


def test_corroborate_same_statement_in_two_origins_is_a_fact() -> None:
    text_a = "Peace talks between the Afghan government and the Taliban began in Qatar last September. Other."
    text_b = (
        "Rain fell. Peace talks between the Afghan government and the Taliban began in Qatar in September."
    )
    arts = [_article("a", text_a), _article("b", text_b)]
    facts = corroborate(arts, {}, {"a": "Reuters", "b": "AP"})
    assert [(f.kind, f.status) for f in facts] == [("statement", "corroborated")]
    assert all("Peace talks" in c.text for c in facts[0].citations)


def test_corroborate_handles_articles_without_extractions_or_text() -> None:
    arts = [_article("a", ""), _article("b", "Only numbers 1 2 3 4.")]
    assert corroborate(arts, {}, {}) == ()


# --- sentences ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        (
            "U.S. troops left. Mr. Smith said so. Then it ended!",
            ["U.S. troops left.", "Mr. Smith said so.", "Then it ended!"],
        ),
        ("“He left,” she said. “Why?” he asked.", ["“He left,” she said.", "“Why?” he asked."]),
        ("A title\n\nFirst part. second clause stays", ["A title", "First part. second clause stays"]),
        ("", []),
    ],
)
def test_corroborate_sentence_spans(text: str, sentences: list[str]) -> None:
    assert [text[s:e] for s, e in sentence_spans(text)] == sentences


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab .!?\n“”\"'A1")), max_size=300))
def test_corroborate_sentence_spans_partition_arbitrary_text(text: str) -> None:
    spans = sentence_spans(text)
    previous_end = 0
    for s, e in spans:
        assert previous_end <= s < e <= len(text)
        assert text[s:e] == text[s:e].strip()
        previous_end = e
    assert re.sub(r"\s", "", text) == "".join(re.sub(r"\s", "", text[s:e]) for s, e in spans)


# --- the real seeds -----------------------------------------------------------------------------


def _seed_text(path: Path) -> str:
    """The seed's body as the cleaner leaves it: no header line, no Source: line, no bio."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"^\s*date \d{4}-\d\d-\d\d [^:]*:[^.]*\.\s*", "", text)
    return text.split("\nSource:")[0].strip().replace("inte-rlocutor", "interlocutor")


def test_corroborate_on_the_seed_texts(seeds_dir: Path) -> None:
    ria_text = _seed_text(next(seeds_dir.glob("000_*.txt")))
    reu_text = _seed_text(next(seeds_dir.glob("003_*.txt")))
    arts = [_article("000", ria_text, "Monitoring Desk"), _article("003", reu_text)]
    ext = {
        "000": Extraction(
            "000",
            quantities=(
                _qty(ria_text, "20,000", 20000, "reserve servicemen"),
                _qty(ria_text, "more than 70%", 70, "of the line of the state border", ">", "%"),
                _qty(ria_text, "20,000", 20000, "servicemen", occurrence=1),
            ),
        ),
        "003": Extraction(
            "003",
            quantities=(
                _qty(reu_text, "20,000", 20000, "military reservists"),
                _qty(reu_text, "more than 1,000", 1000, "members of the Afghan security force members", ">"),
                _qty(reu_text, "six", 6, "districts"),
                _qty(reu_text, "1,037", 1037, "Afghan service members"),
                _qty(reu_text, "20 years", 20, "years"),
            ),
        ),
    }
    facts = corroborate(arts, ext, {"000": "RIA Novosti", "003": "Reuters"})
    by_value = _by_value(facts)
    assert {v: (f.status, f.origins) for v, f in by_value.items()} == {
        20000: ("corroborated", ("RIA Novosti", "Reuters")),
        70: ("single-source", ("RIA Novosti",)),
        1037: ("single-source", ("Reuters",)),
        6: ("single-source", ("Reuters",)),
        20: ("single-source", ("Reuters",)),  # the 20 years before the withdrawal: a duration
    }
    assert "compatible with more than 1,000" in (by_value[1037].note or "")
    assert "Rahmon" in by_value[20000].statement and "20,000" in by_value[20000].statement
    assert "Tina Shields" not in repr(facts)


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(max_size=400),
    picks=st.lists(
        st.tuples(
            st.integers(0, 400),
            st.integers(1, 12),
            st.floats(-1e6, 1e9, allow_nan=False),
            st.sampled_from(["=", ">", "<", "~"]),
            st.sampled_from([None, "reservists", "of the border", "troops", "", "years"]),
        ),
        max_size=8,
    ),
)
def test_corroborate_never_fails_on_arbitrary_claims(
    text: str, picks: list[tuple[int, int, float, Bound, str | None]]
) -> None:
    """Arbitrary text and quantities anywhere in it: no exception, citations inside the text."""
    quantities = []
    for start, length, value, bound, counts in picks:
        start = min(start, max(0, len(text) - 1))
        end = min(len(text), start + length)
        if end > start:
            quantities.append(
                Quantity(text[start:end], value, bound, "%" if counts == "" else None, counts, start, end)
            )
    arts = [_article("a", text), _article("b", text[::-1])]
    ext = {
        "a": Extraction("a", quantities=tuple(quantities)),
        "b": Extraction("b", quantities=tuple(quantities)),
    }
    for fact in corroborate(arts, ext, {"a": "Reuters", "b": None}):
        assert fact.status in {"corroborated", "single-source", "conflicting"}
        for c in fact.citations:
            assert 0 <= c.start <= c.end <= len(text)


# --- frames: what makes two values one fact, or a conflict ----------------------------------------


def _two(text_a: str, qa: Sequence[tuple[str, float, str | None, str | None, Bound]], text_b: str,
         qb: Sequence[tuple[str, float, str | None, str | None, Bound]]) -> list[Fact]:  # fmt: skip
    """Quantity facts of two articles from two independent origins; claims as (phrase, value, counts, unit, bound)."""
    arts = [_article("a", text_a), _article("b", text_b)]
    ext = {
        aid: Extraction(aid, quantities=tuple(_qty(text, p, v, c, b, u) for p, v, c, u, b in claims))
        for aid, text, claims in (("a", text_a, qa), ("b", text_b, qb))
    }
    return [f for f in corroborate(arts, ext, {"a": "Reuters", "b": "AP"}) if f.kind == "quantity"]


def test_corroborate_values_in_one_sentence_never_conflict() -> None:
    text = "Marine commandos boarded the dhow to nab 12 Somali and 11 Yemeni pirates, the navy said."
    claims = [("12", 12, "Somali pirates", None, "="), ("11", 11, "Yemeni pirates", None, "=")]
    facts = _two(text, claims, text.replace("the navy said", "officials said"), claims)
    assert sorted((f.value, f.status) for f in facts) == [(11, "corroborated"), (12, "corroborated")]


def test_corroborate_an_article_stating_both_values_witnesses_two_facts() -> None:
    # depth and distance of one quake: the second article gives both, so 35 km and 75 km are two things
    text_a = "The quake struck at a depth of 35 km, near the town, officials said."
    text_b = "The quake struck at a depth of 75 km from the town; its depth was 35 km, officials said."
    facts = _two(
        text_a, [("35 km", 35, None, "km", "=")],
        text_b, [("75 km", 75, None, "km", "="), ("35 km", 35, None, "km", "=")],
    )  # fmt: skip
    assert "conflicting" not in {f.status for f in facts}
    assert {(f.value, f.status) for f in facts} == {(35, "corroborated"), (75, "single-source")}


def test_corroborate_unit_conversions_are_one_fact() -> None:
    text_a = "The climber fell about 600 metres while climbing to a small hut, police said."
    text_b = "The climber fell around 2,000 feet while climbing to a small hut, police said."
    facts = _two(text_a, [("about 600 metres", 600, None, "metre", "~")],
                 text_b, [("around 2,000 feet", 2000, None, "feet", "~")])  # fmt: skip
    assert [(f.status, len(f.citations)) for f in facts] == [("corroborated", 2)]


def test_corroborate_conflict_needs_the_same_thing_in_a_similar_sentence() -> None:
    same = "Indian commandos seized {n} AK-47 rifles from the pirate dhow, the navy said."
    facts = _two(same.format(n="seven"), [("seven", 7, "AK-47 rifles", None, "=")],
                 same.format(n="12"), [("12", 12, "AK-47 rifles", None, "=")])  # fmt: skip
    assert [f.status for f in facts] == ["conflicting"]
    other = "The dhow carried 12 AK-47 rifles when it was first spotted last year near Aden."
    facts = _two(same.format(n="seven"), [("seven", 7, "AK-47 rifles", None, "=")],
                 other, [("12", 12, "AK-47 rifles", None, "=")])  # fmt: skip
    assert sorted(f.status for f in facts) == ["single-source", "single-source"]


def test_corroborate_about_two_thirds_and_more_than_70_percent_are_compatible_with_a_reason() -> None:
    text_a = "The Taliban control more than 70% of the border, a security source said."
    text_b = "The Taliban control about two thirds of the border, a security source said."
    facts = _two(text_a, [("more than 70%", 70, "of the border", "%", ">")],
                 text_b, [("about two thirds", 2 / 3, "of the border", "fraction", "~")])  # fmt: skip
    assert [f.status for f in facts] == ["corroborated"]
    assert facts[0].note is not None and "compatible" in facts[0].note


def test_corroborate_a_listed_count_and_a_demonym_count_the_same_people() -> None:
    # "12 Somali and 11 Yemeni pirates" counts Somali pirates; "12 Somalis" names the same people
    text_a = "Marine commandos boarded the dhow to nab 12 Somali and 11 Yemeni pirates, the navy said."
    text_b = "Marine commandos boarded the dhow and arrested 12 Somalis, the navy said."
    facts = _two(
        text_a, [("12", 12, "Somali and 11 Yemeni pirates", None, "="), ("11", 11, "Yemeni pirates", None, "=")],
        text_b, [("12", 12, "Somalis", None, "=")],
    )  # fmt: skip
    assert sorted((f.value, f.status) for f in facts) == [(11, "single-source"), (12, "corroborated")]


def test_corroborate_a_bound_agrees_only_with_a_related_sentence() -> None:
    # "more than three seasons" as coach and "four seasons" as a player are two facts, not one
    text_a = "Cheeks was fired after more than three seasons as coach of the 76ers, the team said."
    text_b = "He spent four seasons with the Knicks as a player before he retired in New York."
    facts = _two(text_a, [("more than three", 3, "seasons", None, ">")],
                 text_b, [("four", 4, "seasons", None, "=")])  # fmt: skip
    assert sorted((f.value, f.status) for f in facts) == [(3, "single-source"), (4, "single-source")]
    # the same clause with an exact count is one corroborated fact
    text_c = "Cheeks was fired after four seasons as coach of the 76ers, the team said on Monday."
    facts = _two(text_a, [("more than three", 3, "seasons", None, ">")],
                 text_c, [("four", 4, "seasons", None, "=")])  # fmt: skip
    assert [f.status for f in facts] == ["corroborated"]


def test_corroborate_one_named_person_with_two_ages_is_a_conflict_two_people_are_two_facts() -> None:
    text_a = "On Saturday, 32-year-old Englishman Robert Buckley fell about 600 metres near the hut."
    text_b = "A day after the other death, 31-year-old Robert Buckley of the U.K. slipped on the ice."
    buckley = "age of Robert Buckley"
    facts = _two(text_a, [("32-year-old", 32, buckley, "years", "=")],
                 text_b, [("31-year-old", 31, buckley, "years", "=")])  # fmt: skip
    assert [f.status for f in facts] == ["conflicting"]
    # the same age of two people is two single-source facts, however alike the sentences
    facts = _two(text_a, [("32-year-old", 32, buckley, "years", "=")],
                 text_a.replace("Robert Buckley", "Duncan Rait"), [("32-year-old", 32, "age of Duncan Rait", "years", "=")])  # fmt: skip
    assert sorted(f.status for f in facts) == ["single-source", "single-source"]


def test_corroborate_a_parenthetical_conversion_restates_the_value() -> None:
    # "about 60 metres (200 feet)": one claim in two units, so it joins the articles that say 200 feet
    text_a = "Rait died after slipping and falling about 60 metres (200 feet) from a ridge."
    text_b = "Rait died after slipping and falling 200ft from a ridge in the same national park."
    facts = _two(text_a, [("about 60 metres", 60, None, "metres", "~"), ("200 feet", 200, None, "feet", "=")],
                 text_b, [("200ft", 200, None, "ft", "=")])  # fmt: skip
    assert [(f.status, len(f.citations)) for f in facts] == [("corroborated", 2)]


def test_corroborate_a_noun_named_more_fully_is_the_same_count() -> None:
    text_a = "Pirates have already attacked as many as 100 merchant vessels transiting the lane this year."
    text_b = "Nearly 100 vessels were targeted off Somalia, the maritime bureau said."
    facts = _two(text_a, [("as many as 100", 100, "merchant vessels", None, "<")],
                 text_b, [("Nearly 100", 100, "vessels", None, "~")])  # fmt: skip
    assert [f.status for f in facts] == ["corroborated"]


def _toll(day: int, text: str, phrase: str, value: int) -> tuple[Article, Extraction]:
    art = Article(id=f"d{day}", text=text, raw_text=text, title="Quake", published=dt.date(2024, 1, day))
    return art, Extraction(art.id, quantities=(_qty(text, phrase, value, "death toll"),))


def test_corroborate_a_figure_that_moved_is_an_update_not_a_conflict() -> None:
    first = _toll(1, "The death toll from the quake stood at 12 on Monday, officials said.", "12", 12)
    later = _toll(2, "The death toll from the quake rose to 24 on Tuesday, officials said.", "24", 24)
    again = _toll(3, "The death toll from the quake has risen to 24, officials said on Wednesday.", "24", 24)
    arts = [first[0], later[0], again[0]]
    ext = {a.id: e for a, e in (first, later, again)}
    facts = corroborate(arts, ext, {"d1": "Reuters", "d2": "AP", "d3": "AFP"})
    assert [(f.status, f.value) for f in facts if f.kind == "quantity"] == [("corroborated", 24)]
    fact = next(f for f in facts if f.kind == "quantity")
    assert fact.note == "updated: 12 (Reuters) → 24 (AP)"
    assert len(fact.citations) == 3
    # "rose to 24" in a report dated before the 12 it would revise is a disagreement
    early = _toll(1, later[0].text, "24", 24)
    late = _toll(2, first[0].text, "12", 12)
    facts = corroborate([early[0], late[0]], {"d1": early[1], "d2": late[1]}, {"d1": "Reuters", "d2": "AP"})
    assert [f.status for f in facts if f.kind == "quantity"] == ["conflicting"]
    # and without a verb that moves it, two values are a conflict whatever the dates
    plain = _toll(2, "The death toll from the quake was 24 on Tuesday, officials said.", "24", 24)
    facts = corroborate([first[0], plain[0]], {"d1": first[1], "d2": plain[1]}, {"d1": "Reuters", "d2": "AP"})
    assert [f.status for f in facts if f.kind == "quantity"] == ["conflicting"]


def test_corroborate_what_happened_to_the_counted_joins_or_splits_facts() -> None:
    # two nouns, one event: "two climbers killed" and "two men have died" are one fact
    text_a = "Two climbers killed in Mt Cook falls over the weekend."
    text_b = "Police confirmed on Monday that two men have died in separate accidents."
    facts = _two(text_a, [("Two", 2, "climbers", None, "=")], text_b, [("two", 2, "men", None, "=")])
    assert [(f.status, len(f.citations)) for f in facts] == [("corroborated", 2)]
    # one noun, two events: two people killed and two people wounded are two facts, never a conflict
    text_c = "The gunman killed two people at the office on Monday, police said."
    text_d = "The gunman wounded two people at the office on Monday, police said."
    facts = _two(text_c, [("two", 2, "people", None, "=")], text_d, [("two", 2, "people", None, "=")])
    assert sorted(f.status for f in facts) == ["single-source", "single-source"]
    text_e = "The gunman wounded three people at the office on Monday, police said."
    facts = _two(text_c, [("two", 2, "people", None, "=")], text_e, [("three", 3, "people", None, "=")])
    assert "conflicting" not in {f.status for f in facts}


def test_corroborate_an_update_is_ordered_by_the_instant_not_the_wall_clock() -> None:
    # 10:00 in Moscow is 07:00 UTC, before the 08:00 UTC report of 12: "rose to 24" came first
    rose = "The death toll from the quake rose to 24 on Tuesday, officials said."
    stood = "The death toll from the quake stood at 12 on Tuesday, officials said."
    moscow = dt.timezone(dt.timedelta(hours=3))
    early = Article(id="m", text=rose, raw_text=rose, published_at=dt.datetime(2024, 1, 2, 10, tzinfo=moscow))
    late = Article(id="u", text=stood, raw_text=stood, published_at=dt.datetime(2024, 1, 2, 8, tzinfo=dt.UTC))
    ext = {
        "m": Extraction("m", quantities=(_qty(rose, "24", 24, "death toll"),)),
        "u": Extraction("u", quantities=(_qty(stood, "12", 12, "death toll"),)),
    }
    facts = corroborate([early, late], ext, {"m": "TASS", "u": "Reuters"})
    assert [f.status for f in facts if f.kind == "quantity"] == ["conflicting"]
    # at 12:00 Moscow (09:00 UTC) the same report comes after the 12: an update
    later = dataclasses.replace(early, published_at=dt.datetime(2024, 1, 2, 12, tzinfo=moscow))
    facts = corroborate([later, late], ext, {"m": "TASS", "u": "Reuters"})
    assert [f.status for f in facts if f.kind == "quantity"] == ["single-source"]


def test_corroborate_a_running_total_is_not_the_events_own_figure() -> None:
    # the totals "so far" agree with each other, the operation's own count with the operation's own
    text_a = "During the operation, six AK-47 rifles, 12 magazines and about 300 rounds were seized."
    text_b = "So far, the navy has confiscated 14 AK-47 rifles in its five operations, officials said."
    text_c = "The navy has seized 14 AK-47 rifles so far in the Gulf of Aden, officials said."
    arts = [_article("a", text_a), _article("b", text_b), _article("c", text_c)]
    ext = {
        "a": Extraction("a", quantities=(_qty(text_a, "six", 6, "AK-47 rifles"),)),
        "b": Extraction("b", quantities=(_qty(text_b, "14", 14, "AK-47 rifles"),)),
        "c": Extraction("c", quantities=(_qty(text_c, "14", 14, "AK-47 rifles"),)),
    }
    facts = [
        f for f in corroborate(arts, ext, {"a": "AP", "b": "Reuters", "c": "AFP"}) if f.kind == "quantity"
    ]
    assert sorted((f.value, f.status) for f in facts) == [(6, "single-source"), (14, "corroborated")]
    # one report that gives the total as the operation's own figure contradicts the operation's count
    text_d = "The navy confiscated 14 AK-47 rifles, 31 magazines and 923 rounds from the boat."
    arts.append(_article("d", text_d))
    ext["a"] = Extraction(
        "a",
        quantities=(
            _qty(text_a, "six", 6, "AK-47 rifles"),
            _qty(text_a, "12", 12, "magazines"),
            _qty(text_a, "about 300", 300, "rounds", "~"),
        ),
    )
    ext["d"] = Extraction(
        "d",
        quantities=(
            _qty(text_d, "14", 14, "AK-47 rifles"),
            _qty(text_d, "31", 31, "magazines"),
            _qty(text_d, "923", 923, "rounds"),
        ),
    )
    facts = [
        f
        for f in corroborate(arts, ext, {"a": "AP", "b": "Reuters", "c": "AFP", "d": "PTI"})
        if f.kind == "quantity"
    ]
    rifles = {f.value: f.status for f in facts if f.counts == "AK-47 rifles"}
    assert rifles == {6: "conflicting", 14: "corroborated"}  # the totals stay corroborated
    assert {f.value: f.status for f in facts if f.counts == "magazines"} == {12: "conflicting"}


def test_corroborate_numbers_that_claim_nothing_are_not_facts() -> None:
    text = (
        "5 Thoughts on Why the Academy Picked Her. One man told reporters he heard a crash. "
        "At one point she handed a director a script. The Sixers won 18 of their next 23 games. "
        "Fans lined the three-point line after the 9/11 tribute."
    )
    claims = [
        ("5", 5, "Thoughts", None, "="),
        ("One", 1, "man", None, "="),
        ("one", 1, "point", None, "="),
        ("18", 18, "games", None, "="),
        ("23", 23, "games", None, "="),
        ("three", 3, "-point line", None, "="),
        ("11", 11, "tribute", None, "="),
    ]
    facts = _two(text, claims, "Nothing else was said.", [])
    assert [(f.value, f.counts) for f in facts] == [(18, "games")]
    # "one" with what happened to it is a count: one man was killed
    killed = "One man was killed when the car hit the crowd, police said."
    facts = _two(killed, [("One", 1, "man", None, "=")], "Nothing else was said.", [])
    assert [f.value for f in facts] == [1]


def test_corroborate_decades_are_told_in_years() -> None:
    text_a = "DiLeo has spent the last two decades on the Sixers' bench, the team said."
    text_b = "DiLeo spent two decades on the Sixers' bench as an assistant, the team said."
    facts = _two(
        text_a, [("two decades", 2, "decades", None, "=")], text_b, [("two decades", 2, "decades", None, "=")]
    )
    assert [(f.value, f.unit, f.status) for f in facts] == [(20, "years", "corroborated")]


def test_corroborate_two_measures_of_one_named_thing_conflict_and_units_convert() -> None:
    # 10 m is 32.8 ft: a 24- to 30-foot dhow is another length of the same dhow
    text_a = "The larger boat, a 10-metre dhow, is named the Salahaddin."
    text_b = "The warship caught up to the boats, the larger of which was described as a 24- to 30-foot dhow."
    dhow_a = [("10-metre", 10, "dhow", "metre", "=")]
    facts = _two(text_a, dhow_a, text_b, [("24- to 30-foot", 27, "dhow", "foot", "~")])
    assert [f.status for f in facts] == ["conflicting"]
    facts = _two(
        text_a, dhow_a, text_b.replace("24- to 30-foot", "33-foot"), [("33-foot", 33, "dhow", "foot", "=")]
    )
    assert [f.status for f in facts] == ["corroborated"]
    # an area in square feet and in square metres, rounded, is one figure
    text_c = "The 170,000-square-foot building houses a number of businesses."
    text_d = "The 15,800-square-metre building houses a number of businesses."
    facts = _two(text_c, [("170,000", 170000, "building", "square feet", "=")],
                 text_d, [("15,800", 15800, "building", "square metres", "=")])  # fmt: skip
    assert [f.status for f in facts] == ["corroborated"]


def test_corroborate_statements_keep_numbers_and_appositions_whole() -> None:
    text_a = "Robert Buckley fell around 2, 000ft from the ridge on Saturday, police said."
    text_b = "Hugh Jackman, 40, star of the romantic epic Australia, will host the Oscars."
    facts = _two(text_a, [("around 2, 000ft", 2000, None, "ft", "~")],
                 text_b, [("40", 40, "age of Hugh Jackman", "years", "=")])  # fmt: skip
    statements = sorted(f.statement for f in facts)
    assert statements[0].startswith("Hugh Jackman, 40")
    assert "2, 000ft" in statements[1]


def test_corroborate_another_noun_needs_the_same_figure_not_a_compatible_one() -> None:
    # "about a dozen ships" may hold 11, but 11 Yemeni pirates are not those ships
    text_a = "Pirates are holding about a dozen ships and nearly 300 crewmen on the Somali coast."
    text_b = "Commandos nabbed 12 Somali and 11 Yemeni pirates holding ships on the Somali coast."
    facts = _two(
        text_a, [("about a dozen", 12, "ships", None, "~")], text_b, [("11", 11, "Yemeni pirates", None, "=")]
    )
    assert sorted((f.value, f.status) for f in facts) == [(11, "single-source"), (12, "single-source")]
    # the same figure, however bounded, under another noun of a reworded sentence is one fact
    text_c = "The 2008 telecast delivered 32 million total viewers, the network said."
    text_d = "The 2008 telecast drew about 32 million people tuning in, the network said."
    facts = _two(
        text_c,
        [("32 million", 32e6, "total viewers", None, "=")],
        text_d,
        [("about 32 million", 32e6, "people", None, "~")],
    )
    assert [f.status for f in facts] == ["corroborated"]


def test_corroborate_vessels_and_ships_are_one_count() -> None:
    text_a = "Pirates still hold about a dozen ships and nearly 300 crewmen for ransom."
    text_b = "They still hold at least 14 foreign vessels and more than 300 crew members to ransom."
    facts = _two(
        text_a, [("about a dozen", 12, "ships", None, "~"), ("nearly 300", 300, "crewmen", None, "~")],
        text_b, [("at least 14", 14, "foreign vessels", None, ">"), ("more than 300", 300, "crew members", None, ">")],
    )  # fmt: skip
    assert {f.counts: f.status for f in facts} == {"ships": "conflicting", "crewmen": "corroborated"}


def test_corroborate_a_statement_keeps_its_subject() -> None:
    text_a = "Jared Allen, then with Kansas City, was suspended for the first four games of the season."
    facts = _two(text_a, [("four", 4, "games", None, "=")], "Nothing else was said.", [])
    assert [f.statement for f in facts] == [
        "Jared Allen, then with Kansas City, was suspended for the first four games of the season"
    ]
    text_b = (
        "A former lineman in Walpole, Mass., has been released on bail after charges he raped a 15-year-old."
    )
    facts = _two(text_b, [("15-year-old", 15, "age of girl", "years", "=")], "Nothing else was said.", [])
    assert facts[0].statement.startswith("A former lineman in Walpole, Mass., has been released")


def test_corroborate_two_heights_of_a_man_may_be_two_men() -> None:
    text_a = "Witnesses described a 6-foot man running from the bank toward a car."
    text_b = "Police are looking for a 5-foot man seen near the bank on Monday."
    facts = _two(text_a, [("6-foot", 6, "man", "foot", "=")], text_b, [("5-foot", 5, "man", "foot", "=")])
    assert "conflicting" not in {f.status for f in facts}
