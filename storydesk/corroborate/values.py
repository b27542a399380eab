"""Values: intervals, compatibility and how a value and its bound are written."""

from __future__ import annotations

import math
import re

from storydesk.models import Bound, Quantity

#: Relative tolerance of an approximate value: "about 1,000" covers 900..1,100.
ABOUT_TOLERANCE = 0.1

_BOUND_RANK = {"=": 0, "~": 1, ">": 2, "<": 2}

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
    r"at most|up to|upwards|below|above|exceed|close to|estimated|between|within)\b",
    re.IGNORECASE,
)
_BOUND_PREFIX = {">": "more than ", "<": "fewer than ", "~": "about ", "=": ""}


def _value_text(q: Quantity) -> str:
    """How the value reads in the brief: ``more than 70%``, ``1,037``, ``six``."""
    text = " ".join(q.text.split()).strip("\"'“”‘’`")
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


def bound_word(bound: Bound | None) -> str:
    """Words for a bound, for renderers: ``>`` -> ``more than``."""
    return _BOUND_PREFIX.get(bound or "=", "").strip()
