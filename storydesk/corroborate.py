"""Align the claims of one story's articles into facts, each with a status and its citations.

A claim is a quantity (``20,000`` reserve servicemen), a quote, or a sentence. Claims about the
same thing are grouped into a ``Fact``; the fact is *corroborated* when two or more independent
sources carry it, *single-source* otherwise, and *conflicting* when the grouped values cannot all
be true (``20,000`` vs ``10,000``). Independence is by wire origin, not outlet: ten rewrites of one
Reuters report are one source.

Decisions (documented here because the brief relies on them):

- Quantities with neither a unit nor a counted noun are dropped: nothing says what they are about,
  so they can neither be aligned nor stated. Time spans and years (``20 years``, ``2020``) are
  timeline, not facts of the quantity kind, and are dropped too.
- Counted nouns are compared as sets of normalised terms (lemma + a small military/people synonym
  table: ``reservists`` ~ ``reserve servicemen`` ~ ``servicemen``), with the head noun required to
  agree. Agreeing values need only that; merely compatible values (``1,037`` and ``more than
  1,000``) need a closer counted noun or a similar sentence; incompatible values are declared a
  conflict only when the counted noun *and* the surrounding sentence agree, since a conflict is a
  strong claim and two different counts of soldiers are usually two different things.
- Quote and statement facts are emitted only when the same quote or sentence appears in two or more
  articles; a quote found once is shown in the brief's quotes section, not as a fact.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from difflib import SequenceMatcher

from storydesk.models import (
    Article,
    Bound,
    Citation,
    Extraction,
    Fact,
    FactStatus,
    Quantity,
    Quote,
    published_time,
)

__all__ = ["corroborate", "sentence_spans", "source_of", "trim_span", "values_compatible"]

#: Relative tolerance of an approximate value: "about 1,000" covers 900..1,100.
ABOUT_TOLERANCE = 0.1
#: Statement facts: minimum stem Jaccard between two sentences of different articles.
STATEMENT_SIMILARITY = 0.6
#: Quote facts: minimum token containment between two quotes of different articles.
QUOTE_SIMILARITY = 0.85

#: Members of a fact a new claim is compared with (keeps grouping linear in large stories).
_GROUP_SAMPLE = 25
_STATUS_RANK = {"corroborated": 0, "conflicting": 1, "single-source": 2}
_BOUND_RANK = {"=": 0, "~": 1, ">": 2, "<": 2}

# --- independence -------------------------------------------------------------------------------


def source_of(article: Article, wire_origin: str | None) -> str:
    """The independence key of an article: its wire origin, else its outlet, else ``article:<id>``."""
    if wire_origin and wire_origin.strip():
        return wire_origin.strip()
    if article.outlet and article.outlet.strip():
        return article.outlet.strip()
    return f"article:{article.id}"


def _words(spaced: str) -> frozenset[str]:
    """A word set from a space-separated string (keeps long word lists readable)."""
    return frozenset(spaced.split())


# --- sentences ----------------------------------------------------------------------------------

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


def _sentence_at(spans: Sequence[tuple[int, int]], start: int, end: int, text_len: int) -> tuple[int, int]:
    """The span covering every sentence that overlaps [start, end), or [start, end) itself."""
    first: int | None = None
    last: int | None = None
    for s, e in spans:
        if e <= start:
            continue
        if s >= max(end, start + 1):
            break
        if first is None:
            first = s
        last = e
    if first is None or last is None:
        return max(0, start), min(text_len, max(end, start))
    return first, last


# --- terms --------------------------------------------------------------------------------------

_STOP = _words(
    "a an co the of in on at to for from by with and or but as into onto over under about than "
    "more less fewer some any its it their his her our your this that these those there here "
    "who whom whose which what when where while is are was were be been being has have had do "
    "does did not no so such up out off also all most many much very just only per via since "
    "after before during against between through across each other another further additional "
    "new total around nearly almost approximately roughly least at"
)
# Words that report rather than state, and agency names: they say who, not what.
_ATTRIBUTION = _words(
    "said says say told tell tells reported reports report reporting according added adds "
    "stated statement announced agency news source sources reuters ria novosti interfax tass ap "
    "afp xinhua bloomberg monday tuesday wednesday thursday friday saturday sunday earlier "
    "today yesterday"
)
_IRREGULAR = {
    "men": "man",
    "women": "woman",
    "servicemen": "serviceman",
    "servicewomen": "servicewoman",
    "people": "person",
    "persons": "person",
    "children": "child",
    "police": "police",
    "personnel": "personnel",
    "troops": "troop",
    "crewmen": "crewman",
    "grandchildren": "grandchild",
    "schoolchildren": "child",
}
# Counted nouns that name the same kind of thing; a tuple expands one word into several terms.
_CONCEPTS: dict[str, tuple[str, ...]] = {
    "serviceman": ("soldier",),
    "servicewoman": ("soldier",),
    "servicemember": ("soldier",),
    "soldier": ("soldier",),
    "troop": ("soldier",),
    "trooper": ("soldier",),
    "personnel": ("soldier",),
    "force": ("soldier",),
    "reservist": ("reserve", "soldier"),
    "conscript": ("conscript", "soldier"),
    "militant": ("fighter",),
    "insurgent": ("fighter",),
    "fighter": ("fighter",),
    "person": ("person",),
    "individual": ("person",),
    "kid": ("child",),
    "coworker": ("worker",),
    "colleague": ("worker",),
    "employee": ("worker",),
    "staffer": ("worker",),
    "grandkid": ("grandchild",),
    "crewman": ("crew",),
    "crewmember": ("crew",),
    "sailor": ("crew",),
    "seafarer": ("crew",),
    "rifle": ("gun",),
    "firearm": ("gun",),
    "handgun": ("gun",),
    "percent": ("%",),
    "pct": ("%",),
}
_BIGRAMS = {("service", "member"): "soldier", ("force", "member"): "soldier", ("crew", "member"): "crew"}
# Heads too generic to say what is counted: "members of X" counts X.
_GENERIC = _words("member number part share portion proportion line lot group kind type worth value amount")
_TIME_UNITS = _words("year month week day hour minute second decade century yr yrs hr hrs min sec fortnight")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)


def _lemma(word: str) -> str:
    """A cheap English lemma: irregular plurals, then -ies/-es/-s endings."""
    word = word.lower().replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    if len(word) > 5 and word.endswith("is") and not word.endswith("sis"):
        return word[:-1]  # demonyms: "Somalis", "Israelis", "Yemenis"
    return word


_MODEL_PLURAL = re.compile(r"(?<=\d)s\b")
_LISTED = re.compile(r"^(.*?)\s+(?:and|or)\s+\S*\d\S*\s+.*?(\S+)$")


def _count_terms(counts: str) -> tuple[tuple[str, ...], str | None]:
    """Normalised terms of a counted noun phrase and its head concept.

    ``members of the Afghan security force members`` -> (afghan, security, soldier), head soldier.
    """
    counts = _MODEL_PLURAL.sub("", counts)  # "seven AK-47s" counts AK-47s
    listed = _LISTED.match(counts)
    if listed:  # "Somali and 11 Yemeni pirates": this number counts the Somali pirates
        counts = f"{listed.group(1)} {listed.group(2)}"
    parts = re.split(r"\bof\b", counts.lower(), maxsplit=1)
    chosen: list[str] = []
    for part in parts:
        terms = _normalise_words([_lemma(w) for w in _WORD.findall(part)])
        if terms and not all(t in _GENERIC for t in terms):
            chosen = terms
            break
        if not chosen:
            chosen = terms
    specific = [t for t in chosen if t not in _GENERIC] or chosen
    all_terms = tuple(dict.fromkeys(specific))
    return all_terms, (specific[-1] if specific else None)


def _normalise_words(lemmas: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lemmas):
        word = lemmas[i]
        if i + 1 < len(lemmas) and (word, lemmas[i + 1]) in _BIGRAMS:
            out.append(_BIGRAMS[(word, lemmas[i + 1])])
            i += 2
            continue
        i += 1
        if word in _STOP:
            continue
        out.extend(_CONCEPTS.get(word, (word,)))
    return out


def _stems(text: str, exclude: frozenset[str] = frozenset()) -> frozenset[str]:
    """Content-word stems (first five letters of the lemma) of a text, without reporting words."""
    stems = set()
    for word in _WORD.findall(text):
        low = word.lower()
        if low in _STOP or low in _ATTRIBUTION or len(low) < 3:
            continue
        lemma = _lemma(low)
        if lemma in exclude or lemma in _ATTRIBUTION:
            continue
        stems.add(lemma[:5])
    return frozenset(stems)


def _jaccard(a: frozenset[str] | set[str], b: frozenset[str] | set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


# --- values -------------------------------------------------------------------------------------


def _interval(value: float, bound: str, tolerance: float) -> tuple[float, float]:
    if bound == ">":
        return value, math.inf
    if bound == "<":
        return -math.inf, value
    if bound == "~":
        spread = abs(value) * tolerance
        return value - spread, value + spread
    return value, value


def values_compatible(
    a: tuple[float, str], b: tuple[float, str], *, tolerance: float = ABOUT_TOLERANCE
) -> bool:
    """Whether two (value, bound) claims can both be true: ``1,037`` fits ``more than 1,000``."""
    lo_a, hi_a = _interval(a[0], a[1], tolerance)
    lo_b, hi_b = _interval(b[0], b[1], tolerance)
    eps = 1e-9 * max(1.0, abs(a[0]), abs(b[0]))
    return lo_a <= hi_b + eps and lo_b <= hi_a + eps


_BOUND_WORDS = re.compile(
    r"\b(more|less|fewer|over|under|about|around|approximately|roughly|nearly|almost|some|at least|"
    r"at most|up to|upwards|below|above|exceed|close to|estimated|between)\b",
    re.IGNORECASE,
)
_BOUND_PREFIX = {">": "more than ", "<": "fewer than ", "~": "about ", "=": ""}


def _value_text(q: Quantity) -> str:
    """How the value reads in the brief: ``more than 70%``, ``1,037``, ``six``."""
    text = " ".join(q.text.split())
    if not text:
        text = _format_number(q.value)
    if q.bound != "=" and not _BOUND_WORDS.search(text):
        text = _BOUND_PREFIX.get(q.bound, "") + text
    if q.unit == "%" and "%" not in text and "percent" not in text.lower():
        text += "%"
    return text


def _format_number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.6g}"


# --- claims -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Claim:
    """One quantity mention, ready to align: its value in base units, its measure and its context."""

    order: int
    article_id: str
    source: str
    quantity: Quantity
    value_text: str
    unit: str | None  # the measure key: a dimension ("length", "USD", "%", "time") or None for counts
    base: float  # the value in the dimension's base unit (metres, kilograms, days, ...)
    converted: bool  # whether the value was given in a non-base unit (conversions are rounded)
    terms: frozenset[str]
    head: str | None
    context: frozenset[str]
    sentence: tuple[int, int]
    sentence_text: str
    clause: str
    quoted: bool
    person: str | None = None  # whose age, by surname: "age of Robert Buckley" -> buckley
    moved: bool = False  # a verb moved the figure there: "the death toll rose to 24"
    events: frozenset[str] = frozenset()  # what happened to what is counted: killed, wounded, rescued
    cumulative: bool = False  # a running total over many events ("14 rifles so far"), not this one
    siblings: frozenset[tuple[str, float]] = frozenset()  # the sentence's other listed items: (noun, value)


@dataclass(slots=True)
class _Group:
    claims: list[_Claim]


class _Article:
    """Per-article state: text, sentence spans, source key."""

    def __init__(self, index: int, article: Article, extraction: Extraction | None, source: str) -> None:
        self.index = index
        self.article = article
        self.extraction = extraction
        self.source = source
        spans = extraction.sentences if extraction and extraction.sentences else ()
        text = article.text
        trimmed = (trim_span(text, s, e) for s, e in sorted(spans) if 0 <= s < e <= len(text))
        self.spans: tuple[tuple[int, int], ...] = tuple(sp for sp in trimmed if sp[1] > sp[0])
        if not self.spans:
            self.spans = sentence_spans(text)

    def sentence(self, start: int, end: int) -> tuple[int, int]:
        return _sentence_at(self.spans, start, end, len(self.article.text))

    def citation(self, span: tuple[int, int]) -> Citation:
        text = self.article.text[span[0] : span[1]]
        return Citation(self.article.id, span[0], span[1], " ".join(text.split()))


# Units by dimension, with their factor to the dimension's base unit. Unknown units are their own
# dimension with factor 1, so "20 points" is only ever compared with points.
_UNIT_FACTORS: dict[str, tuple[str, float]] = {
    **dict.fromkeys(("m", "metre", "meter", "metres", "meters"), ("length", 1.0)),
    **dict.fromkeys(("km", "kilometre", "kilometer", "kilometres", "kilometers"), ("length", 1000.0)),
    **dict.fromkeys(("cm", "centimetre", "centimeter", "centimetres", "centimeters"), ("length", 0.01)),
    **dict.fromkeys(("ft", "foot", "feet"), ("length", 0.3048)),
    **dict.fromkeys(("in", "inch", "inches"), ("length", 0.0254)),
    **dict.fromkeys(("yd", "yard", "yards"), ("length", 0.9144)),
    **dict.fromkeys(("mi", "mile", "miles"), ("length", 1609.344)),
    **dict.fromkeys(("nautical mile", "nautical miles", "nm"), ("length", 1852.0)),
    **dict.fromkeys(("kg", "kilogram", "kilograms", "kilo", "kilos"), ("mass", 1.0)),
    **dict.fromkeys(("g", "gram", "grams"), ("mass", 0.001)),
    **dict.fromkeys(("lb", "lbs", "pound", "pounds"), ("mass", 0.45359237)),
    **dict.fromkeys(("tonne", "tonnes", "metric ton", "metric tons"), ("mass", 1000.0)),
    **dict.fromkeys(("ton", "tons"), ("mass", 907.18474)),
    **dict.fromkeys(
        ("km/h", "kmh", "kph", "kilometres per hour", "kilometers per hour", "kilometre per hour"),
        ("speed", 1.0),
    ),
    **dict.fromkeys(("mph", "miles per hour", "miles an hour", "mile per hour"), ("speed", 1.609344)),
    **dict.fromkeys(("%", "percent", "per cent", "pct", "percentage", "percentage points"), ("%", 1.0)),
    "fraction": ("%", 100.0),  # "two thirds" is 66.7%
    **dict.fromkeys(("l", "litre", "liter", "litres", "liters"), ("volume", 1.0)),
    **dict.fromkeys(("gallon", "gallons"), ("volume", 3.785411784)),
    **dict.fromkeys(("sq ft", "square foot", "square feet"), ("area", 0.09290304)),
    **dict.fromkeys(("square metre", "square meter", "square metres", "square meters"), ("area", 1.0)),
}
_TIME_FACTORS = {
    "second": 1 / 86400, "minute": 1 / 1440, "hour": 1 / 24, "day": 1.0, "night": 1.0, "week": 7.0,
    "fortnight": 14.0, "month": 30.44, "year": 365.25, "decade": 3652.5, "century": 36525.0,
}  # fmt: skip
#: Relative slack between values given in different units (conversions are rounded: 2,000 ft ~ 600 m).
CONVERSION_TOLERANCE = 0.05


def _measure(q: Quantity, terms: tuple[str, ...]) -> tuple[str | None, float, bool]:
    """(dimension, factor to its base unit, whether the unit is not the base one) of a quantity."""
    low = " ".join((q.unit or "").lower().split()).rstrip(".")
    if not low and " ".join(terms) in _UNIT_FACTORS:
        low = " ".join(terms)  # "13 nautical miles": the parse took the unit for a counted noun
    if not low and (q.counts or "").lower().strip() in _UNIT_FACTORS:
        low = (q.counts or "").lower().strip()
    if low in _UNIT_FACTORS:
        dim, factor = _UNIT_FACTORS[low]
        return dim, factor, factor != 1.0
    if low:
        time = _TIME_FACTORS.get(_lemma(low))
        if time is not None:
            return "time", time, time != 1.0
        return low.upper() if len(low) == 3 and low.isalpha() else low, 1.0, False
    # a duration told by its counted noun: "three years", "19 seasons" stay counts of seasons
    if terms and terms[-1] in _TIME_FACTORS and len(terms) == 1:
        return "time", _TIME_FACTORS[terms[-1]], _TIME_FACTORS[terms[-1]] != 1.0
    return None, 1.0, False


def _keep_quantity(q: Quantity) -> tuple[tuple[str, ...], str | None] | None:
    """The counted-noun terms and head of a quantity worth aligning, or None to drop it."""
    if not math.isfinite(q.value):
        return None
    terms, head = _count_terms(q.counts or "")
    unit = (q.unit or "").strip() or None
    if unit is None and head is None:
        return None  # a bare number: nothing says what it counts
    if unit is None and not q.counts and 1000 <= q.value <= 2100 and float(q.value).is_integer():
        return None
    return terms, head


#: A figure a verb moves, right before it: "rose to 24", "has climbed to more than 30", "revised up to".
_MOVED = re.compile(
    r"\b(?:rose|ris(?:e|es|en|ing)|climb(?:s|ed|ing)?|increas(?:e|es|ed|ing)|jump(?:s|ed|ing)?"
    r"|gr(?:ew|own|ows|owing)|mount(?:s|ed|ing)?|swell(?:s|ed|ing)?|swollen|soar(?:s|ed|ing)?"
    r"|surg(?:e|es|ed|ing)|reach(?:es|ed|ing)?|revised(?:\s+(?:up|down)(?:wards?)?)?|rais(?:e|es|ed|ing)"
    r"|f(?:ell|alls|allen|alling)|dropp(?:ed|ing)|drops|declin(?:e|es|ed|ing)|decreas(?:e|es|ed|ing))"
    r"\s+(?:to|at)\s+(?:[\w$€£]+\s+){0,2}$",
    re.I,
)
# What happened to the people or things counted, from the words around the number: "two climbers
# killed" and "two men died" count one thing; "killing one" and "wounding two" count two.
_EVENT_WORDS: dict[str, str] = {
    **dict.fromkeys(
        _words("kill killed killing kills die died dies dying dead death deaths fatal fatally perished"),
        "death",
    ),
    **dict.fromkeys(_words("wound wounded wounding injure injured injuring injuries hurt"), "injury"),
    **dict.fromkeys(_words("rescue rescued rescuing saved"), "rescue"),
    **dict.fromkeys(_words("missing"), "missing"),
    **dict.fromkeys(
        _words("arrest arrested arresting detain detained nab nabbed apprehend apprehended capture captured"),
        "arrest",
    ),
}
#: Characters either side of a number searched for what happened to what it counts.
_EVENT_REACH = 40


def _events(window: str) -> frozenset[str]:
    return frozenset(_EVENT_WORDS[w] for w in _WORD.findall(window.lower()) if w in _EVENT_WORDS)


_NAME_SUFFIXES = _words("jr sr ii iii iv")


def _age_person(counts: str | None) -> str | None:
    """The surname whose age a quantity gives ("age of Anthony LaCalamita III"), None for a common noun."""
    if not counts or not counts.lower().startswith("age of "):
        return None
    words = [w for w in _WORD.findall(counts[7:]) if w.lower().rstrip(".") not in _NAME_SUFFIXES]
    return words[-1].lower() if words and words[-1][:1].isupper() else None


#: A running total over many events, not the event's own figure: "14 rifles seized so far", "in its
#: five operations", "during the five operations". A total and one event's figure never align.
_CUMULATIVE = re.compile(
    r"\b(?:so far|thus far|to date|till date|until now|up to now|all told|in all|altogether"
    r"|cumulative(?:ly)?"
    r"|(?:in|during|over|across) (?:the |its |their |his |her |all )?(?:[\w-]+ )?"
    r"(?:operations|missions|raids|patrols|deployments|campaigns))\b",
    re.I,
)


def _different_events(a: _Claim, b: _Claim) -> bool:
    """Whether both claims say what happened to what they count, and it is not the same."""
    return bool(a.events and b.events and not a.events & b.events)


def _same_person(a: str, b: str) -> bool:
    """One surname, allowing the one-letter misspellings rewrites carry ("Rait", "Raite")."""
    return a == b or (min(len(a), len(b)) >= 4 and SequenceMatcher(None, a, b).ratio() >= 0.8)


_NUMBER = (
    r"(?:\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\w+teen"
    r"|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)"
)
_ORDINAL = r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|\d+(?:st|nd|rd|th))"
#: The whole a part is counted against is the frame of the part, not a claim of its own: "won 18 of
#: its next 23 games", "five of the six casings", "the team's eighth (loss) in 10 games". ("One of
#: four men" does say how many men there were.)
_PARTITIVE_WHOLE = re.compile(
    rf"(?:\b(?!one\b){_NUMBER}\s+of|\b{_ORDINAL}\s+in)\s+(?:(?:the|their|its|his|her|our|these|those)\s+)?"
    r"(?:(?:last|next|first|past|previous|final|remaining)\s+)?$",
    re.I,
)
#: People one of whom a story mentions as "a" person: "one man told", "one disabled patient brought".
_INDIVIDUALS = _words(
    "man woman person boy girl child kid baby patient witness resident neighbour neighbor official "
    "source climber driver passenger worker employee friend relative student teacher reporter viewer "
    "fan caller customer shopper bystander onlooker guest visitor"
)
#: A headline's list ("5 Thoughts on Why ...", "10 things to know") counts nothing in the news.
_LISTICLE = _words("thing reason way thought tip fact question lesson takeaway moment sign step myth secret")
#: Compounds a number is part of, not a count: "the three-point line", "our 3-for-All game".
_TERM_OF_ART = re.compile(
    r"^\s?-\s?(?:for\s?-|point\s+(?:line|basket|shot|shots|shooter|shooting|range|attempt|attempts|play|arc))",
    re.I,
)
#: Numbers inside the names of events: "9/11".
_NAMED_NUMBER = re.compile(r"\b9\s?/\s?11\b")


def _not_a_claim(
    q: Quantity, head: str | None, text: str, span: tuple[int, int], events: frozenset[str]
) -> bool:
    """Whether a number, though read as a quantity, claims nothing about the event."""
    before = text[max(span[0], q.start - 60) : q.start]
    after = text[q.end : min(span[1], q.end + 40)]
    word = " ".join(q.text.split()).lower()
    if _PARTITIVE_WHOLE.search(before):
        return True
    if word == "one" and q.bound == "=":
        if before.lower().endswith("at ") and after.lower().startswith(" point"):
            return True  # "at one point"
        if head in _INDIVIDUALS and not events:
            return True  # "one man told": a man, not a count of men
    if head in _LISTICLE and not text[span[0] : q.start].strip(" \"'“‘"):
        return True
    if _TERM_OF_ART.match(text[q.end : q.end + 30]):
        return True
    return any(m.start() <= q.start < m.end() for m in _NAMED_NUMBER.finditer(text, span[0], span[1]))


def _claims(arts: Sequence[_Article]) -> list[_Claim]:
    claims: list[_Claim] = []
    for art in arts:
        if art.extraction is None:
            continue
        text = art.article.text
        seen: set[tuple[int, int]] = set()
        for q in sorted(art.extraction.quantities, key=lambda q: (q.start, q.end)):
            if (q.start, q.end) in seen or not (0 <= q.start < q.end <= len(text)):
                continue
            kept = _keep_quantity(q)
            if kept is None:
                continue
            seen.add((q.start, q.end))
            terms, head = kept
            dim, factor, converted = _measure(q, terms)
            if dim is not None and not q.unit and (q.counts or "").lower().strip() in _UNIT_FACTORS:
                terms, head = (), None  # the counted noun was the unit
            duration = dim == "time" and not q.unit
            if duration:
                terms, head = (), None  # "three years": the duration is the measure, not a counted noun
            if q.sentence_end > q.sentence_start and q.sentence_start <= q.start and q.end <= q.sentence_end:
                span = trim_span(text, q.sentence_start, q.sentence_end)
            else:
                span = art.sentence(q.start, q.end)
            sentence_text = text[span[0] : span[1]]
            exclude = frozenset(_lemma(w) for w in _WORD.findall(q.counts or ""))
            events = _events(text[max(span[0], q.start - _EVENT_REACH) : min(span[1], q.end + _EVENT_REACH)])
            if _not_a_claim(q, head, text, span, events):
                continue
            claims.append(
                _Claim(
                    order=len(claims),
                    article_id=art.article.id,
                    source=art.source,
                    quantity=q,
                    value_text=_value_text(q)
                    + (f" {q.counts.strip()}" if duration and q.counts and q.counts not in q.text else ""),
                    unit=dim,
                    base=q.value * factor,
                    converted=converted,
                    terms=frozenset(terms),
                    head=head,
                    context=_stems(text[span[0] : q.start] + " " + text[q.end : span[1]], exclude),
                    sentence=span,
                    sentence_text=sentence_text,
                    clause=_clause(text, span, q.start, q.end),
                    quoted=_inside_quote(art.extraction.quotes, q, text, span),
                    person=_age_person(q.counts),
                    moved=bool(_MOVED.search(text[max(span[0], q.start - 60) : q.start])),
                    events=events,
                    cumulative=bool(_CUMULATIVE.search(sentence_text)),
                )
            )
    return _with_siblings(claims, {art.article.id: art.article.text for art in arts})


#: A figure paired with another by a dash: a record or a score ("122-147", "an 88-72 loss").
_PAIRED = re.compile(r"^\s?[-–]\s?\d")


def _with_siblings(claims: list[_Claim], texts: Mapping[str, str]) -> list[_Claim]:
    """Each claim with the counted nouns of the other items listed in its sentence (a record's two
    figures are one item, not a list)."""
    heads: dict[tuple[str, tuple[int, int]], list[tuple[str, float]]] = defaultdict(list)
    for c in claims:
        text = texts[c.article_id]
        q = c.quantity
        paired = _PAIRED.match(text[q.end : q.end + 4]) or _PAIRED.match(
            text[max(0, q.start - 4) : q.start][::-1]
        )
        if c.head and not paired:
            heads[(c.article_id, c.sentence)].append((c.head, c.base))
    return [
        replace(c, siblings=frozenset(h for h in heads[(c.article_id, c.sentence)] if h[0] != c.head))
        for c in claims
    ]


def _inside_quote(quotes: Sequence[Quote], q: Quantity, text: str, span: tuple[int, int]) -> bool:
    """Whether the quantity sits inside a direct quotation (by the extraction, or by quote marks)."""
    if any(quote.direct and quote.content_start <= q.start < quote.content_end for quote in quotes):
        return True
    before = text[span[0] : q.start]
    opened = before.count("“") + before.count("«") > before.count("”") + before.count("»")
    return opened or before.count('"') % 2 == 1


# A clause boundary: punctuation, or a reporting verb introducing what was reported.
_CLAUSE_BREAK = re.compile(
    r"[,;:—–][\"”’]?\s+"
    # a spaced dash, not the hyphen of a tokenised compound ("36 - year - old", "co - workers")
    r"|(?<!\d)(?<!\bco)(?<!\bex)\s+-\s+(?!(?:year|old|month|week|day|hour|minute|time|plus|point)s?\b)"
    r"|\s(?:told|said|reported|says|announced|stated)(?:\s+\w+){0,3}?\s+that\s",
    re.IGNORECASE,
)
_ATTRIBUTION_CLAUSE = re.compile(
    r"^(?:[\w’'.\s-]{0,60}\s)?(?:reported|said|says|told|according to|added|announced)\b", re.IGNORECASE
)
_RELATIVE = re.compile(r"^(?:which|that|who|as|while|and|but)\b", re.I)
_LEAD_IN = re.compile(r"^(?:earlier|meanwhile|however|also|in addition|additionally|moreover)\b,?\s*", re.I)


def _clause(text: str, span: tuple[int, int], q_start: int, q_end: int) -> str:
    """The clause of the sentence that carries the quantity, without attribution and lead-ins."""
    start, end = span
    pieces: list[tuple[int, int]] = []
    pos = start
    for match in _CLAUSE_BREAK.finditer(text, start, end):
        pieces.append((pos, match.start()))
        pos = match.end()
    pieces.append((pos, end))
    # the piece holding the number, then neighbours while the clause is too short to stand alone
    idx = next((i for i, (s, e) in enumerate(pieces) if s <= q_start < max(e, s + 1)), 0)
    lo = hi = idx
    while len(text[pieces[lo][0] : pieces[hi][1]].split()) < 6 and (lo > 0 or hi < len(pieces) - 1):
        after_ok = hi < len(pieces) - 1 and not _ATTRIBUTION_CLAUSE.match(
            text[pieces[hi + 1][0] : pieces[hi + 1][1]]
        )
        if after_ok:
            hi += 1
        elif lo > 0:
            lo -= 1
        else:
            hi += 1
    clause = " ".join(text[pieces[lo][0] : pieces[hi][1]].split())
    clause = _LEAD_IN.sub("", clause).strip(" \"'“”‘’-,.;:")
    relative = _RELATIVE.match(clause)
    if relative:
        number_at = clause.find(text[q_start:q_end].strip())
        if number_at >= 0 and len(clause[:number_at].split()) <= 4:
            clause = clause[number_at:]  # "which led to 1,037 ..." -> "1,037 ..."
    if not clause:
        clause = " ".join(text[start:end].split())
    return clause[:1].upper() + clause[1:]


# --- alignment ----------------------------------------------------------------------------------
#
# Two passes. First, claims that state the same value (within bounds, rounding and unit conversion)
# of the same measure in a similar frame become one value group. Then two value groups with
# incompatible values are joined as a conflict only when their frames agree closely (same counted
# thing, similar sentences) and no single article states both values: an article that gives both
# is the best witness that they measure different things (a depth and a distance, a total and a
# part, two prices in one list). Claims of one article never conflict with each other.

#: Minimum context (sentence) similarity for a compatible-but-different value to join a value group.
CONTEXT_COMPATIBLE = 0.3
#: ... and with the same counted noun: some shared context, since a bound or "about" lets many values
#: agree ("just over three seasons" as coach, "four seasons" as director of personnel).
CONTEXT_RELATED = 0.1
#: Minimum context similarity for two value groups to be declared a conflict over the same thing.
CONTEXT_CONFLICT = 0.3
#: Minimum context similarity for one value counted under two different nouns to be one fact: a
#: rewording of one sentence ("26 Somali pirates" / "26 Somali crewmen", "23 of them").
CONTEXT_REWORDED = 0.25
#: The same, for a value too specific to recur by chance in one story (23, 1,037, $9.4 million).
CONTEXT_DISTINCTIVE = 0.1
#: Other counted things two sentences must both list for their figures to be one inventory.
PARALLEL_LIST = 2
#: Minimum counted-noun term Jaccard for a conflict (the same thing counted, not a neighbour of it).
TERMS_CONFLICT = 0.5


def _unit_differs(a: _Claim, b: _Claim) -> bool:
    return (a.quantity.unit or "").lower() != (b.quantity.unit or "").lower() and (a.converted or b.converted)


def _claims_agree(a: _Claim, b: _Claim, tolerance: float) -> bool:
    """Whether two claims' values can both be true (bounds, "about", rounded unit conversions)."""
    lo_a, hi_a = _interval(a.base, a.quantity.bound, tolerance)
    lo_b, hi_b = _interval(b.base, b.quantity.bound, tolerance)
    slack = 1e-9 * max(1.0, abs(a.base), abs(b.base))
    if _unit_differs(a, b):
        slack += CONVERSION_TOLERANCE * max(abs(a.base), abs(b.base))
    return lo_a <= hi_b + slack and lo_b <= hi_a + slack


def _same_value(a: _Claim, b: _Claim) -> bool:
    if a.quantity.bound != b.quantity.bound:
        return False
    rel = CONVERSION_TOLERANCE if _unit_differs(a, b) else 1e-9
    return math.isclose(a.base, b.base, rel_tol=rel, abs_tol=1e-9)


def _frame(a: _Claim, b: _Claim) -> tuple[float, float, float] | None:
    """(counted-term overlap, term Jaccard, context Jaccard) when two claims measure the same kind of thing."""
    if a.unit != b.unit:
        return None
    needs_head = a.unit is None or a.head is not None or b.head is not None
    if needs_head and (a.head is None or b.head is None):
        return None
    if needs_head and a.head != b.head and a.head not in b.terms and b.head not in a.terms:
        return None  # "12 Somali" and "12 Somali pirates" count the same people; "12 ships" does not
    if a.person and b.person and not _same_person(a.person, b.person):
        return None  # two people's ages
    if a.cumulative != b.cumulative:
        return None  # a running total and one event's figure
    overlap = len(a.terms & b.terms) / max(1, min(len(a.terms), len(b.terms)))
    jac = _jaccard(a.terms, b.terms) if (a.terms or b.terms) else 1.0
    return overlap, jac, _jaccard(a.context, b.context)


def _distinctive(value: float) -> bool:
    """A value unlikely to recur by chance in one story: 23 pirates, 1,037 soldiers, $9.4 million."""
    value = abs(value)
    if value < 13:
        return False
    if float(value).is_integer():
        n = int(value)
        while n % 10 == 0 and n > 0:
            n //= 10
        return n >= 13 or (n % 5 != 0 and n > 1)
    return True


def _match(a: _Claim, b: _Claim, tolerance: float) -> float:
    """A score > 0 when two claims state one value of the same thing, 0 otherwise."""
    if a.cumulative != b.cumulative:
        return 0.0  # a running total and one event's figure are two facts, even when equal
    frame = _frame(a, b)
    if (
        frame is None
        and a.unit == b.unit
        and a.article_id != b.article_id
        and "time" not in (a.head, b.head)  # "a four-time All-Star" is no count of anything else
        and not (a.person and b.person)  # two named people's ages
        and (_same_value(a, b) or (_claims_agree(a, b, tolerance) and _near(a.base, b.base)))
    ):
        # the same value counted under another noun ("23 pirates", "23 suspects", "took 23 of them"):
        # one thing when the sentences say the same, when the value is too specific to recur by chance,
        # or when the same single thing happened to both ("two climbers killed", "two men died")
        ctx = _jaccard(a.context, b.context)
        same_event = len(a.events) == 1 and a.events == b.events
        if ctx >= CONTEXT_REWORDED or (_distinctive(a.base) and ctx >= CONTEXT_DISTINCTIVE) or same_event:
            return 2.5 + ctx
        return 0.0
    if frame is None or _different_events(a, b):
        return 0.0  # "two people killed", "two people wounded": two facts
    overlap, jac, ctx = frame
    if a.article_id == b.article_id and not _claims_agree(a, b, tolerance):
        return 0.0  # one article's two incompatible values are two facts ("12 Somali and 11 Yemeni")
    # two values side by side are two things ("20,000 reservists after more than 1,000 soldiers fled"),
    # unless one restates the other in another unit ("about 60 metres (200 feet)")
    restated = _unit_differs(a, b) and _claims_agree(a, b, tolerance)
    if a.article_id == b.article_id and a.sentence == b.sentence and not _same_value(a, b) and not restated:
        return 0.0
    if _same_value(a, b):
        return 3.0 + jac + ctx if overlap >= 0.5 or (not a.terms and not b.terms) else 0.0
    if _claims_agree(a, b, tolerance) and _near(a.base, b.base):
        equal = math.isclose(a.base, b.base, rel_tol=1e-9)  # "at least a dozen", "about a dozen"
        # the same counted thing named in full ("Afghan service members"), or restated in one
        # article (a lead's "more than 1,000", the body's 1,037), needs no shared context
        specific = len(a.terms & b.terms) >= 2 or a.article_id == b.article_id
        # "100 vessels" names what "100 merchant vessels" does; a bare measure with a one-sided bound
        # ("within 80 m") agrees with any smaller one, so only the sentences can say they are one
        one_sided = {a.quantity.bound, b.quantity.bound} & {"<", ">"}
        same_noun = (jac > 0.5 or overlap >= 1.0) and not (one_sided and not (a.terms or b.terms))
        related = same_noun and (equal or specific or ctx >= CONTEXT_RELATED)
        return 2.0 + jac + ctx if related or ctx >= CONTEXT_COMPATIBLE else 0.0
    return 0.0


#: How far a bound reaches when aligning: "more than 1,000" states 1,037, not 20,000 (it would never
#: be written for 20,000), though the two can both be true.
BOUND_REACH = 1.5


def _near(x: float, y: float) -> bool:
    lo, hi = sorted((abs(x), abs(y)))
    return hi <= lo * BOUND_REACH if lo > 0 else hi == 0


def _conflict_score(a: _Claim, b: _Claim) -> float:
    """A score > 0 when two claims with incompatible values give the same measure of the same thing."""
    if a.source == b.source or a.article_id == b.article_id:
        return 0.0
    frame = _frame(a, b)
    if frame is None or _partial(a) != _partial(b):  # a part never contradicts a total
        return 0.0
    if _different_events(a, b):
        return 0.0  # one killed, two wounded
    if a.unit == "time" and a.head != "age":
        # durations ("three years", "nearly four seasons") rarely name what lasted; ages name whose age
        return 0.0
    _, jac, ctx = frame
    if a.person and b.person:
        return jac + max(ctx, CONTEXT_CONFLICT)  # one named person, two ages: whatever the sentences say
    if jac < TERMS_CONFLICT:
        return 0.0
    if ctx < CONTEXT_CONFLICT and not _parallel_lists(a, b):
        return 0.0
    return jac + ctx


def _parallel_lists(a: _Claim, b: _Claim) -> bool:
    """Whether both sentences list the same other things, so that they report one inventory: two
    other items ("six rifles, 12 magazines and 300 rounds" against "14 rifles, 31 magazines and 923
    rounds"), or one with the same figure ("two other rifles ... 13 magazines" against "three other
    rifles, 13 magazines")."""
    shared_nouns = {noun for noun, _ in a.siblings} & {noun for noun, _ in b.siblings}
    return len(shared_nouns) >= PARALLEL_LIST or bool(a.siblings & b.siblings)


_PARTIAL = re.compile(r"^\W*(?:other|another|additional|more|further|remaining|rest|extra|new)\b", re.I)


def _partial(claim: _Claim) -> bool:
    """A part, not the whole: "two other victims", "three more soldiers" never contradict a total."""
    return bool(_PARTIAL.match(claim.quantity.counts or ""))


def _value_groups(claims: Sequence[_Claim], tolerance: float) -> list[_Group]:
    """Single-link grouping of agreeing claims, in reading order; a claim joins its best group."""
    groups: list[_Group] = []
    by_key: dict[str | None, list[int]] = defaultdict(list)
    for claim in claims:
        best, best_score = -1, 0.0
        for gi in by_key[claim.unit]:
            members = groups[gi].claims
            # a group holding an incompatible value from this claim's own article measures something else
            if any(
                m.article_id == claim.article_id and not _claims_agree(m, claim, tolerance) for m in members
            ):
                continue
            # the first members stand for the group: bounded work per claim in stories of many rewrites
            score = max(_match(claim, other, tolerance) for other in members[:_GROUP_SAMPLE])
            if score > best_score:
                best, best_score = gi, score
        if best < 0:
            by_key[claim.unit].append(len(groups))
            groups.append(_Group([claim]))
        else:
            groups[best].claims.append(claim)
    return groups


def _join_conflicts(groups: list[_Group], tolerance: float) -> list[_Group]:
    """Join value groups that give incompatible values of one thing, unless an article states both."""
    merged: list[_Group] = []
    for group in groups:
        best, best_score = -1, 0.0
        for gi, other in enumerate(merged):
            if other.claims[0].unit != group.claims[0].unit:
                continue  # whether they measure the same thing is asked claim by claim below
            if {c.article_id for c in other.claims} & {c.article_id for c in group.claims}:
                continue  # a witness: one article gives both values, so they are two things
            if all(_claims_agree(a, b, tolerance) for a in group.claims for b in other.claims):
                continue  # compatible values that did not align are two facts, not one conflict
            score = max(
                (
                    _conflict_score(a, b)
                    for a in group.claims[:_GROUP_SAMPLE]
                    for b in other.claims[:_GROUP_SAMPLE]
                ),
                default=0.0,
            )
            if score > best_score:
                best, best_score = gi, score
        if best < 0:
            merged.append(_Group(list(group.claims)))
        else:
            merged[best].claims.extend(group.claims)
    return merged


def _group_claims(claims: Sequence[_Claim], tolerance: float) -> list[_Group]:
    return _join_conflicts(_value_groups(claims, tolerance), tolerance)


def _quantity_fact(group: _Group, arts: Mapping[str, _Article], tolerance: float) -> Fact:
    claims = group.claims
    # the fact's value: the one the most sources state, then the most precise wording, then the earliest
    sources_of: dict[tuple[float, str], set[str]] = defaultdict(set)
    for c in claims:
        sources_of[(c.quantity.value, c.quantity.bound)].add(c.source)
    chosen = min(
        claims,
        key=lambda c: (
            -len(sources_of[(c.quantity.value, c.quantity.bound)]),
            _BOUND_RANK.get(c.quantity.bound, 3),
            c.order,
        ),
    )
    values: dict[tuple[float, str], _Claim] = {}
    for c in sorted(claims, key=lambda c: (c is not chosen, c.order)):
        values.setdefault((c.quantity.value, c.quantity.bound), c)
    pairs = list(values.values())
    conflicts = [
        (a, b)
        for i, a in enumerate(pairs)
        for b in pairs[i + 1 :]
        if not _claims_agree(a, b, tolerance) and a.source != b.source
    ]
    origins = tuple(dict.fromkeys(c.source for c in claims))
    status: FactStatus
    note: str | None
    series = _update_series(conflicts, arts) if conflicts else None
    if series is not None:
        # a figure that moved ("the death toll rose to 24"): the latest value stands, the rest is history
        chosen = series[-1]
        current = {c.source for c in claims if _claims_agree(c, chosen, tolerance)}
        status = "corroborated" if len(current) >= 2 else "single-source"
        note = "updated: " + " → ".join(f"{c.value_text} ({c.source})" for c in series)
    elif conflicts:
        status = "conflicting"
        note = "; ".join(
            f"{a.value_text} ({a.source}) conflicts with {b.value_text} ({b.source})" for a, b in conflicts
        )
    else:
        status = "corroborated" if len(origins) >= 2 else "single-source"
        others = [c.value_text for c in pairs if c is not chosen]
        note = (
            f"{chosen.value_text} is compatible with {', '.join(others)}"
            if others and chosen.value_text not in others
            else None
        )
    counts = chosen.quantity.counts
    statement = _shortest_clause(claims, chosen)
    value, unit = _in_years(chosen.quantity)
    return Fact(
        statement=statement,
        kind="quantity",
        status=status,
        origins=origins,
        citations=_citations([(c.article_id, c.sentence) for c in claims], arts),
        value=value,
        bound=chosen.quantity.bound,
        unit=unit,
        counts=" ".join(counts.split()) if counts else None,
        note=note,
        variants=tuple(dict.fromkeys(c.value_text for c in values.values())),
    )


_YEARS_IN = {"decade": 10, "century": 100}


def _in_years(q: Quantity) -> tuple[float, str | None]:
    """A fact's value and unit, with decades and centuries told in years ("two decades": 20 years)."""
    words = _WORD.findall((q.unit or q.counts or "").lower())
    factor = _YEARS_IN.get(_lemma(words[0])) if len(words) == 1 else None
    return (q.value * factor, "years") if factor else (q.value, q.unit)


_UNDATED = dt.datetime.min.replace(tzinfo=dt.UTC)


def _update_series(
    conflicts: Sequence[tuple[_Claim, _Claim]], arts: Mapping[str, _Article]
) -> list[_Claim] | None:
    """The values of a figure in the order it moved, when every conflict is explained by a later
    report that says the figure moved ("rose to 24") and is not dated before the one it revises;
    None when any conflict is a plain disagreement."""
    later_of: dict[int, _Claim] = {}
    earlier: set[int] = set()
    for a, b in conflicts:
        t_a, t_b = published_time(arts[a.article_id].article), published_time(arts[b.article_id].article)
        if not (a.moved or b.moved):
            return None  # neither says the figure moved: a disagreement
        if a.moved and b.moved:  # "rose to 12", later "rose to 24": the dates say which came first
            if t_a is None or t_b is None or t_a == t_b:
                return None
            old, new = (a, b) if t_a < t_b else (b, a)
        else:
            old, new = (b, a) if a.moved else (a, b)
            t_old, t_new = (t_b, t_a) if a.moved else (t_a, t_b)
            if t_old is not None and t_new is not None and t_new < t_old:
                return None  # "rose to" in a report dated before the figure it would revise
        later_of[new.order] = new
        earlier.add(old.order)
    latest = [c for order, c in later_of.items() if order not in earlier]
    if len(latest) != 1:
        return None
    history = {c.order: c for pair in conflicts for c in pair if c.order in earlier}
    return [
        *sorted(
            history.values(), key=lambda c: (published_time(arts[c.article_id].article) or _UNDATED, c.order)
        ),
        latest[0],
    ]


def _shortest_clause(claims: Sequence[_Claim], chosen: _Claim) -> str:
    """The statement: the shortest clause (of at least five words) among claims with the chosen value."""
    same = [
        c
        for c in claims
        if (c.quantity.value, c.quantity.bound) == (chosen.quantity.value, chosen.quantity.bound)
    ]
    pool = [c for c in same if len(c.clause.split()) >= 5] or same
    # a reporter's own sentence states a fact better than a quotation does
    best = min(pool, key=lambda c: (c.quoted, len(c.clause), c.order))
    clause = best.clause
    return clause if len(clause) <= 240 else clause[:237].rstrip() + "…"


def _citations(
    spans: Sequence[tuple[str, tuple[int, int]]], arts: Mapping[str, _Article]
) -> tuple[Citation, ...]:
    unique = dict.fromkeys(spans)
    ordered = sorted(unique, key=lambda item: (arts[item[0]].index, item[1]))
    return tuple(arts[aid].citation(span) for aid, span in ordered)


# --- quotes and statements ----------------------------------------------------------------------

_TOKEN = re.compile(r"\w+", re.UNICODE)


def _quote_facts(arts: Sequence[_Article], by_id: Mapping[str, _Article]) -> list[tuple[int, Fact]]:
    """Quotes carried by two or more articles (near-identical content), as facts."""
    items: list[tuple[_Article, Quote, frozenset[str]]] = []
    for art in arts:
        if art.extraction is None:
            continue
        for quote in art.extraction.quotes:
            tokens = frozenset(t.lower() for t in _TOKEN.findall(quote.content))
            if len(tokens) >= 5:
                items.append((art, quote, tokens))
    groups: list[list[int]] = []
    member: dict[int, int] = {}
    for i, (art_i, _, tok_i) in enumerate(items):
        for j in range(i):
            art_j, _, tok_j = items[j]
            if art_j is art_i:
                continue
            if len(tok_i & tok_j) / min(len(tok_i), len(tok_j)) >= QUOTE_SIMILARITY:
                member[i] = member[j]
                groups[member[j]].append(i)
                break
        else:
            member[i] = len(groups)
            groups.append([i])
    facts: list[tuple[int, Fact]] = []
    for group in groups:
        if len({items[i][0].article.id for i in group}) < 2:
            continue
        first_art, first_quote, _ = items[group[0]]
        origins = tuple(dict.fromkeys(items[i][0].source for i in group))
        speaker = first_quote.speaker_canonical or first_quote.speaker
        content = " ".join(first_quote.content.split())
        statement = f"{speaker}: “{content}”" if speaker else f"“{content}”"
        spans = [
            (items[i][0].article.id, items[i][0].sentence(items[i][1].content_start, items[i][1].content_end))
            for i in group
        ]
        facts.append(
            (
                first_art.index * 1_000_000 + first_quote.content_start,
                Fact(
                    statement=statement,
                    kind="quote",
                    status="corroborated" if len(origins) >= 2 else "single-source",
                    origins=origins,
                    citations=_citations(spans, by_id),
                    variants=tuple(dict.fromkeys(" ".join(items[i][1].content.split()) for i in group)),
                ),
            )
        )
    return facts


def _statement_facts(
    arts: Sequence[_Article], by_id: Mapping[str, _Article], taken: set[tuple[str, tuple[int, int]]]
) -> list[tuple[int, Fact]]:
    """Sentences that two or more articles state near-identically (same stems), as facts."""
    sentences: list[tuple[_Article, tuple[int, int], frozenset[str]]] = []
    for art in arts:
        for span in art.spans:
            if (art.article.id, span) in taken:
                continue
            stems = _stems(art.article.text[span[0] : span[1]])
            if len(stems) >= 5:
                sentences.append((art, span, stems))
    # inverted index over stems so only sentences sharing words are compared; very common stems skipped
    postings: dict[str, list[int]] = defaultdict(list)
    limit = max(20, len(arts) * 2)
    groups: list[list[int]] = []
    member: dict[int, int] = {}
    for i, (art_i, _, stems_i) in enumerate(sentences):
        shared: Counter[int] = Counter()
        for stem in stems_i:
            plist = postings[stem]
            if len(plist) <= limit:
                shared.update(plist)
        best, best_sim = -1, 0.0
        for j, n in shared.items():
            art_j, _, stems_j = sentences[j]
            if art_j is art_i or n < 3:
                continue
            sim = _jaccard(stems_i, stems_j)
            if sim >= STATEMENT_SIMILARITY and sim > best_sim:
                best, best_sim = j, sim
        if best >= 0:
            member[i] = member[best]
            groups[member[best]].append(i)
            continue
        # only a group's founding sentence is indexed: candidates are groups, not every copy
        member[i] = len(groups)
        groups.append([i])
        for stem in stems_i:
            postings[stem].append(i)
    facts: list[tuple[int, Fact]] = []
    for group in groups:
        if len({sentences[i][0].article.id for i in group}) < 2:
            continue
        first_art, first_span, _ = sentences[group[0]]
        origins = tuple(dict.fromkeys(sentences[i][0].source for i in group))
        spans = [(sentences[i][0].article.id, sentences[i][1]) for i in group]
        text = " ".join(first_art.article.text[first_span[0] : first_span[1]].split())
        facts.append(
            (
                first_art.index * 1_000_000 + first_span[0],
                Fact(
                    statement=text,
                    kind="statement",
                    status="corroborated" if len(origins) >= 2 else "single-source",
                    origins=origins,
                    citations=_citations(spans, by_id),
                ),
            )
        )
    return facts


# --- entry point --------------------------------------------------------------------------------


def corroborate(
    articles: Sequence[Article],
    extractions: Mapping[str, Extraction],
    origins: Mapping[str, str | None],
    *,
    tolerance: float = ABOUT_TOLERANCE,
) -> tuple[Fact, ...]:
    """Facts of one story: its articles' claims aligned, each with status, origins and citations.

    ``articles`` are the story's articles (duplicates already removed), ``extractions`` maps an
    article id to its extraction, ``origins`` an article id to its wire origin (None when unknown).
    Facts come corroborated first, then conflicting, then single-source, each in reading order.
    """
    arts = [
        _Article(i, a, extractions.get(a.id), source_of(a, origins.get(a.id)))
        for i, a in enumerate(dict((a.id, a) for a in articles).values())
    ]
    by_id = {art.article.id: art for art in arts}
    claims = _claims(arts)
    keyed: list[tuple[int, Fact]] = []
    taken: set[tuple[str, tuple[int, int]]] = set()
    for group in _group_claims(claims, tolerance):
        first = min(group.claims, key=lambda c: c.order)
        position = by_id[first.article_id].index * 1_000_000 + first.quantity.start
        keyed.append((position, _quantity_fact(group, by_id, tolerance)))
        taken.update((c.article_id, c.sentence) for c in group.claims)
    quote_facts = _quote_facts(arts, by_id)
    for _, fact in quote_facts:
        taken.update((c.article_id, (c.start, c.end)) for c in fact.citations)
    keyed.extend(quote_facts)
    keyed.extend(_statement_facts(arts, by_id, taken))
    keyed.sort(key=lambda item: (_STATUS_RANK[item[1].status], item[0]))
    return tuple(fact for _, fact in keyed)


def bound_word(bound: Bound | None) -> str:
    """Words for a bound, for renderers: ``>`` -> ``more than``."""
    return _BOUND_PREFIX.get(bound or "=", "").strip()
