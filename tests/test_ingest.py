"""Readers: every format, and bad input that must become a Rejection rather than an exception."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pytest

from storydesk.clean import clean
from storydesk.config import IngestSettings, Settings
from storydesk.ingest import expand_paths, read_path, read_records
from storydesk.models import Article, RawDocument, Rejection

SETTINGS = IngestSettings()
PAGE = (
    "<!DOCTYPE html><html><head><title>Border troops mobilised</title>"
    '<link rel="canonical" href="https://example.org/news/border"/>'
    '<meta property="og:site_name" content="Example News"/>'
    '<meta name="author" content="Jane Reporter"/>'
    '<meta property="article:published_time" content="2021-07-05T09:00:00Z"/></head>'
    "<body><nav>Home | World</nav><article><h1>Border troops mobilised</h1>"
    + "".join(
        f"<p>Paragraph {i}: the president ordered twenty thousand reservists to the southern border.</p>"
        for i in range(6)
    )
    + "</article><footer>Copyright</footer></body></html>"
)


def _read(path: Path, settings: IngestSettings = SETTINGS) -> list[RawDocument | Rejection]:
    return list(read_path(path, settings))


def _warc_record(uri: str, record_id: str, payload: bytes, content_type: str = "text/html") -> bytes:
    http = (
        f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
    )
    block = http + payload
    head = (
        f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: {uri}\r\nWARC-Record-ID: {record_id}\r\n"
        f"WARC-Date: 2021-07-05T10:00:00Z\r\nContent-Type: application/http; msgtype=response\r\n"
        f"Content-Length: {len(block)}\r\n\r\n"
    ).encode()
    return head + block + b"\r\n\r\n"


def _warc_bytes() -> bytes:
    return (
        _warc_record("https://example.org/a", "<urn:uuid:a>", PAGE.encode())
        + _warc_record("https://example.org/logo.png", "<urn:uuid:img>", b"\x89PNG\r\n", "image/png")
        + _warc_record("https://example.org/b", "<urn:uuid:b>", PAGE.replace("president", "premier").encode())
    )


def test_ingest_text_file(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("Some article text that is long enough.\n", encoding="utf-8")
    [doc] = _read(path)
    assert isinstance(doc, RawDocument)
    assert doc.format == "text" and doc.text == "Some article text that is long enough.\n"
    assert doc.source.path == str(path)


def test_ingest_jsonl_fields_and_broken_line(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    good = {
        "id": 7,
        "title": "T",
        "text": "Body text",
        "url": "https://x.org/a",
        "published": "2021-07-05Z",
        "source": "Outlet",
        "lang": "en",
    }
    path.write_text(
        json.dumps(good)
        + "\n{broken\n\n"
        + json.dumps({"url": "https://x.org/neither-text-nor-title"})
        + "\n"
        + json.dumps({**good, "id": "b"})
        + "\n",
        encoding="utf-8",
    )
    items = _read(path)
    docs = [i for i in items if isinstance(i, RawDocument)]
    rejections = [i for i in items if isinstance(i, Rejection)]
    assert [d.external_id for d in docs] == ["7", "b"]
    assert (
        docs[0].outlet == "Outlet" and docs[0].published == "2021-07-05Z" and docs[0].url == "https://x.org/a"
    )
    assert docs[0].metadata == {"lang": "en"}
    assert [(r.source.line, r.stage) for r in rejections] == [(2, "ingest"), (4, "ingest")]
    assert "JSON" in rejections[0].reason and "text" in rejections[1].reason
    assert docs[1].source.line == 5


@pytest.mark.parametrize(
    ("content", "documents", "rejected"),
    [
        ([{"text": "one"}, {"text": "two"}, {"text": ""}], 2, 1),
        ({"text": "single", "title": "x"}, 1, 0),
    ],
)
def test_ingest_json_array_and_object(tmp_path: Path, content: object, documents: int, rejected: int) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    items = _read(path)
    assert sum(isinstance(i, RawDocument) for i in items) == documents
    assert sum(isinstance(i, Rejection) for i in items) == rejected


def test_ingest_read_records_maps_in_memory() -> None:
    items = list(read_records([{"id": "a", "text": "x y", "extra": 1}, {"id": "b"}], "memory"))
    assert isinstance(items[0], RawDocument) and items[0].metadata == {"extra": 1}
    assert isinstance(items[1], Rejection) and items[1].source.line == 2 and items[1].source.path == "memory"


def test_ingest_html_page_metadata(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(PAGE, encoding="utf-8")
    [doc] = _read(path)
    assert isinstance(doc, RawDocument) and doc.format == "html"
    assert "twenty thousand reservists" in (doc.text or "")
    assert "Home | World" not in (doc.text or "")
    assert doc.title == "Border troops mobilised"
    assert doc.url == "https://example.org/news/border"
    assert doc.outlet == "Example News"
    assert (doc.published or "").startswith("2021-07-05")


def test_ingest_feed_entries(tmp_path: Path) -> None:
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire Feed</title>'
        "<item><title>First</title><link>https://f.org/1</link><guid>g1</guid>"
        "<pubDate>Mon, 05 Jul 2021 10:00:00 GMT</pubDate>"
        "<description>&lt;p&gt;Hello &lt;b&gt;world&lt;/b&gt;.&lt;/p&gt;"
        "&lt;p&gt;Second para.&lt;/p&gt;</description></item>"
        "<item><title>Headline only</title><link>https://f.org/2</link></item>"
        "</channel></rss>"
    )
    path = tmp_path / "feed.rss"
    path.write_text(feed, encoding="utf-8")
    docs = _read(path)
    assert all(isinstance(d, RawDocument) for d in docs)
    first, second = docs
    assert isinstance(first, RawDocument) and isinstance(second, RawDocument)
    assert first.outlet == "Wire Feed" and first.url == "https://f.org/1" and first.source.member == "g1"
    assert first.text == "Hello world.\n\nSecond para."
    assert (first.published or "").startswith("2021-07-05T10:00")
    assert second.title == "Headline only" and not second.text


def test_ingest_feed_sniffed_without_extension(tmp_path: Path) -> None:
    path = tmp_path / "feed.txt"
    path.write_text(
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
        "<entry><title>E</title><id>e1</id><summary>Text here.</summary></entry></feed>",
        "utf-8",
    )
    [doc] = _read(path)
    assert isinstance(doc, RawDocument) and doc.format == "feed" and doc.outlet == "A"


@pytest.mark.parametrize("compress", [False, True])
def test_ingest_warc_html_responses(tmp_path: Path, compress: bool) -> None:
    data = _warc_bytes()
    path = tmp_path / ("a.warc.gz" if compress else "a.warc")
    path.write_bytes(gzip.compress(data) if compress else data)
    items = _read(path)
    docs = [d for d in items if isinstance(d, RawDocument)]
    assert [d.source.member for d in docs] == ["https://example.org/a", "https://example.org/b"]
    assert all(d.format == "warc" for d in docs)
    assert "premier" in (docs[1].text or "")
    # The image record is skipped, counted and named by its target URI.
    [image] = [r for r in items if isinstance(r, Rejection)]
    assert image.source.member == "https://example.org/logo.png" and "image/png" in image.reason


def test_ingest_gz_text_is_decompressed_and_sniffed(tmp_path: Path) -> None:
    path = tmp_path / "page.html.gz"
    path.write_bytes(gzip.compress(PAGE.encode()))
    [doc] = _read(path)
    assert isinstance(doc, RawDocument) and doc.format == "html"


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("blob.txt", bytes(range(256)) * 8, "binary"),
        ("empty.txt", b"", "empty"),
        ("blank.jsonl", b"  \n\n ", "empty"),
        ("feed.xml", b'<?xml version="1.0"?><rss><<<>>>', "feed"),
        ("broken.json", b'{"text": ', "JSON"),
        ("cut.txt.gz", gzip.compress(b"hello world " * 200)[:40], "gzip"),
        ("cut.warc", _warc_bytes()[:700], "truncated"),
        ("cut.warc.gz", gzip.compress(_warc_bytes())[:300], "truncated"),
    ],
)
def test_ingest_bad_input_is_rejected(tmp_path: Path, name: str, data: bytes, words: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    items = _read(path)
    rejections = [i for i in items if isinstance(i, Rejection)]
    assert rejections, items
    assert all(r.stage == "ingest" and r.source.path == str(path) for r in rejections)
    assert any(words.lower() in r.reason.lower() for r in rejections), rejections


def test_ingest_oversize_checked_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("word " * 100, encoding="utf-8")
    [rejection] = _read(path, IngestSettings(max_file_bytes=100))
    assert isinstance(rejection, Rejection) and "too large" in rejection.reason


def test_ingest_expand_paths_folders_globs_missing(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    for rel in ["b.txt", "a.jsonl", "sub/c.html", "sub/skip.png", ".hidden/d.txt"]:
        (tmp_path / rel).write_text("x", encoding="utf-8")
    files, rejections = expand_paths([tmp_path, str(tmp_path / "*.txt"), tmp_path / "nope.txt"], SETTINGS)
    assert [f.relative_to(tmp_path).as_posix() for f in files] == ["a.jsonl", "b.txt", "sub/c.html"]
    # The unsupported file is counted with its reason (hidden entries stay out silently).
    assert [r.source.path for r in rejections] == [str(tmp_path / "sub/skip.png"), str(tmp_path / "nope.txt")]
    assert "unsupported file type (.png)" in rejections[0].reason
    _, none = expand_paths([str(tmp_path / "*.xyz")], SETTINGS)
    assert len(none) == 1 and "pattern" in none[0].reason


def test_ingest_record_field_names_of_other_datasets() -> None:
    """Aggregator dumps (TITLE/PUBLISHER/TIMESTAMP) and NewsAPI (source object, authors list) map too."""
    aggregator = {"ID": 7, "TITLE": "Quake hits Chile", "PUBLISHER": "Daily Wire", "TIMESTAMP": 1625479200000,
                  "URL": "https://d.example/q", "STORY": "dd1"}  # fmt: skip
    newsapi = {"source": {"id": None, "name": "Example Post"}, "author": ["A. Writer", "B. Writer"],
               "title": "Quake", "description": "A quake hit.", "publishedAt": "2021-07-05T10:00:00Z"}  # fmt: skip
    docs = list(read_records([aggregator, newsapi], "memory"))
    first, second = docs
    assert isinstance(first, RawDocument) and isinstance(second, RawDocument)
    assert (first.external_id, first.title, first.outlet, first.url) == ("7", "Quake hits Chile", "Daily Wire",
                                                                         "https://d.example/q")  # fmt: skip
    assert first.published == "1625479200000" and first.text == ""
    assert first.metadata == {"STORY": "dd1"}  # what is not an article field stays as metadata
    assert (second.outlet, second.author, second.text) == (
        "Example Post",
        "A. Writer, B. Writer",
        "A quake hit.",
    )
    assert second.published == "2021-07-05T10:00:00Z"
    article = clean(first, Settings().clean)
    assert isinstance(article, Article) and article.published_at == dt.datetime(2021, 7, 5, 10, tzinfo=dt.UTC)


def test_ingest_jsonl_headline_only_record_is_kept(tmp_path: Path) -> None:
    """Aggregator streams carry a title, a publisher and a time, and no body."""
    path = tmp_path / "h.jsonl"
    record = {"id": "h1", "title": "Strong quake shakes northern Chile", "source": "Aggregator"}
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    (doc,) = _read(path)
    assert isinstance(doc, RawDocument)
    assert doc.title == record["title"] and doc.text == ""
