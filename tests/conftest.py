"""Shared fixtures: paths to the seeds and the shared data, skipping when absent."""

from __future__ import annotations

import contextlib
import http.server
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


# --- model doubles: a Pipeline that loads no model ------------------------------------------------


class FakeFeaturizer:
    """Cluster features without models: a hashed bag of the title + lead's words as the vector,
    capitalised words as entities, digits as numbers. Same input, same item."""

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.calls = 0

    def featurize(
        self, articles: Any, *, progress: bool = False, timings: dict[str, float] | None = None
    ) -> list[Any]:
        import numpy as np

        from storydesk.cluster import ClusterItem, _time_of, item_terms, lead_text

        self.calls += 1
        items = []
        for article in articles:
            lead = lead_text(article, 1000)
            vector = np.zeros(self.dim, dtype=np.float32)
            for word in re.findall(r"\w+", lead.lower()):
                vector[zlib.crc32(word.encode()) % self.dim] += 1.0
            norm = float(np.linalg.norm(vector)) or 1.0
            items.append(
                ClusterItem(
                    id=article.id,
                    title=(article.title or article.text[:120]).strip(),
                    time=_time_of(article),
                    vector=vector / norm,
                    terms=item_terms(article.title or "", article.text, 3000),
                    entities=tuple(
                        sorted({w.lower() for w in re.findall(r"\b[A-Z][a-z]{2,}\b", lead[:600])})
                    ),
                    numbers=tuple(sorted(set(re.findall(r"\b\d[\d,]*\b", lead[:600])))),
                )
            )
        return items


class FakeExtractor:
    """Extraction without spaCy: capitalised words as entities, sentences split at full stops."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def extract_stream(self, tasks: Any, *, timings: dict[str, float] | None = None) -> Iterator[Any]:
        from storydesk.models import Entity, Extraction

        for task in tasks:
            self.texts.append(task.text)
            entities = tuple(
                Entity(m.group(), "OTHER", m.start(), m.end(), m.group())
                for m in re.finditer(r"\b[A-Z][a-z]{2,}\b", task.text)
            )
            sentences = tuple(
                (m.start(), m.end()) for m in re.finditer(r"[^.]+\.?", task.text) if m.group().strip()
            )
            yield Extraction(
                article_id=task.article_id,
                entities=entities,
                wire_origin=task.wire_origin,
                sentences=sentences,
            )


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def spawn_cli() -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start ``storydesk ARGS...`` from this checkout as a child process, stdout and stderr piped;
    any still running when the test ends is killed."""
    spawned: list[subprocess.Popen[bytes]] = []

    def spawn(*args: str) -> subprocess.Popen[bytes]:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "storydesk.cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        spawned.append(proc)
        return proc

    yield spawn
    for proc in spawned:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def interrupt(proc: subprocess.Popen[bytes]) -> bytes:
    """Stop a spawned storydesk as Ctrl-C does (SIGINT) and return its stderr."""
    proc.send_signal(signal.SIGINT)
    return proc.communicate(timeout=60)[1]


@pytest.fixture
def fake_pipeline() -> Any:
    """A Pipeline with the model doubles injected: the whole data path, no model loaded."""
    from storydesk.config import Settings
    from storydesk.pipeline import Pipeline

    settings = Settings().with_overrides(["cluster.index=exact"])
    return Pipeline(settings, featurizer=FakeFeaturizer(), extractor=FakeExtractor())


@pytest.fixture
def fake_desk(tmp_path: Path, fake_pipeline: Any) -> Iterator[Any]:
    """A desk on a temporary file whose pipeline loads no model."""
    from storydesk.api import Desk
    from storydesk.store import Store

    desk = Desk(Store(tmp_path / "desk.db"), pipeline=fake_pipeline)
    yield desk
    desk.close()


# --- markers: `pytest -m "not models and not data"` runs the fast suite ---------------------------


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that takes the ``shared_data`` fixture is marked ``data`` (``models`` is marked by hand,
    and ``_models_gate`` catches the tests that load a model unmarked)."""
    for item in items:
        if "shared_data" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.data)
        if item.get_closest_marker("slow") is not None:  # slow tests load models or scan real data
            item.add_marker(pytest.mark.models)


@pytest.fixture(autouse=True)
def _models_gate(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under ``-m "not models"`` a test that loads a real model anyway is skipped when it tries
    (so the fast suite never waits for spaCy or MiniLM) and says it should be marked."""
    expr = request.config.getoption("markexpr", "") or ""
    if "not models" not in expr or request.node.get_closest_marker("models") is not None:
        return
    import storydesk.extract.extractor
    import storydesk.nlp

    def refuse(*args: object, **kwargs: object) -> Any:
        pytest.skip("loads a model: mark it `models`")

    monkeypatch.setattr(storydesk.nlp, "load_spacy", refuse)
    monkeypatch.setattr(storydesk.nlp, "load_embedder", refuse)
    monkeypatch.setattr(storydesk.extract.extractor, "load_spacy", refuse)
