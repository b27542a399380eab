"""The job's output tables: their columns (documented once, here and in the README) and the rows.

Every column is a plain Parquet type (string, long, double, boolean, list of strings); nested
values (cleaning steps, metadata, extractions, cluster features, explanations, facts' citations,
a story's entities) are JSON strings in the shapes the SQLite store keeps, so ``storydesk import``
writes them as they are. This module needs neither Spark nor pyarrow: the job builds its Spark
schemas from ``COLUMNS`` and the importer reads rows back with ``article_from_row`` and friends.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from storydesk.models import (
    Article,
    CleanStep,
    DedupResult,
    Explanation,
    Extraction,
    Fact,
    ResolvedEntity,
    Source,
    Story,
    WireOrigin,
)

__all__ = [
    "COLUMNS",
    "TABLES",
    "article_from_row",
    "article_row",
    "explanation_from_json",
    "fact_rows",
    "quote_rows",
    "rejection_row",
    "story_from_row",
    "story_row",
    "verdict_from_row",
]

# (column, type, meaning); the types are Spark SQL names: string, long, double, boolean, array<string>.
COLUMNS: dict[str, list[tuple[str, str, str]]] = {
    "articles": [
        ("id", "string", "content hash of the clean article (the desk's article id)"),
        ("seq", "long", "ingest order across the whole input: files in order, records in file order"),
        ("external_id", "string", "id the input gave (JSONL id), or null"),
        ("title", "string", "title"),
        ("text", "string", "clean text"),
        ("raw_text", "string", "text before cleaning"),
        ("url", "string", "page URL (a WARC record's target URI)"),
        ("source_url", "string", "URL a 'Source:' line credits"),
        ("outlet", "string", "outlet"),
        ("published", "string", "ISO publication date, or null"),
        ("published_at", "string", "ISO publication time, or null"),
        ("dateline", "string", "dateline"),
        ("desk", "string", "desk"),
        ("author", "string", "author"),
        ("bio", "string", "author bio the cleaner removed"),
        ("steps", "string", "JSON list of the cleaning steps"),
        ("metadata", "string", "JSON object of the article's metadata"),
        ("source_path", "string", "input file"),
        ("source_line", "long", "line in a JSONL file"),
        ("source_member", "string", "WARC record (target URI) or feed entry"),
        ("duplicate_of", "string", "the original this article copies, or null"),
        ("duplicate_kind", "string", "exact or near, or null"),
        ("duplicate_similarity", "double", "verified Jaccard similarity of a near copy"),
        ("wire_origin", "string", "agency the article derives from, or null"),
        ("wire_evidence", "string", "the words that credit it"),
        ("wire_start", "long", "offset of the evidence in text"),
        ("wire_end", "long", "end offset of the evidence"),
        ("story", "string", "the article's story (stories.id)"),
        ("explanation", "string", "JSON: why the article joined its story (storydesk why)"),
        ("extraction", "string", "JSON: entities, quantities, dates, quotes (originals only)"),
        ("cluster_item", "string", "JSON: the clusterer's features, vector in base64 (originals only)"),
    ],
    "stories": [
        ("id", "string", "story id"),
        ("headline", "string", "title of the most central article"),
        ("first_published", "string", "ISO date of the earliest dated member"),
        ("last_published", "string", "ISO date of the latest dated member"),
        ("article_count", "long", "members, duplicates included"),
        ("article_ids", "array<string>", "members in date order"),
        ("origins", "array<string>", "wire origins, most frequent first"),
        ("entities", "string", "JSON list of the story's resolved entities"),
        ("view_version", "string", "digest of the code that computed facts and entities"),
    ],
    "facts": [
        ("story", "string", "story id"),
        ("n", "long", "the fact's place in its story's list"),
        ("statement", "string", "the claim"),
        ("kind", "string", "quantity, statement or quote"),
        ("status", "string", "corroborated, single-source or conflicting"),
        ("origins", "array<string>", "independent origins that report it"),
        ("value", "double", "the quantity's value"),
        ("bound", "string", "=, >, < or ~"),
        ("unit", "string", "unit, null for plain counts"),
        ("counts", "string", "what is counted"),
        ("note", "string", "why the values agree or conflict"),
        ("variants", "array<string>", "the differing wordings or values seen"),
        ("citations", "string", "JSON list of {article_id, start, end, text}"),
    ],
    "quotes": [
        ("article", "string", "article id"),
        ("story", "string", "story id"),
        ("n", "long", "the quote's place in its article"),
        ("speaker", "string", "who said it, as written"),
        ("speaker_canonical", "string", "the resolved entity the speaker names"),
        ("cue", "string", "the verb that cues it"),
        ("content", "string", "what was said"),
        ("content_start", "long", "offset of the content in the article's text"),
        ("content_end", "long", "end offset of the content"),
        ("direct", "boolean", "a direct quotation"),
    ],
    "rejections": [
        ("path", "string", "input file"),
        ("line", "long", "line in it"),
        ("member", "string", "WARC record or feed entry"),
        ("stage", "string", "ingest, clean, ..."),
        ("reason", "string", "why the input is not an article"),
    ],
}
TABLES = tuple(COLUMNS)


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def article_row(
    seq: int,
    article: Article,
    verdict: DedupResult,
    story: str | None,
    explanation: Explanation | None,
    extraction: Mapping[str, Any] | None,
    item: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """One ``articles`` row, the fields serialized as ``Store.add_article`` keeps them."""
    source = article.source or Source(path="")
    wire = verdict.wire_origin
    return {
        "id": article.id,
        "seq": seq,
        "external_id": article.external_id,
        "title": article.title,
        "text": article.text,
        "raw_text": article.raw_text,
        "url": article.url,
        "source_url": article.source_url,
        "outlet": article.outlet,
        "published": _iso(article.published),
        "published_at": _iso(article.published_at),
        "dateline": article.dateline,
        "desk": article.desk,
        "author": article.author,
        "bio": article.bio,
        "steps": json.dumps([dataclasses.asdict(s) for s in article.steps]),
        "metadata": json.dumps(article.metadata, default=str),
        "source_path": source.path,
        "source_line": source.line,
        "source_member": source.member,
        "duplicate_of": verdict.duplicate_of,
        "duplicate_kind": verdict.kind,
        "duplicate_similarity": verdict.similarity,
        "wire_origin": wire.name if wire else None,
        "wire_evidence": wire.evidence if wire else None,
        "wire_start": wire.start if wire else None,
        "wire_end": wire.end if wire else None,
        "story": story,
        "explanation": json.dumps(dataclasses.asdict(explanation)) if explanation is not None else None,
        "extraction": json.dumps(extraction, ensure_ascii=False) if extraction is not None else None,
        "cluster_item": json.dumps(item) if item is not None else None,
    }


def article_from_row(row: Mapping[str, Any]) -> Article:
    published, published_at = row.get("published"), row.get("published_at")
    return Article(
        id=row["id"],
        text=row["text"],
        raw_text=row["raw_text"],
        title=row.get("title"),
        external_id=row.get("external_id"),
        url=row.get("url"),
        source_url=row.get("source_url"),
        outlet=row.get("outlet"),
        published=dt.date.fromisoformat(published) if published else None,
        published_at=dt.datetime.fromisoformat(published_at) if published_at else None,
        dateline=row.get("dateline"),
        desk=row.get("desk"),
        author=row.get("author"),
        bio=row.get("bio"),
        steps=tuple(CleanStep(**s) for s in json.loads(row.get("steps") or "[]")),
        metadata=json.loads(row.get("metadata") or "{}"),
        source=Source(row.get("source_path") or "", row.get("source_line"), row.get("source_member")),
    )


def verdict_from_row(row: Mapping[str, Any]) -> DedupResult:
    wire = None
    if row.get("wire_origin"):
        wire = WireOrigin(
            row["wire_origin"],
            row.get("wire_evidence") or "",
            row.get("wire_start") or 0,
            row.get("wire_end") or 0,
        )
    return DedupResult(
        article_id=row["id"],
        duplicate_of=row.get("duplicate_of"),
        kind=row.get("duplicate_kind"),
        similarity=row.get("duplicate_similarity"),
        wire_origin=wire,
    )


def explanation_from_json(text: str | None) -> Explanation:
    if not text:
        return Explanation(similarity=0.0)
    data = json.loads(text)
    for key in ("shared_entities", "shared_numbers"):
        data[key] = tuple(data.get(key) or ())
    return Explanation(**data)


def story_row(story: Story, entities: Sequence[ResolvedEntity], view_version: str) -> dict[str, Any]:
    return {
        "id": story.id,
        "headline": story.headline,
        "first_published": _iso(story.first_published),
        "last_published": _iso(story.last_published),
        "article_count": len(story.article_ids),
        "article_ids": list(story.article_ids),
        "origins": list(story.origins),
        "entities": json.dumps([dataclasses.asdict(e) for e in entities], ensure_ascii=False),
        "view_version": view_version,
    }


def story_from_row(row: Mapping[str, Any]) -> Story:
    first, last = row.get("first_published"), row.get("last_published")
    return Story(
        id=row["id"],
        headline=row["headline"],
        article_ids=tuple(row["article_ids"]),
        first_published=dt.date.fromisoformat(first) if first else None,
        last_published=dt.date.fromisoformat(last) if last else None,
        origins=tuple(row.get("origins") or ()),
    )


def fact_rows(story_id: str, facts: Sequence[Fact]) -> list[dict[str, Any]]:
    return [
        {
            "story": story_id,
            "n": n,
            "statement": f.statement,
            "kind": f.kind,
            "status": f.status,
            "origins": list(f.origins),
            "value": f.value,
            "bound": f.bound,
            "unit": f.unit,
            "counts": f.counts,
            "note": f.note,
            "variants": list(f.variants),
            "citations": json.dumps([dataclasses.asdict(c) for c in f.citations], ensure_ascii=False),
        }
        for n, f in enumerate(facts)
    ]


def quote_rows(extraction: Extraction, story_id: str | None) -> list[dict[str, Any]]:
    return [
        {
            "article": extraction.article_id,
            "story": story_id,
            "n": n,
            "speaker": q.speaker,
            "speaker_canonical": q.speaker_canonical,
            "cue": q.cue,
            "content": q.content,
            "content_start": q.content_start,
            "content_end": q.content_end,
            "direct": q.direct,
        }
        for n, q in enumerate(extraction.quotes)
    ]


def rejection_row(path: str, line: int | None, member: str | None, stage: str, reason: str) -> dict[str, Any]:
    return {"path": path, "line": line, "member": member, "stage": stage, "reason": reason}
