"""FastAPI app: HTML pages for people, ``/api/...`` JSON for programs.

Each request opens the desk's SQLite file on its own connection (SQLite
connections are not shared across threads); templates autoescape everything,
since article text is untrusted, and only http(s) URLs ever become links.

Safe by default: every response carries a Content-Security-Policy with no inline script or style,
and ``X-Content-Type-Options: nosniff``; a write request (POST) from another machine needs the
``web.token`` bearer token, and its body is capped at ``web.max_body`` bytes. Errors have one JSON
shape, ``{"error": {"code", "message"}}``, and a browser asking for HTML gets an HTML page instead.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import ipaddress
import json
from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from storydesk.api import (
    SORTS,
    Desk,
    StoryFilter,
    article_summary,
)
from storydesk.brief import safe_url
from storydesk.config import Settings
from storydesk.errors import ConfigError, NotFound, StorydeskError
from storydesk.extract.serialise import extraction_from_json
from storydesk.models import Story
from storydesk.web import atom, render

_HERE = Path(__file__).parent
FEED_ENTRIES = 50  # entries per Atom feed
MAX_LIMIT = 500  # the most items one page may ask for
LIMIT_HELP = f"Items per page (up to {MAX_LIMIT}; web.page_size when not given)."
CURSOR_HELP = "The `next` of the previous page (absent: the first page)."

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    422: "invalid",
    500: "internal",
}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]


def is_local(host: str | None) -> bool:
    """True when a client address is this machine (a loopback address)."""
    if not host:
        return False
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


class Guard:
    """ASGI middleware: security headers on every response; token and body cap on write requests."""

    def __init__(self, app: ASGI, *, token: str, max_body: int, hosts: tuple[str, ...] = ()) -> None:
        self.app = app
        self.token = token
        self.max_body = max_body
        self.hosts = frozenset(h.casefold().strip("[]") for h in hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _GUARDED]
                message["headers"] = headers + SECURITY_HEADERS
            await send(message)

        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if self.hosts and _hostname(headers.get("host", "")) not in self.hosts:
            await _plain_error(send_with_headers, 400, "this desk does not answer to that host name")
            return
        if scope["method"] not in WRITE_METHODS:
            await self.app(scope, receive, send_with_headers)
            return
        origin = headers.get("origin")
        if origin and origin != "null" and urlsplit(origin).netloc != headers.get("host", ""):
            # A page on another site posting into this desk (a browser sends its Origin): refused.
            await _plain_error(send_with_headers, 403, "a write from another site's page is refused")
            return
        client = scope.get("client")
        if not is_local(client[0] if client else None):
            given = headers.get("authorization", "")
            expected = f"Bearer {self.token}"
            if not self.token:
                await _plain_error(
                    send_with_headers, 403, "writes from other machines are off: set web.token"
                )
                return
            if not hmac.compare_digest(given.encode(), expected.encode()):
                await _plain_error(send_with_headers, 401, "a write from another machine needs the token")
                return
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _plain_error(send_with_headers, 413, f"the body is over {self.max_body} bytes")
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_body:
                await _plain_error(send_with_headers, 413, f"the body is over {self.max_body} bytes")
                return
            if not message.get("more_body"):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send_with_headers)


_GUARDED = {k for k, _ in SECURITY_HEADERS}
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def _hostname(host: str) -> str:
    """The name of a Host header, without its port ("[::1]:8000" -> "::1")."""
    host = host.strip().casefold()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


async def _plain_error(send: Send, status: int, message: str) -> None:
    body = json.dumps(_error_body(status, message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _error_body(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code or STATUS_CODES.get(status, "error"), "message": message}}


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The offset a cursor stands for; ConfigError (a 400) for one this app did not make."""
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, number = raw.partition(":")
        if kind == "o" and number.isdigit():
            return int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ConfigError(f"bad cursor {cursor!r}: pass back the `next` of the previous page")


def page(items: Sequence[Any], limit: int, cursor: str | None) -> tuple[list[Any], str | None]:
    """One page of ``items`` and the cursor of the next (None on the last page)."""
    start = decode_cursor(cursor)
    chunk = list(items[start : start + limit])
    return chunk, (encode_cursor(start + limit) if start + limit < len(items) else None)


def _date(value: str | None, name: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"bad {name} {value!r}: use YYYY-MM-DD") from exc


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept


class AlertIn(BaseModel):
    """A watch term to add."""

    term: str = Field(..., min_length=1, max_length=200)


def create_app(
    db_path: str | Path,
    settings: Settings | None = None,
    *,
    create: bool = True,
    hosts: tuple[str, ...] | None = None,
) -> FastAPI:
    """A web app serving the desk stored at ``db_path`` (created if missing, unless ``create`` is False).

    ``hosts`` are the Host names it answers to (default ``web.allowed_hosts``; empty: any)."""
    settings = settings or Settings()
    web = settings.web
    # Open once up front so a bad path fails at start-up, not on the first request.
    Desk.open(db_path, settings, create=create).close()
    app = FastAPI(
        title="storydesk",
        description="Stories, facts and cited briefs from a news stream. Lists are paged: "
        '`{"items": [...], "next": cursor}`; pass `cursor=<next>` for the next page. '
        'Errors are `{"error": {"code", "message"}}`.',
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    allowed = web.allowed_hosts if hosts is None else hosts
    app.add_middleware(Guard, token=web.token, max_body=web.max_body, hosts=allowed)
    templates = Jinja2Templates(directory=str(_HERE / "templates"))
    templates.env.filters.update(safe_url=safe_url, marked=render.marked, ticks=render.ticks)
    templates.env.globals.update(entity_url=lambda name: "/entities/" + quote(str(name), safe=""))
    app.mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static")

    def desk() -> Iterator[Desk]:
        d = Desk.open(db_path, settings, create=False)
        try:
            yield d
        finally:
            d.close()

    def limit_of(limit: int | None) -> int:
        return limit if limit is not None else web.page_size

    # --- errors: one JSON shape, or an HTML page for a browser ------------------------------

    def _error(request: Request, status: int, message: str) -> Response:
        if _wants_html(request):
            return templates.TemplateResponse(
                request, "error.html", {"status": status, "message": message}, status_code=status
            )
        return JSONResponse(_error_body(status, message), status_code=status)

    @app.exception_handler(NotFound)
    def _not_found(request: Request, exc: NotFound) -> Response:
        return _error(request, 404, str(exc))

    @app.exception_handler(StorydeskError)
    def _failed(request: Request, exc: StorydeskError) -> Response:
        return _error(request, 400, str(exc))

    @app.exception_handler(StarletteHTTPException)
    def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "error"
        if exc.status_code == 404 and message == "Not Found":
            message = f"nothing at {request.url.path}"
        return _error(request, exc.status_code, message)

    @app.exception_handler(RequestValidationError)
    def _invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("query", "body", "path"))
            problems.append(f"{where or 'request'}: {e.get('msg', 'invalid')}")
        return _error(request, 422, "; ".join(problems) or "invalid request")

    @app.exception_handler(Exception)
    def _crashed(request: Request, exc: Exception) -> Response:
        # Starlette still logs the traceback; the client gets the one error shape, no internals.
        response = _error(request, 500, "the desk failed to answer this request")
        # This handler answers outside the Guard middleware: add its headers here.
        for key, value in SECURITY_HEADERS:
            response.headers[key.decode()] = value.decode()
        return response

    # --- JSON API ---------------------------------------------------------------

    def story_filter(
        since: str | None = Query(None, description="Stories reaching this day or later (YYYY-MM-DD)."),
        until: str | None = Query(None, description="Stories begun on this day or earlier (YYYY-MM-DD)."),
        outlet: str | None = Query(None, description="With an article from this outlet."),
        origin: str | None = Query(None, description="With this wire agency or outlet as an origin."),
        place: str | None = Query(None, description="Naming this place."),
        person: str | None = Query(None, description="Naming this person."),
        organisation: str | None = Query(None, description="Naming this organisation."),
        conflicts: bool = Query(False, description="Only stories with a conflicting fact."),
    ) -> StoryFilter:
        return StoryFilter(
            since=_date(since, "since"),
            until=_date(until, "until"),
            outlet=outlet or None,
            origin=origin or None,
            place=place or None,
            person=person or None,
            organisation=organisation or None,
            conflicts=conflicts,
        )

    sort_help = "Order: " + ", ".join(SORTS) + " (rank, the default, is the order of `storydesk stories`)."

    @app.get("/api/stories")
    def api_stories(
        sort: str = Query("rank", description=sort_help),
        limit: int | None = Query(None, ge=1, le=MAX_LIMIT, description=LIMIT_HELP),
        cursor: str | None = Query(None, description=CURSOR_HELP),
        where: StoryFilter = Depends(story_filter),
        d: Desk = Depends(desk),
    ) -> dict[str, Any]:
        """Stories, ranked (`storydesk stories --json` gives the same items in the same order)."""
        items, nxt = page(d.listing(sort, where), limit_of(limit), cursor)
        return {"items": [r.to_dict() for r in items], "next": nxt}

    @app.get("/api/stories/{story_id}")
    def api_story(story_id: str, d: Desk = Depends(desk)) -> dict[str, Any]:
        """A story's brief (the shape of `storydesk show --format json`)."""
        return d.brief_dict(story_id)

    @app.get("/api/articles")
    def api_articles(
        story: str | None = Query(None, description="Only this story's articles."),
        limit: int | None = Query(None, ge=1, le=MAX_LIMIT, description=LIMIT_HELP),
        cursor: str | None = Query(None, description=CURSOR_HELP),
        d: Desk = Depends(desk),
    ) -> dict[str, Any]:
        """Articles in ingest order (a story's in date order), as `storydesk articles --json`."""
        items, nxt = page(d.articles(story), limit_of(limit), cursor)
        return {
            "items": [article_summary(a, d.story_of(a.id), d.wire_origin(a.id)) for a in items],
            "next": nxt,
        }

    @app.get("/api/articles/{article_id}")
    def api_article(article_id: str, d: Desk = Depends(desk)) -> dict[str, Any]:
        """One article: clean and raw text, cleaning steps, wire origin, story, duplicate."""
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
        """Why the article joined its story (as `storydesk why --json`)."""
        return d.why(article_id)

    @app.get("/api/entities/{name:path}")
    def api_entity(name: str, d: Desk = Depends(desk)) -> dict[str, Any]:
        """A person, organisation or place: canonical name, spellings, stories (newest first), quotes."""
        return d.entity(name).to_dict()

    @app.get("/api/search")
    def api_search(
        q: str = Query(..., min_length=1, description="Words or an SQLite FTS5 query."),
        limit: int | None = Query(None, ge=1, le=MAX_LIMIT, description=LIMIT_HELP),
        cursor: str | None = Query(None, description=CURSOR_HELP),
        d: Desk = Depends(desk),
    ) -> dict[str, Any]:
        """Articles matching a full-text search, best first (as `storydesk search --json`)."""
        size = limit_of(limit)
        start = decode_cursor(cursor)
        hits = d.search(q, start + size + 1)
        items, nxt = page(hits, size, cursor)
        return {
            "items": [
                {
                    "id": h.article.id,
                    "story": h.story_id,
                    "title": h.article.title,
                    "rank": h.rank,
                    "snippet": h.snippet,
                }
                for h in items
            ],
            "next": nxt,
        }

    @app.get("/api/sources")
    def api_sources(
        limit: int | None = Query(None, ge=1, le=MAX_LIMIT, description=LIMIT_HELP),
        cursor: str | None = Query(None, description=CURSOR_HELP),
        d: Desk = Depends(desk),
    ) -> dict[str, Any]:
        """The watched feeds (items have the shape of `storydesk sources --json`)."""
        from storydesk.watch import source_summary, sources

        items, nxt = page(sources(d), limit_of(limit), cursor)
        return {"items": [source_summary(src) for src in items], "next": nxt}

    @app.get("/api/alerts")
    def api_alerts(d: Desk = Depends(desk)) -> dict[str, Any]:
        """Watch terms and the latest stories that matched them (`storydesk alerts --json`)."""
        return {"terms": d.alerts(), "hits": d.alert_hits()}

    @app.post("/api/alerts", status_code=201)
    def api_add_alert(alert: AlertIn, d: Desk = Depends(desk)) -> dict[str, Any]:
        """Add a watch term (as `storydesk alerts add`). From another machine this needs the token."""
        added = d.add_alert(alert.term)
        return {"term": " ".join(alert.term.split()), "added": added}

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
                    link=safe_url(a.url) or f"{base}articles/{quote(a.id)}",
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

    def _page(request: Request, name: str, context: dict[str, Any]) -> HTMLResponse:
        return templates.TemplateResponse(request, name, context)

    @app.get("/", response_class=HTMLResponse)
    def page_stories(
        request: Request,
        sort: str = "rank",
        limit: int | None = Query(None, ge=1, le=MAX_LIMIT, description=LIMIT_HELP),
        cursor: str | None = Query(None, description=CURSOR_HELP),
        where: StoryFilter = Depends(story_filter),
        d: Desk = Depends(desk),
    ) -> HTMLResponse:
        """The stories, ranked, with sort options, filters, pages and badges."""
        rows, nxt = page(d.listing(sort, where), limit_of(limit), cursor)
        now = dt.datetime.now(dt.UTC)
        since = now - dt.timedelta(hours=web.recent_hours)
        visited = request.cookies.get("last_visit")
        if visited:
            try:
                last = dt.datetime.fromisoformat(visited)
                since = min(since, last if last.tzinfo else last.replace(tzinfo=dt.UTC))
            except ValueError:
                pass
        params = {k: v for k, v in request.query_params.items() if k != "cursor" and v}
        context = {
            "rows": rows,
            "conflicts": {r.story.id: (r.conflicts or d.has_conflicts(r.story.id)) for r in rows},
            "updated_since": since.isoformat(timespec="seconds"),
            "updated": {r.story.id for r in rows if _after(r.last_changed, since)},
            "stats": d.stats(),
            "alerts": d.alert_hits(20),
            "sort": sort,
            "sorts": SORTS,
            "where": where,
            "next_url": ("/?" + urlencode({**params, "cursor": nxt})) if nxt else None,
            "sort_url": lambda s: (
                "/?" + urlencode({**{k: v for k, v in params.items() if k != "sort"}, "sort": s})
            ),
            "first_url": ("/?" + urlencode(params)) if cursor else None,
        }
        response = _page(request, "stories.html", context)
        response.set_cookie("last_visit", now.isoformat(timespec="seconds"), httponly=True, samesite="lax")
        return response

    @app.get("/stories/{story_id}", response_class=HTMLResponse)
    def page_story(request: Request, story_id: str, d: Desk = Depends(desk)) -> HTMLResponse:
        """A story's brief: facts, quotes by speaker, entities, timeline, what each source adds, sources."""
        brief = d.brief_dict(story_id)
        articles = {a["id"]: a for a in brief["articles"]}
        citations = {c["number"]: c for c in brief["citations"]}
        speakers: dict[str, list[dict[str, Any]]] = {}
        for q in brief["quotes"]:
            speakers.setdefault(q["speaker"] or "Unattributed", []).append(q)
        context = {
            "brief": brief,
            "headline": render.full_headline(brief["headline"], brief["articles"]),
            "articles": articles,
            "citations": citations,
            "speakers": sorted(speakers.items(), key=lambda kv: (-len(kv[1]), kv[0].casefold())),
            "timeline": render.timeline(brief["articles"]),
            "cite_url": lambda n: _cite_url(citations.get(n)),
        }
        return _page(request, "story.html", context)

    @app.get("/articles/{article_id}", response_class=HTMLResponse)
    def page_article(
        request: Request,
        article_id: str,
        cite: str | None = Query(None, description="START-END: the cited span to highlight."),
        d: Desk = Depends(desk),
    ) -> HTMLResponse:
        """An article as prose with entities, quantities and quotes highlighted; raw text a click away."""
        a = d.article(article_id)
        span = None
        if cite:
            start, sep, end = cite.partition("-")
            if sep and start.isdigit() and end.isdigit() and int(start) < int(end):
                span = (int(start), int(end))
        raw = d.store.extractions([a.id]).get(a.id)
        extraction = extraction_from_json(raw) if raw else None
        story_id = d.story_of(a.id)
        story = d.store.story(story_id) if story_id else None
        duplicate_of = d.duplicate_of(a.id)
        named: dict[str, tuple[str, str]] = {}
        if extraction is not None:
            for e in extraction.entities:
                if e.label in ("PERSON", "ORG", "PLACE"):
                    named.setdefault(e.canonical, (e.label, e.text))
        context = {
            "a": a,
            "headline": render.full_headline(a.title or a.id, [{"text": a.text}]),
            "prose": render.prose(a, extraction, span),
            "story": story,
            "wire": d.store.dedup_result(a.id).wire_origin,
            "duplicate_of": d.store.article(duplicate_of) if duplicate_of else None,
            "duplicates": [
                x
                for dup, orig in d.store.duplicates().items()
                if orig == a.id and (x := d.store.article(dup))
            ],
            "named": sorted(named.items(), key=lambda kv: (kv[1][0], kv[0])),
            "revisions": d.revisions(a.id),
        }
        return _page(request, "article.html", context)

    @app.get("/articles/{article_id}/why", response_class=HTMLResponse)
    def page_why(request: Request, article_id: str, d: Desk = Depends(desk)) -> HTMLResponse:
        """How the article joined its story, in words and numbers."""
        why = d.why(article_id)
        story = d.store.story(why["story"])
        runner = d.store.story(why["runner_up"]) if why.get("runner_up") else None
        return _page(request, "why.html", {"why": why, "story": story, "runner": runner})

    @app.get("/entities/{name:path}", response_class=HTMLResponse, response_model=None)
    def page_entity(request: Request, name: str, d: Desk = Depends(desk)) -> Response:
        """Every story naming a person, organisation or place, over time, with their quotes."""
        entity = d.entity(name)
        if entity.name != name:
            return RedirectResponse("/entities/" + quote(entity.name, safe=""), status_code=302)
        headlines = {s.id: s.headline for s in entity.stories}
        ids = [a for s in entity.stories for a in s.article_ids][:2000]
        wire = d.store.wire_origins(ids)
        dated = [
            {
                "published": a.published.isoformat() if a.published else None,
                "published_at": a.published_at.isoformat() if a.published_at else None,
                "wire_origin": wire.get(a.id),
                "outlet": a.outlet,
            }
            for a in d.store.articles(ids)
        ]
        context = {"entity": entity, "headlines": headlines, "timeline": render.timeline(dated)}
        return _page(request, "entity.html", context)

    @app.get("/search", response_class=HTMLResponse)
    def page_search(request: Request, q: str = "", d: Desk = Depends(desk)) -> HTMLResponse:
        """Stories and articles matching a search, grouped by story, matches in <mark>."""
        groups = d.search_stories(q, 200) if q.strip() else []
        return _page(request, "search.html", {"q": q, "groups": groups})

    @app.get("/docs", response_class=HTMLResponse)
    def page_docs(request: Request) -> HTMLResponse:
        """The API reference, from the OpenAPI schema (served at /openapi.json), with no script."""
        schema = app.openapi()
        routes = [
            {"path": path, "method": method.upper(), **op}
            for path, methods in schema["paths"].items()
            for method, op in methods.items()
        ]
        return _page(request, "docs.html", {"routes": routes, "info": schema["info"]})

    return app


def _after(stamp: str, since: dt.datetime) -> bool:
    try:
        when = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when >= since


def _cite_url(citation: dict[str, Any] | None) -> str:
    if citation is None:
        return "#"
    return f"/articles/{quote(citation['article'], safe='')}?cite={citation['start']}-{citation['end']}#cite"
