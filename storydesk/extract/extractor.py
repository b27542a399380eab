"""The extractor: one batched spaCy pass over many texts, every extractor run on each ``Doc``."""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple

from storydesk.config import ExtractSettings, ModelSettings
from storydesk.extract.dates import _dates
from storydesk.extract.doc import _text
from storydesk.extract.entities import _entities
from storydesk.extract.quantities import _quantities
from storydesk.extract.quotes import _quotes
from storydesk.models import Extraction
from storydesk.nlp import load_spacy

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc


class Task(NamedTuple):
    """One text to extract from, with what its extraction is resolved against."""

    text: str
    article_id: str = ""
    published: dt.date | None = None
    wire_origin: str | None = None
    dateline: str | None = None


class Extractor:
    """Extracts entities, quantities, dates and quotes from article text."""

    def __init__(self, settings: ExtractSettings, models: ModelSettings) -> None:
        self.settings = settings
        self.models = models
        self._nlp: Language | None = None

    @property
    def nlp(self) -> Language:
        """The spaCy pipeline, loaded on first use and shared through storydesk.nlp's cache."""
        if self._nlp is None:
            self._nlp = load_spacy(self.models.spacy_model)
        return self._nlp

    def extract(
        self,
        text: str,
        *,
        article_id: str = "",
        published: dt.date | None = None,
        wire_origin: str | None = None,
        dateline: str | None = None,
    ) -> Extraction:
        """Everything extracted from one text; offsets index ``text`` exactly."""
        return next(iter(self.extract_stream([Task(text, article_id, published, wire_origin, dateline)])))

    def extract_many(self, items: Sequence[tuple[str, str, dt.date | None]]) -> list[Extraction]:
        """Extract from ``(id, text, published)`` items in one batched spaCy pass."""
        return list(self.extract_stream(Task(text, aid, pub) for aid, text, pub in items))

    def extract_stream(
        self, tasks: Iterable[Task], *, timings: dict[str, float] | None = None
    ) -> Iterator[Extraction]:
        """Extractions in task order from one batched spaCy pass (``nlp.pipe``, ``models.n_process``
        processes): each text's first ``extract.max_chars`` characters are parsed, and each Doc is
        extracted from as it comes, so a batch holds only ``models.spacy_batch_size`` Docs at a time.
        ``timings`` (stage -> seconds) gains the parse and the extraction time."""
        import time

        pending: collections.deque[Task] = collections.deque()

        def texts() -> Iterator[str]:
            for task in tasks:
                pending.append(task)
                yield task.text[: self.settings.max_chars]

        docs = iter(
            self.nlp.pipe(texts(), batch_size=self.models.spacy_batch_size, n_process=self.models.n_process)
        )
        parse = extract = 0.0
        try:
            while True:
                start = time.perf_counter()
                try:
                    doc = next(docs)
                except StopIteration:
                    break
                mid = time.perf_counter()
                task = pending.popleft()
                yield _extract_doc(doc, task.article_id, task.published, task.wire_origin, task.dateline)
                parse += mid - start
                extract += time.perf_counter() - mid
        finally:
            if timings is not None:
                timings["parse"] = timings.get("parse", 0.0) + parse
                timings["extract"] = timings.get("extract", 0.0) + extract


def _extract_doc(
    doc: Doc, article_id: str, published: dt.date | None, wire_origin: str | None, dateline: str | None
) -> Extraction:
    """Run every extractor over one parsed document."""
    entities = _entities(doc, dateline)
    dates = _dates(_text(doc), published)
    quantities = _quantities(doc, dates)
    quotes = _quotes(doc, entities)
    return Extraction(
        article_id=article_id,
        entities=tuple(entities),
        quantities=tuple(quantities),
        dates=tuple(dates),
        quotes=tuple(quotes),
        wire_origin=wire_origin,
        sentences=tuple((s.start_char, s.end_char) for s in doc.sents),
    )
