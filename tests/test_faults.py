"""Faults (issue 20): a failure or a kill inside the commit leaves the desk as it was and a re-run
converges; writers serialise; readers on 127.0.0.1 see no error while an ingest commits."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_stream import ARTICLES, _layer, _write

from storydesk import snapshot, stream
from storydesk.api import Desk
from storydesk.errors import StoreError
from storydesk.store import Store

ROOT = Path(__file__).resolve().parent.parent


def _integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def _snapshot_of(db: Path) -> tuple[Any, ...]:
    """What a desk holds on disk: its rows (articles, stories, assignments, rejections, meta) and state file."""
    conn = sqlite3.connect(db)
    try:
        rows = tuple(
            tuple(conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall())
            for table in ("articles", "stories", "assignments", "rejections", "meta", "cluster_items")
        )
    finally:
        conn.close()
    state = snapshot.path_for(db)
    return rows, state.read_bytes() if state.exists() else None


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, ...]:
    """The story layer of two batches ingested without a fault: what every re-run must converge to."""
    folder = tmp_path_factory.mktemp("clean")
    with Desk.open(folder / "d.db") as desk:
        desk.ingest([_write(folder / "a.jsonl", ARTICLES[:4])])
        desk.ingest([_write(folder / "b.jsonl", ARTICLES[4:8])])
        return _layer(desk)


def _fail_add_article(monkeypatch: pytest.MonkeyPatch) -> None:
    original = Store.add_article
    calls = []

    def add(self: Store, *args: Any) -> None:
        calls.append(1)
        if len(calls) == 3:  # two of the batch's articles are written already
            raise OSError("disk full")
        original(self, *args)

    monkeypatch.setattr(Store, "add_article", add)


def _fail_after_story_write(monkeypatch: pytest.MonkeyPatch) -> None:
    original = stream.StoryUpdate.write

    def write(self: stream.StoryUpdate, store: Store) -> None:
        original(self, store)  # the stories and assignments are written, then the fault
        raise OSError("disk full")

    monkeypatch.setattr(stream.StoryUpdate, "write", write)


def _fail_staging_state(monkeypatch: pytest.MonkeyPatch) -> None:
    def fsync(fd: int) -> None:  # the state is written to its temporary file, then syncing it fails
        raise OSError("disk full")

    monkeypatch.setattr(snapshot.os, "fsync", fsync)


@pytest.mark.slow
@pytest.mark.parametrize("fault", [_fail_add_article, _fail_after_story_write, _fail_staging_state])
def test_faults_failure_inside_the_write_rolls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: Any, uninterrupted: tuple[Any, ...]
) -> None:
    db = tmp_path / "d.db"
    with Desk.open(db) as desk:
        desk.ingest([_write(tmp_path / "a.jsonl", ARTICLES[:4])])
    before = _snapshot_of(db)
    with monkeypatch.context() as patch:
        fault(patch)
        with Desk.open(db) as desk, pytest.raises(OSError, match="disk full"):
            desk.ingest([_write(tmp_path / "b.jsonl", ARTICLES[4:8])])
    assert _snapshot_of(db) == before  # nothing of the batch landed, the state file untouched
    assert _integrity(db) == "ok" and not list(tmp_path.glob("*.tmp"))
    with Desk.open(db) as desk:
        summary = desk.ingest([tmp_path / "b.jsonl"])
        assert summary.added == 4 and summary.stream == "resumed"
        assert _layer(desk) == uninterrupted


# --- a real ingest process killed at points inside its write ---------------------------------

# Runs `storydesk ingest` and SIGKILLs itself at the n-th call of one point of the write path.
_DRIVER = """
import os, signal, sys
from storydesk import api, snapshot, store, stream
point, nth, db, src = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
calls = []
def kill_at(owner, name):
    original = getattr(owner, name)
    def wrapper(*args, **kwargs):
        calls.append(1)
        if len(calls) == nth:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(*args, **kwargs)
    setattr(owner, name, wrapper)
if point == "COMMIT":  # the SQL COMMIT statement itself, as the transaction ends
    opened = store.Store.__init__
    def init(self, *args, **kwargs):
        opened(self, *args, **kwargs)
        self.conn.set_trace_callback(
            lambda sql: os.kill(os.getpid(), signal.SIGKILL) if sql == "COMMIT" and self._in_tx else None
        )
    store.Store.__init__ = init
else:
    owner, name = {"add_article": (store.Store, "add_article"), "write": (stream.StoryUpdate, "write"),
                   "stage": (snapshot, "stage"), "move_state": (snapshot, "commit")}[point]
    kill_at(owner, name)
from storydesk.cli import main
sys.argv = ["storydesk", "--db", db, "ingest", src]
main()
"""

# Every point of the write path (bench/reliability.py kills at each); the suite takes three of them
# (each kill is a process that loads the models): mid-rows, the COMMIT statement, after it.
KILL_POINTS = [("add_article", 2), ("write", 1), ("stage", 1), ("COMMIT", 1), ("move_state", 1)]
SUITE_KILL_POINTS = [("add_article", 2), ("COMMIT", 1), ("move_state", 1)]


def ingest_killed_at(point: str, nth: int, db: Path, src: Path) -> int:
    """Exit status of ``storydesk ingest`` run in a process that SIGKILLs itself at ``point``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _DRIVER, point, str(nth), str(db), str(src)],
        env=env,
        capture_output=True,
        timeout=300,
    )
    return done.returncode


@pytest.mark.slow
@pytest.mark.parametrize("second_batch", [False, True], ids=["fresh-desk", "second-batch"])
def test_faults_killed_ingest_process_leaves_a_sound_desk_that_converges(
    tmp_path: Path, second_batch: bool, uninterrupted: tuple[Any, ...]
) -> None:
    first = _write(tmp_path / "a.jsonl", ARTICLES[:4])
    second = _write(tmp_path / "b.jsonl", ARTICLES[4:8])
    for point, nth in SUITE_KILL_POINTS:
        db = tmp_path / f"{point}.db"
        if second_batch:
            with Desk.open(db) as desk:
                desk.ingest([first])
        code = ingest_killed_at(point, nth, db, second if second_batch else first)
        assert code == -9, f"{point}: the process was not killed there (exit {code})"
        assert _integrity(db) == "ok", point
        with Desk.open(db) as desk:
            if not second_batch:
                desk.ingest([first])
            desk.ingest([second])
            assert _layer(desk) == uninterrupted, point


# --- writers and readers at once ---------------------------------------------------------------


def test_faults_second_writer_waits_for_the_first(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    Store(db).close()
    holding = threading.Event()

    def long_write() -> None:
        store = Store(db)
        with store.transaction():
            store.set_meta("writer", "first")
            holding.set()
            time.sleep(1.0)
        store.close()

    thread = threading.Thread(target=long_write)
    thread.start()
    holding.wait()
    impatient = Store(db, busy_timeout=0.1)
    with pytest.raises(StoreError, match="being written by another process"), impatient.transaction():
        pass  # what a short busy timeout gives: the failure the default timeout avoids, said plainly
    impatient.close()
    second = Store(db)  # the default: waits for the first writer, then writes
    with second.transaction():
        second.set_meta("writer", "second")
    thread.join()
    assert second.meta("writer") == "second"
    second.close()


@pytest.fixture
def served_desk(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A desk served by uvicorn on 127.0.0.1 in a thread: (database, base URL)."""
    import uvicorn

    from storydesk.web import create_app

    db = tmp_path / "d.db"
    with Desk.open(db) as desk:
        desk.ingest([_write(tmp_path / "seed.jsonl", ARTICLES[:2])])
    config = uvicorn.Config(create_app(db), host="127.0.0.1", port=0, log_level="error", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield db, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.mark.slow
def test_faults_readers_see_no_error_while_ingest_commits(
    tmp_path: Path, served_desk: tuple[Path, str]
) -> None:
    db, base = served_desk
    stop = threading.Event()
    served: list[int] = []
    errors: list[str] = []
    counts: list[int] = []

    def reader(path: str) -> None:
        while not stop.is_set():
            try:
                with urllib.request.urlopen(base + path, timeout=60) as response:
                    body = response.read()
                served.append(response.status)
                if path == "/api/articles":
                    counts.append(len(json.loads(body)["items"]))  # a page of up to 50: all of them here
            except Exception as exc:  # any failure is what this test counts
                errors.append(f"{path}: {type(exc).__name__}: {exc}")

    paths = ["/api/stories", "/api/articles", "/api/search?q=earthquake", "/"]
    threads = [threading.Thread(target=reader, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    try:
        with Desk.open(db) as desk:
            for n, start in enumerate(range(2, len(ARTICLES), 3)):
                desk.ingest([_write(tmp_path / f"batch{n}.jsonl", ARTICLES[start : start + 3])])
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=120)
    assert errors == []
    assert len(served) >= len(paths)
    # A reader never sees a half-written batch: each count is one of the batch boundaries.
    assert set(counts) <= {2, 5, 8, 10}, sorted(set(counts))
