"""Quantities: numbers with their bound, unit and counted noun, read from the parse."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from storydesk.extract.doc import _text, _token_at
from storydesk.extract.lexicon import (
    _BOUND_PATTERNS,
    _COMMON_UNITS,
    _CURRENCY,
    _CURRENCY_CODES,
    _CURRENCY_WORDS,
    _MULTIPLIERS,
    _NOT_UNIT_POS,
    _NUMBER_WORDS,
    _quantulum_unit,
    _unit_surfaces,
)
from storydesk.models import Bound, DateMention, Quantity
from storydesk.text import MONTH_RE

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span, Token


# --- quantities -----------------------------------------------------------------


_FRACTIONS = {
    "half": 2, "halves": 2, "third": 3, "thirds": 3, "quarter": 4, "quarters": 4, "fourth": 4,
    "fourths": 4, "fifth": 5, "fifths": 5, "sixth": 6, "sixths": 6, "eighth": 8, "eighths": 8,
    "tenth": 10, "tenths": 10,
}  # fmt: skip
_DIGITS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+")
# The inches of a height given in feet and inches: "5 foot, 8 inch".
_INCHES_AFTER = re.compile(r"\s*,?\s*(\d{1,2})\s*-?\s*(?:inch(?:es)?|in\.)", re.I)
_MILITARY_TIME = re.compile(r"(?:[01]\d|2[0-3])[0-5]\d")
# What follows a number that makes it a clock time, not a quantity: "7 p. m.", "3pm", "1100 hrs".
_CLOCK_AFTER = re.compile(
    rf"\s*(?:[ap]\.?\s?m\b\.?|hrs\b|h\b|GMT\b|UTC\b|o'clock\b|:\s?\d\d|(?:th\s)?{MONTH_RE}\b)", re.I
)
# A number that names rather than counts: a road, a flight, a channel, a jersey, a page.
_NAMING_BEFORE = frozenset(
    [
        "route",
        "highway",
        "interstate",
        "i",
        "flight",
        "no",
        "number",
        "channel",
        "room",
        "suite",
        "apt",
        "apartment",
        "gate",
        "pier",
        "exit",
        "page",
        "section",
        "article",
        "chapter",
        "jersey",
        "precinct",
        "district",
        "model",
        "version",
        "usb",
    ]
)
_STREET_AFTER = re.compile(
    r"\s+(?:[NSEW]\.?\s+)?(?:(?:[A-Z][\w'-]*|\d+(?:st|nd|rd|th))\s+){0,3}"
    r"(?:St|Street|Ave|Avenue|Blvd|Boulevard|Road|Rd|Lane|Ln|Drive|Dr|Way|Place|Pl|Court|Ct|Parkway|Pkwy)\b"
)
_AGO_AFTER = re.compile(
    r"\s*(?:-\s*)?(?:years?|months?|weeks?|days?|decades?|centuries|century)\s+ago\b", re.I
)
_AGE_AFTER = re.compile(r"\s*-?\s*years?\s*-?\s*olds?\b", re.I)
_SPECIFIC_AFTER = re.compile(r"\s*-\s*(?:gauge|caliber|calibre)\b|\s*(?:mm|cal)\b", re.I)


def _word_value(low: str) -> float | None:
    parts = [p for p in low.split("-") if p]
    if parts and all(p in _NUMBER_WORDS for p in parts):
        return float(sum(_NUMBER_WORDS[p] for p in parts))
    return None


def _token_value(tok: Token) -> float | None:
    """The value of one number token: digits (with thousands separators) or a number word."""
    low = tok.lower_
    if _DIGITS.fullmatch(low):
        return float(low.replace(",", ""))
    suffixed = _SUFFIXED.fullmatch(low)
    if suffixed and _is_money(tok):
        return float(suffixed.group(1)) * _SUFFIXES[suffixed.group(2)]
    return _word_value(low)


_SUFFIXED = re.compile(r"(\d+(?:\.\d+)?)(bn|mn|m|k)")
_SUFFIXES = {"bn": 1e9, "mn": 1e6, "m": 1e6, "k": 1e3}


def _currency_before(doc: Doc, i: int) -> bool:
    """Whether a currency symbol stands right before token ``i`` ("$5M", "£ 2bn")."""
    return i > 0 and doc[i - 1].text in _CURRENCY


def _is_money(tok: Token) -> bool:
    """A number with a currency before or after it: "£2bn", "3bn euros"."""
    doc = tok.doc
    after = doc[tok.i + 1] if tok.i + 1 < len(doc) else None
    return _currency_before(doc, tok.i) or (
        after is not None and (after.text in _CURRENCY_CODES or after.lower_ in _CURRENCY_WORDS)
    )


def _is_number(tok: Token) -> bool:
    low = tok.lower_
    if _word_value(low) is not None:
        if low == "dozen":
            return False
        # "seven AK-47 assault rifles": a parser may hang the number on the model name as a compound
        return tok.dep_ == "nummod" or (
            tok.dep_ == "compound" and tok.head.i > tok.i and tok.head.pos_ in ("NOUN", "PROPN", "NUM")
        )
    return bool(_DIGITS.fullmatch(tok.text)) or bool(_SUFFIXED.fullmatch(low) and _is_money(tok))


_SPAN_UNITS = frozenset({"minute", "hour", "day", "week", "fortnight", "month", "year", "decade"})
_SPAN_AFTER = frozenset({"later", "after", "earlier", "before"})


def _unit_word(tok: Token) -> bool:
    """A unit of measure or of time: "mile", "metres", "hour"."""
    return tok.lower_ in _COMMON_UNITS or tok.lemma_.lower() in _SPAN_UNITS


def _and_a_half(doc: Doc, j: int) -> bool:
    """Whether "and a half" follows token ``j - 1``: "two and a half", "a mile and a half"."""
    return (
        j + 2 < len(doc)
        and doc[j].lower_ == "and"
        and doc[j + 1].lower_ in ("a", "an")
        and doc[j + 2].lower_ == "half"
    )


def _number_run(doc: Doc, i: int) -> tuple[int, int, float] | None:
    """(start, end, value) of the number starting at token ``i``: digits split by a tokenizer
    ("2, 000", ". 09", "seventy - three"), number words, fractions ("two thirds", "one-sixth") and
    multipliers ("5 million"); None when the token starts no number.
    """
    n = len(doc)
    tok = doc[i]
    start = i
    # ". 09 percent": a decimal point a tokenizer set apart (it follows a word, not a digit)
    if (
        tok.text == "."
        and i + 1 < n
        and doc[i + 1].is_digit
        and tok.whitespace_
        and doc[i + 1].idx == tok.idx + 2
        and (i == 0 or not doc[i - 1].text[-1:].isdigit())
    ):
        return start, i + 2, float("0." + doc[i + 1].text)
    # "a hundred billion dollars", "about a dozen ships": the article stands for one
    if (
        tok.lower_ in ("a", "an")
        and i + 1 < n
        and doc[i + 1].lower_ in ("hundred", "thousand", "million", "billion", "dozen")
    ):
        value = 12.0 if doc[i + 1].lower_ == "dozen" else _MULTIPLIERS[doc[i + 1].lower_]
        j = i + 2
        while j < n and doc[j].lower_ in _MULTIPLIERS and doc[j].lower_ != "m":
            value *= _MULTIPLIERS[doc[j].lower_]
            j += 1
        return start, j, value
    if tok.lower_ == "twice":
        return start, i + 1, 2.0
    # "a 24- to 30-foot dhow": the range's low end keeps the hyphen of the unit it shares
    low_end = re.fullmatch(r"(\d+(?:\.\d+)?)[-–]", tok.text)
    if low_end and i + 1 < n and doc[i + 1].lower_ == "to":
        return start, i + 1, float(low_end.group(1))
    # "a mile and a half": one unit and a half
    if tok.lower_ in ("a", "an") and i + 1 < n and _unit_word(doc[i + 1]) and _and_a_half(doc, i + 2):
        return start, i + 1, 1.5
    # "half a mile": half of one unit
    if tok.lower_ == "half" and i + 2 < n and doc[i + 1].lower_ in ("a", "an") and _unit_word(doc[i + 2]):
        return start, i + 2, 0.5
    if (
        tok.lower_ == "a"
        and i + 3 < n
        and doc[i + 1].lower_ == "couple"
        and doc[i + 2].lower_ == "of"
        and doc[i + 3].lemma_.lower() in _SPAN_UNITS
    ):
        return start, i + 2, 2.0  # "a couple of hours" (not "a couple of us", "of bowls")
    # "an hour later", "a day after the crash": one unit of time, before or after the event
    if (
        tok.lower_ in ("a", "an")
        and i + 2 < n
        and doc[i + 1].lemma_.lower() in _SPAN_UNITS
        and doc[i + 2].lower_ in _SPAN_AFTER
    ):
        return start, i + 1, 1.0
    compound_word = (
        tok.lower_ in _NUMBER_WORDS
        and _NUMBER_WORDS[tok.lower_] >= 20
        and i + 2 < n
        and doc[i + 1].text == "-"
        and doc[i + 2].lower_ in _NUMBER_WORDS
    )
    if not compound_word and not _is_number(tok):
        return None
    first_value = _token_value(tok)
    if first_value is None:
        return None
    value = first_value
    j = i + 1
    text = tok.text
    # thousands groups split by the tokenizer: "2, 000", "$1, 099", "10, 000"
    if re.fullmatch(r"\d{1,3}", text):
        while j + 1 < n and doc[j].text == "," and re.fullmatch(r"\d{3}(?:\.\d+)?", doc[j + 1].text):
            value = value * 1000 + float(doc[j + 1].text)
            j += 2
    # "seventy - three", "twenty-five" already joined
    if tok.lower_ in _NUMBER_WORDS and _NUMBER_WORDS[tok.lower_] >= 20 and j + 1 < n and doc[j].text == "-":
        unit_word = doc[j + 1].lower_
        if unit_word in _NUMBER_WORDS and _NUMBER_WORDS[unit_word] < 10:
            value += _NUMBER_WORDS[unit_word]
            j += 2
    # a whole number and a fraction: "2 1/2 hours"
    if j < n and re.fullmatch(r"\d+", text) and (mixed := re.fullmatch(r"(\d)/(\d{1,2})", doc[j].text)):
        numerator, denominator = int(mixed.group(1)), int(mixed.group(2))
        if 0 < numerator < denominator:
            return start, j + 1, value + numerator / denominator
    # fractions: "two thirds", "two-thirds" (one token "two-thirds" or three), "one-sixth"
    k = j + 1 if j < n and doc[j].text == "-" else j
    if k < n and doc[k].lower_ in _FRACTIONS and value < 20:
        return start, k + 1, value / _FRACTIONS[doc[k].lower_]
    if _and_a_half(doc, j) and j + 3 < n and _unit_word(doc[j + 3]):
        return start, j + 3, value + 0.5  # "two and a half hours"
    money = _currency_before(doc, i)  # "$5M", "£2bn": M is a million, not a metre
    while j < n and doc[j].lower_ in _MULTIPLIERS and (doc[j].lower_ != "m" or money):
        value *= _MULTIPLIERS[doc[j].lower_]
        j += 1
    return start, j, value


def _names_not_counts(doc: Doc, start: int, end: int) -> bool:
    """A number that is a clock time, an address, a road, a calibre, or part of a name."""
    text = _text(doc)
    after = text[doc[end - 1].idx + len(doc[end - 1].text) : doc[end - 1].idx + len(doc[end - 1].text) + 60]
    if _CLOCK_AFTER.match(after) or _STREET_AFTER.match(after) or _SPECIFIC_AFTER.match(after):
        return True
    last, nxt = doc[end - 1], (doc[end] if end < len(doc) else None)
    if (
        nxt is not None
        and not last.whitespace_
        and re.fullmatch(r"[A-Z]", nxt.text)
        and not _currency_before(doc, start)
    ):
        return True  # "GT 650M", "3G", "X5": a model or a version, not a count
    if (
        _MILITARY_TIME.fullmatch(doc[start:end].text)
        and re.match(r"\s*hours\b", after, re.I)
        and start > 0
        and doc[start - 1].lower_
        in ("at", "by", "until", "till", "from", "before", "after", "around", "since")
    ):
        return True  # "at 1230 hours": a clock time, not 1,230 hours of work
    prev = doc[start - 1] if start > 0 else None
    if prev is not None and prev.text == ":" and start > 1 and doc[start - 2].text.isdigit():
        return True  # "9 : 25": the minutes of a clock time
    if (
        prev is not None
        and prev.text in ("-", "–")
        and start > 1
        and re.fullmatch(r"(?:19|20)\d\d", doc[start - 2].text)
    ):
        return True  # "2002 - 03": a season, not a count
    if prev is not None and prev.text == "-" and start > 1:
        prev = doc[start - 2]
    if prev is not None and prev.lower_.rstrip(".") in _NAMING_BEFORE:
        return True
    # "USB 3.0", "Apollo 11", "Fox 5": a capitalised name word right before, nothing counted after
    if prev is not None and prev.pos_ == "PROPN" and prev.text[:1].isupper() and not prev.is_sent_start:
        nxt = doc[end] if end < len(doc) else None
        if nxt is None or (nxt.pos_ not in ("NOUN", "PROPN", "ADJ", "SYM") and nxt.text not in ("%",)):
            return prev.ent_type_ not in ("PERSON",) and prev.dep_ in (
                "compound",
                "nmod",
                "npadvmod",
                "appos",
                "pobj",
                "dobj",
                "nsubj",
                "ROOT",
            )
    return False


def _age_subject(doc: Doc, start: int, end: int) -> str | None:
    """Whose age a number gives: "Jackman, 40," / "son Oscar, 8" / "the 40-year-old actor"."""
    text = _text(doc)
    after = text[doc[end - 1].idx + len(doc[end - 1].text) :][:40]
    m = _AGE_AFTER.match(after)
    if m:
        # the person (or noun) the "N-year-old" describes
        stop = doc[end - 1].idx + len(doc[end - 1].text) + m.end()
        k = end
        while k < len(doc) and doc[k].idx < stop:
            k += 1
        for t in doc[k : min(len(doc), k + 6)]:
            if t.ent_type_ == "PERSON":
                person = next((e for e in doc.ents if e.start <= t.i < e.end), None)
                return person.text if person is not None else t.text
            if t.pos_ == "NOUN":
                return t.text
            if t.is_punct:
                break
        return "someone"
    prev = doc[start - 1] if start > 0 else None
    nxt = doc[end] if end < len(doc) else None
    if (
        prev is not None
        and prev.text == ","
        and start >= 2
        and nxt is not None
        and nxt.text in (",", ".", ";", "of", "and", ")")
    ):
        before = doc[start - 2]
        if before.ent_type_ == "PERSON" or (before.pos_ == "PROPN" and before.text[:1].isupper()):
            ent = next((e for e in doc.ents if e.start <= before.i < e.end), None)
            return ent.text if ent is not None else before.text
    if prev is not None and prev.lower_ == "aged":
        return "someone"
    return None


_SCORE_AFTER = frozenset(
    ["loss", "win", "victory", "defeat", "rout", "thumping", "setback", "triumph", "decision", "game"]
)


def _record(doc: Doc, start: int, end: int) -> list[Quantity] | None:
    """A win-loss record ("122-147", "43 - 39 record") or a score ("an 88-72 loss"): two counts."""
    n = len(doc)
    if end != start + 1 or end + 1 >= n or doc[end].text not in ("-", "–"):
        return None
    a, b = doc[start], doc[end + 1]
    if not (re.fullmatch(r"\d{1,3}", a.text) and re.fullmatch(r"\d{1,3}", b.text)):
        return None
    if end + 2 < n and doc[end + 2].text in ("-", "–", "/"):
        return None  # "1-800-..." or a date, not a record
    following: set[str] = set()
    for t in doc[end + 2 : min(n, end + 5)]:  # the noun the pair modifies: "an 88-72 overtime loss"
        if t.pos_ not in ("NOUN", "ADJ", "PROPN"):
            break  # "opened 9-14 with eight losses": a record, whatever follows
        following.add(t.lemma_.lower())
    names = (
        ("points of the winner", "points of the loser") if following & _SCORE_AFTER else ("wins", "losses")
    )
    sent = a.sent
    return [
        Quantity(
            t.text, float(t.text), "=", None, name, t.idx, t.idx + len(t.text), sent.start_char, sent.end_char
        )
        for t, name in ((a, names[0]), (b, names[1]))
    ]


_RANGE_WORDS = frozenset({"to", "or", "and"})


def _range_end(doc: Doc, start: int, end: int) -> tuple[int, float, float] | None:
    """(end, low value, high value) when a number is the low end of a range: "10 to 15", "two or three",
    "between four and seven", "40 - to 50 -", "$10 million to $15 million"."""
    n = len(doc)
    k = end
    if k < n and doc[k].text in ("-", "–") and k + 1 < n and doc[k + 1].lower_ == "to":
        k += 1  # "24- to 30-foot"
    if k >= n or doc[k].lower_ not in _RANGE_WORDS:
        return None
    if doc[k].lower_ == "and" and not (start > 0 and doc[start - 1].lower_ == "between"):
        return None
    k += 1
    if k < n and doc[k].text in _CURRENCY:
        k += 1
    found = _number_run(doc, k) if k < n else None
    if found is None and k < n and (word := _word_value(doc[k].lower_)) is not None:
        found = (k, k + 1, word)  # "two or three": the second word need not modify the noun
    if found is None:
        return None
    high_start, high_end, high = found
    low = _number_run(doc, start)
    if low is None:
        return None
    low_value = low[2]
    scale = 1.0
    for tok in doc[high_start + 1 : high_end]:
        scale *= _MULTIPLIERS.get(tok.lower_, 1.0)
    if scale > 1 and not any(t.lower_ in _MULTIPLIERS for t in doc[low[0] + 1 : low[1]]):
        low_value *= scale  # "12 to 13 billion": the low end shares the multiplier
    if not low_value < high:
        return None
    return high_end, low_value, high


def _counts_one(doc: Doc, i: int) -> bool:
    """Whether the word "one" counts something ("killing one", "one count of ... and three counts")
    rather than picking one out ("one man told", "one day", "one of the ...")."""
    tok = doc[i]
    sent = tok.sent
    if tok.head.lemma_ in ("time", "point", "way", "thing"):
        return False  # "only one thing to say", "at one point"
    if re.search(
        r"(?:at least|only|just|more than|fewer than|about)\s+$", _text(doc)[sent.start_char : tok.idx], re.I
    ):
        return True
    if (
        tok.head.lemma_ in _SPAN_UNITS
        and tok.head.i == i + 1
        and i + 2 < len(doc)
        and doc[i + 2].lower_ in _SPAN_AFTER
    ):
        return True  # "one day after the loss": a span of time
    others = [t for t in sent if t.i != i and (_DIGITS.fullmatch(t.text) or t.lower_ in _NUMBER_WORDS)]
    return bool(others) and tok.head.lemma_ != "day"  # "one day" picks a day out, unless a span (above)


_DURATION_WORDS = frozenset({"hour", "minute", "second", "hr", "hrs", "min", "mins"})


def _quantities(doc: Doc, dates: Sequence[DateMention]) -> list[Quantity]:
    """Numbers with what they count, their bound and unit; dates, years, times and names excluded."""
    text = _text(doc)
    date_spans = [(d.start, d.end) for d in dates]
    ent_label = {}
    for ent in doc.ents:
        if ent.label_ == "TIME" and any(t.lemma_.lower() in _DURATION_WORDS for t in ent):
            continue  # "two hours of negotiations", "almost three hours": a duration, not a clock time
        if ent.label_ in ("ORG", "GPE", "LAW", "WORK_OF_ART", "PRODUCT", "FAC", "EVENT", "TIME"):
            for tok in ent:
                ent_label[tok.i] = ent.label_
    units = _unit_surfaces()
    out: list[Quantity] = []
    i, n = 0, len(doc)
    while i < n:
        tok = doc[i]
        found = _number_run(doc, i) if tok.i not in ent_label else None
        if found is None:
            i += 1
            continue
        first, j, value = found
        paired = _record(doc, first, j)
        if paired is not None:
            out.extend(paired)
            i = j + 2
            continue
        ranged = _range_end(doc, first, j)
        if ranged is not None:
            j, low_value, high = ranged
            # "24- to 30-foot", "$10 million to $15 million": the midpoint, about
            value = (low_value + high) / 2
        run = doc[first:j]
        s, e = run.start_char, run.end_char
        i = j
        if run.text.lower() == "one" and not _counts_one(doc, first):
            continue
        if any(s < de and ds < e for ds, de in date_spans):
            continue
        if _names_not_counts(doc, first, j) or _AGO_AFTER.match(text[e : e + 40]):
            continue
        nxt = doc[j] if j < n else None
        unit: str | None = None
        prev = doc[run.start - 1] if run.start > 0 else None
        end_tok = run[-1]
        age_of = _age_subject(doc, first, j)
        if age_of is not None:
            unit = "years"
            m = _AGE_AFTER.match(text[e : e + 40])
            if m:
                while j < n and doc[j].idx < e + m.end():
                    j += 1
                end_tok = doc[j - 1]
        elif run[-1].lower_ in _FRACTIONS and not (len(run) >= 3 and run[-3].lower_ == "and"):
            unit = "fraction"  # "two thirds of the border": a share, comparable with a percentage
        elif nxt is not None and (nxt.text == "%" or nxt.lower_ in ("percent", "per")):
            unit = "%"
            end_tok = nxt if nxt.lower_ != "per" else (doc[j + 1] if j + 1 < n else nxt)
        elif prev is not None and prev.text in _CURRENCY:
            unit = _CURRENCY[prev.text]
            s = prev.idx
        elif nxt is not None and (nxt.text in _CURRENCY_CODES or nxt.lower_ in _CURRENCY_WORDS):
            unit = (
                _CURRENCY_CODES.get(nxt.text) or _CURRENCY_WORDS[nxt.lower_]
            )  # "100 billion USD", "$5 dollars"
            end_tok = nxt
        elif run[-1].lower_ == "twice":
            unit = None
        elif nxt is not None and nxt.text == "-" and j + 1 < n and doc[j + 1].lower_ in _COMMON_UNITS:
            unit = doc[j + 1].lower_  # "a 30 - mile pursuit", "a 10-metre dhow"
            end_tok = doc[j + 1]
        elif nxt is not None and (
            (nxt.text in units and nxt.pos_ not in _NOT_UNIT_POS) or nxt.lower_ in _COMMON_UNITS
        ):
            unit = _quantulum_unit(text[run.start_char : nxt.idx + len(nxt.text) + 1]) or nxt.text
            end_tok = nxt
        e = max(e, end_tok.idx + len(end_tok.text))
        inches = _INCHES_AFTER.match(text, e) if unit in ("foot", "feet", "ft") else None
        if inches:  # "5 foot, 8 inch", "6 feet 2 inches": one height, in inches
            value, unit, e = value * 12 + float(inches.group(1)), "inches", inches.end()
            while i < n and doc[i].idx < e:
                i += 1
        bound: Bound = "~" if ranged is not None else "="
        sent = tok.sent
        before = text[max(sent.start_char, s - 30) : s]
        if ranged is not None and before.rstrip().lower().endswith("between"):
            s = s - (len(before) - len(before.rstrip())) - len("between")
        for pattern, b in _BOUND_PATTERNS:
            m = pattern.search(before)
            word = _token_at(doc, max(sent.start_char, s - 30) + m.start()) if m else None
            if m and word is not None and word.dep_ == "prt":
                break  # "taken over six districts": a particle, not a bound
            if m:
                bound = b
                s = max(sent.start_char, s - 30) + m.start()
                break
        if age_of is not None:
            counts: str | None = f"age of {age_of}"
        elif run[-1].lower_ == "twice":
            counts = "times"
        elif run.text.lower() in ("a", "an") and j < n:
            counts = doc[j].text  # "an hour later": one hour
            e = doc[j].idx + len(doc[j].text)
        else:
            counts = _counted(doc, run, end_tok, unit)
        if counts is not None:
            hyphen = _HYPHEN_COUNT.match(counts)
            if hyphen and hyphen.group(1):
                counts = hyphen.group(2).strip() or None  # "three-plus seasons": more than three
                bound = ">" if bound == "=" else bound
            elif hyphen and hyphen.group(2).strip().lower() == "time":
                counts = "times"  # "a four-time All-Star": how often, not how long
        if counts is None and unit is None and out:
            counts = _elided_count(text, out[-1], s, sent.start_char)
        half = re.match(r"\s+and an? half\b", text[e:]) if run.text.lower() in ("a", "an") else None
        if half:
            e += half.end()  # "a mile and a half"
            counts = None if unit else counts
            while i < n and doc[i].idx < e:
                i += 1
        out.append(Quantity(text[s:e], value, bound, unit, counts, s, e, sent.start_char, sent.end_char))
    return out


_HYPHEN_COUNT = re.compile(r"^\s*-\s*(plus\b)?\s*(\S*.*)$", re.I)
_COMPARED = re.compile(
    r"(?:compared (?:with|to)|up from|down from|versus|vs\.?|against|rather than|from)\s*$",
    re.I,
)


def _elided_count(text: str, previous: Quantity, start: int, sentence_start: int) -> str | None:
    """The counted noun a comparison leaves out: "32 million people, compared with 55.3 million"."""
    if previous.sentence_start != sentence_start or previous.unit is not None or not previous.counts:
        return None
    if previous.counts.startswith("age of") or start - previous.end > 80:
        return None
    return previous.counts if _COMPARED.search(text[previous.end : start]) else None


def _of_chain(doc: Doc, noun: Token, limit: int) -> int:
    """Index after the last token of ``noun`` extended by its "of ..." complements."""
    end = noun.i + 1
    for _ in range(3):
        preps = [c for c in noun.children if c.dep_ == "prep" and c.lower_ == "of" and c.i >= end - 1]
        objs = [c for p in preps for c in p.children if c.dep_ == "pobj"]
        if not objs or objs[0].i + 1 - end > limit:
            break
        noun = objs[0]
        end = noun.i + 1
    return end


_DIMENSION_ADJECTIVES = frozenset({"long", "high", "tall", "wide", "deep", "thick", "broad"})


def _counted(doc: Doc, run: Span, end_tok: Token, unit: str | None) -> str | None:
    """What a number counts, from the parse: the noun it modifies, or the object of "of"."""
    head = run[-1]
    for tok in run:
        if tok.head.i < run.start or tok.head.i >= run.end:
            head = tok
            break
    last = run[-1]
    if last.dep_ in ("nummod", "quantmod") and last.head.i > end_tok.i:
        head = last  # "1, 101 career games": a parser may hang the first group elsewhere
    measured, first = end_tok.head, end_tok.i + 1
    while (
        measured.pos_ == "ADJ" and measured.lower_ in _DIMENSION_ADJECTIVES and measured.head.i > measured.i
    ):
        measured, first = measured.head, measured.i + 1  # "the 10-metre-long dhow"
    if (
        unit
        and end_tok.i > run[-1].i
        and end_tok.dep_ in ("compound", "amod", "nmod", "npadvmod")
        and measured.i > end_tok.i
        and measured.pos_ == "NOUN"
        and measured.i - end_tok.i <= 3
    ):
        while first < measured.i and doc[first].is_punct:
            first += 1
        return doc[first : measured.i + 1].text  # "a 10-metre dhow": the dhow is measured
    if unit in ("%", "fraction"):
        owner = end_tok if end_tok.i != head.i else head
        preps = [c for c in owner.children if c.dep_ == "prep" and c.lower_ == "of"]
        if not preps and head.head.i > end_tok.i and head.dep_ in ("nummod", "compound", "amod"):
            noun = head.head
            return doc[end_tok.i + 1 : noun.i + 1].text or None
        objs = [c for p in preps for c in p.children if c.dep_ == "pobj"]
        if not objs:
            return None
        start = objs[0].left_edge.i
        return doc[start : _of_chain(doc, objs[0], 8)].text
    if head.dep_ in ("nummod", "quantmod", "compound", "amod") and head.head.i > end_tok.i:
        noun = head.head
        if noun.pos_ == "PROPN" and noun.dep_ in ("nummod", "compound") and 0 < noun.head.i - noun.i <= 3:
            noun = noun.head  # "seven AK-47 assault rifles": the name modifies what is counted
        if noun.pos_ not in ("NOUN", "PROPN") or noun.i - end_tok.i > 6:
            return None
        return doc[end_tok.i + 1 : _of_chain(doc, noun, 8)].text
    preps = [c for c in head.children if c.dep_ == "prep" and c.lower_ == "of" and c.i > end_tok.i]
    objs = [c for p in preps for c in p.children if c.dep_ == "pobj"]
    if objs:
        return doc[objs[0].left_edge.i : _of_chain(doc, objs[0], 8)].text
    return _changed_subject(doc, head)


#: Verbs that move a figure, or say where it stands: "the death toll rose to 24", "stood at 12".
_LEVEL_VERBS = frozenset({
    "rise", "climb", "increase", "jump", "grow", "reach", "mount", "swell", "soar", "surge", "fall", "drop",
    "decline", "decrease", "revise", "raise", "stand",
})  # fmt: skip


def _changed_subject(doc: Doc, number: Token) -> str | None:
    """What a figure counts when a verb moves it there: the verb's subject ("the death toll")."""
    prep = number.head
    if number.dep_ != "pobj" or prep.lower_ not in ("to", "at") or prep.head.lemma_ not in _LEVEL_VERBS:
        return None
    subject = next((c for c in prep.head.children if c.dep_ in ("nsubj", "nsubjpass")), None)
    if subject is None or subject.pos_ not in ("NOUN", "PROPN"):
        return None
    start = next((t.i for t in subject.lefts if t.dep_ in ("compound", "amod", "nmod")), subject.i)
    return doc[start : _of_chain(doc, subject, 8)].text
