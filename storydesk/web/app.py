"""FastAPI app: HTML pages for people, ``/api/...`` JSON for programs.

Each request opens the desk's SQLite file on its own connection (SQLite
connections are not shared across threads); templates autoescape everything,
since article text is untrusted.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from storydesk.api import Desk, article_summary, story_summary
from storydesk.config import Settings
from storydesk.errors import NotFound, StorydeskError
from storydesk.models import Story
from storydesk.web import atom

_HERE = Path(__file__).parent
FEED_ENTRIES = 50  # entries per Atom feed


def create_app(db_path: str | Path, settings: Settings | None = None, *, create: bool = True) -> FastAPI:
    """A web app serving the desk stored at ``db_path`` (created if missing, unless ``create`` is False)."""
    settings = settings or Settings()
    # Open once up front so a bad path fails at start-up, not on the first request.
    Desk.open(db_path, settings, create=create).close()
    app = FastAPI(title="storydesk", description="Stories, facts and cited briefs from a news stream.")
    templates = Jinja2Templates(directory=str(_HERE / "templates"))
    app.mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static")

    def desk() -> Iterator[Desk]:
        d = Desk.open(db_path, settings, create=False)
        try:
            yield d
        finally:
            d.close()

    @app.exception_handler(NotFound)
    def _not_found(request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=404)

    @app.exception_handler(StorydeskError)
    def _failed(request: Request, exc: StorydeskError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=400)

    # --- JSON API ---------------------------------------------------------------

    @app.get("/api/stories")
    def api_stories(d: Desk = Depends(desk)) -> list[dict[str, Any]]:
        """Every story (the shape of `storydesk stories --json`)."""
        return [story_summary(s) for s in d.stories()]

    @app.get("/api/stories/{story_id}")
    def api_story(story_id: str, d: Desk = Depends(desk)) -> dict[str, Any]:
        """A story's brief (the shape of `storydesk show --format json`)."""
        return d.brief_dict(story_id)

    @app.get("/api/articles")
    def api_articles(story: str | None = None, d: Desk = Depends(desk)) -> list[dict[str, Any]]:
        return [article_summary(a, d.story_of(a.id), d.wire_origin(a.id)) for a in d.articles(story)]

    @app.get("/api/articles/{article_id}")
    def api_article(article_id: str, d: Desk = Depends(desk)) -> dict[str, Any]:
        a = d.article(article_id)
        data = article_summary(a, d.story_of(a.id), d.wire_origin(a.id))
        data.update(
            text=a.text,
            raw_text=a.raw_text,
            dateline=a.dateline,
            author=a.author,
            duplicate_of=d.duplicate_of(a.id),
            cleaning=[{"kind": s.kind, "removed": s.removed, "replacement": s.replacement} for s in a.steps],
        )
        return data

    @app.get("/api/articles/{article_id}/why")
    def api_why(article_id: str, d: Desk = Depends(desk)) -> dict[str, Any]:
        return d.why(article_id)

    @app.get("/api/search")
    def api_search(
        q: str = Query(..., min_length=1), limit: int = Query(20, ge=1, le=200), d: Desk = Depends(desk)
    ) -> list[dict[str, Any]]:
        return [
            {
                "id": h.article.id,
                "story": h.story_id,
                "title": h.article.title,
                "rank": h.rank,
                "snippet": h.snippet,
            }
            for h in d.search(q, limit)
        ]

    @app.get("/api/sources")
    def api_sources(d: Desk = Depends(desk)) -> list[dict[str, Any]]:
        """The watched feeds (the shape of `storydesk sources --json`)."""
        from storydesk.watch import source_summary, sources

        return [source_summary(src) for src in sources(d)]

    @app.get("/api/alerts")
    def api_alerts(d: Desk = Depends(desk)) -> dict[str, Any]:
        """Watch terms and the latest stories that matched them (`storydesk alerts --json`)."""
        return {"terms": d.alerts(), "hits": d.alert_hits()}

    # --- Atom feeds ------------------------------------------------------------------

    def _atom(body: bytes) -> Response:
        return Response(body, media_type=atom.MEDIA_TYPE + "; charset=utf-8")

    def _story_entries(d: Desk, stories: list[Story], base: str) -> list[atom.Entry]:
        times = d.story_times()
        entries = []
        for story in stories:
            first, updated = times.get(story.id, (None, None))
            count = len(story.article_ids)
            origins = f"; wire origins: {', '.join(story.origins)}" if story.origins else ""
            entries.append(
                atom.Entry(
                    id=f"urn:storydesk:story:{story.id}",
                    title=story.headline,
                    link=f"{base}stories/{quote(story.id)}",
                    updated=atom.rfc3339(updated),
                    published=atom.rfc3339(first) if first else None,
                    summary=f"{count} article{'s' if count != 1 else ''}{origins}",
                )
            )
        entries.sort(key=lambda e: (e.updated, e.id), reverse=True)
        return entries

    @app.get("/feeds/stories.atom")
    def feed_stories(request: Request, d: Desk = Depends(desk)) -> Response:
        """New and updated stories, the most recently changed first (an Atom feed)."""
        base = str(request.base_url)
        entries = _story_entries(d, d.stories(), base)[:FEED_ENTRIES]
        return _atom(
            atom.feed(
                id="urn:storydesk:stories",
                title="storydesk: stories",
                self_link=str(request.url),
                link=base,
                entries=entries,
            )
        )

    @app.get("/feeds/story/{story_id}.atom")
    def feed_story(request: Request, story_id: str, d: Desk = Depends(desk)) -> Response:
        """One story's articles, the most recently stored or changed first (an Atom feed)."""
        story = d.story(story_id)
        base = str(request.base_url)
        articles = d.articles(story.id)
        times = d.article_times([a.id for a in articles])
        entries = []
        for a in articles:
            stored, changed = times.get(a.id, (None, None))
            entries.append(
                atom.Entry(
                    id=f"urn:storydesk:article:{a.id}",
                    title=a.title or a.text[:120],
                    link=a.url or f"{base}articles/{quote(a.id)}",
                    updated=atom.rfc3339(changed),
                    published=atom.rfc3339(a.published_at or a.published or stored),
                    summary=" ".join(a.text.split())[:400],
                )
            )
        entries.sort(key=lambda e: (e.updated, e.id), reverse=True)
        return _atom(
            atom.feed(
                id=f"urn:storydesk:story:{story.id}",
                title=f"storydesk: {story.headline}",
                self_link=str(request.url),
                link=f"{base}stories/{quote(story.id)}",
                entries=entries[:FEED_ENTRIES],
            )
        )

    @app.get("/feeds/entity/{name}.atom")
    def feed_entity(request: Request, name: str, d: Desk = Depends(desk)) -> Response:
        """Stories naming this person, organisation or place, the most recently changed first (Atom)."""
        base = str(request.base_url)
        entries = _story_entries(d, d.entity_stories(name, FEED_ENTRIES), base)
        return _atom(
            atom.feed(
                id=f"urn:storydesk:entity:{quote(name)}",
                title=f"storydesk: {name}",
                self_link=str(request.url),
                link=base,
                entries=entries,
            )
        )

    # --- HTML pages ---------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    def page_stories(request: Request, d: Desk = Depends(desk)) -> HTMLResponse:
        rows = [story_summary(s) for s in d.stories()]
        context = {"stories": rows, "stats": d.stats(), "alerts": d.alert_hits(20)}
        return templates.TemplateResponse(request, "stories.html", context)

    @app.get("/stories/{story_id}", response_class=HTMLResponse)
    def page_story(request: Request, story_id: str, d: Desk = Depends(desk)) -> HTMLResponse:
        try:
            brief = d.brief_dict(story_id)
            body = Markup(d.render(story_id, "html"))  # rendered by the brief's own autoescaped template
        except NotFound as exc:
            raise HTTPException(404, str(exc)) from exc
        return templates.TemplateResponse(request, "story.html", {"brief": brief, "body": body})

    @app.get("/articles/{article_id}", response_class=HTMLResponse)
    def page_article(request: Request, article_id: str, d: Desk = Depends(desk)) -> HTMLResponse:
        try:
            a = d.article(article_id)
        except NotFound as exc:
            raise HTTPException(404, str(exc)) from exc
        context = {
            "a": a,
            "story": d.story_of(a.id),
            "wire": d.wire_origin(a.id),
            "duplicate_of": d.duplicate_of(a.id),
        }
        return templates.TemplateResponse(request, "article.html", context)

    @app.get("/search", response_class=HTMLResponse)
    def page_search(request: Request, q: str = "", d: Desk = Depends(desk)) -> HTMLResponse:
        hits = d.search(q, 50) if q.strip() else []
        return templates.TemplateResponse(request, "search.html", {"q": q, "hits": hits})

    return app
