"""The one serialiser for ``Extraction``: the stored form (lossless, ``extraction_to_json`` and its
inverse ``extraction_from_json``) and the ``storydesk extract`` JSONL line (``extraction_to_dict``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from storydesk.models import DateMention, Entity, Extraction, Quantity, Quote


def extraction_to_dict(ex: Extraction) -> dict[str, Any]:
    """The stable ``storydesk extract`` JSONL line for one extraction."""
    return {
        "id": ex.article_id,
        "entities": [
            {"text": e.text, "label": e.label, "start": e.start, "end": e.end, "canonical": e.canonical}
            for e in ex.entities
        ],
        "quantities": [
            {
                "text": q.text,
                "value": q.value,
                "bound": q.bound,
                "unit": q.unit,
                "counts": q.counts,
                "start": q.start,
                "end": q.end,
            }
            for q in ex.quantities
        ],
        "dates": [
            {"text": d.text, "value": d.value, "start": d.start, "end": d.end, "relative": d.relative}
            for d in ex.dates
        ],
        "quotes": [
            {
                "speaker": q.speaker,
                "speaker_start": q.speaker_start,
                "speaker_end": q.speaker_end,
                "cue": q.cue,
                "cue_start": q.cue_start,
                "cue_end": q.cue_end,
                "content": q.content,
                "content_start": q.content_start,
                "content_end": q.content_end,
                "direct": q.direct,
            }
            for q in ex.quotes
        ],
        "wire_origin": ex.wire_origin,
    }


def extraction_to_json(extraction: Extraction) -> dict[str, Any]:
    """An Extraction as plain JSON-able data, losslessly."""
    return asdict(extraction)


def extraction_from_json(data: Mapping[str, Any]) -> Extraction:
    """The inverse of extraction_to_json."""
    return Extraction(
        article_id=data["article_id"],
        entities=tuple(Entity(**e) for e in data.get("entities", ())),
        quantities=tuple(Quantity(**q) for q in data.get("quantities", ())),
        dates=tuple(DateMention(**d) for d in data.get("dates", ())),
        quotes=tuple(Quote(**q) for q in data.get("quotes", ())),
        wire_origin=data.get("wire_origin"),
        sentences=tuple((int(s[0]), int(s[1])) for s in data.get("sentences", ())),
    )
