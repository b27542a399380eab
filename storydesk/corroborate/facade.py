"""The entry point: a story's articles and extractions -> its facts, in the order the brief shows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from storydesk.corroborate.alignment import _STATUS_RANK, _group_claims, _quantity_fact
from storydesk.corroborate.claims import _Article, _claims, source_of
from storydesk.corroborate.statements import _quote_facts, _statement_facts
from storydesk.corroborate.values import ABOUT_TOLERANCE
from storydesk.models import Article, Extraction, Fact

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
