"""One polite HTTP client for feeds and pages: every request storydesk makes goes through ``Fetcher``.

Timeouts (per read and in all), a body size cap read as a stream (after gzip/brotli decoding, so a
compression bomb stops at the cap too), redirects followed by hand up to a limit with each hop's
scheme checked and its connection made through the address guard, conditional requests (ETag,
If-Modified-Since), robots.txt for pages, a User-Agent naming storydesk, and per-host politeness: a
delay between requests to one host and a cap on requests in flight to it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpcore
import httpx

from storydesk.config import FetchSettings
from storydesk.errors import FetchError, FetchRefused, FetchTooLarge
from storydesk.fetch.guard import AddressPolicy, GuardedBackend

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_ROBOTS_BYTES = 512_000
_ROBOTS_RETRY = 300.0  # seconds an unreachable robots.txt keeps a host's pages disallowed
_MAX_CRAWL_DELAY = 60.0


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A successful fetch: a 2xx body, or a 304 (``not_modified``, empty body)."""

    url: str  # as asked
    final_url: str  # after redirects
    status: int
    body: bytes
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    redirects: tuple[str, ...] = ()  # the URLs redirected through, in order

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(slots=True)
class FetchStats:
    """Where the fetcher's time went (summed over threads)."""

    requests: int = 0
    bytes: int = 0
    network_seconds: float = 0.0  # inside requests: connecting, waiting, reading
    polite_seconds: float = 0.0  # waiting for a host's turn (delay and concurrency cap)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, *, requests: int = 0, body: int = 0, network: float = 0.0, polite: float = 0.0) -> None:
        with self._lock:
            self.requests += requests
            self.bytes += body
            self.network_seconds += network
            self.polite_seconds += polite


class _HostLimiter:
    """At most ``concurrency`` requests in flight per host, their starts ``delay`` seconds apart."""

    def __init__(self, delay: float, concurrency: int) -> None:
        self.delay = max(0.0, delay)
        self.concurrency = max(1, concurrency)
        self._lock = threading.Lock()
        self._slots: dict[str, threading.Semaphore] = {}
        self._next: dict[str, float] = {}
        self._delays: dict[str, float] = {}

    def at_least(self, host: str, delay: float) -> None:
        """Space this host's requests at least ``delay`` seconds apart (its robots.txt Crawl-delay)."""
        with self._lock:
            self._delays[host] = max(self.delay, delay)

    @contextlib.contextmanager
    def slot(self, host: str) -> Iterator[float]:
        """Hold one of the host's slots; yields the seconds spent waiting for it."""
        began = time.monotonic()
        with self._lock:
            semaphore = self._slots.setdefault(host, threading.Semaphore(self.concurrency))
        semaphore.acquire()
        try:
            with self._lock:
                now = time.monotonic()
                start = max(now, self._next.get(host, 0.0))
                self._next[host] = start + self._delays.get(host, self.delay)
            if start > now:
                time.sleep(start - now)
            yield time.monotonic() - began
        finally:
            semaphore.release()


def _guarded_transport(policy: AddressPolicy, settings: FetchSettings) -> httpx.HTTPTransport:
    limits = httpx.Limits(max_connections=max(1, settings.workers) * 2, max_keepalive_connections=20)
    transport = httpx.HTTPTransport(trust_env=False, limits=limits)
    # httpx offers no argument for httpcore's network backend: rebuild its pool with the guarded one.
    # The peer address is checked again on every response (see Fetcher._check_peer), so the guard
    # holds even if a later httpx stops honouring this.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedBackend(policy),
    )
    return transport


class Fetcher:
    """Fetches URLs politely and safely; thread-safe, one per watcher."""

    def __init__(self, settings: FetchSettings | None = None) -> None:
        self.settings = settings or FetchSettings()
        self.policy = AddressPolicy(
            allow_private=self.settings.allow_private,
            allow_hosts=frozenset(h.strip().lower() for h in self.settings.allow_hosts),
        )
        self.client = httpx.Client(
            transport=_guarded_transport(self.policy, self.settings),
            timeout=httpx.Timeout(self.settings.timeout),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": self.settings.user_agent, "Accept-Encoding": "gzip, deflate, br"},
        )
        self.stats = FetchStats()
        self._limiter = _HostLimiter(self.settings.host_delay, self.settings.host_concurrency)
        self._robots: dict[str, tuple[float, RobotFileParser | None, str]] = {}
        self._robots_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- fetching ---------------------------------------------------------------------

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        robots: bool = False,
        accept: str | None = None,
        max_bytes: int | None = None,
    ) -> FetchResult:
        """GET ``url``: a 2xx body or a 304; anything else raises a ``FetchError`` naming the URL and why.

        ``robots``: check robots.txt first (article pages; each redirect hop's host too).
        """
        limit = self.settings.max_bytes if max_bytes is None else max_bytes
        deadline = time.monotonic() + self.settings.total_timeout
        headers = {"Accept": accept or "*/*"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        visited = [url]
        for _hop in range(self.settings.max_redirects + 1):
            try:
                parts = _split(current)
            except FetchRefused as exc:
                raise FetchRefused(url, f"{exc.reason} (redirected to {current})") from None
            if robots:
                self._check_robots(current)
            with self._limiter.slot(parts.netloc.lower()) as waited:
                self.stats.add(polite=waited)
                began = time.monotonic()
                try:
                    result, location = self._send(url, current, headers, limit, deadline, visited)
                finally:
                    self.stats.add(requests=1, network=time.monotonic() - began)
            if result is not None:
                return result
            assert location is not None
            target = urljoin(current, location)
            if target in visited:
                raise FetchError(url, "redirect loop: " + " -> ".join([*visited, target]))
            visited.append(target)
            current = target
        raise FetchError(url, f"more than {self.settings.max_redirects} redirects")

    def _send(
        self,
        url: str,
        current: str,
        headers: dict[str, str],
        limit: int,
        deadline: float,
        visited: list[str],
    ) -> tuple[FetchResult | None, str | None]:
        """One hop: the result, or None and the redirect's Location."""
        try:
            with self.client.stream("GET", current, headers=headers) as response:
                self._check_peer(current, response)
                status = response.status_code
                if status in _REDIRECTS:
                    location = response.headers.get("location")
                    if not location:
                        raise FetchError(url, f"HTTP {status} redirect without a Location", status)
                    return None, location
                if status >= 400 or status < 200 or (status >= 300 and status != 304):
                    retry = _retry_after(response.headers.get("retry-after"))
                    reason = f"HTTP {status} {response.reason_phrase}".rstrip()
                    if retry is not None:
                        reason += f" (retry after {retry:g} s)"
                    raise FetchError(url, reason, status, retry_after=retry)
                body = b"" if status == 304 else self._read(url, response, limit, deadline)
                return (
                    FetchResult(
                        url=url,
                        final_url=str(response.url),
                        status=status,
                        body=body,
                        content_type=response.headers.get("content-type", ""),
                        etag=response.headers.get("etag"),
                        last_modified=response.headers.get("last-modified"),
                        redirects=tuple(visited[1:]),
                    ),
                    None,
                )
        except FetchRefused as exc:
            if exc.url == url:
                raise
            hop = "" if current == url else f" (redirected to {current})"
            raise FetchRefused(url, exc.reason + hop) from None
        except httpx.TimeoutException as exc:
            raise FetchError(url, f"timed out: {type(exc).__name__}") from None
        except httpx.HTTPError as exc:
            raise FetchError(url, f"network error: {type(exc).__name__}: {exc}") from None

    def _check_peer(self, current: str, response: httpx.Response) -> None:
        """Refuse a response from a forbidden address (the guard's second line, see _guarded_transport)."""
        stream = response.extensions.get("network_stream")
        if stream is None:
            return
        peer = stream.get_extra_info("server_addr")
        parts = _split(current)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if peer and not self.policy.exempt(parts.hostname or "", port):
            why = self.policy.why_refused(str(peer[0]))
            if why is not None:
                raise FetchRefused(current, f"refused: connected to {why}")

    def _read(self, url: str, response: httpx.Response, limit: int, deadline: float) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit and not response.headers.get("content-encoding"):
            raise FetchTooLarge(url, f"body of {int(declared):,} bytes is over the limit of {limit:,}")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise FetchTooLarge(url, f"body over the limit of {limit:,} bytes (fetch.max_bytes)")
            if time.monotonic() > deadline:
                raise FetchError(url, f"took longer than {self.settings.total_timeout:g} s in all")
            chunks.append(chunk)
        self.stats.add(body=size)
        return b"".join(chunks)

    # --- robots.txt ----------------------------------------------------------------------

    def _check_robots(self, url: str) -> None:
        """Raise ``FetchRefused`` when the host's robots.txt disallows ``url`` for our User-Agent."""
        if not self.settings.robots:
            return
        parts = _split(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            lock = self._robots_locks.setdefault(origin, threading.Lock())
        with lock:
            cached = self._robots.get(origin)
            if cached is None or cached[0] < time.monotonic():
                cached = self._read_robots(origin)
                self._robots[origin] = cached
        _, parser, problem = cached
        if parser is not None and (delay := _crawl_delay(parser, self.settings.user_agent)) is not None:
            self._limiter.at_least(parts.netloc.lower(), delay)
        if parser is None:
            raise FetchRefused(url, f"refused: {problem}")
        if not parser.can_fetch(self.settings.user_agent, url):
            raise FetchRefused(url, f"refused: {origin}/robots.txt disallows it")

    def _read_robots(self, origin: str) -> tuple[float, RobotFileParser | None, str]:
        """(expiry, parser, why none) per RFC 9309: 4xx allows all, 5xx or unreachable disallows all."""
        now = time.monotonic()
        parser = RobotFileParser()
        try:
            result = self.get(f"{origin}/robots.txt", accept="text/plain", max_bytes=_ROBOTS_BYTES)
        except FetchRefused:
            raise
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                parser.parse([])  # no robots.txt: everything allowed
                return now + self.settings.robots_ttl, parser, ""
            return now + _ROBOTS_RETRY, None, f"{origin}/robots.txt cannot be read ({exc.reason})"
        parser.parse(result.body.decode("utf-8", errors="replace").splitlines())
        return now + self.settings.robots_ttl, parser, ""


def _retry_after(value: str | None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _crawl_delay(parser: RobotFileParser, agent: str) -> float | None:
    """The robots.txt Crawl-delay for our agent, capped at a minute (a larger one would stall a poll)."""
    try:
        delay = parser.crawl_delay(agent)
    except (TypeError, ValueError):
        return None
    return None if delay is None else min(float(delay), _MAX_CRAWL_DELAY)


def _split(url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise FetchRefused(url, f"refused: not a valid URL ({exc})") from None
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise FetchRefused(url, "refused: only http and https URLs are fetched")
    return parts
