"""The analyst's desk in the browser (issue 21): safe by default, paged API, ranked stories, pages."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import interrupt
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from storydesk.api import Desk, StoryFilter, rank_score
from storydesk.brief import safe_url
from storydesk.config import Settings
from storydesk.web import create_app
from storydesk.web import render as web_render

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'
HOSTILE_URLS = [
    "javascript:alert(3)",
    " JaVaScRiPt:alert(4)",
    "\x01javascript:alert(5)",
    "\tjavascript:alert(6)",
    "&#106;avascript:alert(7)",
    "java\nscript:alert(8)",
    "data:text/html,<script>alert(9)</script>",
    'https://ok.example/a"><img src=x onerror=alert(10)>',
]
FIRE = (
    "Firefighters contained a wildfire near Valencia on Friday after it burned 3,000 hectares, "
    "the regional emergency service said. About 500 people were evacuated from two villages."
)
QUAKE = (
    "A magnitude 6.1 earthquake struck off the coast of Hokkaido on Tuesday, the Japan "
    "Meteorological Agency said. No tsunami warning was issued and no damage was reported."
)


def _write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A desk whose every article carries markup and javascript: URLs in title, text, outlet and URL."""
    folder = tmp_path_factory.mktemp("hostile")
    records = []
    for n, url in enumerate(HOSTILE_URLS):
        records.append(
            {
                "id": f"h{n}",
                "title": f"Wildfire {SCRIPT} {IMG} contained near Valencia {n}",
                "text": f"{FIRE} {SCRIPT} {IMG} Read more at {url.strip()} now.\n\nSource: {url.strip()}",
                "outlet": f"Outlet {n} {IMG}",
                "url": url,
                "published": f"2022-08-0{1 + n % 5}",
            }
        )
    db = folder / "desk.db"
    with Desk.open(db) as desk:
        desk.ingest([_write(folder / "in.jsonl", records)])
        # Cleaning drops most of these URLs; the pages must not rely on it (a desk written by another
        # version, a feed's link, a page's canonical URL): put them back as stored values.
        with desk.store.transaction():
            for n, url in enumerate(HOSTILE_URLS):
                desk.store.conn.execute(
                    "UPDATE articles SET url = ?, source_url = ? WHERE external_id = ?", (url, url, f"h{n}")
                )
    return db


class _Tags(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def _assert_inert(html: str, where: str) -> None:
    """No script, no event handler, no link or source that is not a local path or http(s)."""
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag not in {"script", "img", "iframe", "object", "embed"}, (where, tag, attrs)
        for name, value in attrs.items():
            assert not name.startswith("on"), (where, tag, name, value)
            if name in {"href", "src", "action", "formaction", "xlink:href"} and value is not None:
                assert value.startswith(("/", "#", "?", "https://", "http://")), (where, tag, name, value)
                assert "javascript:" not in value.lower(), (where, tag, value)


def test_web_safe_url_only_passes_http_links() -> None:
    for url in HOSTILE_URLS:
        assert safe_url(url) is None, url
    assert safe_url(" https://example.org/a?b=1 ") == "https://example.org/a?b=1"
    assert safe_url("HTTP://example.org/") == "HTTP://example.org/"


def test_web_every_page_and_brief_is_inert_with_hostile_articles(hostile_db: Path) -> None:
    client = TestClient(create_app(hostile_db))
    stories = client.get("/api/stories").json()["items"]
    articles = client.get("/api/articles", params={"limit": 500}).json()["items"]
    assert len(articles) == len(HOSTILE_URLS)
    pages = ["/", "/?sort=articles", "/search?q=wildfire", "/docs", "/entities/Valencia", "/nope<script>"]
    pages += [f"/stories/{s['id']}" for s in stories]
    pages += [f"/articles/{a['id']}" for a in articles] + [f"/articles/{a['id']}/why" for a in articles]
    pages += [f"/articles/{articles[0]['id']}?cite=0-40"]
    for page in pages:
        response = client.get(page, headers={"accept": "text/html"})
        assert response.status_code in (200, 404), page
        _assert_inert(response.text, page)
        assert "<script>alert" not in response.text and "<img src=x" not in response.text, page
    # The hostile text is shown, escaped, not dropped; a javascript: URL is text, not a link.
    assert {a["url"] for a in articles} == set(HOSTILE_URLS)
    first = next(a for a in articles if a["url"] == "javascript:alert(3)")
    article_page = client.get(f"/articles/{first['id']}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in article_page
    assert (
        '<span class="unsafe">javascript:alert(3)</span> <span class="muted">(not a web link)</span>'
        in article_page
    )
    for s in stories:  # an Atom reader follows entry links too
        feed = client.get(f"/feeds/story/{s['id']}.atom").text
        hrefs = re.findall(r'href="([^"]*)"', feed)
        assert hrefs and all(h.startswith(("http://", "https://")) for h in hrefs), hrefs
    with Desk.open(hostile_db) as desk:
        for story in desk.stories():
            html = desk.render(story.id, "html")
            _assert_inert(html, f"brief {story.id}")
            md = desk.render(story.id, "md")
            assert "<script" not in md and "<img" not in md
            assert not re.search(r"\]\(\s*javascript:|<\s*javascript:", md, re.IGNORECASE)


def test_web_security_headers_on_pages_api_and_errors(hostile_db: Path) -> None:
    client = TestClient(create_app(hostile_db))
    for path in ["/", "/api/stories", "/api/nope", "/static/style.css", "/openapi.json", "/docs"]:
        response = client.get(path)
        csp = response.headers["content-security-policy"]
        script_src = next(p for p in csp.split(";") if p.strip().startswith("script-src"))
        assert "unsafe-inline" not in script_src and "'self'" in script_src, path
        assert "unsafe-inline" not in csp and "default-src 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff", path
    # Pages need no inline script or style to obey that policy.
    for path in ["/", "/docs"]:
        text = client.get(path).text
        assert "<script" not in text and "<style" not in text and " style=" not in text


def test_web_writes_need_a_token_off_localhost(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    Desk.open(db).close()
    remote = TestClient(create_app(db))  # the test client's address is not a loopback one
    refused = remote.post("/api/alerts", json={"term": "wildfire"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    local = TestClient(create_app(db), client=("127.0.0.1", 40000))
    assert local.post("/api/alerts", json={"term": "wildfire"}).status_code == 201
    # A page on another site, open in a browser on this machine, cannot post into the desk.
    forged = local.post("/api/alerts", json={"term": "spam"}, headers={"origin": "https://evil.example"})
    assert forged.status_code == 403
    same = local.post("/api/alerts", json={"term": "wildfire"}, headers={"origin": "http://testserver"})
    assert same.status_code == 201 and same.json()["added"] is False
    settings = Settings().with_overrides({"web.token": "s3cret", "web.max_body": "200"})
    guarded = TestClient(create_app(db, settings))
    assert guarded.post("/api/alerts", json={"term": "flood"}).status_code == 401
    wrong = guarded.post("/api/alerts", json={"term": "flood"}, headers={"authorization": "Bearer nope"})
    assert wrong.status_code == 401
    ok = guarded.post("/api/alerts", json={"term": "flood"}, headers={"authorization": "Bearer s3cret"})
    assert ok.status_code == 201 and ok.json() == {"term": "flood", "added": True}
    assert guarded.get("/api/alerts").json()["terms"] == ["wildfire", "flood"]  # reads need no token
    auth = {"authorization": "Bearer s3cret"}
    big = guarded.post("/api/alerts", json={"term": "x" * 300}, headers=auth)
    assert big.status_code == 413 and big.json()["error"]["code"] == "too_large"

    def chunks() -> Any:  # no Content-Length: the cap still holds while reading
        yield b'{"term": "'
        for _ in range(50):
            yield b"y" * 10
        yield b'"}'

    streamed = guarded.post(
        "/api/alerts", content=chunks(), headers={**auth, "content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert guarded.get("/api/alerts").json()["terms"] == ["wildfire", "flood"]


def test_web_errors_have_one_shape_and_browsers_get_a_page(hostile_db: Path) -> None:
    client = TestClient(create_app(hostile_db))
    cases = [
        ("/api/stories/nope", 404, "not_found"),
        ("/api/nope", 404, "not_found"),
        ("/api/search?q=", 422, "invalid"),
        ("/api/stories?limit=0", 422, "invalid"),
        ("/api/stories?cursor=%%%", 400, "bad_request"),
        ("/api/stories?sort=loudest", 400, "bad_request"),
        ("/api/stories?since=yesterday", 400, "bad_request"),
        ("/api/articles/nope/why", 404, "not_found"),
        ("/api/entities/Atlantis", 404, "not_found"),
    ]
    for path, status, code in cases:
        response = client.get(path)
        assert response.status_code == status, path
        body = response.json()
        assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"], path
    local = TestClient(create_app(hostile_db), client=("127.0.0.1", 40000))
    assert local.delete("/api/stories").json()["error"]["code"] == "method_not_allowed"
    page = client.get("/stories/nope", headers={"accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in page.text and "nope" in page.text
    why = client.get("/api/articles/nope/why", headers={"accept": "text/html"})
    assert why.status_code == 404 and why.headers["content-type"].startswith("text/html")


def test_web_every_route_is_in_the_openapi_schema(hostile_db: Path) -> None:
    app = create_app(hostile_db)
    client = TestClient(app)
    schema = client.get("/openapi.json").json()
    routes = [r for r in app.routes if isinstance(r, APIRoute)]
    assert len(routes) >= 15
    for route in routes:
        path = route.path_format  # "/entities/{name:path}" is "/entities/{name}" in the schema
        assert path in schema["paths"], route.path
        for method in route.methods:
            assert method.lower() in schema["paths"][path], (method, route.path)
    docs = client.get("/docs").text
    for path in schema["paths"]:
        assert path in docs, path
    assert "cdn" not in docs.lower() and "<script" not in docs


# --- a desk with several stories: rank, sort, filter, page ------------------------------------


def _story_records() -> list[dict[str, Any]]:
    fire = [
        ("f1", "Reuters", "2022-08-01", "Wildfire near Valencia burns 3,000 hectares"),
        ("f2", "El País", "2022-08-01", "Valencia wildfire forces 500 people from their homes"),
        ("f3", "BBC", "2022-08-02", "Spanish firefighters contain Valencia blaze after 3,000 hectares burn"),
    ]
    records = [
        {"id": i, "outlet": o, "published": d, "title": t, "text": FIRE.replace("Friday", day)}
        for (i, o, d, t), day in zip(fire, ("Friday", "Friday evening", "Saturday"), strict=True)
    ]
    # A copy of the first report from another outlet: listed and counted, but no independent origin.
    records.append(
        {**records[0], "id": "f1-copy", "outlet": "AP News", "text": records[0]["text"] + " AP contributed."}
    )
    records.append(
        {
            "id": "q1",
            "outlet": "NHK",
            "published": "2022-08-03",
            "title": "Magnitude 6.1 earthquake strikes off Hokkaido",
            "text": QUAKE,
        }
    )
    return records


@pytest.fixture(scope="module")
def desk_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("desk")
    db = folder / "desk.db"
    with Desk.open(db) as desk:
        desk.ingest([_write(folder / "in.jsonl", _story_records())])
    return db


def test_web_rank_score_weighs_origins_articles_outlets_recency() -> None:
    base = rank_score(3, 3, 3, 1.0)
    assert rank_score(3, 4, 3, 1.0) > base  # another independent origin
    assert rank_score(4, 3, 3, 1.0) > base  # another article
    assert rank_score(3, 3, 4, 1.0) > base  # another outlet
    assert rank_score(3, 3, 3, 0.0) > base > rank_score(3, 3, 3, 10.0)  # newer beats older
    assert rank_score(3, 3, 3, None) < rank_score(3, 3, 3, 30.0)  # undated gets no recency bonus
    # A three-outlet story two days old outranks a one-article story from today.
    assert rank_score(3, 3, 3, 2.0) > rank_score(1, 1, 1, 0.0)


def test_web_stories_rank_sort_and_cli_share_the_order(desk_db: Path) -> None:
    client = TestClient(create_app(desk_db))
    ranked = client.get("/api/stories").json()["items"]
    assert len(ranked) == 2
    fire, quake = ranked
    assert fire["article_count"] == 4 and fire["duplicates"] == 1
    assert fire["outlet_count"] == 4 and fire["independent_count"] == 3  # the copy adds an outlet, no origin
    assert quake["headline"].startswith("Magnitude 6.1")  # the newer but smaller story comes second
    assert fire["score"] > quake["score"]
    recent = client.get("/api/stories", params={"sort": "recent"}).json()["items"]
    assert [s["id"] for s in recent] == [quake["id"], fire["id"]]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cli = subprocess.run(
        [sys.executable, "-m", "storydesk.cli", "--db", str(desk_db), "stories", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert [s["id"] for s in json.loads(cli.stdout)] == [s["id"] for s in ranked]


@pytest.mark.parametrize(
    ("params", "expect"),
    [
        ({"outlet": "bbc"}, {"fire"}),
        ({"outlet": "NHK"}, {"quake"}),
        ({"origin": "El País"}, {"fire"}),
        ({"since": "2022-08-03"}, {"quake"}),
        ({"until": "2022-08-02"}, {"fire"}),
        ({"since": "2022-08-02", "until": "2022-08-02"}, {"fire"}),
        ({"place": "Hokkaido"}, {"quake"}),
        ({"organisation": "Japan Meteorological Agency"}, {"quake"}),
        ({"person": "Nobody Atall"}, set()),
        ({"conflicts": "true"}, set()),
    ],
)
def test_web_stories_filters(desk_db: Path, params: dict[str, str], expect: set[str]) -> None:
    client = TestClient(create_app(desk_db))
    items = client.get("/api/stories", params=params).json()["items"]
    names = {"fire" if "Valencia" in s["headline"] or "ildfire" in s["headline"] else "quake" for s in items}
    assert names == expect
    page = client.get("/", params=params)
    assert page.status_code == 200
    assert page.text.count('<tr data-story="') == len(expect)


def test_web_story_filter_is_empty_by_default() -> None:
    assert StoryFilter().empty and not StoryFilter(outlet="BBC").empty


def test_web_paging_walks_every_item_once(desk_db: Path) -> None:
    client = TestClient(create_app(desk_db))
    for path in ["/api/stories", "/api/articles"]:
        everything = client.get(path, params={"limit": 500}).json()
        assert everything["next"] is None
        seen, cursor = [], None
        for _ in range(10):
            params: dict[str, Any] = {"limit": 1}
            if cursor:
                params["cursor"] = cursor
            page = client.get(path, params=params).json()
            assert len(page["items"]) <= 1
            seen += page["items"]
            cursor = page["next"]
            if cursor is None:
                break
        assert seen == everything["items"], path
    hits = client.get("/api/search", params={"q": "Valencia", "limit": 2}).json()
    assert len(hits["items"]) == 2 and hits["next"]
    rest = client.get("/api/search", params={"q": "Valencia", "limit": 2, "cursor": hits["next"]}).json()
    assert len(rest["items"]) == 2 and rest["next"] is None
    assert {h["id"] for h in hits["items"]}.isdisjoint({h["id"] for h in rest["items"]})
    html = client.get("/", params={"limit": 1}).text
    assert html.count('<tr data-story="') == 1 and 'rel="next"' in html


def test_web_stories_page_badges_recent_updates(desk_db: Path) -> None:
    client = TestClient(create_app(desk_db))
    page = client.get("/")
    assert page.text.count('title="Gained or changed an article') == 2  # both stored just now
    assert "last_visit" in page.cookies
    settings = Settings().with_overrides({"web.recent_hours": "0"})
    later = TestClient(create_app(desk_db, settings))
    later.cookies.set("last_visit", "2999-01-01T00:00:00+00:00")
    assert 'title="Gained or changed an article' not in later.get("/").text


def test_web_search_groups_by_story_with_marks(desk_db: Path) -> None:
    client = TestClient(create_app(desk_db))
    page = client.get("/search", params={"q": "hectares"}).text
    assert page.count('<section class="hit">') == 1  # four fire articles, one story
    assert page.count("<mark>hectares</mark>") >= 4 and "[hectares]" not in page
    assert "Valencia" in page.split('<section class="hit">')[1].split("</h2>")[0]


def test_web_search_marks_escape_the_snippet() -> None:
    from storydesk.api import MARK_END, MARK_START

    html = web_render.marked(f"a <b>{MARK_START}fire{MARK_END}</b> {MARK_START}cut")
    assert str(html) == "a &lt;b&gt;<mark>fire</mark>&lt;/b&gt; <mark>cut</mark>"
    assert str(web_render.ticks("<b>`next`</b>")) == "&lt;b&gt;<code>next</code>&lt;/b&gt;"


def test_web_timeline_is_an_svg_per_day_by_origin() -> None:
    articles = [
        {"published": "2022-08-01", "wire_origin": "Reuters"},
        {"published": "2022-08-01", "wire_origin": "AFP"},
        {"published": "2022-08-03", "outlet": '<b onload="x">Outlet</b>'},
        {"published": None},
    ]
    svg = str(web_render.timeline(articles))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "3 dated articles per day" in svg
    bars = re.findall(r'<rect [^>]*height="([^"]+)" fill="[^"]+"><title>', svg)
    assert len(bars) == 3  # two stacked on the first day, one on the third; none on the empty day
    assert "2022-08-02" in svg  # the empty day is on the axis
    assert "<b onload" not in svg and "&lt;b onload=&quot;x&quot;&gt;Outlet" in svg
    hourly = str(
        web_render.timeline(
            [
                {"published_at": "2022-08-01T09:10:00", "wire_origin": "AFP"},
                {"published_at": "2022-08-01T11:50:00", "wire_origin": "AFP"},
            ]
        )
    )
    assert "per hour" in hourly and "01 Aug 10:00" in hourly
    assert web_render.timeline([{"published": None}]) is None


def test_web_prose_highlights_the_cited_span_and_escapes() -> None:
    from storydesk.models import Article, Entity, Extraction

    text = "Rahmon spoke <now>.\nHe said 20,000 would go."
    article = Article(id="a", title=None, text=text, raw_text=text)
    extraction = Extraction(article_id="a", entities=(Entity("Rahmon", "PERSON", 0, 6, "Emomali Rahmon"),))
    html = str(web_render.prose(article, extraction, (20, len(text))))
    assert '<span class="ent ent-person">Rahmon</span>' in html
    assert "&lt;now&gt;" in html and "<now>" not in html
    assert html.count("<p>") == 2 and '<mark id="cite" class="cited">He said 20,000 would go.</mark>' in html


def test_web_serve_warns_when_bound_off_loopback(
    tmp_path: Path, free_port: int, spawn_cli: Callable[..., subprocess.Popen[bytes]]
) -> None:
    db = tmp_path / "d.db"
    Desk.open(db).close()
    port = free_port
    proc = spawn_cli("--db", str(db), "serve", "--host", "0.0.0.0", "--port", str(port))
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/stories", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    err = interrupt(proc)
    text = " ".join(err.decode().split())
    assert "warning: serving on 0.0.0.0" in text and "refused (no web.token is set)" in text


@pytest.mark.parametrize(
    ("titles", "expect"),
    [
        (
            ["THE WHITE HOUSE.", "Tajik leader mobilises 20,000 reservists"],
            "Tajik leader mobilises 20,000 reservists",
        ),
        (["World", "Tajik leader mobilises 20,000 reservists"], "Tajik leader mobilises 20,000 reservists"),
        (
            ["Tajikistan mobilises reservists at border", "Another good headline here"],
            "Tajikistan mobilises reservists at border",
        ),
        (["NEWS", "SPORT"], "NEWS"),  # no better title: the central one stays
    ],
)
def test_web_story_headline_passes_over_section_titles(titles: list[str], expect: str) -> None:
    from storydesk.models import Article
    from storydesk.stream import build_story

    text = "Tajikistan called up 20,000 reservists on Monday to reinforce its border with Afghanistan."
    articles = [
        Article(id="a", title=titles[0], text=text + " More detail follows here.", raw_text=text),  # longest
        Article(id="b", title=titles[1], text=text, raw_text=text),
    ]
    assert build_story("s", articles, {}, {}).headline == expect


def test_web_article_page_shows_duplicates_origin_story_and_raw_text(desk_db: Path) -> None:
    client = TestClient(create_app(desk_db))
    articles = client.get("/api/articles", params={"limit": 500}).json()["items"]
    by_external = {a["external_id"]: a for a in articles}
    original, copy = by_external["f1"], by_external["f1-copy"]
    page = client.get(f"/articles/{original['id']}").text
    assert f'href="/articles/{copy["id"]}"' in page and "Duplicates of this article" in page
    story = client.get(f"/api/stories/{original['story']}").json()
    assert f'href="/stories/{story["id"]}">{story["headline"]}</a>' in page  # the story by its headline
    assert "<details><summary>Raw text, as received</summary>" in page and "Cleaning steps" in page
    prose = page.split('<div class="prose">')[1].split("</div>")[0]  # prose, not a code block
    assert prose.startswith("<p>") and "Firefighters" in prose and "<pre" not in prose
    copy_page = client.get(f"/articles/{copy['id']}").text
    assert f'Duplicate of <a href="/articles/{original["id"]}">' in copy_page


def test_web_why_page_tells_how_an_article_joined(desk_db: Path) -> None:
    client = TestClient(create_app(desk_db))
    fire = client.get("/api/stories").json()["items"][0]
    pages = [client.get(f"/articles/{a}/why").text for a in fire["article_ids"]]
    assert sum("started this story" in p for p in pages) == 1
    assert sum("It joined with a score of" in p for p in pages) == 2
    assert sum("repeats" in p for p in pages) == 1  # the copy
    assert all(fire["headline"] in p for p in pages)


# --- the seeds' story: facts, citations, entities ------------------------------------------------


@pytest.fixture(scope="module")
def seeds_client(tmp_path_factory: pytest.TempPathFactory, seeds_dir: Path) -> TestClient:
    db = tmp_path_factory.mktemp("seeds") / "desk.db"
    with Desk.open(db) as desk:
        desk.ingest([seeds_dir])
    return TestClient(create_app(db))


def test_web_story_page_facts_cite_the_highlighted_sentence(seeds_client: TestClient) -> None:
    story = seeds_client.get("/api/stories").json()["items"][0]
    page = seeds_client.get(f"/stories/{story['id']}").text
    row = next(r for r in page.split("<tr ") if '<td class="value">20,000</td>' in r)
    assert '<span class="label label-corroborated">corroborated</span>' in row
    links = re.findall(r'<a class="cite" href="([^"]+)"', row)
    assert len(links) >= 2
    h1 = re.search(r"<h1>(.*?)</h1>", page, re.S)
    assert h1 is not None and not h1.group(1).endswith("…") and "20,000" in h1.group(1)
    brief = seeds_client.get(f"/api/stories/{story['id']}").json()
    cited = {
        f"/articles/{c['article']}?cite={c['start']}-{c['end']}#cite": c["text"] for c in brief["citations"]
    }
    for link in links:
        article = seeds_client.get(link.replace("&amp;", "&")).text
        mark = re.search(r'<mark id="cite" class="cited">(.*?)</mark>', article, re.S)
        assert mark is not None, link
        shown = re.sub(r"<[^>]+>", "", mark.group(1))
        assert cited[link].startswith(shown[:40]), (shown, cited[link])
    assert 'href="/entities/Vladimir%20Putin"' in page and "Vladamir Putin" in page
    assert "<svg" in page and '<dl class="quotes">' in page


def test_web_entity_page_and_api_resolve_spellings(seeds_client: TestClient) -> None:
    moved = seeds_client.get("/entities/Vladamir Putin", follow_redirects=False)
    assert moved.status_code == 302 and moved.headers["location"] == "/entities/Vladimir%20Putin"
    page = seeds_client.get("/entities/Vladimir Putin")
    assert page.status_code == 200 and "<h1>Vladimir Putin</h1>" in page.text
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="timeline"' in page.text  # over time
    data = seeds_client.get("/api/entities/Putin").json()
    assert data["name"] == "Vladimir Putin" and data["label"] == "PERSON"
    assert "Vladamir Putin" in data["variants"] and len(data["stories"]) == 1
    slash = seeds_client.get("/entities/AC%2FDC")  # a name with a slash reaches the entity route
    assert slash.status_code == 404 and "no story names 'AC/DC'" in slash.text
    place = seeds_client.get("/api/entities/Badakhshan").json()
    assert place["label"] == "PLACE" and place["stories"][0]["article_count"] == 2


def test_web_a_crash_keeps_the_error_shape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "d.db"
    Desk.open(db).close()
    client = TestClient(create_app(db), raise_server_exceptions=False)

    def boom(self: Desk, *args: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(Desk, "listing", boom)
    response = client.get("/api/stories")
    assert response.status_code == 500
    assert response.json() == {
        "error": {"code": "internal", "message": "the desk failed to answer this request"}
    }
    page = client.get("/", headers={"accept": "text/html"})
    assert page.status_code == 500 and "Something went wrong" in page.text and "secret" not in page.text
    assert page.headers["x-content-type-options"] == "nosniff"


def test_web_loopback_desk_answers_only_to_local_host_names(tmp_path: Path) -> None:
    from storydesk.web.app import LOCAL_HOSTS

    db = tmp_path / "d.db"
    Desk.open(db).close()
    app = create_app(db, hosts=LOCAL_HOSTS)
    for base in ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000", "http://LOCALHOST"]:
        assert TestClient(app, base_url=base).get("/api/stories").status_code == 200, base
    # A name rebound to 127.0.0.1 by another site gets nothing.
    rebound = TestClient(app, base_url="http://evil.example:8000").get("/api/stories")
    assert rebound.status_code == 400 and rebound.json()["error"]["code"] == "bad_request"
    assert (
        TestClient(create_app(db), base_url="http://evil.example").get("/").status_code == 200
    )  # default: any
    settings = Settings().with_overrides({"web.allowed_hosts": "desk.example"})
    named = create_app(db, settings)
    assert TestClient(named, base_url="http://desk.example").get("/").status_code == 200
    assert TestClient(named, base_url="http://127.0.0.1").get("/").status_code == 400


def test_web_cli_stories_sorts_and_refuses_an_unknown_order(desk_db: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "storydesk.cli", "--db", str(desk_db), "stories", *args]
        return subprocess.run(command, capture_output=True, text=True, env=env)

    recent = run("--json", "--sort", "recent")
    assert recent.returncode == 0
    assert [s["article_count"] for s in json.loads(recent.stdout)] == [1, 4]  # the quake is newer
    table = run()
    assert table.returncode == 0 and "outlets" in table.stdout and "Valencia" in table.stdout
    bad = run("--sort", "loudest")
    assert bad.returncode == 2 and "unknown sort 'loudest'" in bad.stderr


def test_web_conflict_filter_and_badge(tmp_path: Path) -> None:
    text = (
        "A wildfire near Valencia burned {} hectares on Friday, the regional emergency service said. "
        "About 500 people were evacuated."
    )
    records = [
        {"id": "c1", "outlet": "Reuters", "published": "2022-08-01", "title": "Wildfire near Valencia burns 3,000 hectares", "text": text.format("3,000")},
        {"id": "c2", "outlet": "BBC", "published": "2022-08-01", "title": "Valencia wildfire burns 5,000 hectares", "text": text.format("5,000")},
        {"id": "q1", "outlet": "NHK", "published": "2022-08-03", "title": "Magnitude 6.1 earthquake strikes off Hokkaido", "text": QUAKE},
    ]  # fmt: skip
    db = tmp_path / "d.db"
    with Desk.open(db) as desk:
        desk.ingest([_write(tmp_path / "in.jsonl", records)])
    client = TestClient(create_app(db))
    assert len(client.get("/api/stories").json()["items"]) == 2
    conflicting = client.get("/api/stories", params={"conflicts": "true"}).json()["items"]
    assert [s["article_count"] for s in conflicting] == [2] and conflicting[0]["conflicts"] is True
    page = client.get("/").text
    rows = page.split('<tr data-story="')[1:]
    assert len(rows) == 2
    assert sum('class="badge badge-conflict"' in r for r in rows) == 1
    assert 'class="badge badge-conflict"' in next(r for r in rows if "hectares" in r)
    story = client.get(f"/stories/{conflicting[0]['id']}").text
    assert '<span class="label label-conflicting">conflicting</span>' in story
