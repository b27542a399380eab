"""Benchmark of one `watch --once` poll: FEEDS feeds x ITEMS items served by a local server.

    python bench/watch.py [--feeds 50] [--items 20] [--latency 0.0] [--fetch-only] [--set k=v ...]

A threaded http.server on 127.0.0.1 serves FEEDS RSS feeds of ITEMS items each and one HTML page
per item: synthetic reports of FEEDS*ITEMS/10 events, each reported by ten feeds, ~130 words each,
written from seeded word lists (each event its own made-up place, people and words). A fresh desk
watches every feed and polls once, the way `storydesk watch --once` does: feeds fetched, pages
fetched and extracted (trafilatura), then the batch ingested (clean, dedup, extract, embed,
cluster) and stored.

Printed: items, wall seconds, items/s; the wall time spent fetching (network, politeness, and
page extraction in the fetch threads) and its share of the poll ("waiting"), the time in the
pipeline and store, and the fetcher's own sums over threads (time inside requests, time waiting
for a host's turn). ``--latency`` delays every response by that many seconds (a remote server's
round trip; 0 on loopback). ``--fetch-only`` stops before the pipeline (no models): the fetch
side's throughput alone. All requests go to one host, so per-host politeness bounds the fetch
side: the bench sets fetch.host_delay=0 and fetch.host_concurrency=fetch.workers unless --set.
"""

from __future__ import annotations

import argparse
import html
import http.server
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from storydesk.api import Desk  # noqa: E402
from storydesk.config import Settings  # noqa: E402
from storydesk.watch import PollReport, Watcher, add_sources  # noqa: E402

SYLLABLES = "ka lo mi na re su ta vo be di fa gu ho ji ku le mo ni pa ri sa te ul vi ya zo".split()  # noqa: SIM905
KINDS = "flood wildfire earthquake strike election landslide blackout protest drought storm".split()  # noqa: SIM905


def _vocabulary() -> list[str]:
    """Common English words past the first few hundred (wordfreq, a storydesk dependency)."""
    from wordfreq import top_n_list

    return [w for w in top_n_list("en", 6000)[300:] if w.isalpha() and len(w) > 3]


VOCABULARY = _vocabulary()


def _name(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(parts)).capitalize()


def _report(event: int, feed: int) -> tuple[str, str]:
    """A title and ~130 words about event ``event`` as outlet ``feed`` writes it.

    Each event has its own made-up place and people and its own 40 words, so reports of one event
    share far more than reports of two; each outlet words it differently.
    """
    rng = random.Random(event)
    place, person, kind = _name(rng, 3), f"{_name(rng, 2)} {_name(rng, 3)}", rng.choice(KINDS)
    number = rng.randint(20, 9000)
    words = rng.sample(VOCABULARY, 40)
    own = random.Random(event * 1000 + feed)
    sentences = [f"A {kind} hit {place} on Monday, and {number:,} people were affected, {person} said."]
    for _ in range(8):
        picked = [own.choice(words) for _ in range(12)]
        sentences.append(f"{' '.join(picked).capitalize()} in {place}, {person} said.")
    title = f"{kind.capitalize()} in {place}: {number:,} affected"
    return title, " ".join(sentences)


class _Site:
    def __init__(self, feeds: int, items: int, latency: float) -> None:
        self.feeds, self.items, self.latency = feeds, items, latency
        self.events = max(1, feeds * items // 10)

    def event_of(self, feed: int, item: int) -> int:
        return (feed * self.items + item) % self.events

    def feed(self, feed: int, base: str) -> bytes:
        entries = []
        for item in range(self.items):
            title, text = _report(self.event_of(feed, item), feed)
            link = f"{base}/p/{feed}/{item}.html"
            entries.append(
                f"<item><guid>f{feed}-{item}</guid><title>{html.escape(title)}</title><link>{link}</link>"
                f"<description>{html.escape(text[:160])}</description>"
                "<pubDate>Mon, 02 Mar 2026 07:00:00 GMT</pubDate></item>"
            )
        return (
            f"<?xml version='1.0'?><rss version='2.0'><channel><title>Outlet {feed}</title>"
            f"{''.join(entries)}</channel></rss>"
        ).encode()

    def page(self, feed: int, item: int) -> bytes:
        title, text = _report(self.event_of(feed, item), feed)
        paragraphs = "".join(f"<p>{html.escape(s)}.</p>" for s in text.split(". "))
        return (
            f"<!doctype html><html><head><title>{html.escape(title)}</title></head><body>"
            f"<nav>Home | World</nav><header><h1>{html.escape(title)}</h1></header>"
            f"<article>{paragraphs}</article><footer>Outlet {feed}</footer></body></html>"
        ).encode()


def _serve(site: _Site) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if site.latency:
                time.sleep(site.latency)
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            parts = self.path.strip("/").split("/")
            body, kind = None, "text/html"
            try:
                if parts[0] == "feed" and len(parts) == 2:
                    body, kind = site.feed(int(parts[1].removesuffix(".xml")), base), "application/rss+xml"
                elif parts[0] == "p" and len(parts) == 3:
                    body = site.page(int(parts[1]), int(parts[2].removesuffix(".html")))
            except ValueError:
                body = None
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class _FetchOnly(Watcher):
    """A watcher that stops before the pipeline: fetch and extraction alone."""

    def _store(self, polled, new_jobs, update_jobs, already):  # type: ignore[no-untyped-def]
        return PollReport(polled=len(polled), added=sum(1 for j in new_jobs if j.status == "page"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--feeds", type=int, default=50)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds each response is delayed")
    parser.add_argument("--fetch-only", action="store_true", help="fetch and extract, no pipeline")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="section.name=value")
    args = parser.parse_args()

    settings = Settings()
    base = {"fetch.allow_private": "true", "fetch.host_delay": "0"}
    base["fetch.host_concurrency"] = str(settings.fetch.workers)
    settings = settings.with_overrides(base).with_overrides(args.overrides)
    site = _Site(args.feeds, args.items, args.latency)
    server = _serve(site)
    port = server.server_address[1]
    with tempfile.TemporaryDirectory() as tmp, Desk.open(Path(tmp) / "bench.db", settings) as desk:
        add_sources(desk, [f"http://127.0.0.1:{port}/feed/{f}.xml" for f in range(args.feeds)])
        watcher = (_FetchOnly if args.fetch_only else Watcher)(desk)
        began = time.perf_counter()
        report = watcher.poll()
        wall = time.perf_counter() - began
        stats = watcher.fetcher.stats
        articles = desk.store.count_articles()
        stories = len(desk.store.story_ids())
        watcher.close()
    server.shutdown()

    items = report.items
    f = settings.fetch
    print(
        f"watch --once: {args.feeds} feeds x {args.items} items on 127.0.0.1 (latency {args.latency:g} s), "
        f"workers {f.workers}, per-host concurrency {f.host_concurrency}, host delay {f.host_delay:g} s"
        + (", fetch only (no pipeline)" if args.fetch_only else "")
    )
    print(
        f"  items            {items}  ({report.added} stored as {'pages' if args.fetch_only else 'articles'})"
    )
    if not args.fetch_only:
        print(f"  stored           {articles} articles, {stories} stories")
    print(f"  wall             {wall:.1f} s   {items / wall:.1f} items/s")
    print(
        f"  fetching         {report.fetch_seconds:.1f} s   {report.fetch_seconds / wall:.0%} of the poll (waiting)"
    )
    if not args.fetch_only:
        print(
            f"  pipeline, store  {report.ingest_seconds:.1f} s   {report.ingest_seconds / wall:.0%} of the poll"
        )
    print(
        f"  fetcher sums     {stats.requests} requests, {stats.bytes / 1e6:.1f} MB, "
        f"{stats.network_seconds:.1f} s in requests, {stats.polite_seconds:.1f} s waiting for a host's turn "
        "(summed over threads; includes waiting for the GIL while other threads extract pages)"
    )


if __name__ == "__main__":
    main()
