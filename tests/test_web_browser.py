"""End to end in a real browser: Debian's chromium driven by Playwright (never a downloaded browser).

A desk built from the seeds and the wire fixture is served by uvicorn on 127.0.0.1; the test reads it
as an analyst would, with JavaScript off (the pages need none), and writes a screenshot of each page
to test-artifacts/ for review.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from storydesk.api import Desk

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "wire_tajik.xml"


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("Debian's chromium is not installed (`make test` installs it with apt-get)")
    return found


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, seeds_dir: Path) -> Iterator[str]:
    import uvicorn

    from storydesk.web import create_app

    db = tmp_path_factory.mktemp("browser") / "desk.db"
    with Desk.open(db) as desk:
        desk.ingest([seeds_dir, FIXTURE])
    server = uvicorn.Server(
        uvicorn.Config(create_app(db), host="127.0.0.1", port=0, log_level="error", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")
    args = ["--no-sandbox"] if os.geteuid() == 0 else []  # chromium's sandbox refuses to run as root
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, headless=True, args=args)
        try:
            yield b
        finally:
            b.close()


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_browser_analyst_reads_the_seeds_story(served: str, browser: Any) -> None:
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

    # The stories page: sort, then filter.
    page.goto(served + "/")
    assert page.locator("h1").inner_text() == "Stories"
    rows = page.locator("table.stories tbody tr")
    assert rows.count() == 1
    _shot(page, "01-stories")
    page.locator('a[data-sort="articles"]').click()
    assert "sort=articles" in page.url and page.locator("p.sorts strong").inner_text() == "articles"
    page.fill('input[name="place"]', "Atlantis")
    page.click("form.filters button[type=submit]")
    assert "place=Atlantis" in page.url and page.locator("table.stories tbody tr").count() == 0
    assert "No story matches" in page.inner_text("main")
    page.fill('input[name="place"]', "Badakhshan")
    page.click("form.filters button[type=submit]")
    assert page.locator("table.stories tbody tr").count() == 1
    _shot(page, "02-stories-filtered")

    # The seeds' story: 20,000 corroborated, with its citations.
    page.locator("table.stories tbody tr a").first.click()
    assert "/stories/" in page.url
    headline = page.locator("h1").inner_text()
    assert "20,000" in headline and not headline.endswith("…")
    row = page.locator("table.facts tbody tr", has=page.locator("td.value", has_text="20,000")).first
    assert row.locator(".label").inner_text() == "corroborated"
    assert row.locator(".label").evaluate("e => getComputedStyle(e).fontWeight") in ("400", "normal")
    cites = row.locator("a.cite")
    assert cites.count() >= 2
    assert page.locator("svg.timeline rect").count() >= 2
    assert page.locator("dl.quotes dt").count() >= 2
    _shot(page, "03-story")

    # Following a citation lands on the highlighted sentence.
    cites.first.click()
    assert "/articles/" in page.url and page.url.endswith("#cite")
    mark = page.locator("mark#cite")
    assert mark.count() == 1 and "20,000" in mark.inner_text()
    assert mark.evaluate("e => getComputedStyle(e).backgroundColor") not in (
        "rgba(0, 0, 0, 0)",
        "transparent",
    )
    _shot(page, "04-article-cited")

    # Vladimir Putin's entity page, reached by his misspelt name too.
    page.goto(served + "/entities/Vladamir%20Putin")
    assert page.url.endswith("/entities/Vladimir%20Putin")
    assert page.locator("h1").inner_text() == "Vladimir Putin"
    assert "Vladamir Putin" in page.inner_text("main")
    assert page.locator("table.stories tbody tr").count() == 1
    _shot(page, "05-entity")

    # Search from the header.
    page.fill('header input[name="q"]', "Badakhshan")
    page.press('header input[name="q"]', "Enter")
    assert "/search?q=Badakhshan" in page.url
    assert page.locator("section.hit").count() == 1
    assert page.locator("section.hit mark").first.inner_text() == "Badakhshan"
    _shot(page, "06-search")

    # The API reference is local and readable without scripts.
    page.goto(served + "/docs")
    assert "/api/stories" in page.inner_text("main")
    _shot(page, "07-docs")
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
    context.close()


def test_browser_pages_look_the_same_with_javascript_on(served: str, browser: Any) -> None:
    """With scripts allowed, the CSP still holds and the pages raise no console errors."""
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(served + "/")
    page.locator("table.stories tbody tr a").first.click()
    assert page.locator("table.facts tbody tr").count() >= 1
    page.goto(served + "/stories/nope")
    assert page.locator("h1").inner_text() == "Not found"
    _shot(page, "08-not-found")
    assert [p for p in problems if "404" not in p] == []
    context.close()
