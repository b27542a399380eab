"""Tests for per-article extraction: entities, quantities, dates, quotes, and story-level resolution."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storydesk.config import ExtractSettings, ModelSettings
from storydesk.extract import Extractor, extraction_to_dict, resolve_entities
from storydesk.models import Extraction

PUBLISHED = dt.date(2021, 7, 5)  # a Monday


@pytest.fixture(scope="session")
def extractor() -> Extractor:
    return Extractor(ExtractSettings(), ModelSettings())


def _seed_texts(seeds_dir: Path) -> tuple[str, str]:
    """The seed bodies as the cleaner leaves them: no header line, no Source/bio tail."""
    raw0 = (seeds_dir / "000_311413250b0dada4.txt").read_text(encoding="utf-8")
    raw3 = (seeds_dir / "003_0687530dd2455272.txt").read_text(encoding="utf-8")
    return raw0.split("Lydia Isamova.", 1)[1].strip(), raw3.split("\nSource:", 1)[0].strip()


@pytest.fixture(scope="session")
def seeds(extractor: Extractor, seeds_dir: Path) -> dict[str, tuple[str, Extraction]]:
    text0, text3 = _seed_texts(seeds_dir)
    ex0 = extractor.extract(text0, article_id="ria", published=PUBLISHED, dateline="DUSHANBE")
    ex3 = extractor.extract(text3, article_id="reuters")
    return {"ria": (text0, ex0), "reuters": (text3, ex3)}


def _check_offsets(text: str, ex: Extraction) -> None:
    for e in ex.entities:
        if (e.start, e.end) != (0, 0):  # (0, 0) marks a dateline place that is not in the text
            assert text[e.start : e.end] == e.text
    for q in ex.quantities:
        assert 0 <= q.start < q.end <= len(text) and text[q.start : q.end] == q.text
        assert q.sentence_start <= q.start and q.end <= q.sentence_end
    for d in ex.dates:
        assert 0 <= d.start < d.end <= len(text) and text[d.start : d.end] == d.text
    for quote in ex.quotes:
        assert 0 <= quote.content_start < quote.content_end <= len(text)
        assert text[quote.content_start : quote.content_end] == quote.content
        if quote.speaker is not None:
            assert text[quote.speaker_start : quote.speaker_end] == quote.speaker
        if quote.cue is not None:
            assert text[quote.cue_start : quote.cue_end] == quote.cue
    for s, e in ex.sentences:
        assert 0 <= s <= e <= len(text)


def test_extract_seed_offsets_index_the_text(seeds: dict[str, tuple[str, Extraction]]) -> None:
    for text, ex in seeds.values():
        _check_offsets(text, ex)


@pytest.mark.parametrize(
    ("article", "value", "bound", "unit", "counts_word"),
    [
        ("ria", 20000, "=", None, "servicemen"),
        ("ria", 70, ">", "%", "border"),
        ("reuters", 20000, "=", None, "reservists"),
        ("reuters", 1037, "=", None, "service members"),
        ("reuters", 1000, ">", None, "security force"),
        ("reuters", 6, "=", None, "districts"),
    ],
)
def test_extract_seed_quantities(
    seeds: dict[str, tuple[str, Extraction]],
    article: str,
    value: float,
    bound: str,
    unit: str | None,
    counts_word: str,
) -> None:
    _, ex = seeds[article]
    hits = [q for q in ex.quantities if q.value == value and q.bound == bound and q.unit == unit]
    assert any(q.counts and counts_word in q.counts for q in hits), ex.quantities


@pytest.mark.parametrize("article", ["ria", "reuters"])
def test_extract_years_and_dates_are_not_quantities(
    seeds: dict[str, tuple[str, Extraction]], article: str
) -> None:
    _, ex = seeds[article]
    assert not any(q.value in (2020, 2021, 12) for q in ex.quantities)


@pytest.mark.parametrize(
    "name",
    ["Emomali Rahmon", "Sherali Mirzo", "Hamdullah Mohib", "Vladimir Putin", "Ashraf Ghani", "Shavkat Mirziyoyev",
     "Kassym-Jomart Tokayev"],
)  # fmt: skip
def test_extract_seed_people_resolved(seeds: dict[str, tuple[str, Extraction]], name: str) -> None:
    people = {r.name: r for r in resolve_entities([ex for _, ex in seeds.values()]) if r.label == "PERSON"}
    assert name in people, sorted(people)


@pytest.mark.parametrize("name", ["Tajikistan", "Afghanistan", "Badakhshan", "Dushanbe", "Qatar", "Bagram"])
def test_extract_seed_places(seeds: dict[str, tuple[str, Extraction]], name: str) -> None:
    places = {r.name for r in resolve_entities([ex for _, ex in seeds.values()]) if r.label == "PLACE"}
    assert name in places, sorted(places)


def test_extract_resolution_merges_names_and_keeps_roles(seeds: dict[str, tuple[str, Extraction]]) -> None:
    resolved = {r.name: r for r in resolve_entities([ex for _, ex in seeds.values()])}
    assert "Vladamir Putin" in resolved["Vladimir Putin"].variants
    assert "Putin" in resolved["Vladimir Putin"].variants
    assert "Rahmon" in resolved["Emomali Rahmon"].variants
    assert set(resolved["Emomali Rahmon"].article_ids) == {"ria", "reuters"}
    assert "Defense Minister" in resolved["Sherali Mirzo"].roles
    assert "President" in resolved["Emomali Rahmon"].roles
    names = {r.name for r in resolved.values()}
    assert not {"Rahmon", "Putin", "Tajik", "Afghan", "Defense"} & names


def test_extract_nationality_adjectives_are_not_places(seeds: dict[str, tuple[str, Extraction]]) -> None:
    for _, ex in seeds.values():
        assert not any(e.text in ("Tajik", "Afghan", "Russian") for e in ex.entities)


def test_extract_header_desk_is_not_a_person_and_dateline_is_a_place(
    extractor: Extractor, seeds_dir: Path
) -> None:
    raw = (seeds_dir / "000_311413250b0dada4.txt").read_text(encoding="utf-8")
    ex = extractor.extract(raw.split("\n", 1)[0])
    assert not any(e.label == "PERSON" and "Desk" in e.text for e in ex.entities)
    assert any(e.label == "PLACE" and e.canonical == "Dushanbe" and e.text == "DUSHANBE" for e in ex.entities)


def test_extract_seed_direct_quote_with_description_speaker(seeds: dict[str, tuple[str, Extraction]]) -> None:
    _, ex = seeds["ria"]
    quote = next(q for q in ex.quotes if q.content.startswith("The head of state gave this instruction"))
    assert quote.direct and quote.cue == "said"
    assert quote.speaker is not None and quote.speaker.startswith("the agency")
    assert quote.speaker_canonical is None
    odd = [q for q in ex.quotes if q.content.startswith("Taking into account")]  # closed by `“ - said`
    assert odd and odd[0].direct and odd[0].cue == "said"


@pytest.mark.parametrize(
    ("text", "speaker", "cue", "content_start"),
    [
        (
            "Rahmon's office told Reuters that the border was closed on Sunday.",
            "Rahmon's office",
            "told",
            "that the",
        ),
        (
            "According to Reuters, the border guards fled across the river.",
            "Reuters",
            "According to",
            "the border",
        ),
        (
            "The border guards fled across the river, according to the ministry.",
            "the ministry",
            "according to",
            "The",
        ),
        ("John Smith said the talks would resume next month in Doha.", "John Smith", "said", "the talks"),
        (
            "“We will defend the border at any cost,” Defense Minister Sherali Mirzo said.",
            "Sherali Mirzo",
            "said",
            "We",
        ),
    ],
)
def test_extract_quote_patterns(
    extractor: Extractor, text: str, speaker: str, cue: str, content_start: str
) -> None:
    ex = extractor.extract(text)
    assert ex.quotes, text
    quote = ex.quotes[0]
    assert quote.speaker is not None and speaker in quote.speaker
    assert quote.cue == cue and quote.content.startswith(content_start)
    _check_offsets(text, ex)


def test_extract_quote_speaker_resolves_to_entity(extractor: Extractor) -> None:
    text = "Emomali Rahmon met the council. “The border is safe and will stay so,” Rahmon said."
    quote = extractor.extract(text).quotes[0]
    assert quote.speaker == "Rahmon" and quote.speaker_canonical == "Emomali Rahmon"


@pytest.mark.parametrize(
    ("text", "published", "value", "relative"),
    [
        ("Talks began on September 12, 2020 in Doha.", None, "2020-09-12", False),
        ("Talks began on 12 September 2020 in Doha.", None, "2020-09-12", False),
        ("Reuters reported on Monday that troops moved.", PUBLISHED, "2021-07-05", True),
        ("The council met on Friday to discuss it.", PUBLISHED, "2021-07-02", True),
        ("Troops vacated the airfield last week.", PUBLISHED, "2021-06-28", True),
        ("The minister spoke yesterday in Dushanbe.", PUBLISHED, "2021-07-04", True),
        ("Reuters reported on Monday that troops moved.", None, None, True),
    ],
)
def test_extract_dates(
    extractor: Extractor, text: str, published: dt.date | None, value: str | None, relative: bool
) -> None:
    dates = extractor.extract(text, published=published).dates
    assert [(d.value, d.relative) for d in dates] == [(value, relative)]


def test_extract_percentage_is_never_a_date(extractor: Extractor) -> None:
    ex = extractor.extract(
        "The Taliban control 70% of the border and 15 % of the roads.", published=PUBLISHED
    )
    assert ex.dates == ()
    assert {q.value for q in ex.quantities} == {70, 15} and all(q.unit == "%" for q in ex.quantities)


@pytest.mark.parametrize(
    ("text", "value", "bound"),
    [
        ("About 300 soldiers crossed the river.", 300, "~"),
        ("Fewer than 50 families returned home.", 50, "<"),
        ("Up to 5 million people were displaced.", 5_000_000, "<"),
        ("Nearly 12 villages were evacuated.", 12, "~"),
        ("The army has taken over six districts.", 6, "="),
    ],
)
def test_extract_quantity_bounds(extractor: Extractor, text: str, value: float, bound: str) -> None:
    quantities = extractor.extract(text).quantities
    assert [(q.value, q.bound) for q in quantities] == [(value, bound)]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\n  ",
        "1 2 3 4 5 6 7 8 9 10 11 12 2020 2021 3.5 1,000,000 70%",
        "word " * 20_000,  # a 100k-character paragraph
        "Москва and Dushanbe, 東京 and كابل: “unbalanced quote, said nobody. \" ' « » „",
        "“" * 500 + "”" * 3 + '"' * 200,
        "$$$ %%% ,,, ... :::",
    ],
)
def test_extract_bad_input_never_raises(extractor: Extractor, text: str) -> None:
    started = time.perf_counter()
    ex = extractor.extract(text, published=PUBLISHED)
    assert time.perf_counter() - started < 60
    _check_offsets(text, ex)


@pytest.mark.models
def test_extract_respects_max_chars(extractor: Extractor) -> None:
    short = Extractor(ExtractSettings(max_chars=40), ModelSettings())
    text = "Emomali Rahmon visited Dushanbe. " * 10
    ex = short.extract(text)
    assert ex.entities and all(e.end <= 40 for e in ex.entities)


_PIECES = [
    *"ab Aé1,.%$“”\"'\n-:",
    "Москва",
    "said",
    " Monday",
    "more than ",
    "20,000",
    "Rahmon",
    "told ",
    "\u00a0",
]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.text(max_size=150), st.lists(st.sampled_from(_PIECES), max_size=40).map("".join)))
def test_extract_property_offsets_within_bounds(extractor: Extractor, text: str) -> None:
    _check_offsets(text, extractor.extract(text, published=PUBLISHED))


def test_extract_many_matches_extract(extractor: Extractor, seeds_dir: Path) -> None:
    text0, text3 = _seed_texts(seeds_dir)
    batch = extractor.extract_many([("a", text0, PUBLISHED), ("b", text3, None)])
    assert batch[0] == extractor.extract(text0, article_id="a", published=PUBLISHED)
    assert batch[1] == extractor.extract(text3, article_id="b")


def test_extract_dict_shape(seeds: dict[str, tuple[str, Extraction]]) -> None:
    _, ex = seeds["reuters"]
    row = extraction_to_dict(ex)
    assert set(row) == {"id", "entities", "quantities", "dates", "quotes", "wire_origin"}
    assert set(row["entities"][0]) == {"text", "label", "start", "end", "canonical"}
    assert set(row["quantities"][0]) == {"text", "value", "bound", "unit", "counts", "start", "end"}
    assert set(row["quotes"][0]) == {
        "speaker", "speaker_start", "speaker_end", "cue", "cue_start", "cue_end", "content", "content_start",
        "content_end", "direct",
    }  # fmt: skip
    assert row["id"] == "reuters" and len(row["quotes"]) == len(ex.quotes)


# --- numbers read right ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # (value, bound, unit) of every quantity, in order
        (
            "Robert Buckley, 32, fell about 2, 000 feet while climbing.",
            [(32, "=", "years"), (2000, "~", "feet")],
        ),
        ("He had a blood alcohol content of. 09 percent, police said.", [(0.09, "=", "%")]),
        ("Subryan was ordered held on $200, 000 bail.", [(200000, "=", "USD")]),
        ("He counted seventy - three people at the scene.", [(73, "=", None)]),
        ("The Taliban control about two thirds of the border.", [(2 / 3, "~", "fraction")]),
        ("NBC lost an estimated $ 10 million to $ 15 million in revenue.", [(12_500_000, "~", "USD")]),
        ("The 40-year-old actor plays a cattle driver.", [(40, "=", "years")]),
        ("A 30 - mile pursuit followed the shooting.", [(30, "=", "mile")]),
        ("India will invest a hundred billion dollars in the plan.", [(1e11, "=", "USD")]),
        (
            "Police described a 5 foot, 8 inch male weighing 180 pounds.",
            [(68, "=", "inches"), (180, "=", "pound-mass")],
        ),
        ("The player is 6 feet 2 inches tall.", [(74, "=", "inches")]),
        ("The deal is worth 12 to 13 billion dollars.", [(12.5e9, "~", "USD")]),
        ("The fund raised $5M, and they paid £2bn for it.", [(5e6, "=", "USD"), (2e9, "=", "GBP")]),
        ("He ran a 5k race before a 5 m dive.", [(5, "=", "metre")]),
        ("Police searched within 20 miles of the town.", [(20, "<", "mile")]),
        ("The deal is worth 500 million USD to the company.", [(5e8, "=", "USD")]),
        ("Officials said about a dozen ships were seized.", [(12, "~", None)]),
        ("The tanker was hit twice by missiles.", [(2, "=", None)]),
        ("The larger was a 24- to 30-foot dhow.", [(27, "~", "foot")]),
        ("Chohan lived half a mile away from the store.", [(0.5, "=", "mile")]),
        ("She had moved about a mile and a half away.", [(1.5, "~", "mile")]),
        ("Obama met with the host for 2 1/2 hours on Nov. 25.", [(2.5, "=", None)]),
        ("The talks lasted two and a half hours.", [(2.5, "=", None)]),
    ],
)
def test_extract_quantities_read_numbers_as_written(
    extractor: Extractor, text: str, expected: list[tuple[float, str, str | None]]
) -> None:
    got = [(q.value, q.bound, q.unit) for q in extractor.extract(text).quantities]
    assert [(pytest.approx(v), b, u) for v, b, u in expected] == got


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # (value, bound, unit, counts) of every quantity, in order
        (  # a comparison leaves the counted noun out; "a decade" is no unit
            "The country has 32 million people, compared with 55.3 million a decade ago.",
            [(32e6, "=", None, "people"), (55.3e6, "=", None, "people")],
        ),
        (
            "The town had 2,500 residents, up from 1,800 in 1990.",
            [(2500, "=", None, "residents"), (1800, "=", None, "residents")],
        ),
        ("Cheeks spent three - plus seasons as coach of the team.", [(3, ">", None, "seasons")]),
        ("Iverson is a four - time All-Star.", [(4, "=", None, "times")]),
        (  # a parser hangs "seven" on the model name: still seven rifles
            "Commandos seized seven AK-47 assault rifles and a launcher.",
            [(7, "=", None, "AK-47 assault rifles")],
        ),
        (  # a record, though "losses" follows later in the sentence
            "The 76ers have opened 9-14 with eight losses in their last 10 games.",
            [
                (9, "=", None, "wins"),
                (14, "=", None, "losses"),
                (8, "=", None, "losses"),
                (10, "=", None, "games"),
            ],
        ),
        (
            "They won a 109-100 overtime victory.",
            [(109, "=", None, "points of the winner"), (100, "=", None, "points of the loser")],
        ),
        ("The death toll from the quake rose to 24 on Tuesday.", [(24, "=", None, "death toll")]),
        ("The number of dead has risen to 30, officials said.", [(30, "=", None, "number of dead")]),
        # durations are quantities, though a tagger calls them TIME
        ("Police began two hours of negotiations with a suspect.", [(2, "=", None, "hours of negotiations")]),
        ("Police locked down the street for almost three hours.", [(3, "~", None, "hours")]),
        ("She died an hour later at the medical center.", [(1, "=", None, "hour")]),
        ("The Sixers fired Cheeks on Saturday, one day after the loss.", [(1, "=", None, "day")]),
        ("He hunkered down inside the office for a couple of hours.", [(2, "=", None, "hours")]),
        # a measure names what it measures: the dhow is ten metres long
        ("The larger boat, a 10-metre dhow, is named the Salahaddin.", [(10, "=", "metre", "dhow")]),
        (
            "All 23 pirates boarded the 10-metre-long dhow.",
            [(23, "=", None, "pirates"), (10, "=", "metre", "dhow")],
        ),
        (
            "He averaged 11.1 points in 1, 101 career games.",
            [(11.1, "=", None, "points"), (1101, "=", None, "career games")],
        ),
        (  # two numbers in one list: the second is not what the first counts
            "Commandos nabbed 12 Somali and 11 Yemeni pirates on the dhow.",
            [(12, "=", None, "Somali and 11 Yemeni pirates"), (11, "=", None, "Yemeni pirates")],
        ),
    ],
)
def test_extract_quantities_say_what_they_count(
    extractor: Extractor, text: str, expected: list[tuple[float, str, str | None, str | None]]
) -> None:
    got = [(q.value, q.bound, q.unit, q.counts) for q in extractor.extract(text).quantities]
    assert [(pytest.approx(v), b, u, c) for v, b, u, c in expected] == got


@pytest.mark.parametrize(
    "text",
    [
        "It happened at about 7 p. m. on Friday near the store.",
        "At 9 : 25 in the morning the boats were spotted.",
        "She was struck at 200 W. American Blvd. while walking.",
        "Jackson failed sobriety tests on State Route 52 in San Diego.",
        "Thirty years ago I was in Sydney watching the show.",
        "His 2002 - 03 squad tied for second in the division.",
        "She was bad, one man told the reporter.",
        "Marine commandos boarded the dhow at 1230 hours and arrested them.",
        "A couple of us tried to leave the party early.",
        "He had only one thing to say about the crash he saw.",
        "The laptop uses a GT 650M chip with 3G support.",
    ],
)
def test_extract_quantities_skip_times_addresses_names_and_idioms(extractor: Extractor, text: str) -> None:
    assert extractor.extract(text).quantities == ()


def test_extract_quantities_age_names_whose_age(extractor: Extractor) -> None:
    text = "Jackman sings ballads at home, makes pancakes for son Oscar, 8, daughter Ava, 3."
    got = [(q.value, q.counts) for q in extractor.extract(text).quantities]
    assert got == [(8, "age of Oscar"), (3, "age of Ava")]


def test_resolve_entities_skips_names_of_only_spaces() -> None:
    from storydesk.models import Entity

    ex = Extraction(
        "a",
        entities=(
            Entity("  ", "PERSON", 0, 2, "  "),
            Entity("Emomali Rahmon", "PERSON", 3, 17, "Emomali Rahmon"),
            Entity("Rahmon", "PERSON", 20, 26, "Rahmon"),
        ),
    )
    resolved = resolve_entities([ex])
    assert [(r.name, r.mentions) for r in resolved] == [("Emomali Rahmon", 2)]
