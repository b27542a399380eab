"""The watcher against a real server on 127.0.0.1 whose feeds and pages change between polls."""

from __future__ import annotations

import datetime as dt
import html
import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import FeedServer, Reply, interrupt

from storydesk.api import Desk
from storydesk.config import Settings
from storydesk.models import FeedSource
from storydesk.watch import Watcher, add_sources, read_listing

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
INTERVAL = 600.0

QUAKE_1 = (
    "A magnitude 6.4 earthquake struck the mountainous Badakhshan province of Afghanistan on Monday "
    "morning, the country's disaster management authority said. At least 12 people were killed and "
    "dozens of houses collapsed in villages near Faizabad, officials said. Rescue teams were sent "
    "from Kabul, and the shaking was felt across the border in Tajikistan."
)
QUAKE_1_UPDATED = QUAKE_1.replace("At least 12 people", "At least 27 people")
QUAKE_2 = (
    "At least 12 people died when a magnitude 6.4 earthquake hit Badakhshan province in northeastern "
    "Afghanistan on Monday, the disaster management authority said. Houses collapsed in several "
    "villages around Faizabad, and rescue teams from Kabul were on their way, officials said."
)
QUAKE_3 = (
    "Rescuers in Afghanistan's Badakhshan province searched collapsed houses near Faizabad on Tuesday "
    "after Monday's magnitude 6.4 earthquake, the disaster management authority said. The death toll "
    "rose to 27, officials said, and aid from Kabul reached the worst-hit villages."
)
FLOOD = (
    "Floods in the Bavarian city of Passau forced 4,000 residents from their homes on Sunday as the "
    "Danube burst its banks, the regional government said. Rescue teams used boats to reach families "
    "stranded on upper floors, and schools across the district were closed until Wednesday."
)


def page(title: str, text: str) -> Reply:
    paragraphs = "".join(f"<p>{html.escape(s.strip())}.</p>" for s in text.split(". ") if s.strip())
    body = (
        f"<!doctype html><html><head><title>{html.escape(title)}</title></head><body>"
        f"<nav>Home | World | Sport</nav><header><h1>{html.escape(title)}</h1></header>"
        f"<article>{paragraphs}</article>"
        "<footer>Copyright The Example Times</footer></body></html>"
    )
    return Reply(body.encode())


def rss(title: str, items: list[tuple[str, str, str, str]], etag: str | None = None) -> Reply:
    """An RSS 2.0 feed of (guid, title, link, summary) items."""
    entries = "".join(
        f"<item><guid>{html.escape(g)}</guid><title>{html.escape(t)}</title><link>{html.escape(link)}</link>"
        f"<description>{html.escape(s)}</description><pubDate>Mon, 02 Mar 2026 07:00:00 GMT</pubDate></item>"
        for g, t, link, s in items
    )
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>{html.escape(title)}</title>{entries}</channel></rss>'
    return Reply(body.encode(), content_type="application/rss+xml", etag=etag)


# --- reading feeds (no models) ------------------------------------------------------


def test_watch_read_listing_tells_feeds_from_other_things() -> None:
    good = rss("Wire", [("g1", "Quake", "http://example.com/q", "A quake struck.")]).body
    listing = read_listing(good, "http://example.com/feed")
    assert listing.error is None and listing.kind == "rss" and listing.title == "Wire"
    assert [i.url for i in listing.items] == ["http://example.com/q"]
    assert "HTML page" in (read_listing(b"<!doctype html><html><body>hi</body></html>", "u").error or "")
    broken = read_listing(b'<?xml version="1.0"?><rss><channel><item><title>x</ti', "u")
    assert broken.error is not None and "malformed XML" in broken.error
    assert read_listing(b"", "u").error is not None
    empty = read_listing(rss("Quiet", []).body, "u")  # nothing published yet: fine, not a failure
    assert empty.error is None and empty.items == ()
    other = read_listing(b'<?xml version="1.0"?><catalog><book>x</book></catalog>', "u")
    assert other.error is not None and "<catalog>" in other.error


def _atom(updated: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Desk</title>'
        "<id>urn:desk</id><updated>2026-03-02T09:00:00Z</updated><entry><id>urn:e1</id><title>Quake</title>"
        '<link href="https://paper.example/quake"/><published>2026-03-02T07:00:00Z</published>'
        f"<updated>{updated}</updated><summary>A quake struck.</summary></entry></feed>"
    ).encode()


def test_watch_an_entry_edited_in_its_feed_is_seen_as_changed() -> None:
    from storydesk.watch import _fingerprint

    first = read_listing(_atom("2026-03-02T07:00:00Z"), "u")
    edited = read_listing(_atom("2026-03-02T11:30:00Z"), "u")
    assert first.kind == "atom" and first.error is None
    (a,), (b,) = first.items, edited.items
    assert a.published == b.published and a.title == b.title  # only <updated> differs
    assert b.metadata["feed_updated"] == "2026-03-02T11:30:00Z"
    assert _fingerprint(a) != _fingerprint(b)
    assert _fingerprint(a) == _fingerprint(read_listing(_atom("2026-03-02T07:00:00Z"), "u").items[0])


def test_watch_read_listing_reads_a_news_sitemap() -> None:
    sitemap = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url><loc>https://paper.example/a</loc><news:news><news:publication><news:name>Paper</news:name>
    </news:publication><news:publication_date>2026-03-02T07:00:00Z</news:publication_date>
    <news:title>Quake in Badakhshan</news:title></news:news></url>
  <url><loc>https://paper.example/b</loc></url>
</urlset>"""
    listing = read_listing(sitemap, "https://paper.example/sitemap.xml")
    assert listing.kind == "sitemap" and listing.error is None
    assert [(i.url, i.title, i.outlet) for i in listing.items] == [
        ("https://paper.example/a", "Quake in Badakhshan", "Paper"),
        ("https://paper.example/b", None, None),
    ]


def test_watch_sources_add_reads_a_list_and_reports_bad_lines(tmp_path: Path) -> None:
    listing = tmp_path / "feeds.txt"
    listing.write_text(
        "# my feeds\nhttps://a.example/rss\n\nftp://b.example/feed\nhttps://a.example/rss\nhttps://c.example/atom\n",
        encoding="utf-8",
    )
    with Desk.open(tmp_path / "d.db") as desk:
        done = add_sources(
            desk, [str(listing), "https://d.example/sitemap.xml", str(tmp_path / "missing.txt")]
        )
        assert done.added == (
            "https://a.example/rss",
            "https://c.example/atom",
            "https://d.example/sitemap.xml",
        )
        assert done.known == ("https://a.example/rss",)
        assert {(r.source.line, "ftp://" in r.reason) for r in done.rejected if r.source.line} == {(4, True)}
        assert any("missing.txt" in r.source.path for r in done.rejected)
        assert [s.url for s in desk.store.sources()] == list(done.added)
        assert add_sources(desk, ["https://c.example/atom"]).added == ()


def _source(desk: Desk, url: str) -> FeedSource:
    found = desk.store.source(url)
    assert found is not None
    return found


def test_watch_failures_are_recorded_with_reasons_and_back_off(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """Failing feeds only: nothing to ingest, so no model is loaded."""
    server = feed_server
    server.set("/flaky.xml", Reply(b"oops", status=500))
    server.set(
        "/broken.xml", Reply(b'<?xml version="1.0"?><rss><channel><item><title>cut', content_type="text/xml")
    )
    server.set("/html.xml", page("Front page", "Welcome to our site. Read the news here every day."))
    server.set("/loop.xml", Reply(status=302, headers={"Location": "/loop2.xml"}))
    server.set("/loop2.xml", Reply(status=302, headers={"Location": "/loop.xml"}))
    server.set("/private.xml", rss("Private", []))
    settings = Settings().with_overrides(
        {"fetch.host_delay": "0", "fetch.allow_hosts": f"127.0.0.1:{server.port}"}
    )
    urls = {name: server.url(f"/{name}.xml") for name in ("flaky", "broken", "html", "loop")}
    urls["private"] = server.url("/private.xml", host="localhost")  # loopback, not exempt: refused
    with Desk.open(tmp_path / "d.db", settings) as desk, Watcher(desk, interval=INTERVAL) as watcher:
        add_sources(desk, list(urls.values()))
        report = watcher.poll(T0)
        assert report.polled == 5 and report.failed == 5 and report.added == 0
        reasons = {name: _source(desk, url).error or "" for name, url in urls.items()}
        assert "HTTP 500" in reasons["flaky"]
        assert "malformed XML" in reasons["broken"]
        assert "HTML page" in reasons["html"]
        assert "redirect loop" in reasons["loop"]
        assert "loopback" in reasons["private"]
        assert server.hits("/private.xml") == 0
        first = _source(desk, urls["flaky"])
        assert first.errors == 1 and first.next_poll is not None and first.last_status == 500
        gap1 = first.next_poll - T0
        assert gap1.total_seconds() > INTERVAL  # backed off

        assert watcher.poll(T0 + dt.timedelta(seconds=INTERVAL)).polled == 0  # none due yet
        assert server.hits("/flaky.xml") == 1

        report = watcher.poll(first.next_poll)
        second = _source(desk, urls["flaky"])
        assert second.errors == 2 and second.next_poll is not None
        assert second.next_poll - first.next_poll > gap1  # exponential
        assert server.hits("/flaky.xml") == 2
        assert desk.store.count_articles() == 0


def test_watch_backoff_is_capped(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.set("/down.xml", Reply(b"down", status=503))
    settings = Settings().with_overrides(
        {"fetch.allow_private": "true", "fetch.host_delay": "0", "watch.max_backoff": "3000"}
    )
    with Desk.open(tmp_path / "d.db", settings) as desk, Watcher(desk, interval=INTERVAL) as watcher:
        add_sources(desk, [feed_server.url("/down.xml")])
        now, gaps = T0, []
        for _ in range(6):
            watcher.poll(now)
            source = _source(desk, feed_server.url("/down.xml"))
            assert source.next_poll is not None and source.error and "HTTP 503" in source.error
            gaps.append((source.next_poll - now).total_seconds())
            now = source.next_poll
    assert gaps == [min(INTERVAL * 2**n, 3000.0) for n in range(1, 7)]  # doubling, then capped
    assert feed_server.hits("/down.xml") == 6


def test_watch_conditional_poll_and_recovery_without_items(feed_server: FeedServer, tmp_path: Path) -> None:
    quiet = rss("Quiet", [], etag='"q1"')
    feed_server.set("/quiet.xml", quiet, Reply(b"oops", status=500), quiet)
    settings = Settings().with_overrides({"fetch.allow_private": "true", "fetch.host_delay": "0"})
    url = feed_server.url("/quiet.xml")
    with Desk.open(tmp_path / "d.db", settings) as desk, Watcher(desk, interval=INTERVAL) as watcher:
        add_sources(desk, [url])
        statuses = []
        now = T0
        for _ in range(3):
            report = watcher.poll(now)
            source = _source(desk, url)
            statuses.append((source.last_status, source.errors, source.error))
            assert report.polled == 1 and source.next_poll is not None
            now = source.next_poll
    assert statuses == [(200, 0, None), (500, 1, "HTTP 500 Internal Server Error"), (304, 0, None)]
    assert (
        feed_server.requests[-1][1].get("if-none-match") == '"q1"'
    )  # the validator kept through the failure


def test_watch_retry_after_lengthens_the_backoff(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.set("/busy.xml", Reply(b"busy", status=503, headers={"Retry-After": "7200"}))
    settings = Settings().with_overrides({"fetch.allow_private": "true", "fetch.host_delay": "0"})
    with Desk.open(tmp_path / "d.db", settings) as desk, Watcher(desk, interval=INTERVAL) as watcher:
        add_sources(desk, [feed_server.url("/busy.xml")])
        watcher.poll(T0)
        source = _source(desk, feed_server.url("/busy.xml"))
    assert source.next_poll is not None and (source.next_poll - T0).total_seconds() == 7200  # not 1200
    assert source.error is not None and "retry after 7200 s" in source.error


def test_watch_run_stops_when_asked(feed_server: FeedServer, tmp_path: Path) -> None:
    import threading

    feed_server.set("/down.xml", Reply(b"down", status=503))
    settings = Settings().with_overrides({"fetch.allow_private": "true", "fetch.host_delay": "0"})
    reports: list[Any] = []
    stop = threading.Event()
    with Desk.open(tmp_path / "d.db", settings) as desk:
        add_sources(desk, [feed_server.url("/down.xml")])
        with Watcher(desk, interval=3600) as watcher:
            thread = threading.Thread(target=watcher.run, kwargs={"stop": stop, "report": reports.append})
            thread.start()
            while not reports and thread.is_alive():
                stop.wait(0.05)
            stop.set()  # what serve --watch does on shutdown (watch itself stops on Ctrl-C)
            thread.join(timeout=30)
    assert not thread.is_alive()
    assert len(reports) == 1 and reports[0].failed == 1  # polled once, then waited until stopped


# --- the live scenario (loads the models) ---------------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    server = FeedServer()
    folder = tmp_path_factory.mktemp("live")
    u = server.url
    server.set("/p/quake-1", page("Quake kills 12 in Badakhshan", QUAKE_1))
    server.set("/p/quake-2", page("Earthquake in northeast Afghanistan", QUAKE_2))
    server.set("/p/quake-3", page("Badakhshan quake toll rises to 27", QUAKE_3))
    server.set("/p/flood-1", page("Passau flooded as Danube bursts banks", FLOOD))
    server.set("/go/q2", Reply(status=302, headers={"Location": "/p/quake-2?utm_source=agg"}))
    server.set("/p/quake-2?utm_source=agg", page("Earthquake in northeast Afghanistan", QUAKE_2))
    server.set("/p/big", Reply(size=30_000_000))
    server.set("/secret", Reply(b"internal only"))
    a_items = [
        ("a1", "Quake kills 12 in Badakhshan", u("/p/quake-1?utm_source=rss"), "A quake struck Badakhshan."),
        ("a2", "Earthquake in northeast Afghanistan", u("/p/quake-2"), "Houses collapsed near Faizabad."),
    ]
    server.set("/a.xml", rss("Example Times", a_items, etag='"a-1"'))
    server.set(
        "/b.xml",
        rss(
            "Aggregator",
            [
                ("b1", "Quake kills 12", u("/p/quake-1?fbclid=xyz"), "Same story, tracked link."),
                ("b2", "Afghan earthquake", u("/go/q2"), "Same story through a redirect."),
            ],
            etag='"b-1"',
        ),
    )
    server.set(
        "/flaky.xml",
        Reply(b"oops", status=500),
        Reply(b"oops", status=500),
        rss("Flaky News", [("f1", "Passau flooded", u("/p/flood-1"), "The Danube burst its banks.")]),
    )
    server.set(
        "/broken.xml", Reply(b'<?xml version="1.0"?><rss><channel><item><title>cut', content_type="text/xml")
    )
    server.set("/html.xml", page("Front page", "Welcome to our site. Read the news here every day."))
    server.set("/loop.xml", Reply(status=302, headers={"Location": "/loop2.xml"}))
    server.set("/loop2.xml", Reply(status=302, headers={"Location": "/loop.xml"}))
    server.set(
        "/big.xml",
        rss("Big", [("g1", "Huge page about a quake", u("/p/big"), "Aftershocks hit Badakhshan.")]),
    )
    server.set(
        "/ssrf.xml",
        rss(
            "Sneaky", [("s1", "Internal note on Badakhshan aid", u("/secret", host="localhost"), "Aid list.")]
        ),
    )
    feeds = ["a", "b", "flaky", "broken", "html", "loop", "big", "ssrf"]
    settings = Settings().with_overrides(
        {"fetch.host_delay": "0", "fetch.allow_hosts": f"127.0.0.1:{server.port}"}
    )
    db = folder / "desk.db"
    desk = Desk.open(db, settings)
    watcher = Watcher(desk, interval=INTERVAL)
    add_sources(desk, [u(f"/{f}.xml") for f in feeds])
    state: dict[str, Any] = {
        "server": server,
        "desk": desk,
        "watcher": watcher,
        "db": db,
        "settings": settings,
    }
    state["poll1"] = watcher.poll(T0)
    try:
        yield state
    finally:
        watcher.close()
        state["desk"].close()
        server.close()


def _articles_at(desk: Desk, path: str) -> list[str]:
    return [
        a.id
        for a in desk.articles()
        if a.url and a.url.split(":", 2)[-1].split("/", 1)[-1] == path.lstrip("/")
    ]


def _item(desk: Desk, feed_url: str, key: str) -> Any:
    return desk.store.seen_items(_source(desk, feed_url).id, [key])[key]


@pytest.mark.slow
def test_watch_first_poll_stores_each_article_once(live: dict[str, Any]) -> None:
    desk: Desk = live["desk"]
    server: FeedServer = live["server"]
    report = live["poll1"]
    assert report.polled == 8
    assert len(_articles_at(desk, "/p/quake-1")) == 1  # two feeds, a utm_ and an fbclid link: stored once
    assert len(_articles_at(desk, "/p/quake-2")) == 1  # two feeds, one through a redirect: stored once
    a1, b1 = _item(desk, server.url("/a.xml"), "a1"), _item(desk, server.url("/b.xml"), "b1")
    a2, b2 = _item(desk, server.url("/a.xml"), "a2"), _item(desk, server.url("/b.xml"), "b2")
    assert (
        a1.article_id == b1.article_id and a2.article_id == b2.article_id and a1.article_id != a2.article_id
    )
    assert a1.status == "page" and a1.url == server.url("/p/quake-1")
    quake = desk.article(a1.article_id)
    assert "Faizabad" in quake.text and "Copyright" not in quake.text  # the page, extracted
    assert report.added == 4 and desk.store.count_articles() == 4  # 2 pages + 2 headline-only


@pytest.mark.slow
def test_watch_failures_recorded_nothing_lost(live: dict[str, Any]) -> None:
    desk: Desk = live["desk"]
    server: FeedServer = live["server"]
    errors = {s.url.rsplit("/", 1)[-1]: s.error or "" for s in desk.store.sources()}
    assert "HTTP 500" in errors["flaky.xml"]
    assert "malformed XML" in errors["broken.xml"]
    assert "HTML page" in errors["html.xml"]
    assert "redirect loop" in errors["loop.xml"]
    assert errors["a.xml"] == "" and errors["big.xml"] == "" and errors["ssrf.xml"] == ""
    big = _item(desk, server.url("/big.xml"), "g1")
    assert big.status == "headline" and "over the limit" in (big.reason or "")
    ssrf = _item(desk, server.url("/ssrf.xml"), "s1")
    assert ssrf.status == "headline" and "loopback" in (ssrf.reason or "")
    assert server.hits("/secret") == 0
    for item in (big, ssrf):
        article = desk.article(item.article_id)
        assert article.metadata.get("headline_only") is True
        assert article.title in {"Huge page about a quake", "Internal note on Badakhshan aid"}


@pytest.mark.slow
def test_watch_later_polls_update_and_grow_stories(live: dict[str, Any]) -> None:
    desk: Desk = live["desk"]
    server: FeedServer = live["server"]
    watcher: Watcher = live["watcher"]
    u = server.url
    quake_1 = _item(desk, u("/a.xml"), "a1").article_id
    story_before = desk.story(desk.story_of(quake_1) or "")
    hits = {p: server.hits(p) for p in ("/a.xml", "/b.xml", "/flaky.xml", "/p/quake-2")}

    assert watcher.poll(T0 + dt.timedelta(seconds=60)).polled == 0  # nothing due
    assert {p: server.hits(p) for p in hits} == hits

    # The Example Times adds a report and updates its first one (title, summary and page).
    server.set("/p/quake-1", page("Quake kills 27 in Badakhshan", QUAKE_1_UPDATED))
    server.set(
        "/a.xml",
        rss(
            "Example Times",
            [
                ("a3", "Badakhshan quake toll rises to 27", u("/p/quake-3"), "The toll rose to 27."),
                ("a1", "Quake kills 27 in Badakhshan", u("/p/quake-1?utm_source=rss"), "The toll rose."),
                (
                    "a2",
                    "Earthquake in northeast Afghanistan",
                    u("/p/quake-2"),
                    "Houses collapsed near Faizabad.",
                ),
            ],
            etag='"a-2"',
        ),
    )
    report = watcher.poll(T0 + dt.timedelta(seconds=INTERVAL + 1))
    assert report.added == 1 and report.updated == 1
    b = _source(desk, u("/b.xml"))
    assert b.last_status == 304 and b.errors == 0  # unchanged feed: conditional GET
    assert server.hits("/p/quake-2") == hits["/p/quake-2"]  # an unchanged item is not fetched again
    assert server.hits("/flaky.xml") == hits["/flaky.xml"]  # still backing off

    updated = desk.article(quake_1)  # same id, new text, the old one kept
    assert "27 people" in updated.text and updated.title == "Quake kills 27 in Badakhshan"
    revisions = desk.revisions(quake_1)
    assert len(revisions) == 1 and "12 people" in revisions[0]["text"]
    assert desk.search('"27 people"') and len(_articles_at(desk, "/p/quake-1")) == 1
    quake_3 = _item(desk, u("/a.xml"), "a3").article_id
    story = desk.story(desk.story_of(quake_1) or "")
    assert desk.story_of(quake_3) == story.id  # the story grew
    assert len(story.article_ids) == len(story_before.article_ids) + 1
    assert story.id in report.updated_stories


@pytest.mark.slow
def test_watch_flaky_feed_recovers(live: dict[str, Any]) -> None:
    desk: Desk = live["desk"]
    server: FeedServer = live["server"]
    watcher: Watcher = live["watcher"]
    flaky_url = server.url("/flaky.xml")
    for _ in range(2):
        due = _source(desk, flaky_url).next_poll
        assert due is not None
        watcher.poll(due)
    flaky = _source(desk, flaky_url)
    assert flaky.errors == 0 and flaky.error is None and flaky.last_status == 200 and flaky.last_new == 1
    assert server.hits("/flaky.xml") == 3
    flood = _item(desk, flaky_url, "f1")
    assert flood.status == "page" and "Danube" in desk.article(flood.article_id).text


@pytest.mark.slow
def test_watch_one_update_seen_by_two_feeds_is_one_revision(live: dict[str, Any]) -> None:
    desk: Desk = live["desk"]
    server: FeedServer = live["server"]
    u = server.url
    quake_1 = _item(desk, u("/a.xml"), "a1").article_id
    assert len(desk.revisions(quake_1)) == 1
    # The aggregator now carries the new headline too: its item changed, the page it leads to did not.
    server.set(
        "/b.xml",
        rss(
            "Aggregator",
            [
                ("b1", "Quake kills 27", u("/p/quake-1?fbclid=xyz"), "Toll rises."),
                ("b2", "Afghan earthquake", u("/go/q2"), "Same story through a redirect."),
            ],
            etag='"b-2"',
        ),
    )
    hits = server.hits("/p/quake-1")
    latest = max(s.next_poll for s in desk.store.sources() if s.next_poll is not None)
    report = live["watcher"].poll(latest)
    assert server.hits("/p/quake-1") == hits + 1  # fetched again, conditionally
    assert report.updated == 0 and report.added == 0
    assert len(desk.revisions(quake_1)) == 1 and "27 people" in desk.article(quake_1).text


@pytest.mark.slow
def test_watch_restart_ingests_nothing_twice(live: dict[str, Any]) -> None:
    desk: Desk = live["desk"]
    server: FeedServer = live["server"]
    count = desk.store.count_articles()
    page_hits = sum(server.hits(p) for p in ("/p/quake-1", "/p/quake-2", "/p/quake-3", "/p/flood-1"))
    desk.close()
    live["watcher"].close()
    reopened = Desk.open(live["db"], live["settings"])  # a restart: a new process on the same file
    live["desk"] = reopened
    live["watcher"] = again = Watcher(reopened, interval=INTERVAL)
    report = again.poll(T0 + dt.timedelta(days=30))  # everything due
    assert report.polled == 8 and report.added == 0 and report.updated == 0
    assert reopened.store.count_articles() == count
    assert sum(server.hits(p) for p in ("/p/quake-1", "/p/quake-2", "/p/quake-3", "/p/flood-1")) == page_hits


# --- the command line -------------------------------------------------------------------


def _cli(*args: str) -> tuple[int, str, str]:
    from typer.testing import CliRunner

    from storydesk.cli import app

    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_watch_cli_refuses_loopback_by_default_and_lists_why(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.set("/feed.xml", rss("Local", [("x1", "Quake", feed_server.url("/p"), "A quake.")]))
    listing = tmp_path / "feeds.txt"
    listing.write_text(f"{feed_server.url('/feed.xml')}\nnot a url\n", encoding="utf-8")
    db = str(tmp_path / "d.db")
    code, out, err = _cli("--db", db, "sources", "add", str(listing))
    assert code == 1 and "1 sources added" in out and "not a url" in err
    code, out, _ = _cli("--db", db, "watch", "--once")
    assert code == 0 and "1 failed" in out and "loopback" in out
    code, out, _ = _cli("--db", db, "sources", "--json")
    (row,) = json.loads(out)
    assert row["url"] == feed_server.url("/feed.xml") and row["errors"] == 1 and row["status"] is None
    assert "loopback" in row["error"] and "fetch.allow_private" in row["error"] and row["next_poll"]
    assert feed_server.requests == []  # nothing was sent


@pytest.mark.slow
def test_watch_cli_once_with_allow_private_stores_and_alerts(feed_server: FeedServer, tmp_path: Path) -> None:
    server = feed_server
    server.set("/p/flood", page("Passau flooded as Danube bursts banks", FLOOD))
    server.set("/feed.xml", rss("Local", [("f1", "Passau flooded", server.url("/p/flood"), "Floods.")]))
    db = str(tmp_path / "d.db")
    opts = ("--db", db, "--set", "fetch.allow_private=true", "--set", "fetch.host_delay=0")
    assert _cli(*opts, "sources", "add", server.url("/feed.xml"))[0] == 0
    code, out, _ = _cli(*opts, "alerts", "add", "Passau")
    assert code == 0 and "0 stories match now" in out
    code, out, _ = _cli(*opts, "watch", "--once", "--interval", "60")
    assert code == 0, out
    assert "1 new articles" in out and "alert 'Passau'" in out
    code, out, _ = _cli(*opts, "sources", "--json")
    (row,) = json.loads(out)
    assert row["status"] == 200 and row["new_items"] == 1 and row["items"] == 1 and row["error"] is None
    polled = dt.datetime.fromisoformat(row["last_poll"])
    assert dt.datetime.fromisoformat(row["next_poll"]) - polled == dt.timedelta(seconds=60)
    code, out, err = _cli(*opts, "watch", "--once")  # nothing due: no poll, nothing printed
    assert code == 0 and out == "" and "no source is due" in err and server.hits("/feed.xml") == 1
    code, out, _ = _cli(*opts, "alerts", "--json")
    data = json.loads(out)
    assert data["terms"] == ["Passau"] and len(data["hits"]) == 1
    assert data["hits"][0]["headline"].startswith("Passau flooded")


def _wait_for(check: Any, seconds: float = 60.0) -> Any:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


@pytest.mark.parametrize("command", [["watch", "--interval", "1"], ["serve", "--watch", "--interval", "1"]])
def test_watch_cli_runs_until_ctrl_c(
    feed_server: FeedServer,
    tmp_path: Path,
    command: list[str],
    free_port: int,
    spawn_cli: Callable[..., subprocess.Popen[bytes]],
) -> None:
    """`watch` and `serve --watch` poll in the background and stop cleanly on Ctrl-C (SIGINT)."""
    import httpx

    from storydesk.store import Store

    feed_server.set("/quiet.xml", rss("Quiet", []))
    db = tmp_path / "d.db"
    store = Store(db)
    with store.transaction():
        store.add_source(feed_server.url("/quiet.xml"))
    store.close()
    port = free_port
    extra = ["--port", str(port)] if command[0] == "serve" else []
    proc = spawn_cli("--db", str(db), "--set", "fetch.allow_private=true", *command, *extra)
    _wait_for(
        lambda: feed_server.hits("/quiet.xml") >= 2 or proc.poll() is not None
    )  # polled again and again
    assert proc.poll() is None
    if command[0] == "serve":
        sources = httpx.get(f"http://127.0.0.1:{port}/api/sources", timeout=10).json()["items"]
        assert sources[0]["status"] == 200 and sources[0]["error"] is None
    err = interrupt(proc)
    assert proc.returncode == 0, err.decode()
    if command[0] == "watch":
        assert "watch stopped" in err.decode()
    assert "Traceback" not in err.decode()
