"""The shipped live-demo site (demo/live/) serves feeds and pages the watcher can read."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from storydesk.ingest.html import extract_html
from storydesk.models import RawDocument, Source
from storydesk.watch import read_listing

DEMO = Path(__file__).resolve().parent.parent / "demo" / "live"


def _server_module() -> Any:
    spec = importlib.util.spec_from_file_location("demo_live_server", DEMO / "server.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_demo_live_releases_reports_in_turn_and_applies_the_update() -> None:
    site = _server_module().Site(step=1000.0)
    base = "http://127.0.0.1:8765"
    first = read_listing(site.feed("wire", base), f"{base}/feeds/wire.xml")
    assert first.error is None and len(first.items) == 1  # one report out at the start
    assert read_listing(site.feed("daily", base), "daily").items == ()  # nothing yet: an empty feed
    site.start -= 1000.0 * len(site.stories)  # every release time has passed
    listings = {name: read_listing(site.feed(name, base), name) for name in ("wire", "daily", "aggregator")}
    assert all(listing.error is None for listing in listings.values())
    assert sum(len(listing.items) for listing in listings.values()) > len(
        site.stories
    )  # the aggregator relinks
    links = {item.url for listing in listings.values() for item in listing.items}
    assert any("/go/" in (link or "") for link in links)
    updated = next(s for s in site.released() if s["slug"] == site.updates[0]["slug"])
    assert updated["title"] == site.updates[0]["title"]
    for story in site.released():
        page = site.page(story["slug"])
        assert page is not None
        doc = extract_html(page, Source(story["slug"]))
        assert isinstance(doc, RawDocument) and doc.text is not None
        assert story["text"].split(". ")[1][:40] in doc.text  # the report's own text, extracted
        assert "Copyright" not in doc.text and "Home" not in doc.text
    assert site.page("no-such-report") is None
