"""The web app: pages render, the JSON API keeps its shapes, article text is escaped."""

from __future__ import annotations

import json

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
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
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
    return TestClient(create_app(db))


def test_web_api_stories_and_story(client: TestClient) -> None:
    stories = client.get("/api/stories").json()
    assert len(stories) == 1 and stories[0]["article_count"] == 1
    brief = client.get(f"/api/stories/{stories[0]['id']}").json()
    assert brief["id"] == stories[0]["id"] and len(brief["articles"]) == 1
    assert client.get("/api/stories/nope").status_code == 404


def test_web_api_search_and_article(client: TestClient) -> None:
    hits = client.get("/api/search", params={"q": "wildfire"}).json()
    assert len(hits) == 1
    article = client.get(f"/api/articles/{hits[0]['id']}").json()
    assert article["text"].startswith("Firefighters") and "raw_text" in article
    assert client.get("/api/search", params={"q": ""}).status_code == 422


@pytest.mark.parametrize("page", ["/", "/story", "/article", "/search?q=wildfire"])
def test_web_pages_escape_article_text(client: TestClient, page: str) -> None:
    if page == "/story":
        page = "/stories/" + client.get("/api/stories").json()[0]["id"]
    elif page == "/article":
        page = "/articles/" + client.get("/api/search", params={"q": "wildfire"}).json()[0]["id"]
    response = client.get(page)
    assert response.status_code == 200
    assert "<script>alert" not in response.text
    assert "Wildfire" in response.text or "wildfire" in response.text


def test_web_unknown_pages_404(client: TestClient) -> None:
    assert client.get("/stories/nope").status_code == 404
    assert client.get("/articles/nope").status_code == 404
