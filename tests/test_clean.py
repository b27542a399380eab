"""Cleaning: the seeds' golden expectations, each rule on its own, and property tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storydesk.clean import article_id, clean, parse_published
from storydesk.config import CleanSettings, IngestSettings
from storydesk.ingest import read_path
from storydesk.models import Article, RawDocument, Rejection, Source

SETTINGS = CleanSettings()
BODY = "The council met on Monday and agreed to raise the budget for schools across the region."


def _clean(text: str, **fields: object) -> Article | Rejection:
    return clean(RawDocument(source=Source("mem"), format="text", text=text, **fields), SETTINGS)  # type: ignore[arg-type]


def _article(text: str, **fields: object) -> Article:
    result = _clean(text, **fields)
    assert isinstance(result, Article), result
    return result


def _seed(seeds_dir: Path, prefix: str) -> Article:
    [path] = sorted(seeds_dir.glob(f"{prefix}_*.txt"))
    [doc] = list(read_path(path, IngestSettings()))
    assert isinstance(doc, RawDocument)
    article = clean(doc, SETTINGS)
    assert isinstance(article, Article)
    return article


def test_clean_seed_000_header_and_dehyphenation(seeds_dir: Path) -> None:
    article = _seed(seeds_dir, "000")
    assert article.published == dt.date(2021, 7, 5)
    assert (article.dateline, article.desk, article.author) == (
        "Dushanbe",
        "Monitoring Desk",
        "Lydia Isamova",
    )
    assert "inte-rlocutor" not in article.text and "agency’s interlocutor said" in article.text
    assert "Tajik-Afghan" in article.text  # a real compound keeps its hyphen
    assert article.text.startswith("Tajik President Emomali Rahmon")
    assert "date 2021" not in article.text and "Lydia Isamova" not in article.text
    assert article.raw_text == (seeds_dir / next(p.name for p in seeds_dir.glob("000_*"))).read_text("utf-8")
    assert {s.kind for s in article.steps} >= {"header", "dehyphenate"}
    assert article.metadata.get("title_derived") is True and article.title and len(article.title) <= 125


def test_clean_seed_003_source_and_bio(seeds_dir: Path) -> None:
    article = _seed(seeds_dir, "003")
    assert article.published is None
    assert (article.source_url or "").startswith("https://thehill.com/policy/")
    assert article.outlet == "thehill.com"
    for gone in ("Source:", "Tina Shields", "Monthly News", "•"):
        assert gone not in article.text
    assert article.bio and "Tina Shields is the Media Relations Officer" in article.bio
    assert article.text.rstrip().endswith("since the U.S. withdrawal.")


def test_clean_seed_ids_are_stable(seeds_dir: Path) -> None:
    assert _seed(seeds_dir, "000").id == _seed(seeds_dir, "000").id
    assert _seed(seeds_dir, "000").id != _seed(seeds_dir, "003").id


def test_clean_steps_point_into_raw_text(seeds_dir: Path) -> None:
    for prefix in ("000", "003"):
        article = _seed(seeds_dir, prefix)
        for step in article.steps:
            if step.raw_start is not None and step.kind != "bio":
                assert article.raw_text[step.raw_start :].startswith(step.removed), step


@pytest.mark.parametrize(
    ("header", "place", "desk", "author"),
    [
        ("date 2020-01-02 NEW YORK (Politics Desk): Jane Doe.", "New York", "Politics Desk", "Jane Doe"),
        ("  date 2020-01-02 RIO DE JANEIRO: John F. Kennedy.", "Rio de Janeiro", None, "John F. Kennedy"),
        ("date 2020-01-02 PARIS (World):", "Paris", "World", None),
    ],
)
def test_clean_header_variants(header: str, place: str, desk: str | None, author: str | None) -> None:
    article = _article(f"{header}\n\n{BODY}")
    assert (article.published, article.dateline, article.desk, article.author) == (
        dt.date(2020, 1, 2),
        place,
        desk,
        author,
    )
    assert article.text == BODY


@pytest.mark.parametrize(
    ("broken", "fixed"),
    [("inte-rlocutor", "interlocutor"), ("informa-tion", "information")],
)
def test_clean_dehyphenate_rejoins_broken_words(broken: str, fixed: str) -> None:
    article = _article(f"The {broken} said the meeting went well and the talks would continue next week.")
    assert fixed in article.text and broken not in article.text


@pytest.mark.parametrize(
    "compound", ["well-known", "Tajik-Afghan", "20-year-old", "south-easterly", "follow-up"]
)
def test_clean_dehyphenate_keeps_compounds(compound: str) -> None:
    article = _article(f"The {compound} man said the meeting went well and the talks would continue.")
    assert compound in article.text


def test_clean_bullets_and_share_lines_dropped() -> None:
    text = (
        f"{BODY}\n\n• First point of the plan is more teachers.\n\nShare this article\n\n"
        "Click here to subscribe\n\n"
        "Sign up for our newsletter today!\n\nFollow us on Twitter\n\nRead more: other stories"
    )
    article = _article(text)
    assert article.text == f"{BODY}\n\nFirst point of the plan is more teachers."
    assert {s.kind for s in article.steps} == {"bullet", "share"}


def test_clean_bio_needs_unrelated_name() -> None:
    related = _article(
        f"Mayor Ann Lee spoke.\n\n{BODY}\n\nAnn Lee is the mayor of the city and a former reporter."
    )
    assert related.bio is None and "Ann Lee is the mayor" in related.text
    unrelated = _article(f"{BODY}\n\nBob Stone is a freelance writer based in Ohio who covers schools.")
    assert unrelated.bio == "Bob Stone is a freelance writer based in Ohio who covers schools."
    assert unrelated.text == BODY


def test_clean_whitespace_and_paragraphs() -> None:
    article = _article(f"  {BODY}  \r\n\r\n\r\n\tSecond   paragraph\u00a0here with words.\n")
    assert article.text == f"{BODY}\n\nSecond paragraph here with words."


def test_clean_title_rules() -> None:
    assert _article(BODY, title="  Given   title ").title == "Given title"
    derived = _article(BODY + " Another sentence follows here.")
    assert derived.title == BODY and derived.metadata["title_derived"] is True
    headline = _article("", title="Headline only")
    assert headline.text == "Headline only" and headline.title == "Headline only"
    short = _clean("Too short.")
    assert isinstance(short, Rejection) and short.stage == "clean"


def test_clean_outlet_falls_back_to_domain() -> None:
    assert _article(BODY, url="https://www.example.com/a").outlet == "example.com"
    assert _article(BODY, url="https://www.example.com/a", outlet="Example").outlet == "Example"


@pytest.mark.parametrize(
    ("value", "day", "has_time"),
    [
        ("2021-07-05", dt.date(2021, 7, 5), False),
        ("2021-07-05T10:00:00Z", dt.date(2021, 7, 5), True),
        ("2021-07-05T23:30:00+02:00", dt.date(2021, 7, 5), True),
        ("Mon, 05 Jul 2021 10:00:00 GMT", dt.date(2021, 7, 5), True),
        ("July 5, 2021", dt.date(2021, 7, 5), True),
        ("yesterday", None, False),
        ("2021-13-45", None, False),
        ("1625479200", dt.date(2021, 7, 5), True),  # Unix seconds (UTC)
        ("1625479200000", dt.date(2021, 7, 5), True),  # Unix milliseconds, as news-aggregator dumps give
        ("2021", None, False),  # a bare year is no publication date
        ("July 2021", None, False),  # nor a month: dateutil would take today's day
        ("5 July 2021", dt.date(2021, 7, 5), True),
        (None, None, False),
    ],
)
def test_clean_parse_published(value: str | None, day: dt.date | None, has_time: bool) -> None:
    got_day, got_time = parse_published(value)
    assert got_day == day
    assert (got_time is not None) == has_time


def test_clean_article_id_is_a_stable_hash() -> None:
    assert article_id("x", None) == article_id("x", None) == article_id("x", "")
    assert article_id("x", "a") != article_id("x", "b") != article_id("y", "b")
    assert len(article_id("x", None)) >= 16 and int(article_id("x", None), 16) >= 0


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400), st.one_of(st.none(), st.text(max_size=40)))
def test_clean_never_raises_and_keeps_raw(text: str, title: str | None) -> None:
    result = _clean(text, title=title)
    assert isinstance(result, Article | Rejection)
    if isinstance(result, Article):
        assert result.raw_text == text
        assert result.id == article_id(text, title)
        assert result.text.strip() == result.text and result.text


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.sampled_from(["alpha", "beta-gamma", "•", "Source:", "  ", "\n", "\n\n", "Share", "x.Y"]),
        max_size=60,
    )
)
def test_clean_fuzz_word_soup(parts: list[str]) -> None:
    text = " ".join(parts)
    result = _clean(text, title="T")
    assert isinstance(result, Article) and result.raw_text == text


@pytest.mark.parametrize(
    ("given", "url", "outlet"),
    [
        ("https://www.thehill.com/x", "https://www.thehill.com/x", "thehill.com"),
        (
            "http : / / www. news.com. au / story - one. html",
            "http://www.news.com.au/story-one.html",
            "news.com.au",
        ),
        ("http : / / / not a host", None, None),
        ("garbage with spaces", None, None),
    ],
)
def test_clean_repairs_tokenised_urls_and_never_makes_an_outlet_of_a_bad_one(
    given: str, url: str | None, outlet: str | None
) -> None:
    doc = RawDocument(Source("f.jsonl", 1), "jsonl", text="Some article text " * 20, url=given)
    article = clean(doc, CleanSettings())
    assert isinstance(article, Article)
    assert (article.url, article.outlet) == (url, outlet)
    if url != given:
        assert any("url" in note for note in article.metadata["notes"])
