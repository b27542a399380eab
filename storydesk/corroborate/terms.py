"""Terms: words of a counted noun or a sentence, lemmatised and normalised (a small
military/people synonym table), for comparing what two claims are about."""

from __future__ import annotations

import re


def _words(spaced: str) -> frozenset[str]:
    """A word set from a space-separated string (keeps long word lists readable)."""
    return frozenset(spaced.split())


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
    "vessel": ("ship",),
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
