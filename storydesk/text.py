"""Plain-text helpers every stage shares: sentence splitting, the year pattern, month and weekday words.

One home for what the stages used to keep copies of (and disagree on). This module sits below the
stage modules in the dependency order: it imports nothing from storydesk.
"""

from __future__ import annotations

import re

__all__ = ["MONTHS", "MONTH_RE", "WEEKDAYS", "YEAR", "YEARS", "sentence_spans", "trim_span"]

#: A four-digit year a news text can mean: 1800-2099 (``YEARS``).
YEAR = re.compile(r"\b(?:1[89]\d\d|20\d\d)\b")
#: The years a date in news can fall in; a date outside them is a misreading.
YEARS = range(1800, 2100)

#: Month names and their abbreviations, lowercase, to the month's number.
MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip
#: A month as a text writes it: the full name or a capitalised abbreviation with an optional dot.
MONTH_RE = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan\.?|Feb\.?|Mar\.?|Apr\.?|Jun\.?|Jul\.?|Aug\.?|Sept\.?|Sep\.?|Oct\.?|Nov\.?|Dec\.?)"
)
#: Weekday names, lowercase, Monday first (``datetime.date.weekday`` order).
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


# --- sentences ----------------------------------------------------------------------------------


def _words(spaced: str) -> frozenset[str]:
    """A word set from a space-separated string (keeps long word lists readable)."""
    return frozenset(spaced.split())


_ABBREVIATIONS = _words(
    "mr mrs ms dr prof gen col lt sgt capt maj adm gov sen rep st jr sr inc corp ltd co no vs "
    "etc jan feb mar apr jun jul aug sep sept oct nov dec mt ft approx dept est fig"
)
# A sentence ends at . ! ? (plus closing quotes/brackets) before whitespace, or at a blank line.
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s)|\n\s*\n")


def sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    """Split ``text`` into sentence spans (start, end), trimmed of surrounding whitespace; linear time.

    Used when an extraction carries no sentences. Abbreviations (``Mr.``), initials (``U.S.``) and a
    lowercase next word do not end a sentence.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        if match.group().strip() and not _is_boundary(text, match.start(), end):
            continue
        _add_span(text, start, end, spans)
        start = end
    _add_span(text, start, len(text), spans)
    return tuple(spans)


def _is_boundary(text: str, dot: int, end: int) -> bool:
    """Whether the punctuation at ``dot`` really ends a sentence."""
    if text[dot] == ".":
        word_start = dot
        while word_start > 0 and (text[word_start - 1].isalpha() or text[word_start - 1] == "."):
            word_start -= 1
        word = text[word_start:dot].lower()
        if word in _ABBREVIATIONS or len(word.replace(".", "")) == 1:
            return False
    following = text[end : end + 40].lstrip()
    if not following:
        return True
    first = following[0]
    return not first.islower()


def _add_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without the whitespace at its ends (extractors often keep a paragraph break)."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
