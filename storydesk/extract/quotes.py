"""Quotes: direct quotations and reported speech, with speaker and cue spans."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from storydesk.extract.doc import _text, _token_at
from storydesk.extract.lexicon import _CUE_LEMMAS, _WEAK_CUES
from storydesk.models import Entity, Quote

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token


_QUOTE_CHARS = re.compile(r"[\"“”«»„]")
_MAX_QUOTE_CHARS = 3000
_AFTER_CLOSE = re.compile(r"\s*[-–—,.!?]*\s*[-–—]?\s*")

# --- quotes -------------------------------------------------------------------------


def _direct_spans(text: str) -> list[tuple[int, int, int, int]]:
    """Balanced quotation pairs: (open mark, content start, content end, close mark end); linear."""
    pairs: list[tuple[int, int, int, int]] = []
    open_at: int | None = None
    for m in _QUOTE_CHARS.finditer(text):
        p, c = m.start(), m.group(0)
        if open_at is not None and (p - open_at > _MAX_QUOTE_CHARS or "\n\n" in text[open_at:p]):
            open_at = None
        if open_at is None:
            if c in "“«„" or (c == '"' and (p == 0 or not text[p - 1].isalnum())):
                open_at = p
            continue
        closing = c in "”»" or c == '"'
        if c == "“":  # the seed's odd closing mark: “ - said ...
            closing = bool(re.match(r"\s*[-–—,]", text[p + 1 : p + 4])) or p + 1 == len(text)
        if closing:
            pairs.append((open_at, open_at + 1, p, p + 1))
            open_at = None
        else:
            open_at = p
    return pairs


def _subject(verb: Token) -> Token | None:
    """The speaker token of a cue verb: its subject, or its governing verb's for "..., saying"."""
    for c in verb.children:
        if c.dep_ in ("nsubj", "nsubjpass"):
            return c
    if verb.dep_ in ("advcl", "xcomp", "conj") and verb.head.pos_ in ("VERB", "AUX"):
        for c in verb.head.children:
            if c.dep_ in ("nsubj",):
                return c
    return None


def _speaker_span(tok: Token, lo: int, hi: int) -> tuple[int, int]:
    """Character span of a speaker phrase, clipped to [lo, hi)."""
    toks = [t for t in tok.subtree if lo <= t.idx and t.idx + len(t.text) <= hi and not t.is_punct]
    toks = toks or [tok]
    return toks[0].idx, toks[-1].idx + len(toks[-1].text)


def _quotes(doc: Doc, entities: Sequence[Entity]) -> list[Quote]:
    """Direct quotations with speaker and cue, then reported speech from the parse."""
    text = _text(doc)
    quotes: list[Quote] = []
    content_spans: list[tuple[int, int]] = []
    direct_ranges: list[tuple[int, int]] = []
    for open_at, c_start, c_end, close_end in _direct_spans(text):
        direct_ranges.append((open_at, close_end))
        body = text[c_start:c_end]
        stripped = body.strip()
        if len(stripped.split()) < 4:
            continue
        cs = c_start + (len(body) - len(body.lstrip()))
        ce = cs + len(stripped)
        found = _direct_attribution(doc, open_at, close_end)
        if found is None:
            continue
        (ss, se), (cus, cue_e) = found
        quotes.append(_make_quote(text, entities, doc, ss, se, cus, cue_e, cs, ce, True))
        content_spans.append((cs, ce))
    for tok in doc:
        if tok.lower_ == "according" and tok.i + 1 < len(doc) and doc[tok.i + 1].lower_ == "to":
            q = _according_to(doc, tok, entities)
        elif tok.lemma_.lower() in _CUE_LEMMAS and tok.pos_ in ("VERB", "AUX"):
            q = _reported(doc, tok, entities, direct_ranges)
        else:
            continue
        if q is None:
            continue
        if any(_half_overlap(q.content_start, q.content_end, s, e) for s, e in content_spans):
            continue
        quotes.append(q)
        content_spans.append((q.content_start, q.content_end))
    quotes.sort(key=lambda q: q.content_start)
    return quotes


def _overlap(a: int, b: int, c: int, d: int) -> int:
    return max(0, min(b, d) - max(a, c))


def _half_overlap(a: int, b: int, c: int, d: int) -> bool:
    """Whether [a, b) and [c, d) share at least half of the shorter one."""
    return _overlap(a, b, c, d) * 2 >= max(1, min(b - a, d - c))


def _direct_attribution(
    doc: Doc, open_at: int, close_end: int
) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """Speaker and cue spans for a quotation: `“...,” X said` / `said X` / `X said: “...”`."""
    text = _text(doc)
    after = _AFTER_CLOSE.match(text, close_end)
    start = after.end() if after else close_end
    first = _token_at(doc, start)
    if first is not None and first.idx - close_end < 8:
        window = doc[first.i : min(len(doc), first.i + 12)]
        for tok in window:
            if (tok.is_punct and tok.text in ".!?;") or tok.text in '“"':
                break
            if (
                tok.lemma_.lower() in _CUE_LEMMAS and tok.pos_ in ("VERB", "AUX")
            ) or tok.lower_ == "according":
                cue = (tok.idx, tok.idx + len(tok.text))
                if tok.lower_ == "according" and tok.i + 2 < len(doc):
                    obj = [c for c in doc[tok.i + 1].children if c.dep_ == "pobj"]
                    if not obj:
                        return None
                    cue = (tok.idx, doc[tok.i + 1].idx + len(doc[tok.i + 1].text))
                    return _speaker_span(obj[0], obj[0].left_edge.idx, len(text)), cue
                subj = _subject(tok)
                if subj is not None and subj.idx >= start:
                    return _speaker_span(subj, start, len(text)), cue
                if tok.i > first.i:  # "X said" where the parse lost the subject
                    prev = doc[tok.i - 1]
                    return (first.idx, prev.idx + len(prev.text)), cue
                rest = [t for t in doc[tok.i + 1 : min(len(doc), tok.i + 8)]]
                names: list[Token] = []
                for t in rest:
                    if t.is_punct or t.text in '“"':
                        break
                    names.append(t)
                if names:
                    return (names[0].idx, names[-1].idx + len(names[-1].text)), cue
                return None
    # `X said: “...”` / `X said, “...”`
    before = text[max(0, open_at - 3) : open_at].rstrip()
    if before.endswith((":", ",")):
        last = _token_at(doc, open_at, after=False)
        if last is None:
            return None
        sent = last.sent
        for tok in reversed(doc[sent.start : last.i + 1]):
            if tok.lemma_.lower() in _CUE_LEMMAS and tok.pos_ in ("VERB", "AUX"):
                subj = _subject(tok)
                if subj is None or subj.i > tok.i:
                    return None
                return _speaker_span(subj, sent.start_char, tok.idx), (tok.idx, tok.idx + len(tok.text))
    return None


def _trim_chars(text: str, s: int, e: int) -> tuple[int, int]:
    """A character range without surrounding spaces and punctuation (quote marks kept)."""
    while s < e and (text[s].isspace() or text[s] in ",;:-–—"):
        s += 1
    while e > s and (text[e - 1].isspace() or text[e - 1] in ",;:-–—."):
        e -= 1
    return s, e


def _reported(
    doc: Doc, verb: Token, entities: Sequence[Entity], direct: Sequence[tuple[int, int]]
) -> Quote | None:
    """Reported speech around a cue verb: "X said (that) ...", "..., X said", "X told Reuters ..."."""
    text = _text(doc)
    if any(s <= verb.idx < e for s, e in direct):
        return None
    comp = [c for c in verb.children if c.dep_ == "ccomp"]
    if comp:
        sub = list(comp[0].subtree)
        cs, ce = sub[0].idx, sub[-1].idx + len(sub[-1].text)
        mark_lo = verb.idx + len(verb.text) if sub[0].i > verb.i else cs
        cs = max(cs, mark_lo)
    elif verb.dep_ in ("parataxis", "ccomp") and verb.head.i < verb.i and verb.head.pos_ in ("VERB", "AUX"):
        head = verb.head
        first = head.left_edge
        cut = min(t.i for t in verb.subtree)
        if cut <= first.i:
            return None
        cs, ce = first.idx, doc[cut - 1].idx + len(doc[cut - 1].text)
    else:
        return None
    if verb.lemma_.lower() in _WEAK_CUES and not comp:
        return None
    cs, ce = _trim_chars(text, cs, ce)
    if ce - cs < 12 or len(text[cs:ce].split()) < 3:
        return None
    subj = _subject(verb)
    if subj is not None and cs <= subj.idx < ce:
        subj = None
    if subj is None and verb.lemma_.lower() in _WEAK_CUES:
        return None
    if subj is not None:
        ss, se = _speaker_span(subj, 0, len(text))
        if _overlap(ss, se, cs, ce):
            ss, se = subj.idx, subj.idx + len(subj.text)
        speaker: tuple[int, int] | None = (ss, se)
    else:
        speaker = None
    cue = (verb.idx, verb.idx + len(verb.text))
    if speaker is None:
        return _make_quote(text, entities, doc, None, None, *cue, cs, ce, False)
    return _make_quote(text, entities, doc, *speaker, *cue, cs, ce, False)


def _according_to(doc: Doc, tok: Token, entities: Sequence[Entity]) -> Quote | None:
    """'according to X, ...' and '..., according to X': X speaks the rest of the sentence."""
    text = _text(doc)
    to = doc[tok.i + 1]
    objs = [c for c in to.children if c.dep_ == "pobj"]
    if not objs:
        return None
    obj = objs[0]
    phrase_end = max(t.i for t in obj.subtree) + 1
    sent = tok.sent
    if tok.i - sent.start <= (sent.end - phrase_end):
        cs, ce = doc[phrase_end - 1].idx + len(doc[phrase_end - 1].text), sent.end_char
    else:
        cs, ce = sent.start_char, tok.idx
    cs, ce = _trim_chars(text, cs, ce)
    if len(text[cs:ce].split()) < 3:
        return None
    ss, se = _speaker_span(obj, 0, len(text))
    return _make_quote(text, entities, doc, ss, se, tok.idx, to.idx + len(to.text), cs, ce, False)


def _make_quote(
    text: str,
    entities: Sequence[Entity],
    doc: Doc,
    ss: int | None,
    se: int | None,
    cus: int,
    cue_e: int,
    cs: int,
    ce: int,
    direct: bool,
) -> Quote:
    """A Quote with its speaker resolved to an entity when the speaker's head word is one."""
    canonical = None
    if ss is not None and se is not None:
        span = doc.char_span(ss, se, alignment_mode="expand")
        root = span.root if span is not None and len(span) else None
        if root is not None:
            for ent in entities:
                if ent.start <= root.idx < ent.end and ent.label in ("PERSON", "ORG"):
                    canonical = ent.canonical
                    break
    return Quote(
        speaker=text[ss:se] if ss is not None else None,
        speaker_start=ss,
        speaker_end=se,
        cue=text[cus:cue_e],
        cue_start=cus,
        cue_end=cue_e,
        content=text[cs:ce],
        content_start=cs,
        content_end=ce,
        direct=direct,
        speaker_canonical=canonical,
    )
