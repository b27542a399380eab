"""JSON and JSONL readers, and the record -> RawDocument mapping they share with in-memory input."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from storydesk.errors import InputError, MalformedInput
from storydesk.ingest._common import decode_or_reject, reject, with_note
from storydesk.models import RawDocument, Rejection, Source

# Each article field and the names other datasets and exports give it (matched case-insensitively,
# first present wins): news-aggregator dumps say TITLE/PUBLISHER/TIMESTAMP, scrapers say headline,
# body, date_publish, link. The canonical name comes first.
FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "id": ("id", "doc_id", "article_id", "guid"),
    "title": ("title", "headline"),
    "text": ("text", "body", "content", "maintext", "article", "description", "summary"),
    "url": ("url", "link", "href"),
    "published": (
        "published", "published_at", "publishedat", "date_publish", "publish_date", "pubdate", "date",
        "datetime", "timestamp", "time",
    ),
    "source": ("source", "publisher", "outlet", "source_name", "site_name", "domain"),
    "author": ("author", "authors", "byline"),
}  # fmt: skip


# Python refuses to convert integers longer than this (sys.int_info.default_max_str_digits); a longer
# one in a record is that record's error, not the file's.
_MAX_DIGITS = 4300


class _BadJSON(ValueError):
    """A JSON text that parses as JSON but not as a record: a huge number, deep nesting."""


def _parse_int(digits: str) -> int:
    if len(digits) - digits.startswith("-") > _MAX_DIGITS:
        raise _BadJSON(f"a number with {len(digits):,} digits (more than {_MAX_DIGITS:,})")
    return int(digits)


def _parse_json(text: str) -> Any:
    """``json.loads`` that raises ``json.JSONDecodeError`` for broken JSON and ValueError with a plain
    reason for a number too long to convert or nesting too deep to parse."""
    try:
        return json.loads(text, parse_int=_parse_int)
    except RecursionError as exc:
        raise _BadJSON("JSON nested too deeply") from exc


def lowered_keys(record: Mapping[str, Any]) -> dict[str, Any]:
    """Each key of the record by its lower-case form (the first of keys that differ only in case)."""
    lowered: dict[str, Any] = {}
    for key in record:
        lowered.setdefault(str(key).lower(), key)
    return lowered


def _canonical(record: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a record into its article fields (by canonical name) and everything else (metadata)."""
    lowered = lowered_keys(record)
    fields: dict[str, Any] = {}
    used: set[str] = set()
    for name, aliases in FIELD_NAMES.items():
        for alias in aliases:
            found = lowered.get(alias)
            if found is not None and record[found] is not None and record[found] != "":
                fields[name] = record[found]
                used.add(found)
                break
    return fields, {k: v for k, v in record.items() if k not in used}


def _scalar(record: Mapping[str, Any], key: str) -> str | None:
    """A field as a stripped string, or None when absent/empty.

    A list of strings (several authors) is joined with commas and an object with a ``name`` (NewsAPI's
    ``source``) gives that name; any other container raises ValueError.
    """
    value = record.get(key)
    if value is None:
        return None
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        value = ", ".join(str(v).strip() for v in value if str(v).strip())
    elif isinstance(value, dict) and isinstance(value.get("name"), str):
        value = value["name"]
    if isinstance(value, (dict, list)):
        raise ValueError(f"field {key!r} must be a string, not a {type(value).__name__}")
    text = str(value).strip()
    return text or None


def record_to_document(record: Any, source: Source, fmt: str = "jsonl") -> RawDocument | Rejection:
    """Map one JSON object to a RawDocument; a record that is not an article becomes a Rejection."""
    if not isinstance(record, Mapping):
        return Rejection("ingest", f"expected a JSON object, got {type(record).__name__}", source)
    record, metadata = _canonical(record)
    text = record.get("text")
    title = record.get("title")
    has_title = isinstance(title, str) and bool(title.strip())
    if text is None and has_title:
        text = ""  # a headline-only item (aggregator streams): the title is the article
    if not isinstance(text, str) or not (text.strip() or has_title):
        return Rejection("ingest", "record has neither a non-empty 'text' nor a 'title'", source)
    try:
        fields = {key: _scalar(record, key) for key in FIELD_NAMES if key != "text"}
    except ValueError as exc:
        return Rejection("ingest", str(exc), source)
    return RawDocument(
        source=source,
        format="jsonl",
        text=text,
        external_id=fields["id"],
        title=fields["title"],
        url=fields["url"],
        published=fields["published"],
        outlet=fields["source"],
        author=fields["author"],
        metadata=metadata,
    )


def read_records(records: Iterable[Mapping[str, Any]], origin: str) -> Iterator[RawDocument | Rejection]:
    """Map in-memory records; record ``i`` (0-based) is reported as line ``i + 1`` of ``origin``."""
    for index, record in enumerate(records):
        yield record_to_document(record, Source(origin, index + 1))


def read_jsonl(data: bytes, path: str) -> Iterator[RawDocument | Rejection]:
    """One JSON object per line; a broken line is rejected with its 1-based number, the rest goes on."""
    decoded = decode_or_reject(data, path)
    if isinstance(decoded, Rejection):
        yield decoded
        return
    text, note = decoded
    seen = False
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        seen = True
        try:
            record = _parse_json(line)
        except json.JSONDecodeError as exc:
            yield reject(path, f"broken JSON line: {exc.msg} (column {exc.colno})", line=number)
            continue
        except _BadJSON as exc:
            yield reject(path, f"unreadable JSON line: {exc}", line=number)
            continue
        yield _noted(record_to_document(record, Source(path, number)), note)
    if not seen:
        yield reject(path, "empty file (no JSON records)")


def read_json(data: bytes, path: str) -> Iterator[RawDocument | Rejection]:
    """A JSON array of objects or a single object; falls back to JSONL when the file is one object a line."""
    decoded = decode_or_reject(data, path, "empty file")
    if isinstance(decoded, Rejection):
        yield decoded
        return
    text, note = decoded
    try:
        value = _parse_json(text)
    except _BadJSON as exc:
        yield reject(path, f"unreadable JSON: {exc}")
        return
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":  # several objects: JSON Lines under a .json name
            yield from read_jsonl(data, path)
        else:
            reason = f"broken JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            yield reject(path, reason, line=exc.lineno)
        return
    if isinstance(value, list):
        if not value:
            yield reject(path, "empty JSON array")
        for index, record in enumerate(value):
            yield _noted(record_to_document(record, Source(path, member=f"[{index}]"), "jsonl"), note)
    else:
        yield _noted(record_to_document(value, Source(path)), note)


def _noted(doc: RawDocument | Rejection, note: dict[str, Any] | None) -> RawDocument | Rejection:
    """The document with the file's decoding note in its metadata."""
    if note is None or isinstance(doc, Rejection):
        return doc
    return dataclasses.replace(doc, metadata=with_note(doc.metadata, note))


def load_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Every object of a JSONL file, strictly: a broken line raises, naming its line.

    For the stateless commands and evaluations, where a half-read input would give
    misleading output; ``read_jsonl`` is the lenient reader that ingest uses.
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(str(path), exc.strerror or str(exc)) from exc
    except UnicodeDecodeError as exc:
        raise InputError(str(path), f"not valid UTF-8 text: {exc.reason}") from exc
    records = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = _parse_json(line)
        except json.JSONDecodeError as exc:
            raise MalformedInput(str(path), f"invalid JSON: {exc.msg}", line=n) from exc
        except _BadJSON as exc:
            raise MalformedInput(str(path), f"unreadable JSON: {exc}", line=n) from exc
        if not isinstance(record, dict):
            raise MalformedInput(str(path), "expected a JSON object", line=n)
        records.append(record)
    return records
