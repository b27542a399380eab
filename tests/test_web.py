"""The web app: pages render, the JSON API keeps its shapes, article text is escaped."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from storydesk.api import Desk
from storydesk.web import create_app

EVIL = '<script>alert("x")</script>'
TEXT = (
    "Firefighters contained a wildfire near Valencia on Friday after it burned 3,000 hectares, "
    "the regional emergency service said. About 500 people were evacuated."
)


@pytest.fixture(scope="module")
def web_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("web")
    src = folder / "in.jsonl"
    record = {
        "id": "w1",
        "title": f"Wildfire {EVIL} contained",
        "text": TEXT + " " + EVIL,
        "published": "2022-08-05",
    }
    src.write_text(json.dumps(record) + "\n", encoding="utf-8")
    db = folder / "desk.db"
    with Desk.open(db) as desk:
        desk.ingest([src])
    return db


@pytest.fixture(scope="module")
def client(web_db: Path) -> TestClient:
    return TestClient(create_app(web_db))


def _items(client: TestClient, path: str, **params: object) -> list[dict]:
    page = client.get(path, params=params).json()
    assert set(page) == {"items", "next"}
    return page["items"]


def test_web_api_stories_and_story(client: TestClient) -> None:
    stories = _items(client, "/api/stories")
    assert len(stories) == 1 and stories[0]["article_count"] == 1
    brief = client.get(f"/api/stories/{stories[0]['id']}").json()
    assert brief["id"] == stories[0]["id"] and len(brief["articles"]) == 1
    missing = client.get("/api/stories/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_web_api_search_and_article(client: TestClient) -> None:
    hits = _items(client, "/api/search", q="wildfire")
    assert len(hits) == 1
    article = client.get(f"/api/articles/{hits[0]['id']}").json()
    assert article["text"].startswith("Firefighters") and "raw_text" in article
    empty = client.get("/api/search", params={"q": ""})
    assert empty.status_code == 422 and set(empty.json()["error"]) == {"code", "message"}


@pytest.mark.parametrize("page", ["/", "/story", "/article", "/search?q=wildfire"])
def test_web_pages_escape_article_text(client: TestClient, page: str) -> None:
    if page == "/story":
        page = "/stories/" + _items(client, "/api/stories")[0]["id"]
    elif page == "/article":
        page = "/articles/" + _items(client, "/api/search", q="wildfire")[0]["id"]
    response = client.get(page)
    assert response.status_code == 200
    assert "<script>alert" not in response.text
    assert "Wildfire" in response.text or "wildfire" in response.text


def test_web_unknown_pages_404(client: TestClient) -> None:
    assert client.get("/stories/nope").status_code == 404
    assert client.get("/articles/nope").status_code == 404


ATOM = "{http://www.w3.org/2005/Atom}"


def _atom(client: TestClient, path: str) -> ET.Element:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    assert "<script>" not in response.text  # escaped, never raw markup
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed" and root.find(f"{ATOM}updated") is not None
    return root


def test_web_atom_stories_feed_lists_stories_escaped(client: TestClient) -> None:
    story = _items(client, "/api/stories")[0]
    root = _atom(client, "/feeds/stories.atom")
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 1
    entry = entries[0]
    assert entry.findtext(f"{ATOM}title") == story["headline"] and EVIL in story["headline"]
    assert entry.findtext(f"{ATOM}id") == f"urn:storydesk:story:{story['id']}"
    link = entry.find(f"{ATOM}link")
    assert link is not None and link.get("href", "").endswith(f"/stories/{story['id']}")


def test_web_atom_story_feed_lists_its_articles(client: TestClient) -> None:
    story = _items(client, "/api/stories")[0]
    root = _atom(client, f"/feeds/story/{story['id']}.atom")
    entries = root.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in entries] == [
        f"urn:storydesk:article:{a}" for a in story["article_ids"]
    ]
    assert "Firefighters" in (entries[0].findtext(f"{ATOM}summary") or "")
    assert client.get("/feeds/story/nope.atom").status_code == 404


def test_web_atom_entity_feed(client: TestClient) -> None:
    assert len(_atom(client, "/feeds/entity/Valencia.atom").findall(f"{ATOM}entry")) == 1
    assert _atom(client, "/feeds/entity/Atlantis.atom").findall(f"{ATOM}entry") == []


def test_web_shows_alert_hits_escaped(web_db: Path, client: TestClient) -> None:
    with Desk.open(web_db) as desk:
        desk.add_alert("wildfire")
        desk.add_alert("earthquake")
        hits = desk.check_alerts()
    assert [h["term"] for h in hits] == ["wildfire"]
    assert client.get("/api/alerts").json()["terms"] == ["wildfire", "earthquake"]
    page = client.get("/").text
    assert "Alerts" in page and "<script>alert" not in page and "&lt;script&gt;" in page
