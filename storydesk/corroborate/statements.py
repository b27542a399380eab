"""Quote and statement facts: the same quote or sentence carried by two or more articles."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence

from storydesk.corroborate.claims import _Article, _citations
from storydesk.corroborate.terms import _jaccard, _stems
from storydesk.models import Fact, Quote

#: Statement facts: minimum stem Jaccard between two sentences of different articles.
STATEMENT_SIMILARITY = 0.6
#: Quote facts: minimum token containment between two quotes of different articles.
QUOTE_SIMILARITY = 0.85

# --- quotes and statements ----------------------------------------------------------------------

_TOKEN = re.compile(r"\w+", re.UNICODE)


def _quote_facts(arts: Sequence[_Article], by_id: Mapping[str, _Article]) -> list[tuple[int, Fact]]:
    """Quotes carried by two or more articles (near-identical content), as facts."""
    items: list[tuple[_Article, Quote, frozenset[str]]] = []
    for art in arts:
        if art.extraction is None:
            continue
        for quote in art.extraction.quotes:
            tokens = frozenset(t.lower() for t in _TOKEN.findall(quote.content))
            if len(tokens) >= 5:
                items.append((art, quote, tokens))
    groups: list[list[int]] = []
    member: dict[int, int] = {}
    for i, (art_i, _, tok_i) in enumerate(items):
        for j in range(i):
            art_j, _, tok_j = items[j]
            if art_j is art_i:
                continue
            if len(tok_i & tok_j) / min(len(tok_i), len(tok_j)) >= QUOTE_SIMILARITY:
                member[i] = member[j]
                groups[member[j]].append(i)
                break
        else:
            member[i] = len(groups)
            groups.append([i])
    facts: list[tuple[int, Fact]] = []
    for group in groups:
        if len({items[i][0].article.id for i in group}) < 2:
            continue
        first_art, first_quote, _ = items[group[0]]
        origins = tuple(dict.fromkeys(items[i][0].source for i in group))
        speaker = first_quote.speaker_canonical or first_quote.speaker
        content = " ".join(first_quote.content.split())
        statement = f"{speaker}: “{content}”" if speaker else f"“{content}”"
        spans = [
            (items[i][0].article.id, items[i][0].sentence(items[i][1].content_start, items[i][1].content_end))
            for i in group
        ]
        facts.append(
            (
                first_art.index * 1_000_000 + first_quote.content_start,
                Fact(
                    statement=statement,
                    kind="quote",
                    status="corroborated" if len(origins) >= 2 else "single-source",
                    origins=origins,
                    citations=_citations(spans, by_id),
                    variants=tuple(dict.fromkeys(" ".join(items[i][1].content.split()) for i in group)),
                ),
            )
        )
    return facts


def _statement_facts(
    arts: Sequence[_Article], by_id: Mapping[str, _Article], taken: set[tuple[str, tuple[int, int]]]
) -> list[tuple[int, Fact]]:
    """Sentences that two or more articles state near-identically (same stems), as facts."""
    sentences: list[tuple[_Article, tuple[int, int], frozenset[str]]] = []
    for art in arts:
        for span in art.spans:
            if (art.article.id, span) in taken:
                continue
            stems = _stems(art.article.text[span[0] : span[1]])
            if len(stems) >= 5:
                sentences.append((art, span, stems))
    # inverted index over stems so only sentences sharing words are compared; very common stems skipped
    postings: dict[str, list[int]] = defaultdict(list)
    limit = max(20, len(arts) * 2)
    groups: list[list[int]] = []
    member: dict[int, int] = {}
    for i, (art_i, _, stems_i) in enumerate(sentences):
        shared: Counter[int] = Counter()
        for stem in stems_i:
            plist = postings[stem]
            if len(plist) <= limit:
                shared.update(plist)
        best, best_sim = -1, 0.0
        for j, n in shared.items():
            art_j, _, stems_j = sentences[j]
            if art_j is art_i or n < 3:
                continue
            sim = _jaccard(stems_i, stems_j)
            if sim >= STATEMENT_SIMILARITY and sim > best_sim:
                best, best_sim = j, sim
        if best >= 0:
            member[i] = member[best]
            groups[member[best]].append(i)
            continue
        # only a group's founding sentence is indexed: candidates are groups, not every copy
        member[i] = len(groups)
        groups.append([i])
        for stem in stems_i:
            postings[stem].append(i)
    facts: list[tuple[int, Fact]] = []
    for group in groups:
        if len({sentences[i][0].article.id for i in group}) < 2:
            continue
        first_art, first_span, _ = sentences[group[0]]
        origins = tuple(dict.fromkeys(sentences[i][0].source for i in group))
        spans = [(sentences[i][0].article.id, sentences[i][1]) for i in group]
        text = " ".join(first_art.article.text[first_span[0] : first_span[1]].split())
        facts.append(
            (
                first_art.index * 1_000_000 + first_span[0],
                Fact(
                    statement=text,
                    kind="statement",
                    status="corroborated" if len(origins) >= 2 else "single-source",
                    origins=origins,
                    citations=_citations(spans, by_id),
                ),
            )
        )
    return facts
