"""Claims: an article's kept quantities with their frame (measure, counted noun, sentence,
clause, events), and the per-article state they are read from."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from difflib import SequenceMatcher

from storydesk.corroborate.terms import _WORD, _count_terms, _lemma, _stems, _words
from storydesk.corroborate.values import _value_text
from storydesk.models import Article, Citation, Extraction, Quantity, Quote
from storydesk.text import sentence_spans, trim_span

# --- independence -------------------------------------------------------------------------------


def source_of(article: Article, wire_origin: str | None) -> str:
    """The independence key of an article: its wire origin, else its outlet, else ``article:<id>``."""
    if wire_origin and wire_origin.strip():
        return wire_origin.strip()
    if article.outlet and article.outlet.strip():
        return article.outlet.strip()
    return f"article:{article.id}"


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
    scale: float  # the unit's factor to the base unit: values in two units were converted and rounded
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


def _measure(q: Quantity, terms: tuple[str, ...]) -> tuple[str | None, float]:
    """(dimension, factor to its base unit) of a quantity."""
    low = " ".join((q.unit or "").lower().split()).rstrip(".")
    if not low and " ".join(terms) in _UNIT_FACTORS:
        low = " ".join(terms)  # "13 nautical miles": the parse took the unit for a counted noun
    if not low and (q.counts or "").lower().strip() in _UNIT_FACTORS:
        low = (q.counts or "").lower().strip()
    if low in _UNIT_FACTORS:
        return _UNIT_FACTORS[low]
    if low:
        time = _TIME_FACTORS.get(_lemma(low))
        if time is not None:
            return "time", time
        return low.upper() if len(low) == 3 and low.isalpha() else low, 1.0
    # a duration told by its counted noun: "three years", "19 seasons" stay counts of seasons
    if terms and terms[-1] in _TIME_FACTORS and len(terms) == 1:
        return "time", _TIME_FACTORS[terms[-1]]
    return None, 1.0


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


_NUMBER_WORD = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\w+teen"
    r"|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)"
)
_NUMBER = rf"(?:\d[\d,.]*|{_NUMBER_WORD})"
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
            dim, factor = _measure(q, terms)
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
                    scale=factor,
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
_PAIRED_AFTER = re.compile(r"^\s?[-–]\s?\d")
_PAIRED_BEFORE = re.compile(r"\d\s?[-–]\s?$")


def _with_siblings(claims: list[_Claim], texts: Mapping[str, str]) -> list[_Claim]:
    """Each claim with the counted nouns of the other items listed in its sentence (a record's two
    figures are one item, not a list)."""
    heads: dict[tuple[str, tuple[int, int]], list[tuple[str, float]]] = defaultdict(list)
    for c in claims:
        text = texts[c.article_id]
        q = c.quantity
        paired = _PAIRED_AFTER.match(text[q.end : q.end + 4]) or _PAIRED_BEFORE.search(
            text[max(0, q.start - 4) : q.start]
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
    # a comma, not the one a tokenizer set apart in a number ("2, 000")
    r"(?:(?<=\d),(?!\s?\d{3}(?!\d))|(?<!\d),|[;:—–])[\"”’]?\s+"
    # a spaced dash, not the hyphen of a tokenised compound ("36 - year - old", "co - workers")
    r"|(?<!\d)(?<!\bco)(?<!\bex)\s+-\s+(?!\d|(?:year|old|month|week|day|hour|minute|time|plus|point)s?\b)"
    r"|\s(?:told|said|reported|says|announced|stated)(?:\s+\w+){0,3}?\s+that\s",
    re.IGNORECASE,
)
_ATTRIBUTION_CLAUSE = re.compile(
    r"^(?:[\w’'.\s-]{0,60}\s)?(?:reported|said|says|told|according to|added|announced)\b", re.IGNORECASE
)
_RELATIVE = re.compile(r"^(?:which|that|who|as|while|and|but)\b", re.I)
_LEAD_IN = re.compile(
    r"^(?:(?:and|but|so|yet)\s+)?(?:(?:earlier|meanwhile|however|also|in addition|additionally|moreover)\b,?\s*)?",
    re.I,
)
#: A clause that lost its subject to the split: "was charged with ...", "who also starred in ...".
_HEADLESS = re.compile(r"^[\s\"'“‘]*(?:is|was|were|are|has|had|have|will|would)\b", re.I)
_RELATIVE_HEAD = re.compile(r"^[\s\"'“‘]*(?:who|which)\b", re.I)


#: A number (digits or a word) right before a position: what a tokenised compound's hyphen follows.
_NUMBER_BEFORE = re.compile(rf"(?:\d|\b{_NUMBER_WORD}|\b(?:hundred|thousand))$", re.I)


def _words_in(text: str) -> int:
    """Words of two letters or more: "The 36 - year - old" has three."""
    return len(re.findall(r"[^\W\d_]{2,}", text))


def _clause(text: str, span: tuple[int, int], q_start: int, q_end: int) -> str:
    """The clause of the sentence that carries the quantity, without attribution and lead-ins."""
    start, end = span
    pieces: list[tuple[int, int]] = []
    pos = start
    for match in _CLAUSE_BREAK.finditer(text, start, end):
        if match.group().strip() == "-" and _NUMBER_BEFORE.search(text, start, match.start()):
            continue  # "a five - boat attack": a tokenised compound, not a dash
        pieces.append((pos, match.start()))
        pos = match.end()
    pieces.append((pos, end))
    # the piece holding the number, then neighbours while the clause is too short to stand alone
    idx = next((i for i, (s, e) in enumerate(pieces) if s <= q_start < max(e, s + 1)), 0)
    lo = hi = idx
    if lo > 0 and not text[pieces[lo][0] : q_start].strip(" \"'“‘"):
        lo -= 1  # a figure that opens its clause tells of what comes before: "Jackman, 40, star of"
    while _words_in(text[pieces[lo][0] : pieces[hi][1]]) < 5 and (lo > 0 or hi < len(pieces) - 1):
        after_ok = hi < len(pieces) - 1 and not _ATTRIBUTION_CLAUSE.match(
            text[pieces[hi + 1][0] : pieces[hi + 1][1]]
        )
        if after_ok:
            hi += 1
        elif lo > 0:
            lo -= 1
        else:
            hi += 1
    opening = text[pieces[lo][0] : pieces[hi][1]]
    # "which led to 1,037 ..." reads as "1,037 ..." (below); "who also starred in the three ..." needs "who"
    relative_far = _RELATIVE_HEAD.match(opening) and _words_in(text[pieces[lo][0] : q_start]) > 4
    if lo > 0 and (_HEADLESS.match(opening) or relative_far):
        lo -= 1  # give the clause back its subject, past an apposition ("Kirk's parents, 40 and 41, were")
        # back past appositions to the subject: "Jared Allen, then with Kansas City, was suspended"
        for _ in range(3):
            piece = text[pieces[lo][0] : pieces[lo][1]]
            first = piece.lstrip(" \"'“‘")[:1]
            if lo == 0 or not (first.islower() or first.isdigit() or _words_in(piece) < 2):
                break  # a one-word piece is a place's abbreviation or a name's part: "Walpole, Mass., has"
            lo -= 1
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


def _citations(
    spans: Sequence[tuple[str, tuple[int, int]]], arts: Mapping[str, _Article]
) -> tuple[Citation, ...]:
    unique = dict.fromkeys(spans)
    ordered = sorted(unique, key=lambda item: (arts[item[0]].index, item[1]))
    return tuple(arts[aid].citation(span) for aid, span in ordered)
