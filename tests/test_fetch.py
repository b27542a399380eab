"""The fetcher against a real server on 127.0.0.1: guard, limits, redirects, validators, robots.txt."""

from __future__ import annotations

import gzip

import brotli
import pytest
from conftest import FeedServer, Reply
from hypothesis import given
from hypothesis import strategies as st

from storydesk.config import FetchSettings
from storydesk.errors import FetchError, FetchRefused, FetchTooLarge
from storydesk.fetch import AddressPolicy, Fetcher, canonical_url, is_http_url

OPEN = FetchSettings(allow_private=True, host_delay=0.0, robots=True)


def _guarded(server: FeedServer, **changes: object) -> Fetcher:
    """Guard on, with the test server's own 127.0.0.1 port exempt (as an intranet feed host would be)."""
    values: dict[str, object] = {"host_delay": 0.0, "allow_hosts": (f"127.0.0.1:{server.port}",)}
    values.update(changes)
    return Fetcher(FetchSettings(**values))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://Example.COM:443/a/b?utm_source=rss&utm_medium=x&id=7#top", "https://example.com/a/b?id=7"),
        ("http://example.com?fbclid=abc&gclid=1", "http://example.com/"),
        ("http://example.com:8080/x?ref_src=twsrc&page=2&mc_cid=9", "http://example.com:8080/x?page=2"),
        (
            "https://news.google.com/news/url?sa=t&url=https://paper.example/story?utm_campaign=c",
            "https://paper.example/story",
        ),
        ("https://paper.example/story?b=2&a=1", "https://paper.example/story?b=2&a=1"),
    ],
)
def test_fetch_canonical_url_strips_trackers_and_wrappers(given: str, expected: str) -> None:
    assert canonical_url(given) == expected
    assert canonical_url(expected) == expected  # canonical twice is canonical once


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("10.1.2.3", True),
        ("192.168.0.9", True),
        ("169.254.169.254", True),  # the cloud metadata address: link-local
        ("::ffff:127.0.0.1", True),
        ("fe80::1", True),
        ("0.0.0.0", True),
        ("93.184.216.34", False),
        ("2606:4700::1111", False),
    ],
)
def test_fetch_policy_refuses_non_public_addresses(address: str, refused: bool) -> None:
    assert (AddressPolicy().why_refused(address) is not None) is refused
    assert AddressPolicy(allow_private=True).why_refused(address) is None


def test_fetch_guard_refuses_loopback_before_connecting(feed_server: FeedServer) -> None:
    feed_server.set("/feed.xml", Reply(b"<rss/>", content_type="application/rss+xml"))
    with Fetcher(FetchSettings(host_delay=0.0)) as fetcher, pytest.raises(FetchRefused) as caught:
        fetcher.get(feed_server.url("/feed.xml"))
    assert "loopback" in caught.value.reason and caught.value.url == feed_server.url("/feed.xml")
    assert feed_server.requests == []  # refused before any byte was sent


def test_fetch_guard_checks_every_redirect_hop(feed_server: FeedServer) -> None:
    secret = feed_server.url("/secret", host="localhost")
    feed_server.set("/go", Reply(status=302, headers={"Location": secret}))
    feed_server.set("/secret", Reply(b"internal"))
    with _guarded(feed_server) as fetcher:
        with pytest.raises(FetchRefused) as caught:
            fetcher.get(feed_server.url("/go"))
        assert "loopback" in caught.value.reason and "redirected to" in caught.value.reason
        with pytest.raises(FetchRefused):
            fetcher.get(secret)
    assert feed_server.hits("/go") == 1 and feed_server.hits("/secret") == 0


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://a/", "not a url"])
def test_fetch_refuses_other_schemes(url: str) -> None:
    assert not is_http_url(url)
    with Fetcher(OPEN) as fetcher, pytest.raises(FetchRefused, match="only http and https"):
        fetcher.get(url)


def test_fetch_redirect_to_other_scheme_is_refused(feed_server: FeedServer) -> None:
    feed_server.set("/r", Reply(status=301, headers={"Location": "file:///etc/passwd"}))
    with Fetcher(OPEN) as fetcher, pytest.raises(FetchRefused, match="only http and https"):
        fetcher.get(feed_server.url("/r"))


def test_fetch_sends_user_agent_and_uses_validators(feed_server: FeedServer) -> None:
    feed_server.set(
        "/f", Reply(b"<rss/>", etag='"v1"', headers={"Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"})
    )
    with Fetcher(OPEN) as fetcher:
        first = fetcher.get(feed_server.url("/f"))
        assert first.status == 200 and first.body == b"<rss/>" and first.etag == '"v1"'
        assert first.last_modified == "Mon, 01 Jan 2024 00:00:00 GMT"
        again = fetcher.get(feed_server.url("/f"), etag=first.etag, last_modified=first.last_modified)
    assert again.not_modified and again.body == b""
    headers = feed_server.requests[-1][1]
    assert headers["if-none-match"] == '"v1"' and headers["if-modified-since"] == first.last_modified
    assert headers["user-agent"].startswith("storydesk/")


def test_fetch_redirect_loop_is_an_error(feed_server: FeedServer) -> None:
    feed_server.set("/a", Reply(status=302, headers={"Location": "/b"}))
    feed_server.set("/b", Reply(status=302, headers={"Location": "/a"}))
    with Fetcher(OPEN) as fetcher, pytest.raises(FetchError, match="redirect loop"):
        fetcher.get(feed_server.url("/a"))
    assert feed_server.hits("/a") == 1 and feed_server.hits("/b") == 1


def test_fetch_redirect_limit(feed_server: FeedServer) -> None:
    for n in range(10):
        feed_server.set(f"/hop{n}", Reply(status=307, headers={"Location": f"/hop{n + 1}"}))
    with (
        Fetcher(FetchSettings(allow_private=True, host_delay=0.0, max_redirects=3)) as fetcher,
        pytest.raises(FetchError, match="more than 3 redirects"),
    ):
        fetcher.get(feed_server.url("/hop0"))
    assert feed_server.hits("/hop4") == 0


def test_fetch_follows_redirect_and_reports_final_url(feed_server: FeedServer) -> None:
    feed_server.set("/short", Reply(status=301, headers={"Location": "/story?utm_source=feed"}))
    feed_server.set("/story?utm_source=feed", Reply(b"<html>story</html>"))
    with Fetcher(OPEN) as fetcher:
        result = fetcher.get(feed_server.url("/short"))
    assert result.body == b"<html>story</html>"
    assert canonical_url(result.final_url) == feed_server.url("/story")


def test_fetch_streamed_size_cap_stops_a_30mb_page(feed_server: FeedServer) -> None:
    big = Reply(size=30_000_000)
    feed_server.set("/big", big)
    with (
        Fetcher(FetchSettings(allow_private=True, host_delay=0.0, max_bytes=1_000_000)) as fetcher,
        pytest.raises(FetchTooLarge, match="limit of 1,000,000"),
    ):
        fetcher.get(feed_server.url("/big"))
    assert big.sent < 30_000_000  # the client hung up instead of reading it all


def test_fetch_declared_length_over_cap_is_refused_unread(feed_server: FeedServer) -> None:
    feed_server.set("/long", Reply(b"y" * 5000))
    with (
        Fetcher(FetchSettings(allow_private=True, host_delay=0.0, max_bytes=1000)) as fetcher,
        pytest.raises(FetchTooLarge, match="5,000 bytes"),
    ):
        fetcher.get(feed_server.url("/long"))


def test_fetch_decodes_gzip_and_caps_decoded_size(feed_server: FeedServer) -> None:
    body = b"<p>" + b"news " * 2000 + b"</p>"
    feed_server.set("/gz", Reply(gzip.compress(body), headers={"Content-Encoding": "gzip"}))
    with Fetcher(OPEN) as fetcher:
        assert fetcher.get(feed_server.url("/gz")).body == body
    feed_server.set("/br", Reply(brotli.compress(body), headers={"Content-Encoding": "br"}))
    with Fetcher(OPEN) as fetcher:
        assert fetcher.get(feed_server.url("/br")).body == body
        assert "br" in feed_server.requests[-1][1]["accept-encoding"]
    bomb = gzip.compress(b"\0" * 5_000_000)  # 5 MB of zeros in a few KB
    feed_server.set("/bomb", Reply(bomb, headers={"Content-Encoding": "gzip"}))
    with (
        Fetcher(FetchSettings(allow_private=True, host_delay=0.0, max_bytes=100_000)) as fetcher,
        pytest.raises(FetchTooLarge),
    ):
        fetcher.get(feed_server.url("/bomb"))


@pytest.mark.parametrize("status", [404, 500, 503])
def test_fetch_error_status_names_url_and_status(feed_server: FeedServer, status: int) -> None:
    feed_server.set("/e", Reply(b"no", status=status))
    with Fetcher(OPEN) as fetcher, pytest.raises(FetchError) as caught:
        fetcher.get(feed_server.url("/e"))
    assert caught.value.status == status and feed_server.url("/e") in str(caught.value)


def test_fetch_robots_txt_is_honoured_for_pages(feed_server: FeedServer) -> None:
    robots = b"User-agent: storydesk\nDisallow: /private/\n\nUser-agent: *\nDisallow: /\n"
    feed_server.set("/robots.txt", Reply(robots, content_type="text/plain"))
    feed_server.set("/private/a", Reply(b"<html>a</html>"))
    feed_server.set("/public/b", Reply(b"<html>b</html>"))
    with Fetcher(OPEN) as fetcher:
        assert fetcher.get(feed_server.url("/public/b"), robots=True).body == b"<html>b</html>"
        with pytest.raises(FetchRefused, match=r"robots\.txt"):
            fetcher.get(feed_server.url("/private/a"), robots=True)
        assert fetcher.get(feed_server.url("/private/a")).status == 200  # feeds are not page fetches
        fetcher.get(feed_server.url("/public/b"), robots=True)
    assert feed_server.hits("/robots.txt") == 1  # cached per host


def test_fetch_robots_txt_server_error_disallows(feed_server: FeedServer) -> None:
    feed_server.set("/robots.txt", Reply(b"down", status=503))
    feed_server.set("/page", Reply(b"<html>p</html>"))
    with Fetcher(OPEN) as fetcher, pytest.raises(FetchRefused, match=r"robots\.txt cannot be read"):
        fetcher.get(feed_server.url("/page"), robots=True)
    assert feed_server.hits("/page") == 0


def test_fetch_per_host_concurrency_cap(feed_server: FeedServer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    for n in range(6):
        feed_server.set(f"/slow{n}", Reply(b"ok", delay=0.2))
    settings = FetchSettings(allow_private=True, host_delay=0.0, host_concurrency=2, workers=6)
    with Fetcher(settings) as fetcher, ThreadPoolExecutor(6) as pool:
        bodies = list(pool.map(lambda n: fetcher.get(feed_server.url(f"/slow{n}")).body, range(6)))
    assert bodies == [b"ok"] * 6
    assert feed_server.most_in_flight == 2  # six threads, one host: never more than two at once


@given(
    path=st.text(alphabet="abcxyz/-_.~%", max_size=20),
    query=st.lists(
        st.tuples(
            st.sampled_from(["id", "utm_source", "fbclid", "page", "q", "gclid", "Utm_Medium"]),
            st.text(max_size=5),
        ),
        max_size=5,
    ),
    host=st.sampled_from(["Example.com", "news.example.org:8080", "EXAMPLE.com:443", "[::1]:80"]),
    scheme=st.sampled_from(["http", "https", "HTTPS"]),
)
def test_fetch_canonical_url_is_idempotent_and_drops_trackers(
    path: str, query: list[tuple[str, str]], host: str, scheme: str
) -> None:
    from urllib.parse import parse_qsl, urlencode, urlsplit

    url = f"{scheme}://{host}/{path}" + ("?" + urlencode(query) if query else "")
    once = canonical_url(url)
    assert canonical_url(once) == once
    keys = [k.lower() for k, _ in parse_qsl(urlsplit(once).query, keep_blank_values=True)]
    assert not any(k.startswith("utm_") or k in {"fbclid", "gclid"} for k in keys)
    assert [k for k, _ in query if k in {"id", "page", "q"}] == [k for k in keys if k in {"id", "page", "q"}]


def test_fetch_retry_after_is_reported(feed_server: FeedServer) -> None:
    feed_server.set("/busy", Reply(b"busy", status=503, headers={"Retry-After": "120"}))
    feed_server.set(
        "/later", Reply(b"slow down", status=429, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"})
    )
    with Fetcher(OPEN) as fetcher:
        with pytest.raises(FetchError) as busy:
            fetcher.get(feed_server.url("/busy"))
        with pytest.raises(FetchError) as later:
            fetcher.get(feed_server.url("/later"))
    assert busy.value.retry_after == 120.0 and "retry after 120 s" in busy.value.reason
    assert later.value.status == 429 and (later.value.retry_after or 0) > 365 * 86400


def test_fetch_robots_crawl_delay_spaces_page_requests(feed_server: FeedServer) -> None:
    feed_server.set("/robots.txt", Reply(b"User-agent: *\nCrawl-delay: 1\n", content_type="text/plain"))
    feed_server.set("/p1", Reply(b"<html>1</html>"))
    feed_server.set("/p2", Reply(b"<html>2</html>"))
    with Fetcher(OPEN) as fetcher:  # host_delay 0: any wait comes from the Crawl-delay
        fetcher.get(feed_server.url("/p1"), robots=True)
        before = fetcher.stats.polite_seconds
        fetcher.get(feed_server.url("/p2"), robots=True)
        waited = fetcher.stats.polite_seconds - before
    assert waited >= 0.5  # the second page waited for the host's turn
