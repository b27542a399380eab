"""Alignment: claims grouped by value and frame into quantity facts, conflicts joined only when the
frames agree, and updates ("rose to 24") told apart from disagreements."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence

from storydesk.corroborate.claims import (
    _INDIVIDUALS,
    CONVERSION_TOLERANCE,
    _Article,
    _citations,
    _Claim,
    _different_events,
    _Group,
    _same_person,
)
from storydesk.corroborate.terms import _WORD, _jaccard, _lemma
from storydesk.corroborate.values import _BOUND_RANK, _interval
from storydesk.models import Fact, FactStatus, Quantity, published_time

#: Members of a fact a new claim is compared with (keeps grouping linear in large stories).
_GROUP_SAMPLE = 25
_STATUS_RANK = {"corroborated": 0, "conflicting": 1, "single-source": 2}

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
    return not math.isclose(a.scale, b.scale)


def _claims_agree(a: _Claim, b: _Claim, tolerance: float) -> bool:
    """Whether two claims' values can both be true (bounds, "about", rounded unit conversions)."""
    lo_a, hi_a = _interval(a.base, a.quantity.bound, tolerance)
    lo_b, hi_b = _interval(b.base, b.quantity.bound, tolerance)
    slack = 1e-9 * max(1.0, abs(a.base), abs(b.base))
    if _unit_differs(a, b):
        slack += CONVERSION_TOLERANCE * max(abs(a.base), abs(b.base))
    return lo_a <= hi_b + slack and lo_b <= hi_a + slack


def _close(a: _Claim, b: _Claim) -> bool:
    """Equal values, allowing for the rounding of a conversion between two units."""
    rel = CONVERSION_TOLERANCE if _unit_differs(a, b) else 1e-9
    return math.isclose(a.base, b.base, rel_tol=rel, abs_tol=1e-9)


def _same_value(a: _Claim, b: _Claim) -> bool:
    return a.quantity.bound == b.quantity.bound and _close(a, b)


def _same_figure(a: _Claim, b: _Claim, tolerance: float) -> bool:
    """One figure, however bounded: "about 32 million" and "32 million"; not "about a dozen" and 11."""
    return _close(a, b) and _claims_agree(a, b, tolerance)


def _frame(a: _Claim, b: _Claim) -> tuple[float, float, float] | None:
    """(counted-term overlap, term Jaccard, context Jaccard) when two claims measure the same kind of thing."""
    if a.unit != b.unit:
        return None
    if a.unit is None and (a.head is None or b.head is None):
        return None  # a count must say what it counts
    if (a.head == "age") != (b.head == "age"):
        return None  # an age is no duration
    # a measure need not name what it measures ("fell 200 feet"), but two that do must agree
    if a.head and b.head and a.head != b.head and a.head not in b.terms and b.head not in a.terms:
        return None  # "12 Somali" and "12 Somali pirates" count the same people; "12 ships" does not
    if a.person and b.person and not _same_person(a.person, b.person):
        return None  # two people's ages
    if a.cumulative != b.cumulative:
        return None  # a running total and one event's figure
    if a.unit is not None and not (a.terms and b.terms):
        return 1.0, 1.0, _jaccard(a.context, b.context)  # one measure, named by one side or neither
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
        and _same_figure(a, b, tolerance)
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
    if (
        ctx < CONTEXT_CONFLICT
        and not _parallel_lists(a, b)
        and not (_measures_one_thing(a, b) and ctx >= CONTEXT_RELATED)
    ):
        return 0.0
    return jac + ctx


def _measures_one_thing(a: _Claim, b: _Claim) -> bool:
    """Whether both claims give a physical measure of one named thing: "a 10-metre dhow" and "a 24-
    to 30-foot dhow" measure the dhow, however the sentences differ (a "6-foot man" and a "5-foot
    man" may be two men)."""
    return (
        a.unit not in (None, "time")
        and a.head is not None
        and a.head == b.head
        and a.head not in _INDIVIDUALS
    )


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
