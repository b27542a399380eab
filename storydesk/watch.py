"""The live desk: poll watched feeds, fetch new items' pages, keep every story current.

One poll takes the sources that are due, fetches their feeds (conditional GETs: a 304 costs
nothing), reads the new items, fetches their pages through the one guarded ``Fetcher`` (robots.txt,
per-host politeness) and extracts them with the HTML path ``ingest`` uses. All new items go through
``Desk.ingest_batch`` as one batch, in one transaction with the record of what was seen, so a
restart goes on where the last poll stopped and never ingests an item twice. An item whose page
cannot be fetched or extracted is kept as a headline-only article (its title and summary, marked
``headline_only``). An item that changes in its feed is fetched again and, when its page changed,
updates its article in place (``Desk.update_articles`` keeps the earlier text as a revision). A
source that fails backs off exponentially, capped, with the reason stored.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storydesk.api import Desk
from storydesk.errors import FetchError, StorydeskError
from storydesk.fetch import Fetcher, FetchResult, canonical_url, is_http_url
from storydesk.ingest.feeds import read_feed
from storydesk.ingest.html import extract_html
from storydesk.models import Article, FeedSource, RawDocument, Rejection, SeenItem, Source

_FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
_PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


# --- adding sources ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourcesAdded:
    """What ``sources add`` did: feeds now watched, feeds watched already, lines refused."""

    added: tuple[str, ...]
    known: tuple[str, ...]
    rejected: tuple[Rejection, ...]


def add_sources(desk: Desk, targets: Sequence[str]) -> SourcesAdded:
    """Watch each URL, or each URL listed in a file (one a line; blank lines and ``#`` comments skipped)."""
    added: list[str] = []
    known: list[str] = []
    rejected: list[Rejection] = []
    candidates: list[tuple[str, Source]] = []
    for target in targets:
        if is_http_url(target):
            candidates.append((target.strip(), Source(target)))
            continue
        path = Path(target)
        if not path.is_file():
            rejected.append(
                Rejection("sources", "neither an http(s) URL nor a readable file", Source(target))
            )
            continue
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            rejected.append(Rejection("sources", f"cannot read the file: {exc}", Source(target)))
            continue
        for number, line in enumerate(lines, 1):
            url = line.split("#", 1)[0].strip() if line.lstrip().startswith("#") else line.strip()
            if not url:
                continue
            if is_http_url(url):
                candidates.append((url, Source(target, number)))
            else:
                rejected.append(
                    Rejection("sources", f"not an http(s) URL: {url[:200]!r}", Source(target, number))
                )
    with desk.store.transaction():
        for url, _ in candidates:
            (added if desk.store.add_source(url) else known).append(url)
    return SourcesAdded(tuple(added), tuple(known), tuple(rejected))


def source_summary(source: FeedSource) -> dict[str, Any]:
    """The JSON of one ``storydesk sources --json`` row."""
    return {
        "url": source.url,
        "title": source.title,
        "kind": source.kind,
        "last_poll": source.last_poll.isoformat() if source.last_poll else None,
        "status": source.last_status,
        "new_items": source.last_new,
        "items": source.items,
        "errors": source.errors,
        "error": source.error,
        "next_poll": source.next_poll.isoformat() if source.next_poll else None,
    }


# --- reading a feed ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Listing:
    """A feed's items as raw documents (title, summary, link, date), or why it cannot be read."""

    items: tuple[RawDocument, ...] = ()
    title: str | None = None
    kind: str | None = None
    error: str | None = None  # the feed cannot be used
    warning: str | None = None  # it was read, but something is off


def read_listing(body: bytes, url: str) -> Listing:
    """Parse a fetched feed: RSS or Atom (through the ingest reader), or a news sitemap."""
    head = body[:4096].decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n").lower()
    if not head:
        return Listing(error="empty response: not a feed")
    if "<urlset" in head:
        return _read_sitemap(body, url)
    if head.startswith(("<!doctype html", "<html")) or ("<html" in head and "<rss" not in head):
        return Listing(error="not a feed: the URL serves an HTML page")
    problem, root, stamps = _xml_root(body)
    items: list[RawDocument] = []
    errors: list[str] = []
    for doc in read_feed(body, url):
        if isinstance(doc, Rejection):
            if doc.source.member is None:
                errors.append(doc.reason)
            continue
        stamp = stamps.get(doc.external_id or "") or stamps.get(doc.url or "")
        if stamp:  # the entry's own "updated" time: an edited entry is fetched again (see _fingerprint)
            doc = dataclasses.replace(doc, metadata={**doc.metadata, "feed_updated": stamp})
        items.append(doc)
    kind = "atom" if "<feed" in head else "rss"
    if not items:
        if problem:
            return Listing(error=f"malformed XML, no items could be read: {problem}")
        if root in {"rss", "feed", "rdf"}:
            return Listing((), None, kind)  # a feed with nothing in it yet: not a failure
        if root:
            return Listing(error=f"not a feed: the XML's root element is <{root}>")
        return Listing(error=errors[0] if errors else "the feed has no items")
    warning = f"malformed XML ({problem}); {len(items)} items read by the lenient parser" if problem else None
    return Listing(tuple(items), items[0].outlet, kind, warning=warning)


def _xml_root(body: bytes) -> tuple[str | None, str | None, dict[str, str]]:
    """Why ``body`` is not well-formed XML (or None), its root element's lower-case local name, and
    each item's or entry's updated time by its guid/id and by its link.

    Entities are never resolved and nothing is fetched.
    """
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)
    try:
        root = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError as exc:
        return str(exc), None, {}
    stamps: dict[str, str] = {}
    for node in root.iter("{*}item", "{*}entry", "item", "entry"):
        keys: list[str] = []
        stamp = None
        for child in node:
            if not isinstance(child.tag, str):
                continue
            name = etree.QName(child).localname.lower()
            text = " ".join((child.text or "").split())
            if name in {"guid", "id", "link"} and (text or child.get("href")):
                keys.append(text or " ".join(str(child.get("href")).split()))
            elif name in {"updated", "modified"} and text:
                stamp = text
        if stamp:
            stamps.update(dict.fromkeys(keys, stamp))
    return None, etree.QName(root).localname.lower() if isinstance(root.tag, str) else None, stamps


def _read_sitemap(body: bytes, url: str) -> Listing:
    """A news sitemap's <url> entries: location, and the news title, date and publication when given."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)
    try:
        root = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError as exc:
        return Listing(error=f"malformed XML sitemap: {exc}", kind="sitemap")
    items = []
    outlet = None
    for node in root.iter("{*}url"):
        loc = _child_text(node, "loc")
        if not loc:
            continue
        title = _child_text(node, "title")
        outlet = _child_text(node, "name") or outlet
        published = _child_text(node, "publication_date") or _child_text(node, "lastmod")
        items.append(
            RawDocument(
                source=Source(url, member=loc),
                format="feed",
                text="",
                external_id=loc,
                title=title,
                url=loc,
                published=published,
                outlet=_child_text(node, "name"),
            )
        )
    if not items:
        return Listing(error="the sitemap lists no URLs", kind="sitemap")
    return Listing(tuple(items), outlet, "sitemap")


def _child_text(node: Any, name: str) -> str | None:
    for child in node.iter(f"{{*}}{name}"):
        text = " ".join((child.text or "").split())
        if text:
            return text
    return None


# --- one poll -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourcePoll:
    """What one poll did with one source."""

    url: str
    status: int | None
    new: int
    error: str | None  # why it failed, or what was off with a feed that was read
    failed: bool = False


@dataclass(frozen=True, slots=True)
class PollReport:
    """What one poll did."""

    polled: int = 0
    not_modified: int = 0
    failed: int = 0
    items: int = 0  # new or changed items read from the feeds
    added: int = 0  # new articles stored
    headline_only: int = 0  # of those, stored from the feed's title and summary
    updated: int = 0  # stored articles replaced by a newer version of their page
    already: int = 0  # items whose article was stored already (another feed, the same link)
    rejected: tuple[Rejection, ...] = ()
    sources: tuple[SourcePoll, ...] = ()
    stories: int = 0
    new_stories: int = 0
    updated_stories: tuple[str, ...] = ()
    alerts: tuple[dict[str, Any], ...] = ()
    fetch_seconds: float = 0.0  # wall time fetching feeds and pages (network and politeness)
    ingest_seconds: float = 0.0  # wall time in the pipeline and the store
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["rejected"] = [
            {"path": r.source.path, "member": r.source.member, "stage": r.stage, "reason": r.reason}
            for r in self.rejected
        ]
        return data


@dataclass(slots=True)
class _Job:
    """One feed item to fetch and store (new), or to fetch again (changed in its feed)."""

    source: FeedSource
    key: str
    item: RawDocument
    link: str | None  # canonical URL of its page
    fingerprint: str
    previous: SeenItem | None = None
    validators: tuple[str | None, str | None] = (None, None)
    # filled by the page fetch
    doc: RawDocument | None = None
    status: str = "page"
    reason: str | None = None
    final: str | None = None
    fetched: FetchResult | None = None
    unchanged: bool = False  # the page answered 304
    aliases: list[_Job] = field(default_factory=list)  # the same link from other feeds this poll


class Watcher:
    """Polls a desk's sources; one per process (it keeps the models and the HTTP client warm)."""

    def __init__(
        self,
        desk: Desk,
        fetcher: Fetcher | None = None,
        *,
        interval: float | None = None,
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self.desk = desk
        self.settings = desk.settings
        self.fetcher = fetcher or Fetcher(self.settings.fetch)
        self.interval = float(interval if interval is not None else self.settings.watch.interval)
        self.clock = clock

    def close(self) -> None:
        self.fetcher.close()

    def __enter__(self) -> Watcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def poll(self, now: dt.datetime | None = None) -> PollReport:
        """Poll every source due at ``now``: fetch, read, store; returns what happened."""
        began = time.monotonic()
        now = now or self.clock()
        store = self.desk.store
        due = store.due_sources(now, self.interval)
        if not due:
            return PollReport(stories=len(store.story_ids()))
        fetch_began = time.monotonic()
        feeds = self._map(self._fetch_feed, due)
        fetch_seconds = time.monotonic() - fetch_began

        polled: dict[int, FeedSource] = {}
        jobs: list[_Job] = []
        by_link: dict[str, _Job] = {}
        already: list[tuple[_Job, str]] = []
        for source, outcome in zip(due, feeds, strict=True):
            polled[source.id] = self._read(source, outcome, now, jobs, by_link, already)

        fetch_began = time.monotonic()
        todo = [j for j in jobs if j.link is not None and self.settings.watch.fetch_pages]
        self._map(self._fetch_page, todo)
        for job in jobs:
            if job.link is None:
                self._headline(job, "the feed item has no link")
            elif not self.settings.watch.fetch_pages:
                self._headline(job, "page fetching is off (watch.fetch_pages)")
        fetch_seconds += time.monotonic() - fetch_began

        ingest_began = time.monotonic()
        new_jobs, update_jobs = self._sort(jobs, already)
        report = self._store(polled, new_jobs, update_jobs, already)
        alerts = tuple(self.desk.check_alerts())
        ingest_seconds = time.monotonic() - ingest_began
        return dataclasses.replace(
            report,
            items=len(jobs),
            alerts=alerts,
            fetch_seconds=fetch_seconds,
            ingest_seconds=ingest_seconds,
            seconds=time.monotonic() - began,
        )

    def run(
        self,
        *,
        once: bool = False,
        stop: threading.Event | None = None,
        report: Callable[[PollReport], None] = lambda r: None,
        failed: Callable[[StorydeskError], None] | None = None,
    ) -> None:
        """Poll now, then whenever a source comes due, until ``stop`` is set (or once)."""
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                report(self.poll())
            except StorydeskError as exc:
                if failed is None or once:
                    raise
                failed(exc)
            if once:
                return
            stop.wait(self._until_next())

    def _until_next(self) -> float:
        """Seconds until the next source is due (at least one, at most the interval)."""
        now = self.clock()
        times = []
        for source in self.desk.store.sources():
            if source.next_poll is not None:
                times.append(source.next_poll)
            if source.last_poll is not None and not source.errors:
                times.append(source.last_poll + dt.timedelta(seconds=self.interval))
        if not times:
            return self.interval
        return min(max(1.0, (min(times) - now).total_seconds()), self.interval)

    # --- steps -------------------------------------------------------------------------

    def _map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        if not items:
            return []
        pool = ThreadPoolExecutor(max_workers=max(1, min(self.settings.fetch.workers, len(items))))
        try:
            return list(pool.map(fn, items))
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _fetch_feed(self, source: FeedSource) -> FetchResult | FetchError:
        try:
            return self.fetcher.get(
                source.url, etag=source.etag, last_modified=source.last_modified, accept=_FEED_ACCEPT
            )
        except FetchError as exc:
            return exc
        except Exception as exc:  # a client bug must not sink the poll: this source fails, with why
            return FetchError(source.url, f"fetch failed: {type(exc).__name__}: {exc}")

    def _read(
        self,
        source: FeedSource,
        outcome: FetchResult | FetchError,
        now: dt.datetime,
        jobs: list[_Job],
        by_link: dict[str, _Job],
        already: list[tuple[_Job, str]],
    ) -> FeedSource:
        """The source's new state after its feed answered; its new and changed items join ``jobs``."""
        if isinstance(outcome, FetchError):
            return self._failed(source, now, outcome.reason, outcome.status, outcome.retry_after)
        polled = dataclasses.replace(
            source,
            last_poll=now,
            last_status=outcome.status,
            last_new=0,
            errors=0,
            next_poll=now + dt.timedelta(seconds=self.interval),
        )
        if outcome.not_modified:
            # Unchanged since the last read: a warning about that read still holds, a failure does not.
            return polled if not source.errors else dataclasses.replace(polled, error=None)
        try:
            listing = read_listing(outcome.body, source.url)
        except Exception as exc:  # a parser bug on hostile input: this source fails, with why
            listing = Listing(error=f"the feed cannot be read: {type(exc).__name__}: {exc}")
        if listing.error is not None:
            return self._failed(
                dataclasses.replace(source, kind=listing.kind or source.kind),
                now,
                listing.error,
                outcome.status,
            )
        polled = dataclasses.replace(
            polled,
            title=listing.title or source.title,
            kind=listing.kind,
            etag=outcome.etag,
            last_modified=outcome.last_modified,
            error=listing.warning,
        )
        items = listing.items[: self.settings.watch.max_items]
        keyed: dict[str, RawDocument] = {}
        for item in items:
            keyed.setdefault(_item_key(item), item)
        seen = self.desk.store.seen_items(source.id, keyed)
        for key, item in keyed.items():
            fingerprint = _fingerprint(item)
            before = seen.get(key)
            if before is not None and before.fingerprint == fingerprint:
                continue
            link = canonical_url(item.url) if item.url and is_http_url(item.url) else None
            job = _Job(source, key, item, link, fingerprint, before)
            if before is None and link is not None:
                if link in by_link:
                    by_link[link].aliases.append(job)
                    continue
                if (stored := self.desk.store.article_for_url(link)) is not None:
                    already.append((job, stored))
                    continue
                by_link[link] = job
            if link is not None and before is not None:
                job.validators = self.desk.store.page_validators(link)
            jobs.append(job)
        return polled

    def _failed(
        self,
        source: FeedSource,
        now: dt.datetime,
        reason: str,
        status: int | None,
        retry_after: float | None = None,
    ) -> FeedSource:
        """A failed poll: the reason kept, the next one after an exponential, capped backoff (longer
        when the server's Retry-After asks for it, within the same cap)."""
        errors = source.errors + 1
        wait = max(self.interval * 2.0**errors, retry_after or 0.0)
        wait = min(wait, max(self.settings.watch.max_backoff, self.interval))
        return dataclasses.replace(
            source,
            last_poll=now,
            last_status=status,
            last_new=0,
            errors=errors,
            error=reason,
            next_poll=now + dt.timedelta(seconds=wait),
        )

    def _fetch_page(self, job: _Job) -> None:
        """Fetch and extract one item's page (in a worker thread: touches only the job)."""
        assert job.link is not None
        etag, last_modified = job.validators
        try:
            result = self.fetcher.get(
                job.link, etag=etag, last_modified=last_modified, robots=True, accept=_PAGE_ACCEPT
            )
        except FetchError as exc:
            self._headline(job, f"page not fetched: {exc.reason}")
            return
        except Exception as exc:  # a client bug must not sink the poll: keep the headline
            self._headline(job, f"page not fetched: {type(exc).__name__}: {exc}")
            return
        job.fetched = result
        job.final = canonical_url(result.final_url)
        if result.not_modified:
            job.unchanged = True
            return
        kind = result.content_type.split(";", 1)[0].strip().lower()
        if kind and "html" not in kind:
            self._headline(job, f"page is not HTML ({kind})")
            return
        source = Source(job.source.url, member=job.key)
        try:
            page = extract_html(result.body, source, url=result.final_url)
        except Exception as exc:
            page = Rejection("ingest", f"HTML extraction failed: {type(exc).__name__}: {exc}", source)
        job.fetched = dataclasses.replace(result, body=b"")  # validators kept; the body is not needed again
        if isinstance(page, Rejection):
            self._headline(job, f"page not extracted: {page.reason}")
            return
        item = job.item
        job.doc = dataclasses.replace(
            page,
            format="html",
            title=page.title or item.title,
            url=job.final,
            external_id=item.external_id,
            published=item.published or page.published,
            outlet=page.outlet or item.outlet,
            author=page.author or item.author,
            metadata={**page.metadata, "feed": job.source.url},
        )
        job.status, job.reason = "page", None

    def _headline(self, job: _Job, reason: str) -> None:
        item = job.item
        job.doc = dataclasses.replace(
            item,
            source=Source(job.source.url, member=job.key),
            text=item.text or "",
            url=job.link or item.url,
            metadata={**item.metadata, "headline_only": True, "page_error": reason, "feed": job.source.url},
        )
        job.status, job.reason = "headline", reason

    def _sort(self, jobs: list[_Job], already: list[tuple[_Job, str]]) -> tuple[list[_Job], list[_Job]]:
        """New items to ingest, and changed items whose stored article may need updating."""
        new: list[_Job] = []
        updates: list[_Job] = []
        finals: dict[str, _Job] = {}
        for job in jobs:
            if job.previous is not None:
                updates.append(job)
                continue
            if job.final and job.final != job.link:
                # A redirect (an aggregator link) led to a page stored already: the same article.
                stored = self.desk.store.article_for_url(job.final)
                if stored is not None:
                    already.append((job, stored))
                    continue
            page = job.final or job.link
            if page is not None:
                if page in finals:  # another item of this poll reached the same page: stored once
                    finals[page].aliases.append(job)
                    continue
                finals[page] = job
            new.append(job)
        return new, updates

    def _store(
        self,
        polled: dict[int, FeedSource],
        new_jobs: list[_Job],
        update_jobs: list[_Job],
        already: list[tuple[_Job, str]],
    ) -> PollReport:
        desk, store = self.desk, self.desk.store
        docs = [j.doc for j in new_jobs if j.doc is not None]
        batch = desk.pipeline.read_documents(docs)
        made = {(a.source.path, a.source.member): a for a in batch.articles if a.source}
        refused = {(r.source.path, r.source.member): r for r in batch.rejections}
        stored_before = store.existing_ids(a.id for a in batch.articles)
        fresh = [a.id for a in batch.articles if a.id not in stored_before]
        new_by_source: dict[int, int] = {}
        headline_only = 0
        for job in new_jobs:
            article = made.get((job.source.url, job.key))
            if article is not None and article.id not in stored_before:
                new_by_source[job.source.id] = new_by_source.get(job.source.id, 0) + 1
                stored_before.add(article.id)  # two items with the same text count once
                headline_only += job.status == "headline"

        def remember() -> None:
            for job in new_jobs:
                article = made.get((job.source.url, job.key))
                rejection = refused.get((job.source.url, job.key))
                if article is None:
                    reason = rejection.reason if rejection else "not stored"
                    self._remember(job, None, "rejected", reason)
                else:
                    self._remember(job, article.id, job.status, job.reason)
            for job, article_id in already:
                self._remember(job, article_id, "page", None)
            for source in polled.values():
                new = new_by_source.get(source.id, 0)
                store.record_poll(
                    dataclasses.replace(source, last_new=new, items=store.count_items(source.id))
                )

        stories_before = store.story_ids()
        summary = desk.ingest_batch(batch, also=remember)
        stories_now = store.story_ids()
        grown = {sid for aid in fresh if (sid := desk.story_of(aid)) is not None} & stories_before
        touched = self._update(update_jobs)
        return PollReport(
            polled=len(polled),
            not_modified=sum(1 for s in polled.values() if s.last_status == 304),
            failed=sum(1 for s in polled.values() if s.errors),
            added=summary.added,
            headline_only=headline_only,
            updated=len(touched[1]),
            already=len(already),
            rejected=summary.rejected,
            sources=tuple(
                SourcePoll(s.url, s.last_status, new_by_source.get(s.id, 0), s.error, s.errors > 0)
                for s in polled.values()
            ),
            stories=summary.stories,
            new_stories=len(stories_now - stories_before),
            updated_stories=tuple(sorted(grown | set(touched[0]))),
        )

    def _update(self, jobs: list[_Job]) -> tuple[list[str], list[str]]:
        """Apply changed items: a page that changed replaces its article (kept as a revision)."""
        if not jobs:
            return [], []
        docs = [j.doc for j in jobs if j.doc is not None and not j.unchanged]
        made = {
            (a.source.path, a.source.member): a
            for a in self.desk.pipeline.read_documents(docs).articles
            if a.source
        }
        updates: list[tuple[str, Article]] = []
        updating: set[str] = set()
        remembered: list[tuple[_Job, str | None, str, str | None, bool]] = []
        for job in jobs:
            previous = job.previous
            assert previous is not None
            article = made.get((job.source.url, job.key))
            if job.unchanged or article is None or previous.article_id is None:
                # Nothing new to store (304, or the new version does not clean): note the new fingerprint.
                remembered.append((job, previous.article_id, previous.status, previous.reason, True))
            elif job.status == "headline" and previous.status == "page":
                # The page failed this time: keep the full text stored and try again next poll.
                remembered.append((job, previous.article_id, previous.status, job.reason, False))
            else:
                # The stored article keeps its first id, so compare content, not ids; two items of
                # this poll for one article (two feeds) update it once.
                stored = self.desk.store.article(previous.article_id)
                changed = stored is None or (stored.title, stored.text) != (article.title, article.text)
                if changed and previous.article_id not in updating:
                    updating.add(previous.article_id)
                    updates.append((previous.article_id, article))
                remembered.append((job, previous.article_id, job.status, job.reason, True))

        def remember() -> None:
            for job, article_id, status, reason, settled in remembered:
                fingerprint = (
                    job.fingerprint if settled else (job.previous.fingerprint if job.previous else "")
                )
                self._remember(dataclasses.replace(job, fingerprint=fingerprint), article_id, status, reason)

        touched = self.desk.update_articles(updates, also=remember)
        return touched, [old for old, _ in updates]

    def _remember(self, job: _Job, article_id: str | None, status: str, reason: str | None) -> None:
        store = self.desk.store
        store.remember_item(
            SeenItem(
                job.source.id, job.key, job.final or job.link, job.fingerprint, article_id, status, reason
            )
        )
        if article_id is not None and job.fetched is not None and status == "page":
            for url in {job.link, job.final} - {None}:
                assert url is not None
                store.put_page(url, article_id, job.fetched.etag, job.fetched.last_modified)
        for alias in job.aliases:
            store.remember_item(
                SeenItem(
                    alias.source.id,
                    alias.key,
                    job.final or job.link,
                    alias.fingerprint,
                    article_id,
                    status,
                    reason,
                )
            )


def _item_key(item: RawDocument) -> str:
    """A feed item's identity: its guid, else its link, else a hash of its title and text."""
    if item.external_id:
        return item.external_id
    if item.url:
        return item.url
    return "sha256:" + hashlib.sha256(f"{item.title}\n{item.text}".encode()).hexdigest()[:32]


def _fingerprint(item: RawDocument) -> str:
    """What an item says about its article: when this changes (title, summary, dates, link), the
    page is fetched again."""
    updated = item.metadata.get("feed_updated")
    payload = "\x1f".join(str(x or "") for x in (item.title, item.text, item.published, item.url, updated))
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def sources(desk: Desk) -> list[FeedSource]:
    """Every watched source with its polling state, in the order they were added."""
    return desk.store.sources()
