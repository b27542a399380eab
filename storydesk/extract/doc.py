"""Helpers over a parsed spaCy ``Doc`` that every extractor shares."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token


def _text(doc: Doc) -> str:
    """``doc.text``, kept on the Doc: spaCy joins every token again on each read, and the extractors
    read it once per number and quote (a quadratic cost on a long article)."""
    text = doc.user_data.get(_TEXT_KEY)
    if text is None:
        text = doc.user_data[_TEXT_KEY] = doc.text
    return str(text)


_TEXT_KEY = "storydesk.text"


def _token_at(doc: Doc, char: int, after: bool = True) -> Token | None:
    """The first token starting at or after ``char`` (or the last ending at or before it)."""
    span = doc.char_span(char, char, alignment_mode="expand") if 0 <= char <= len(_text(doc)) else None
    if after:
        for tok in doc[span.start :] if span is not None else doc:
            if tok.idx >= char:
                return tok
        return None
    for tok in reversed(doc[: span.end] if span is not None else doc):
        if tok.idx + len(tok.text) <= char:
            return tok
    return None
