"""Hostile input (issue 20): every case is built in tmp_path and must end bounded, reported and with
the rest of its batch kept. Bombs are written by streaming compressed data, so they stay small on disk."""

from __future__ import annotations

import http.server
import json
import os
import pickle
import struct
import threading
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from storydesk import snapshot
from storydesk.clean import clean, parse_published
from storydesk.config import IngestSettings, Settings
from storydesk.errors import MalformedInput
from storydesk.ingest import expand_paths, load_jsonl, read_path
from storydesk.models import Article, RawDocument, Rejection
from storydesk.pipeline import Pipeline

SETTINGS = IngestSettings()
STORY = (
    "<!DOCTYPE html><html><head><title>Quake hits the coast</title></head><body><article>"
    + "".join(
        f"<p>Paragraph {i}: a magnitude 6.1 earthquake struck the northern coast on Tuesday, officials said.</p>"
        for i in range(5)
    )
    + "</article></body></html>"
).encode()
MiB = 1 << 20


def _read(path: Path, settings: IngestSettings = SETTINGS) -> tuple[list[RawDocument], list[Rejection]]:
    items = list(read_path(path, settings))
    return [i for i in items if isinstance(i, RawDocument)], [i for i in items if isinstance(i, Rejection)]


def _repeat(piece: bytes, total: int) -> Iterator[bytes]:
    """``total`` bytes of ``piece`` repeated, a MiB at a time."""
    block = piece * (MiB // len(piece))
    while total > 0:
        yield block[: min(total, len(block))]
        total -= len(block)


def _gzip_member(parts: Iterable[bytes]) -> bytes:
    """One gzip member of the concatenated parts, compressed as they stream by."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    return b"".join(packer.compress(p) for p in parts) + packer.flush()


def _warc_parts(
    uri: str, body: Iterable[bytes], length: int, *, status: str = "200 OK", content_type: str = "text/html"
) -> Iterator[bytes]:
    http = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n".encode()
    yield (
        f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: {uri}\r\n"
        f"WARC-Record-ID: <urn:uuid:{abs(hash(uri))}>\r\nWARC-Date: 2021-07-05T10:00:00Z\r\n"
        f"Content-Type: application/http; msgtype=response\r\nContent-Length: {len(http) + length}\r\n\r\n"
    ).encode() + http
    yield from body
    yield b"\r\n\r\n"


def _warc_record(uri: str, payload: bytes, **kw: str) -> bytes:
    return b"".join(_warc_parts(uri, [payload], len(payload), **kw))


# --- bombs -------------------------------------------------------------------------------


def test_hostile_warc_gzip_bomb_record_is_refused_and_the_good_article_kept(tmp_path: Path) -> None:
    """The issue's case: one HTML record inflating to 64 MiB beside a good article."""
    size = 64 * MiB
    bomb = _warc_parts("https://bomb.example/page", [b"<html><body><p>", *_repeat(b"la ", size - 15)], size)
    path = tmp_path / "crawl.warc.gz"
    path.write_bytes(
        _gzip_member([_warc_record("https://good.example/quake", STORY)])
        + _gzip_member(bomb)
        + _gzip_member([_warc_record("https://good.example/after", STORY.replace(b"Tuesday", b"Monday"))])
    )
    assert path.stat().st_size < 1 * MiB  # small on disk
    docs, rejections = _read(path)
    assert [d.source.member for d in docs] == ["https://good.example/quake", "https://good.example/after"]
    [refused] = rejections
    assert refused.source.path == str(path) and refused.source.member == "https://bomb.example/page"
    assert "ingest.max_record_bytes" in refused.reason


def test_hostile_warc_archive_inflating_past_the_limit_stops_there(tmp_path: Path) -> None:
    size = 16 * MiB
    path = tmp_path / "many.warc.gz"
    path.write_bytes(
        _gzip_member([_warc_record("https://good.example/quake", STORY)])
        + _gzip_member(_warc_parts("https://bomb.example/big", _repeat(b"\0", size), size))
    )
    settings = IngestSettings(max_decompressed_bytes=4 * MiB, max_record_bytes=64 * MiB)
    docs, rejections = _read(path, settings)
    assert [d.source.member for d in docs] == ["https://good.example/quake"]
    assert any("ingest.max_decompressed_bytes" in r.reason for r in rejections), rejections


@pytest.mark.parametrize("name", ["bomb.txt.gz", "bomb.html.gz", "bomb.jsonl.gz"])
def test_hostile_gzip_bomb_is_refused_naming_the_setting(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(_gzip_member(_repeat(b"<p>lol</p> ", 64 * MiB)))
    docs, rejections = _read(path, IngestSettings(max_decompressed_bytes=8 * MiB))
    assert not docs
    [refused] = rejections
    assert refused.source.path == str(path) and "ingest.max_decompressed_bytes" in refused.reason


def test_hostile_gzip_inside_gzip_is_not_unpacked_again(tmp_path: Path) -> None:
    path = tmp_path / "twice.txt.gz"
    path.write_bytes(_gzip_member([_gzip_member([b"some text " * 100])]))
    docs, [refused] = _read(path)
    assert not docs and "inside gzip" in refused.reason


# --- entities --------------------------------------------------------------------------


class _Counter(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Counter.hits.append(self.path)
        body = b'<!ENTITY leak "LEAKED-OVER-HTTP">'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def dtd_server() -> Iterator[str]:
    """An HTTP server on 127.0.0.1 that counts every request: a parser fetching an entity shows up."""
    _Counter.hits = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Counter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


LAUGHS = "".join(
    f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
)  # lol9 expands to 10^9 "lol"s


def _rss(doctype: str, title: str) -> bytes:
    return (
        f'<?xml version="1.0"?>{doctype}<rss version="2.0"><channel><title>Feed</title>'
        f"<item><title>{title}</title><guid>g1</guid><description>A quake hit the coast on Tuesday, "
        "officials said, and hundreds of homes were damaged.</description></item></channel></rss>"
    ).encode()


def test_hostile_feed_billion_laughs_and_xxe_are_refused(tmp_path: Path, dtd_server: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT", encoding="utf-8")
    cases = {
        "laughs.xml": _rss(f'<!DOCTYPE rss [<!ENTITY lol0 "lol">{LAUGHS}]>', "&lol9;"),
        "xxe-file.rss": _rss(f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>', "&xxe;"),
        "xxe-http.rss": _rss(f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{dtd_server}/xxe">]>', "&xxe;"),
        "param.rss": _rss(f'<!DOCTYPE rss [<!ENTITY % ext SYSTEM "{dtd_server}/ext.dtd"> %ext;]>', "&leak;"),
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        docs, rejections = _read(path)
        assert not docs, name
        [refused] = rejections
        assert "entities" in refused.reason and refused.source.path == str(path)
    assert _Counter.hits == []


def test_hostile_feed_with_an_external_dtd_is_read_without_fetching_it(
    tmp_path: Path, dtd_server: str
) -> None:
    """RSS 0.91 feeds name Netscape's DTD; it is never fetched, and the feed is read."""
    path = tmp_path / "old.rss"
    path.write_bytes(
        _rss(f'<!DOCTYPE rss PUBLIC "-//Netscape//DTD RSS 0.91//EN" "{dtd_server}/rss.dtd">', "Quake")
    )
    docs, rejections = _read(path)
    assert [d.title for d in docs] == ["Quake"] and not rejections
    assert _Counter.hits == []


def test_hostile_html_entities_are_never_expanded(tmp_path: Path, dtd_server: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT", encoding="utf-8")
    path = tmp_path / "laughs.html"
    path.write_bytes(
        f'<?xml version="1.0"?><!DOCTYPE html SYSTEM "{dtd_server}/html.dtd" [<!ENTITY lol0 "lol">{LAUGHS}'
        f'<!ENTITY xxe SYSTEM "file://{secret}"><!ENTITY web SYSTEM "{dtd_server}/web">]>'.encode()
        + STORY.replace(b"Paragraph 0:", b"&lol9; &xxe; &web;")
    )
    docs, _ = _read(path)
    assert docs and all("lollol" not in (d.text or "") and "SECRET" not in (d.text or "") for d in docs)
    assert _Counter.hits == []


# --- JSON --------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["id", "views", "published"])
def test_hostile_jsonl_huge_integer_rejects_only_its_line(tmp_path: Path, field: str) -> None:
    path = tmp_path / "a.jsonl"
    good = {"id": "g", "title": "Quake", "text": "A quake hit the coast."}
    bad = {**good, "id": "b"}
    line = json.dumps(bad)[:-1] + f', "{field}": {"9" * 5000}}}'
    deep = "[" * 100_000 + "]" * 100_000
    path.write_text(
        f"{json.dumps(good)}\n{line}\n{deep}\n{json.dumps({**good, 'id': 'h'})}\n", encoding="utf-8"
    )
    docs, rejections = _read(path)
    assert [d.external_id for d in docs] == ["g", "h"]
    assert [r.source.line for r in rejections] == [2, 3]
    assert "5,000 digits" in rejections[0].reason and "nested too deeply" in rejections[1].reason
    with pytest.raises(MalformedInput) as raised:  # the strict reader of the stateless commands
        load_jsonl(path)
    assert raised.value.line == 2


# --- size ------------------------------------------------------------------------------------


def test_hostile_huge_article_is_cut_at_the_prefix_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    sentence = "Officials said the quake damaged hundreds of homes along the coast. "
    path.write_text(sentence * (3_000_000 // len(sentence)), encoding="utf-8")
    [doc], _ = _read(path)
    assert doc.text is not None and len(doc.text) == SETTINGS.max_chars
    total = path.stat().st_size
    assert doc.metadata["truncated"] == {"chars": {"kept": SETTINGS.max_chars, "total": total}}
    article = clean(doc, Settings().clean)
    assert isinstance(article, Article) and article.metadata["truncated"]["chars"]["total"] == total
    small = IngestSettings(max_chars=1000)
    [cut], _ = _read(path, small)
    assert cut.text is not None and len(cut.text) == 1000


def test_hostile_huge_html_page_is_parsed_up_to_the_prefix(tmp_path: Path) -> None:
    path = tmp_path / "huge.html"
    path.write_bytes(
        STORY.replace(b"</article>", b"<p>" + b"filler words here " * 200_000 + b"</p></article>")
    )
    [doc], _ = _read(path, IngestSettings(max_html_bytes=100_000))
    assert "earthquake struck" in (doc.text or "")
    assert doc.metadata["truncated"]["html_bytes"] == {"kept": 100_000, "total": path.stat().st_size}


def test_hostile_oversize_file_names_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    with path.open("wb") as fh:  # sparse: 30 MB long, nothing written
        fh.truncate(30_000_000)
    docs, [refused] = _read(path)
    assert not docs and "30,000,000 bytes" in refused.reason
    assert "--set ingest.max_file_bytes=" in refused.reason


# --- WARC records that are not articles ---------------------------------------------------


def test_hostile_warc_non_200_and_non_html_are_skipped_by_uri(tmp_path: Path) -> None:
    path = tmp_path / "mixed.warc"
    path.write_bytes(
        _warc_record("https://x.example/missing", STORY, status="404 Not Found")
        + _warc_record("https://x.example/moved", b"", status="301 Moved Permanently")
        + _warc_record("https://x.example/data.json", b'{"a": 1}', content_type="application/json")
        + _warc_record("https://x.example/story", STORY)
    )
    docs, rejections = _read(path)
    assert [d.source.member for d in docs] == ["https://x.example/story"]
    assert {r.source.member: r.reason for r in rejections} == {
        "https://x.example/missing": "HTTP 404 response, not an article: skipped",
        "https://x.example/moved": "HTTP 301 response, not an article: skipped",
        "https://x.example/data.json": "not an HTML page (application/json): skipped",
    }


# --- charsets --------------------------------------------------------------------------------

FRENCH = (
    "Le séisme a frappé la côte mercredi matin. Les secours ont évacué des centaines de familles, "
    "a déclaré la préfecture, et les écoles resteront fermées jusqu'à la fin de la semaine. "
) * 4


@pytest.mark.parametrize(
    "text",
    [
        FRENCH,
        FRENCH[:260],
        "Der Bürgermeister sagte, die Straße sei gesperrt. Über 300 Häuser sind beschädigt.",
    ],
)
def test_hostile_latin1_file_is_decoded_with_a_note(tmp_path: Path, text: str) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes(text.encode("latin-1"))
    [doc], rejections = _read(path)
    assert not rejections and doc.text == text
    note = doc.metadata["decoding"]
    assert note == {"charset": "cp1252", "how": "detected by charset-normalizer", "replaced": 0}
    article = clean(doc, Settings().clean)
    assert isinstance(article, Article) and article.metadata["decoding"] == note


def test_hostile_one_bad_byte_in_utf8_is_replaced_and_noted(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    text = FRENCH.encode("utf-8")
    broken = text[:40] + b"\xff" + text[40:]
    path.write_bytes(b'{"id": "a", "title": "S\xc3\xa9isme", "text": "' + broken + b'"}\n')
    [doc], rejections = _read(path)
    assert not rejections and doc.title == "Séisme"
    assert doc.text is not None and doc.text.count("\ufffd") == 1 and doc.text.replace("\ufffd", "") == FRENCH
    assert doc.metadata["decoding"] == {
        "charset": "utf-8",
        "how": "invalid UTF-8 bytes replaced",
        "replaced": 1,
    }


# --- folders ---------------------------------------------------------------------------------


def test_hostile_folder_unsupported_files_and_links_are_reported(tmp_path: Path) -> None:
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "story.txt").write_text("A quake hit the coast on Tuesday.", encoding="utf-8")
    for name in ["paper.pdf", "letter.docx", "table.csv"]:
        (root / name).write_bytes(b"x")
    (root / "dangling.txt").symlink_to(tmp_path / "gone.txt")
    (root / "self").symlink_to(root / "self")  # a link to itself: ELOOP
    (root / "sub" / "up").symlink_to(root)  # a folder loop
    (root / "also").symlink_to(root / "sub")  # a second way into sub: read once
    files, rejections = expand_paths([root], SETTINGS)
    assert [f.relative_to(root).as_posix() for f in files] == ["also/story.txt"]
    reasons = {Path(r.source.path).relative_to(root).as_posix(): r.reason for r in rejections}
    assert set(reasons) == {"paper.pdf", "letter.docx", "table.csv", "dangling.txt", "self", "sub", "also/up"}
    assert (
        "unsupported file type (.pdf)" in reasons["paper.pdf"] and "ingest.extensions" in reasons["table.csv"]
    )
    assert "broken symbolic link" in reasons["dangling.txt"]
    assert "loop" in reasons["self"] and "not followed again" in reasons["sub"]
    _, [given] = expand_paths([root / "dangling.txt"], SETTINGS)  # given by name, the same reason
    assert "broken symbolic link" in given.reason


# --- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("September 14, 2013 10 : 46 AM", "2013-09-14T10:46:00"),
        ("PUBLISHED : THURSDAY, MAY 2, 2013, 1 : 32 PM UPDATED : FRIDAY, MAY 3, 2013, 9 : 56 AM", "2013-05-02T13:32:00"),
        ("UPDATED 05 / 03 / 2013 at 11 : 00 AM EDT Originally published 05 / 03 / 2013 at 10 : 20 AM EDT",
         "2013-05-03T10:20:00"),
        ("12 : 52 p. m. EDT May 2, 2013", "2013-05-02T12:52:00"),
        ("June 6, 2013 3 : 05 PM EDT She was 91.", "2013-06-06T15:05:00"),
        ("published : 2012 - 04 - 04 11 : 47 : 35", "2012-04-04T11:47:35"),
    ],
)  # fmt: skip
def test_hostile_published_as_pages_write_it(written: str, expected: str) -> None:
    _, stamp = parse_published(written)
    assert stamp is not None and stamp.replace(tzinfo=None).isoformat() == expected


@pytest.mark.parametrize("written", ["not a date at all", "She was 91.", "Updated 9 : 06 AM"])
def test_hostile_published_nobody_could_read_is_none(written: str) -> None:
    assert parse_published(written) == (None, None)


def test_hostile_unreadable_published_is_reported_per_line_and_the_article_kept(tmp_path: Path) -> None:
    path = tmp_path / "dates.jsonl"
    rows = [
        {"id": "a", "title": "Quake", "text": "A quake hit the coast.", "published": "September 14, 2013 10 : 46 AM"},
        {"id": "b", "title": "Flood", "text": "A flood hit the town.", "published": "not a date at all"},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    batch = Pipeline().read_paths([path])
    assert [(a.external_id, a.published and a.published.isoformat()) for a in batch.articles] == [
        ("a", "2013-09-14"),
        ("b", None),
    ]
    [report] = batch.rejections
    assert report.stage == "clean" and report.source.line == 2 and "'not a date at all'" in report.reason


# --- the stream state ----------------------------------------------------------------------


def _state_file(tmp_path: Path, token: str, payload: bytes) -> Path:
    database = tmp_path / "desk.db"
    snapshot.commit(snapshot.stage(database, token, snapshot.MAGIC + payload))
    return database


def test_hostile_stream_state_asking_for_memory_is_refused(tmp_path: Path) -> None:
    """A small file whose pickle asks for ``bytearray(300_000_000)`` (the issue's: 2,000,000,000)."""
    payload = b"\x80\x05cbuiltins\nbytearray\nJ" + struct.pack("<i", 300_000_000) + b"\x85R."
    database = _state_file(tmp_path, "t1", payload)
    with pytest.raises(snapshot.SnapshotError, match="allocate 300,000,000 bytes"):
        snapshot.read(database, "t1")
    array = b"\x80\x05cnumpy._core.multiarray\n_reconstruct\ncnumpy\nndarray\nJ" + struct.pack("<i", 10**8)
    array += b"\x85C\x01b\x87R."  # _reconstruct(ndarray, (100_000_000,), b"b")
    database = _state_file(tmp_path, "t2", array)
    with pytest.raises(snapshot.SnapshotError, match="shape"):
        snapshot.read(database, "t2")


def test_hostile_stream_state_over_the_size_limit_is_not_loaded(tmp_path: Path) -> None:
    database = _state_file(tmp_path, "t1", pickle.dumps(list(range(10_000)), protocol=5))
    assert snapshot.read(database, "t1") == list(range(10_000))
    with pytest.raises(snapshot.SnapshotError, match=r"ingest\.max_stream_state_bytes"):
        snapshot.read(database, "t1", max_bytes=1000)
    assert os.path.getsize(snapshot.path_for(database)) > 1000


# --- the terminal --------------------------------------------------------------------------

EVIL = "Quake \x1b]0;pwned\x07\x1b[2J hits \u202egnp.exe\u202c coast\r\x9b31m"


@pytest.fixture
def evil_desk(tmp_path: Path) -> str:
    """A desk holding one article whose title and text carry ESC, BEL, CR, CSI and a bidi override
    (written straight to the store: no models needed)."""
    from storydesk.models import Assignment, DedupResult, Explanation, Extraction, Story
    from storydesk.store import Store, extraction_to_json

    db = str(tmp_path / "evil.db")
    store = Store(db)
    text = f"{EVIL} officials said on Tuesday. Hundreds of homes were damaged."
    article = Article(id="a1", text=text, raw_text=text, title=EVIL, outlet=f"Out{EVIL}", source=None)
    with store.transaction():
        store.add_article(article, DedupResult("a1"))
        store.put_extraction("a1", extraction_to_json(Extraction(article_id="a1")))
        store.replace_stories([Story("s1", EVIL, ("a1",))], [Assignment("a1", "s1", Explanation(1.0))], [])
    store.close()
    return db


@pytest.mark.parametrize(
    "command",
    [
        ["articles"],
        ["articles", "--json"],
        ["search", "officials"],
        ["search", "officials", "--json"],
        ["show", "s1"],
        ["show", "s1", "--format", "md"],
        ["show", "s1", "--format", "json"],
        ["show", "--all", "--format", "html"],
        ["stories"],
        ["why", "a1"],
    ],
)
def test_hostile_terminal_controls_are_neutralised(evil_desk: str, command: list[str]) -> None:
    from typer.testing import CliRunner

    from storydesk.cli import app

    result = CliRunner().invoke(app, ["--db", evil_desk, *command])
    assert result.exit_code == 0, result.output
    for char in "\x1b\x07\r\x9b\u202e\u202c":
        assert char not in result.stdout, (command, repr(char))
    if "json" in command:
        data = json.loads(result.stdout)  # still JSON, and the data reads back unchanged
        assert any(EVIL in value for value in _strings(data))
    elif command[0] != "why":
        assert "\\u202e" in result.stdout  # visible, not dropped
        if command[0] != "show":  # (the brief drops C0 controls itself)
            assert "\\u001b" in result.stdout


def _strings(data: object) -> Iterator[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for value in data.values():
            yield from _strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from _strings(value)


@pytest.mark.parametrize(
    "command", [["stories"], ["articles"], ["search", "x"], ["show", "--all"], ["why", "a"], ["rejections"]]
)
def test_hostile_read_only_commands_refuse_a_missing_desk(tmp_path: Path, command: list[str]) -> None:
    from typer.testing import CliRunner

    from storydesk.cli import app

    db = tmp_path / "typo.db"
    result = CliRunner().invoke(app, ["--db", str(db), *command])
    assert result.exit_code == 2 and "no desk at" in result.stderr and str(db) in result.stderr
    assert not db.exists()
