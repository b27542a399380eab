"""Cluster items: what the clusterer needs of one article (persistable), and the lexical and
time features computed from the article itself."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from storydesk.models import Article, published_time

if TYPE_CHECKING:
    pass


_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*[A-Za-z]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NUMBER_WORDS = {
    "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "dozen": "12", "twenty": "20",
    "hundred": "100", "thousand": "1000", "million": "1000000", "billion": "1000000000",
}  # fmt: skip
_ENTITY_LABELS = {"PERSON", "ORG", "GPE", "LOC", "FAC", "NORP", "EVENT", "PRODUCT", "WORK_OF_ART", "LAW"}
_NUMBER_LABELS = {"CARDINAL", "QUANTITY", "MONEY", "PERCENT"}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@functools.cache
def _stopwords() -> frozenset[str]:
    """sklearn's English stop words and a few news words; loaded on first use (importing sklearn
    takes seconds, which every read-only command would pay)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    extra = {"said", "says", "told", "according", "reported", "report", "reports", "news", "new", "year"}
    return frozenset(ENGLISH_STOP_WORDS) | extra


# --- items --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class ClusterItem:
    """What the clusterer needs of one article; persistable so stories can be rebuilt without models.

    ``time`` is days since 1970-01-01 UTC (None when the date is unknown); ``vector`` a unit float32
    embedding; ``terms`` lexical (term, count) pairs; ``entities`` normalised names; ``numbers`` and
    ``years`` the figures the title and lead mention; ``head_people`` the people the title names
    (full names and surnames), the event's protagonists.
    """

    id: str
    title: str
    time: float | None
    vector: np.ndarray
    terms: tuple[tuple[str, int], ...] = ()
    entities: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    years: tuple[str, ...] = ()
    head_people: tuple[str, ...] = ()

    def to_record(self) -> dict[str, Any]:
        """A JSON-able dict; the vector is base64 of little-endian float32."""
        vec = np.ascontiguousarray(self.vector, dtype="<f4")
        return {
            "id": self.id,
            "title": self.title,
            "time": self.time,
            "vector": base64.b64encode(vec.tobytes()).decode("ascii"),
            "terms": [[t, c] for t, c in self.terms],
            "entities": list(self.entities),
            "numbers": list(self.numbers),
            "years": list(self.years),
            "head_people": list(self.head_people),
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> ClusterItem:
        """Rebuild an item from ``to_record`` output (the vector may also be a plain list)."""
        raw = record["vector"]
        if isinstance(raw, str):
            vector = np.frombuffer(base64.b64decode(raw), dtype="<f4").astype(np.float32)
        else:
            vector = np.asarray(raw, dtype=np.float32)
        time = record.get("time")
        return cls(
            id=str(record["id"]),
            title=str(record.get("title") or ""),
            time=None if time is None else float(time),
            vector=vector,
            terms=tuple((sys.intern(str(t)), int(c)) for t, c in record.get("terms", ())),
            entities=tuple(record.get("entities", ())),
            numbers=tuple(record.get("numbers", ())),
            years=tuple(record.get("years", ())),
            head_people=tuple(record.get("head_people", ())),
        )


def item_terms(title: str, text: str, max_chars: int) -> tuple[tuple[str, int], ...]:
    """Lexical (term, count) pairs of title (counted twice) and the first ``max_chars`` of text."""
    counts: dict[str, int] = {}
    stop = _stopwords()
    for weight, chunk in ((2, title), (1, text[:max_chars])):
        for match in _WORD.finditer(chunk):
            word = match.group(0).lower()
            if word.endswith("'s"):
                word = word[:-2]
            if len(word) < 3 or word in stop:
                continue
            counts[word] = counts.get(word, 0) + weight
    return tuple((sys.intern(t), c) for t, c in sorted(counts.items()))


def _entity_key(text: str) -> str:
    key = text.lower().replace("\u2019", "'").strip(" .,'\"")
    if key.endswith("'s"):
        key = key[:-2]
    if key.startswith("the "):
        key = key[4:]
    return " ".join(key.split())


def _normalise_number(text: str) -> str | None:
    match = _NUMBER.search(text)
    if match:
        digits = match.group(0).replace(",", "")
        return digits.rstrip("0").rstrip(".") if "." in digits else digits
    return _NUMBER_WORDS.get(text.lower().strip())


def _time_of(article: Article) -> float | None:
    """Days since 1970-01-01 UTC of the article's publication."""
    when = published_time(article)
    return None if when is None else (when - _EPOCH).total_seconds() / 86400.0


def lead_text(article: Article, max_chars: int) -> str:
    """Title + lead, without repeating a title the text already starts with."""
    title = (article.title or "").strip()
    text = article.text.strip()
    if title and not text.startswith(title):
        text = f"{title}. {text}" if text else title
    return text[:max_chars]
