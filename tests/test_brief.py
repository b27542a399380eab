"""The cited brief: shape of the JSON, citation numbers shared by every format, escaping of untrusted text."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re

import pytest

from storydesk.brief import Brief, brief_to_dict, build_brief, render_brief
from storydesk.corroborate import corroborate
from storydesk.models import (
    Article,
    Bound,
    Explanation,
    Extraction,
    Quantity,
    Quote,
    ResolvedEntity,
    Story,
)

RIA = (
    "Tajik President Emomali Rahmon ordered Defense Minister Sherali Mirzo to mobilize 20,000 reserve "
    "servicemen to strengthen the border, RIA Novosti reported on Monday.\n\n"
    "A security source told RIA Novosti that the Taliban control more than 70% of the line of the state "
    "border.\n\n“The head of state ordered to mobilize 20,000 servicemen during a meeting,” the interlocutor "
    "said."
)
REUTERS = (
    "Tajikistan President Emomali Rahmon has mobilized 20,000 military reservists to help bolster the border "
    "with Afghanistan, Reuters reported on Monday.\n\n"
    "This comes as more than 1,000 members of the Afghan security force members have fled to the country.\n\n"
    "The Taliban have taken over six districts in Badakhshan, which led to 1,037 Afghan service members "
    "moving across the border, its border guard service told Reuters."
)
BIO = "Tina Shields is the Media Relations Officer of The Monthly News."
EVIL = "<script>alert('x')</script> | **bold** [link](javascript:alert(1))"


def _qty(text: str, phrase: str, value: float, counts: str, bound: Bound = "=", unit: str | None = None,
         occurrence: int = 0) -> Quantity:  # fmt: skip
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(phrase, start + 1)
    return Quantity(phrase, value, bound, unit, counts, start, start + len(phrase))


def _quote(text: str, content: str, speaker: str, direct: bool = True) -> Quote:
    cs, ss = text.index(content), text.index(speaker)
    return Quote(speaker, ss, ss + len(speaker), "said", None, None, content, cs, cs + len(content), direct)


def _inputs(
    title: str = "Tajikistan mobilizes 20,000 reservists", reuters_text: str = REUTERS, url: str | None = None
) -> tuple[Story, list[Article], dict[str, Extraction], dict[str, str | None], tuple[ResolvedEntity, ...]]:
    ria = Article(
        id="ria", text=RIA, raw_text=RIA, title="Rahmon orders mobilization", outlet="Monitoring Desk",
        published=dt.date(2021, 7, 5), dateline="Dushanbe", author="Lydia Isamova",
    )  # fmt: skip
    reuters = Article(
        id="reu", text=reuters_text, raw_text=reuters_text + "\n\n" + BIO, title=title, outlet="The Hill",
        published=dt.date(2021, 7, 6), source_url="https://thehill.com/policy/561594", url=url, bio=BIO,
    )  # fmt: skip
    extractions = {
        "ria": Extraction(
            "ria",
            quantities=(
                _qty(RIA, "20,000", 20000, "reserve servicemen"),
                _qty(RIA, "more than 70%", 70, "the line of the state border", ">", "%"),
                _qty(RIA, "20,000", 20000, "servicemen", occurrence=1),
            ),
            quotes=(
                _quote(
                    RIA,
                    "The head of state ordered to mobilize 20,000 servicemen during a meeting",
                    "the interlocutor",
                ),
            ),
        ),
        "reu": Extraction(
            "reu",
            quantities=(
                _qty(reuters_text, "20,000", 20000, "military reservists"),
                _qty(
                    reuters_text, "more than 1,000", 1000, "members of the Afghan security force members", ">"
                ),
                _qty(reuters_text, "six", 6, "districts"),
                _qty(reuters_text, "1,037", 1037, "Afghan service members"),
            ),
        ),
    }
    entities = (
        ResolvedEntity("Emomali Rahmon", "PERSON", ("Rahmon",), ("President",), ("ria", "reu"), 3),
        ResolvedEntity("Sherali Mirzo", "PERSON", (), ("Defense Minister",), ("ria",), 1),
        ResolvedEntity("Badakhshan", "PLACE", (), (), ("reu",), 1),
        ResolvedEntity("Tajikistan", "PLACE", ("Tajik",), (), ("ria", "reu"), 2),
        ResolvedEntity("Taliban", "ORG", (), (), ("ria", "reu"), 2),
    )
    story = Story(
        "story-1", title, ("ria", "reu"), dt.date(2021, 7, 5), dt.date(2021, 7, 6), ("RIA Novosti", "Reuters")
    )
    return story, [ria, reuters], extractions, {"ria": "RIA Novosti", "reu": "Reuters"}, entities


def _brief(**kwargs: str | None) -> Brief:
    story, articles, extractions, origins, entities = _inputs(**kwargs)  # type: ignore[arg-type]
    facts = corroborate(articles, extractions, origins)
    why = {"reu": Explanation(similarity=0.71, shared_entities=("Rahmon",), score=0.8)}
    return build_brief(story, articles, extractions, facts, entities, origins, why)


@pytest.fixture(scope="module")
def brief() -> Brief:
    return _brief()


def test_brief_json_has_the_stable_keys(brief: Brief, article_json_keys: frozenset[str]) -> None:
    data = json.loads(render_brief(brief, "json"))
    assert data == brief_to_dict(brief)
    top = set(
        [
            "id",
            "headline",
            "first_published",
            "last_published",
            "origins",
            "article_count",
            "articles",
            "facts",
        ]
    )
    top |= {"people", "organisations", "places", "quotes", "why"}
    assert top <= data.keys()
    assert all(article_json_keys <= a.keys() for a in data["articles"])
    fact_keys = {
        "statement",
        "value",
        "bound",
        "counts",
        "status",
        "origins",
        "citations",
        "note",
        "variants",
    }
    assert data["facts"] and all(fact_keys <= f.keys() for f in data["facts"])
    assert all(
        {"article", "start", "end", "number"} <= c.keys() for f in data["facts"] for c in f["citations"]
    )
    for group in ("people", "organisations", "places"):
        assert data[group] and all({"name", "variants", "roles", "articles"} <= e.keys() for e in data[group])
    assert data["quotes"] and all(
        {"speaker", "content", "article", "direct"} <= q.keys() for q in data["quotes"]
    )
    assert (data["first_published"], data["last_published"]) == ("2021-07-05", "2021-07-06")
    assert data["origins"] == ["RIA Novosti", "Reuters"] and data["article_count"] == 2
    assert data["why"]["reu"]["similarity"] == pytest.approx(0.71)


def test_brief_json_facts_on_seed_like_input(brief: Brief) -> None:
    facts = {f["value"]: f for f in brief_to_dict(brief)["facts"]}
    assert isinstance(facts[20000]["value"], int)  # 20000, not 20000.0
    assert (facts[20000]["status"], facts[20000]["origins"]) == ("corroborated", ["RIA Novosti", "Reuters"])
    assert (facts[70]["status"], facts[70]["bound"]) == ("single-source", ">")
    assert facts[1037]["note"] == "1,037 is compatible with more than 1,000"
    people = {p["name"]: p for p in brief_to_dict(brief)["people"]}
    assert people["Sherali Mirzo"]["roles"] == ["Defense Minister"]


def test_brief_citations_point_at_the_cited_sentences(brief: Brief) -> None:
    data = brief_to_dict(brief)
    texts = {a["id"]: a["text"] for a in data["articles"]}
    numbers = [c["number"] for c in data["citations"]]
    assert numbers == list(range(1, len(numbers) + 1))
    by_number = {c["number"]: c for c in data["citations"]}
    for fact in data["facts"]:
        for c in fact["citations"]:
            assert by_number[c["number"]]["article"] == c["article"]
            assert (by_number[c["number"]]["start"], by_number[c["number"]]["end"]) == (c["start"], c["end"])
            assert (
                " ".join(texts[c["article"]][c["start"] : c["end"]].split()) == by_number[c["number"]]["text"]
            )
    for q in data["quotes"]:
        cited = by_number[q["citation"]]
        assert cited["article"] == q["article"] and q["content"] in cited["text"]


def test_brief_numbering_is_the_same_in_every_format(brief: Brief) -> None:
    text, md, html = (render_brief(brief, f) for f in ("text", "md", "html"))
    data = brief_to_dict(brief)
    assert len(data["facts"]) >= 4
    for fact in data["facts"]:
        refs = "".join(f"[{c['number']}]" for c in fact["citations"])
        row = next(line for line in md.splitlines() if line.startswith("|") and fact["statement"] in line)
        assert row.rstrip().endswith(f"| {refs} |")
        assert f"{fact['statement']}. {refs}" in text
        html_refs = "".join(
            f'<sup><a href="#cite-{c["number"]}">[{c["number"]}]</a></sup>' for c in fact["citations"]
        )
        assert html_refs in html
    for cite in data["citations"]:
        n, sentence = cite["number"], cite["text"]
        assert f"[{n}] The Hill: {sentence}" in text or f"[{n}] Monitoring Desk: {sentence}" in text
        assert re.search(rf'id="cite-{n}" value="{n}">[^<]*?: ', html)
        assert f"- [{n}] " in md


def test_brief_every_fact_sentence_carries_a_citation(brief: Brief) -> None:
    """Fact rows, notes, quotes and per-source additions all end with a [n] reference."""
    md = render_brief(brief, "md")
    section = ""
    for line in md.splitlines():
        if line.startswith("## "):
            section = line
        elif section in {"## Facts", "## Quotes", "## What each source adds"} and line.lstrip().startswith(
            ("| 1", "| 2", "| 3", "| 4", "- Fact", "- **", "  - ")
        ):
            if line.endswith(":") or line.endswith("nothing the other sources lack."):
                continue
            assert re.search(r"\[\d+\]( \|)?$", line.rstrip()), line


def test_brief_source_additions_are_single_source_facts(brief: Brief) -> None:
    adds = {a.source: a for a in brief.additions}
    assert set(adds) == {"RIA Novosti", "Reuters"}
    assert [bf.fact.value for bf in adds["RIA Novosti"].facts] == [70]
    assert sorted(bf.fact.value or 0 for bf in adds["Reuters"].facts) == [6, 1037]
    assert all(bf.fact.status == "single-source" for a in brief.additions for bf in a.facts)


def test_brief_shows_roles_and_places(brief: Brief) -> None:
    for fmt in ("text", "md", "html"):
        out = render_brief(brief, fmt)
        assert "Defense Minister Sherali Mirzo" in out
        assert "President Emomali Rahmon" in out
        assert "Badakhshan" in out and "2021-07-05" in out and "https://thehill.com/policy/561594" in out


def test_brief_never_shows_the_removed_bio(brief: Brief) -> None:
    for fmt in ("text", "md", "html"):
        assert "Tina Shields" not in render_brief(brief, fmt)
    data = brief_to_dict(brief)
    for article in data["articles"]:
        article.pop("raw_text")  # the raw text keeps everything, by design (issue 2)
    assert "Tina Shields" not in json.dumps(data)


def _evil_brief() -> Brief:
    text = REUTERS + f"\n\n“{EVIL} we will win,” the official said."
    story, articles, extractions, origins, entities = _inputs(
        title=EVIL, reuters_text=text, url="javascript:alert(1)"
    )
    content = f"{EVIL} we will win"
    extractions["reu"] = dataclasses.replace(
        extractions["reu"], quotes=(_quote(text, content, "the official"),)
    )
    facts = corroborate(articles, extractions, origins)
    return build_brief(story, articles, extractions, facts, entities, origins)


def test_brief_html_escapes_untrusted_text() -> None:
    html = render_brief(_evil_brief(), "html")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript' not in html
    assert html.count("<script") == 0


def test_brief_markdown_is_not_broken_by_untrusted_text() -> None:
    brief = _evil_brief()
    md = render_brief(brief, "md")
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert not re.search(r"(?<!\\)\]\(javascript", md)  # the link syntax is escaped, so no link is made
    assert md.splitlines()[0].startswith("# ") and "\\*\\*bold\\*\\*" in md.splitlines()[0]
    # every table row still has exactly the header's number of unescaped cell separators
    rows = [line for line in md.splitlines() if line.startswith("|")]
    assert len(rows) == 2 + len(brief.facts)
    assert {len(re.findall(r"(?<!\\)\|", row)) for row in rows} == {7}
    quote_line = next(line for line in md.splitlines() if "we will win" in line)
    assert quote_line.startswith("- **the official**") and "\\|" in quote_line


def test_brief_text_strips_terminal_control_characters() -> None:
    brief = _brief(title="Headline \x1b[31mred\x1b[0m\x07 done")
    out = render_brief(brief, "text")
    assert "\x1b" not in out and "\x07" not in out
    assert out.splitlines()[0] == "Headline [31mred [0m done"


def test_brief_unknown_format_is_refused(brief: Brief) -> None:
    with pytest.raises(ValueError, match="format"):
        render_brief(brief, "pdf")  # type: ignore[arg-type]


def test_brief_of_a_story_without_facts_or_extractions() -> None:
    article = Article(id="x", text="Nothing to report.", raw_text="Nothing to report.")
    brief = build_brief(Story("s", "Quiet day", ("x",)), [article], {}, (), (), {"x": None})
    data = brief_to_dict(brief)
    assert data["facts"] == [] and data["first_published"] is None and "why" not in data
    assert data["articles"][0]["wire_origin"] is None and data["origins"] == []
    for fmt in ("text", "md", "html"):
        assert "No facts were found." in render_brief(brief, fmt)
