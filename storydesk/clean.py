"""Cleaning: a raw document -> an ``Article`` (or a ``Rejection``), every change kept as a ``CleanStep``.

The cleaner takes out what is not the article (the seeds' header line, a trailing ``Source:`` line,
an author/marketing bio, bullets, share/subscribe lines), rejoins words broken by a stray hyphen
and normalises whitespace. ``Article.raw_text`` keeps the input, so every step can be undone.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import functools
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

from storydesk.config import CleanSettings
from storydesk.models import Article, CleanStep, RawDocument, Rejection
from storydesk.text import MONTHS, WEEKDAYS, YEAR, YEARS, sentence_spans

__all__ = ["article_id", "clean", "first_sentence", "parse_published", "repair_url"]

_TITLE_MAX = 120

# `date 2021-07-05 DUSHANBE (Monitoring Desk): Lydia Isamova.` -- the body may go on on the same line.
_HEADER = re.compile(
    r"""^[ \t]*date[ \t]+(?P<date>\d{4}-\d{2}-\d{2})
    (?:[ \t]+(?P<place>[A-Z][A-Z'’.\-]*(?:[ \t]+[A-Z][A-Z'’.\-]*){0,4}))?
    (?:[ \t]*\((?P<desk>[^()\n]{1,60})\))?
    [ \t]*(?::[ \t]*(?:(?P<author>[A-Z][\w'’\-]+
        (?:[ \t]+(?:[A-Z]\.|[A-Z][\w'’\-]+|(?:de|van|von|al|el|bin)\b)){0,4})\.?)?)?
    (?=[ \t]|$)[ \t]*""",
    re.VERBOSE,
)
_PLACE_PARTICLES = frozenset(
    {"de", "da", "do", "dos", "das", "del", "la", "le", "of", "on", "al", "el", "es"}
)
_BULLET = re.compile(r"^(?:[•▪▫◦‣∙●○■□►▸▹▶◆◇➤➢✓✔·]|[*\-](?=\s))[ \t\u00a0]*")
_SHARE = re.compile(
    r"""^(?:
        (?:share|tweet|email|print|pin)\b(?:\s+(?:this|the|on|via|with|to|article|story|page|post|
            facebook|twitter|x|linkedin|whatsapp|reddit|email|telegram|[,/|&]|and|or))*\W*$
      | (?:please\s+)?(?:subscribe|sign\s+up|register)\b.{0,80}
            (?:newsletter|updates|subscribe|inbox|free|today|now)\W*$
      | (?:subscribe|sign\s+up)\b\W*$
      | follow\s+us\b.{0,80}$
      | click\s+here\b.{0,120}$
      | (?:read|see)\s+(?:more|also|the\s+full\s+(?:story|article))\b.{0,120}$
      | (?:also\s+read|related|advertisement|sponsored(?:\s+content)?)\s*[:\-–]?\W*$
      | (?:also\s+read|related)\s*:.{0,120}$
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_SOURCE_LINE = re.compile(r"^source\s*:\s*(?P<value>\S.*?)\s*$", re.IGNORECASE)
_URL = re.compile(r"^(?:https?://|www\.)\S+$", re.IGNORECASE)
_NAME = r"[A-Z][a-zA-Z'’\-]+(?:\s+(?:[A-Z]\.|[A-Z][a-zA-Z'’\-]+)){1,3}"
_NAME_LINE = re.compile(rf"^(?P<name>{_NAME})$")
_BIO_OPEN = re.compile(
    rf"^(?P<name>{_NAME}|[A-Z][a-zA-Z'’\-]+|She|He|They)\s+(?:is|was|has\s+been|serves\s+as|works\s+as)\s+"
    r"(?:a|an|the|currently|also|our)\b"
)
_BIO_CUES = re.compile(
    r"\b(?:writer|reporter|journalist|editor|correspondent|officer|author|contributor|columnist|freelance|"
    r"blogger|media\s+relations|communications|spokes(?:wo)?man|fellow|analyst|covers|writes|based\s+in|"
    r"her\s+work|his\s+work|follow\s+(?:her|him)|connects|pitch)\b",
    re.IGNORECASE,
)
_ABOUT_AUTHOR = re.compile(r"^about\s+the\s+(?:author|writer)s?\s*:?$", re.IGNORECASE)
_HYPHENATED = re.compile(r"(?<![\w\-])([A-Za-z]{2,})-([a-z]{2,})(?![\w\-])")
_SPACE_CHARS = r"\t\u00a0\u2000-\u200a\u202f\u205f\u3000"
_SPACES = re.compile(rf"[ {_SPACE_CHARS}]{{2,}}|[{_SPACE_CHARS}]")
_INVISIBLE = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
# "said.The" -> "said. The": two lowercase letters, an end mark, a capitalised word; not in URLs/e-mails.
_GLUED = re.compile(r"(?<=[a-z]{2}[.!?])(?=[A-Z][a-z]{2,})|(?<=[a-z]{2}[.!?][\"”’])(?=[A-Z][a-z]{2,})")


@dataclass(slots=True)
class _Line:
    """A line of the working text and where it starts in the raw text (prefix/suffix trims keep it right)."""

    start: int
    text: str


def article_id(raw_text: str, title: str | None) -> str:
    """A content hash of the raw text and the given title: stable across runs, 20 hex characters."""
    normal_title = " ".join((title or "").split())
    payload = f"{normal_title}\x00{unicodedata.normalize('NFC', raw_text)}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(payload).hexdigest()[:20]


def parse_published(value: str | None) -> tuple[dt.date | None, dt.datetime | None]:
    """``(date, datetime)`` from an ISO date/datetime (``Z``/offsets too), RFC 822, plain English date
    or Unix timestamp (seconds or milliseconds, read as UTC).

    Dates as pages write them are read too (``_parse_written``): "PUBLISHED : May 2, 2013 1 : 32 PM",
    "8 / 2 / 13 at 1 : 30 PM", "12 : 52 p. m. EDT May 2, 2013". A bare date gives no datetime;
    anything unparsable, or outside 1800-2099 (``text.YEARS``), gives ``(None, None)``.
    """
    text = " ".join((value or "").split())
    if not text:
        return None, None
    stamp: dt.datetime | None = None
    if re.fullmatch(r"\d{9,13}(\.\d+)?", text):  # a Unix timestamp: seconds, or milliseconds past 12 digits
        seconds = float(text) / (1000.0 if len(text.split(".")[0]) > 11 else 1.0)
        stamp = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
        return (stamp.date(), stamp) if stamp.year in YEARS else (None, None)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            return None, None
        return (day, None) if day.year in YEARS else (None, None)
    try:
        stamp = dt.datetime.fromisoformat(text)
    except ValueError:
        stamp = _parse_loose(text) or _parse_written(text)
    if stamp is None or stamp.year not in YEARS:
        return None, None
    return stamp.date(), stamp


def _parse_loose(text: str) -> dt.datetime | None:
    """RFC 822 (feeds) or a free-text date with a four-digit year, via dateutil; None if unsure."""
    try:
        return email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        pass
    if not YEAR.search(text) or len(text) > 64:
        return None
    return stated_datetime(text)


_LABELS = re.compile(
    r"\b(originally\s+published|first\s+published|first\s+posted|last\s+updated|article\s+posted|"
    r"published|updated|posted)(?:\s+on)?\s*:?",
    re.IGNORECASE,
)
# The first three letters of a month or weekday; the patterns below let any letters follow ("Thurs.").
_MONTH_OR_DAY = "(?:" + "|".join(sorted({m[:3] for m in MONTHS} | {d[:3] for d in WEEKDAYS})) + ")"
_DATE_START = re.compile(rf"^(?:\d|{_MONTH_OR_DAY}[a-z]*\.?$)", re.IGNORECASE)
_DATE_TOKEN = re.compile(
    rf"""^(?:[\d:/.+\-]+(?:st|nd|rd|th|[ap]m?)?       # 2013 10:46 05/03/2013 3rd 5:19pm 5:55p
        |{_MONTH_OR_DAY}[a-z]*\.?                  # May Thursday Fri.
        |[ap]\.?m\.?                              # pm p.m.
        |at|on|@|\||hrs|
        |[A-Z]{{1,4}}T|GMT|UTC|Z|BST|IST|AEST|ET|PT|UK   # time zones
    )$""",
    re.IGNORECASE | re.VERBOSE,
)


def _parse_written(text: str) -> dt.datetime | None:
    """A date as a page writes it, tidied: spaces around ``:`` ``/`` ``-`` between digits closed up
    ("10 : 46" -> "10:46"), "p. m." -> "pm", labels (Published, Updated, Posted ...) taken as
    separators, the date taken from the first run of date-like words (so a sentence after it is left
    out). The date published is tried first; a date must still state its year, month and day."""
    text = text[:300]
    text = re.sub(r"(?<=\d)\s*([:/])\s*(?=\d)", r"\1", text)
    text = re.sub(r"(?<=\d{4})\s+-\s+(?=\d{2}\s+-\s+\d)|(?<=\d{4}-\d{2})\s+-\s+(?=\d)", "-", text)
    text = re.sub(r"\b([ap])\.\s*m\b\.?", r"\1m", text, flags=re.IGNORECASE)
    pieces = _LABELS.split(text)
    # pieces: [before, label, after, label, after, ...]: the text after "published" first, then the rest
    segments = [(pieces[i - 1].lower() if i else "", pieces[i]) for i in range(0, len(pieces), 2)]
    segments.sort(key=lambda s: "published" not in s[0])
    for _, segment in segments:
        words = [w.strip(",;()") for w in segment.replace("|", " | ").replace("@", " @ ").split()]
        start = next((i for i, w in enumerate(words) if _DATE_START.match(w)), None)
        if start is None:
            continue
        run = []
        for word in words[start:]:
            if not _DATE_TOKEN.match(word):
                break
            run.append(word)
        candidate = " ".join(w for w in run if w.lower() not in {"at", "on", "@", "|", "hrs", "uk"})
        if candidate and (stamp := stated_datetime(candidate, fuzzy=True, ignoretz=True)) is not None:
            return stamp
    return None


def stated_datetime(text: str, *, fuzzy: bool = False, ignoretz: bool = False) -> dt.datetime | None:
    """A free-text date via dateutil, only when the text states its year, month and day.

    dateutil fills what a text leaves out from a default: from today, "March 2014" would take
    today's day; from any fixed default, "Nov 11" would take that default's year, and a fuzzy parse
    of "She was 91." would give 1 January 1991. Parsing with two defaults that differ in all three
    tells a stated part (the same in both) from a filled one: a date is returned only when no part
    was filled. ``fuzzy`` skips words that are not part of a date.
    """
    from dateutil import parser as date_parser

    found = []
    for default in (dt.datetime(2000, 1, 1), dt.datetime(2001, 2, 2)):
        try:
            found.append(date_parser.parse(text, default=default, fuzzy=fuzzy, ignoretz=ignoretz))
        except (ValueError, OverflowError, TypeError):
            return None
    first, second = found
    return first if first.date() == second.date() else None


def clean(doc: RawDocument, settings: CleanSettings) -> Article | Rejection:
    """Clean one raw document; never raises (an unexpected failure becomes a Rejection)."""
    try:
        return _clean(doc, settings)
    except Exception as exc:  # a cleaning bug must not stop a batch; the user sees it as a rejection
        return Rejection("clean", f"cleaning failed: {type(exc).__name__}: {exc}", doc.source)


def _clean(doc: RawDocument, settings: CleanSettings) -> Article | Rejection:
    raw = doc.text if doc.text is not None else _extract_html(doc.html)
    steps: list[CleanStep] = []
    matches = re.finditer(r"([^\n]*)(?:\n|$)", raw)
    lines = [_Line(m.start(), m.group(1).rstrip("\r")) for m in matches if m.end() > m.start()]

    header = _take_header(lines, steps)
    for line in lines:
        _trim_line(line, steps)
    kept = []
    for line in lines:
        if line.text and _SHARE.match(line.text) and len(line.text.split()) <= 25:
            steps.append(CleanStep("share", line.text, "", line.start))
            continue
        kept.append(line)
    paragraphs = _paragraphs(kept)
    had_blank_lines = any(not line.text for line in kept)
    source_url, source_credit, bio = _strip_trailers(paragraphs, steps)

    body_words = " ".join(line.text for para in paragraphs for line in para)
    for para in paragraphs:
        for line in para:
            _dehyphenate(line, steps, settings, body_words)
            _fix_glued(line, steps)
    if had_blank_lines:
        text = "\n\n".join(" ".join(line.text for line in para) for para in paragraphs)
    else:  # extractor output: one paragraph a line
        text = "\n\n".join(line.text for para in paragraphs for line in para)
    text = text.strip()

    given_title = " ".join((doc.title or "").split()) or None
    metadata = dict(doc.metadata)
    metadata["format"] = doc.format
    if source_credit:
        metadata["source_credit"] = source_credit
    words = len(text.split())
    if not text and not given_title:
        return Rejection("clean", "no text left after cleaning", doc.source)
    if words < settings.min_words and not given_title:
        return Rejection("clean", f"too short: {words} words (minimum {settings.min_words})", doc.source)
    if not text:
        text = given_title or ""
        metadata["title_only"] = True
    title = given_title
    if title is None:
        title = first_sentence(text)
        metadata["title_derived"] = True

    published, published_at = parse_published(doc.published)
    if published is None and header.get("date"):
        published, published_at = parse_published(header["date"])
    url, url_note = repair_url(doc.url)
    if url_note:
        metadata["notes"] = [*metadata.get("notes", ()), url_note]
    return Article(
        id=article_id(raw, doc.title),
        text=text,
        raw_text=raw,
        title=title,
        external_id=doc.external_id,
        url=url,
        source_url=source_url,
        outlet=doc.outlet or _domain(source_url) or _domain(url),
        published=published,
        published_at=published_at,
        dateline=header.get("place"),
        desk=header.get("desk"),
        author=header.get("author") or doc.author,
        bio=bio,
        steps=tuple(sorted(steps, key=lambda s: s.raw_start if s.raw_start is not None else -1)),
        metadata=metadata,
        source=doc.source,
    )


def _extract_html(html: str | None) -> str:
    """Main text of a page the reader left unextracted (normally readers extract it themselves)."""
    if not html:
        return ""
    import trafilatura

    return trafilatura.extract(html, include_comments=False) or ""


def _take_header(lines: list[_Line], steps: list[CleanStep]) -> dict[str, str]:
    """Parse and cut the seeds' header from the first non-blank line; the body may follow on that line."""
    first = next((line for line in lines if line.text.strip()), None)
    if first is None:
        return {}
    match = _HEADER.match(first.text)
    if not match or not (match.group("place") or match.group("author")):
        return {}
    found = {"date": match.group("date")}
    if match.group("place"):
        found["place"] = _title_place(match.group("place"))
    if match.group("desk"):
        found["desk"] = " ".join(match.group("desk").split())
    if match.group("author"):
        found["author"] = match.group("author").strip()
    steps.append(CleanStep("header", match.group(0), "", first.start))
    first.start += match.end()
    first.text = first.text[match.end() :]
    return found


def _title_place(place: str) -> str:
    """``RIO DE JANEIRO`` -> ``Rio de Janeiro``; ``DUSHANBE`` -> ``Dushanbe``."""
    words = place.split()
    out = []
    for index, word in enumerate(words):
        lower = word.lower()
        if index and lower in _PLACE_PARTICLES:
            out.append(lower)
        else:
            out.append("-".join(part[:1].upper() + part[1:] for part in lower.split("-")))
    return " ".join(out)


def _trim_line(line: _Line, steps: list[CleanStep]) -> None:
    """Strip the line's edges, its bullet and invisible characters; collapse inner whitespace runs."""
    stripped = line.text.lstrip(" \t\u00a0\u3000\ufeff")
    line.start += len(line.text) - len(stripped)
    line.text = stripped.rstrip()
    if bullet := _BULLET.match(line.text):
        steps.append(CleanStep("bullet", bullet.group(0), "", line.start))
        line.start += bullet.end()
        line.text = line.text[bullet.end() :]
    for pattern, kind in ((_INVISIBLE, "invisible"), (_SPACES, "whitespace")):
        if not pattern.search(line.text):
            continue
        pieces = []
        last = 0
        for match in pattern.finditer(line.text):
            replacement = "" if kind == "invisible" else " "
            if match.group(0) != replacement:
                steps.append(CleanStep(kind, match.group(0), replacement, line.start + match.start()))
            pieces.append(line.text[last : match.start()] + replacement)
            last = match.end()
        pieces.append(line.text[last:])
        line.text = "".join(pieces)


def _paragraphs(lines: list[_Line]) -> list[list[_Line]]:
    """Group non-blank lines into paragraphs at blank lines."""
    paragraphs: list[list[_Line]] = []
    current: list[_Line] = []
    for line in lines:
        if line.text:
            current.append(line)
        elif current:
            paragraphs.append(current)
            current = []
    if current:
        paragraphs.append(current)
    return paragraphs


def _strip_trailers(
    paragraphs: list[list[_Line]], steps: list[CleanStep]
) -> tuple[str | None, str | None, str | None]:
    """Take a trailing bio and a trailing ``Source:`` line off the end, in whatever order they come."""
    source_url = source_credit = None
    bios: list[str] = []
    changed = True
    while changed and paragraphs:
        changed = False
        last = paragraphs[-1][-1]
        source = _SOURCE_LINE.match(last.text)
        if source and len(source.group("value").split()) <= 8 and len(paragraphs) > 1:
            value = source.group("value")
            if _URL.match(value):
                source_url = source_url or value
            else:
                source_credit = source_credit or value
            steps.append(CleanStep("source-line", last.text, "", last.start))
            paragraphs[-1].pop()
            if not paragraphs[-1]:
                paragraphs.pop()
            changed = True
            continue
        if bio := _take_bio(paragraphs, steps):
            bios.insert(0, bio)
            changed = True
    return source_url, source_credit, "\n\n".join(bios) or None


def _take_bio(paragraphs: list[list[_Line]], steps: list[CleanStep]) -> str | None:
    """Remove a closing author/marketing bio: an "About the author" section, or a name line and/or a
    "<Name> is a/the ..." paragraph about someone the story never mentions."""
    for index in range(len(paragraphs) - 1, max(0, len(paragraphs) - 4), -1):
        if len(paragraphs[index]) == 1 and _ABOUT_AUTHOR.match(paragraphs[index][0].text):
            return _cut(paragraphs, index, steps)
    if len(paragraphs) < 2:
        return None
    last = " ".join(line.text for line in paragraphs[-1])
    opening = _BIO_OPEN.match(last)
    if not opening:
        return None
    name = opening.group("name")
    previous = " ".join(line.text for line in paragraphs[-2])
    name_line = _NAME_LINE.match(previous) if len(paragraphs) > 2 else None
    if name_line and (name in name_line.group("name") or name in {"She", "He", "They"}):
        body = _body_text(paragraphs[:-2])
        if not _mentions(body, name_line.group("name")):
            return _cut(paragraphs, len(paragraphs) - 2, steps)
    if " " in name and _BIO_CUES.search(last) and not _mentions(_body_text(paragraphs[:-1]), name):
        return _cut(paragraphs, len(paragraphs) - 1, steps)
    return None


def _body_text(paragraphs: list[list[_Line]]) -> str:
    return " ".join(line.text for para in paragraphs for line in para)


def _mentions(body: str, name: str) -> bool:
    """Whether the story mentions the person: the full name, or its surname as a word."""
    surname = name.split()[-1]
    return name in body or re.search(rf"\b{re.escape(surname)}\b", body) is not None


def _cut(paragraphs: list[list[_Line]], index: int, steps: list[CleanStep]) -> str:
    removed = paragraphs[index:]
    del paragraphs[index:]
    text = "\n\n".join(" ".join(line.text for line in para) for para in removed)
    steps.append(CleanStep("bio", text, "", removed[0][0].start))
    return text


@functools.lru_cache(maxsize=65536)
def _zipf(word: str) -> float:
    from wordfreq import zipf_frequency

    return float(zipf_frequency(word, "en"))


def _dehyphenate(line: _Line, steps: list[CleanStep], settings: CleanSettings, body: str) -> None:
    """Rejoin ``inte-rlocutor``: the joined word is a word (frequent enough, or used unbroken in the
    same text) while at least one part is not a word on its own. Real compounds keep their hyphen."""
    if "-" not in line.text:
        return

    def fix(match: re.Match[str]) -> str:
        left, right = match.group(1), match.group(2)
        joined = left + right
        if min(_zipf(left.lower()), _zipf(right.lower())) >= settings.dehyphenate_max_part_zipf:
            return match.group(0)
        known = _zipf(joined.lower()) >= settings.dehyphenate_min_zipf
        used = re.search(rf"\b{re.escape(joined)}\b", body, re.IGNORECASE) is not None
        if not (known or used) or _zipf(joined.lower()) == 0.0:
            return match.group(0)
        steps.append(CleanStep("dehyphenate", match.group(0), joined, line.start + match.start()))
        return joined

    line.text = _HYPHENATED.sub(fix, line.text)


def _fix_glued(line: _Line, steps: list[CleanStep]) -> None:
    """Insert the missing space in ``said.The``, outside URLs, e-mail addresses and domain names."""
    if not _GLUED.search(line.text):
        return
    out = []
    last = 0
    for match in _GLUED.finditer(line.text):
        token_start = line.text.rfind(" ", 0, match.start()) + 1
        token_end = line.text.find(" ", match.start())
        token = line.text[token_start : token_end if token_end != -1 else len(line.text)]
        if "://" in token or "www." in token.lower() or "@" in token:
            continue
        out.append(line.text[last : match.start()] + " ")
        last = match.start()
        steps.append(CleanStep("sentence-space", "", " ", line.start + match.start()))
    out.append(line.text[last:])
    line.text = "".join(out)


def first_sentence(text: str) -> str:
    """The title of an untitled article: the first sentence of the first paragraph, cut at a word boundary near ``_TITLE_MAX`` characters."""
    paragraph = text.split("\n\n", 1)[0]
    spans = sentence_spans(paragraph)
    sentence = paragraph[spans[0][0] : spans[0][1]] if spans else paragraph
    sentence = sentence.strip()
    if len(sentence) <= _TITLE_MAX:
        return sentence
    cut = sentence.rfind(" ", 0, _TITLE_MAX)
    return sentence[: cut if cut > 40 else _TITLE_MAX].rstrip(" ,;:-–—") + "…"


_HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
# Whitespace a tokenizer put around URL punctuation: "http : / / www. x.com / a - b. html".
_URL_SPACING = re.compile(r"\s*([:/.?=&#_~+-])\s*")


def _valid_host(host: str | None) -> bool:
    """A DNS name with a dot (or an IP address): what an outlet can be named after."""
    if not host or len(host) > 253:
        return False
    labels = host.rstrip(".").split(".")
    return len(labels) >= 2 and all(_HOST_LABEL.fullmatch(label) for label in labels)


def _host(url: str) -> str | None:
    try:
        parts = urlsplit(url if "://" in url else f"//{url}")
        return parts.hostname if parts.scheme in ("", "http", "https") else None
    except ValueError:
        return None


def repair_url(url: str | None) -> tuple[str | None, str | None]:
    """A usable URL and a note saying what was done to it, or (None, why) for a malformed one.

    A URL a tokenizer broke up ("http : / / www. news.com. au / story") is rejoined where the result
    has a valid host; anything else without a valid host is dropped, never turned into an outlet.
    """
    if url is None or not url.strip():
        return None, None
    given = url.strip()
    if not any(c.isspace() for c in given) and _valid_host(_host(given)):
        return given, None
    rejoined = "".join(_URL_SPACING.sub(r"\1", given).split())
    if rejoined.lower().startswith(("http://", "https://")) and _valid_host(_host(rejoined)):
        return rejoined, f"url rejoined from a tokenised form: {given[:200]!r}"
    return None, f"malformed url dropped (no valid host): {given[:200]!r}"


def _domain(url: str | None) -> str | None:
    """``https://www.thehill.com/x`` -> ``thehill.com``; None unless the host is a valid name."""
    if not url:
        return None
    host = _host(url)
    if not _valid_host(host):
        return None
    assert host is not None
    return host.removeprefix("www.") or None
