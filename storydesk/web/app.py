"""FastAPI app: HTML pages for people, ``/api/...`` JSON for programs.

Each request opens the desk's SQLite file on its own connection (SQLite
connections are not shared across threads); templates autoescape everything,
since article text is untrusted.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from storydesk.api import Desk, article_summary, story_summary
from storydesk.config import Settings
from storydesk.errors import NotFound, StorydeskError

_HERE = Path(__file__).parent


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

    # --- HTML pages ---------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    def page_stories(request: Request, d: Desk = Depends(desk)) -> HTMLResponse:
        rows = [story_summary(s) for s in d.stories()]
        return templates.TemplateResponse(request, "stories.html", {"stories": rows, "stats": d.stats()})

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
