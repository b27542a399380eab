"""Shared fixtures: paths to the seeds and the shared data, skipping when absent."""

from __future__ import annotations

import contextlib
import http.server
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SEEDS = SHARED / "seeds"
DATA = SHARED / "data"


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    """The two seed articles; the core suite's golden tests need them."""
    if not SEEDS.is_dir():
        pytest.skip("../shared/seeds is absent")
    return SEEDS


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or a clean skip when it is absent."""
    if not DATA.is_dir():
        pytest.skip("../shared/data is absent")
    return DATA


@pytest.fixture(scope="session")
def article_json_keys() -> frozenset[str]:
    """The article fields ``show --format json`` promises (issue 2's stable shape): never renamed."""
    return frozenset(
        {
            "id",
            "title",
            "outlet",
            "wire_origin",
            "published",
            "dateline",
            "author",
            "source_url",
            "url",
            "text",
            "raw_text",
        }
    )


# --- a real HTTP server on 127.0.0.1 for the fetcher and watcher tests --------------------------


@dataclass
class Reply:
    """One answer of the test server: status, body (or ``size`` bytes streamed), headers."""

    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None  # when set, a request with a matching If-None-Match gets 304
    size: int = 0  # stream this many bytes instead of ``body`` (no Content-Length)
    sent: int = 0  # bytes of a streamed body the client took before hanging up
    delay: float = 0.0  # seconds to wait before answering (to overlap requests)


class FeedServer:
    """A threaded http.server whose routes a test changes between polls; it records every request."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.in_flight = 0
        self.most_in_flight = 0  # the most requests the server was answering at once
        self._lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def finish(self) -> None:
                with contextlib.suppress(OSError):  # the client hung up (a body over its size cap)
                    super().finish()

            def do_GET(self) -> None:
                with server._lock:
                    server.in_flight += 1
                    server.most_in_flight = max(server.most_in_flight, server.in_flight)
                try:
                    self._get()
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _get(self) -> None:
                reply = server._take(self.path, {k.lower(): v for k, v in self.headers.items()})
                if reply is not None and reply.delay:
                    time.sleep(reply.delay)
                if reply is None:
                    self._answer(Reply(b"not here", status=404, content_type="text/plain"))
                elif reply.etag and self.headers.get("If-None-Match") == reply.etag:
                    self._answer(Reply(status=304, etag=reply.etag))
                else:
                    self._answer(reply)

            def _answer(self, reply: Reply) -> None:
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                if reply.etag:
                    self.send_header("ETag", reply.etag)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                if reply.size:
                    self.send_header("Connection", "close")
                    self.end_headers()
                    chunk = b"<p>" + b"x" * 65_530 + b"</p>"
                    try:
                        while reply.sent < reply.size:
                            self.wfile.write(chunk)
                            reply.sent += len(chunk)
                    except OSError:
                        pass
                    self.close_connection = True
                    return
                body = b"" if reply.status == 304 else reply.body
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def set(self, path: str, *replies: Reply) -> None:
        """Answer ``path`` with these replies in turn; the last one is repeated."""
        with self._lock:
            self.routes[path] = list(replies)

    def hits(self, path: str) -> int:
        with self._lock:
            return sum(1 for p, _ in self.requests if p == path)

    def _take(self, path: str, headers: dict[str, str]) -> Reply | None:
        with self._lock:
            self.requests.append((path, headers))
            replies = self.routes.get(path)
            if not replies:
                return None
            return replies.pop(0) if len(replies) > 1 else replies[0]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A fresh local HTTP server on 127.0.0.1 (port chosen by the OS), shut down after the test."""
    server = FeedServer()
    try:
        yield server
    finally:
        server.close()
