"""Entities: PERSON / ORG / PLACE mentions from spaCy, corrected by the gazetteer and rules, and
their story-level resolution (surnames and misspellings join the full form)."""

from __future__ import annotations

import functools
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from storydesk.extract.doc import _text
from storydesk.extract.lexicon import (
    _NOT_PEOPLE,
    _ROLE_HEADS,
    _ROLE_MODS,
    _SPACY_LABELS,
    Label,
    _fold,
    _gazetteer,
)
from storydesk.models import Entity, Extraction, ResolvedEntity

if TYPE_CHECKING:
    from spacy.tokens import Doc


_FACILITY_RE = re.compile(
    r"\b((?:[A-Z][\w'-]+ ){0,2}[A-Z][\w'-]+) (Airfield|Air Base|Airbase|Air Force Base|Airport|Naval Base)\b"
)

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
