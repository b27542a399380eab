"""Dates: absolute and relative date mentions, resolved against the publication date."""

from __future__ import annotations

import datetime as dt
import re

from storydesk.models import DateMention
from storydesk.text import MONTH_RE, MONTHS, WEEKDAYS

_WEEKDAY_RE = r"\b(?:(last|next|this|on|past)\s)?((?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day)\b"
_DATE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")),
    ("mdy", re.compile(rf"\b({MONTH_RE})\s(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s(\d{{4}})\b)?")),
    ("dmy", re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s({MONTH_RE})(?:,?\s(\d{{4}})\b)?")),
    ("my", re.compile(rf"\b({MONTH_RE})\s((?:19|20)\d{{2}})\b")),
    ("weekday", re.compile(_WEEKDAY_RE)),
    ("day", re.compile(r"\b(yesterday|today|tomorrow|tonight)\b", re.I)),
    ("period", re.compile(r"\b(last|next|this|past)\s(week|weekend|month|year)\b", re.I)),
    ("year", re.compile(r"(?<![\d$.,])\b((?:19|20)\d{2})\b(?![,.]?\d|%|\s?percent)")),
]  # fmt: skip

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
        month = MONTHS[month_s.rstrip(".").lower()]
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
        return f"{int(m.group(2)):04d}-{MONTHS[m.group(1).rstrip('.').lower()]:02d}", False
    if kind == "year":
        return m.group(1), False
    if published is None:
        return None, True
    if kind == "weekday":
        target = WEEKDAYS.index(m.group(2).lower())
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
