"""Featurizing: batched title + lead embeddings and NER over the lead, into ``ClusterItem``s."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from storydesk.cluster.items import (
    _ENTITY_LABELS,
    _NUMBER_LABELS,
    ClusterItem,
    _entity_key,
    _normalise_number,
    _time_of,
    item_terms,
    lead_text,
)
from storydesk.config import ClusterSettings, ModelSettings
from storydesk.models import Article
from storydesk.text import YEAR

if TYPE_CHECKING:
    from storydesk.nlp import Embedder


def ner_components(nlp: Any) -> list[str]:
    """The components NER needs: ``ner`` and whatever it listens to (en_core_web_sm's NER has its own
    tok2vec, so the shared tok2vec, the tagger and the parser are skipped)."""
    if "ner" not in nlp.pipe_names:
        return []
    return [
        name
        for name in nlp.pipe_names
        if name == "ner" or "ner" in getattr(nlp.get_pipe(name), "listening_components", ())
    ]


class Featurizer:
    """Turns articles into ``ClusterItem``s: batched embeddings plus NER over title + lead."""

    def __init__(self, settings: ClusterSettings, models: ModelSettings) -> None:
        self.settings = settings
        self.models = models
        self._embedder: Embedder | None = None
        self._nlp: Any = None

    def _load(self) -> tuple[Embedder, Any]:
        from storydesk.nlp import load_embedder, load_spacy_ner

        if self._embedder is None:
            self._embedder = load_embedder(self.models)
        if self._nlp is None and self.settings.use_ner:
            self._nlp = load_spacy_ner(self.models.spacy_model)
        return self._embedder, self._nlp

    def featurize(
        self,
        articles: Sequence[Article],
        *,
        progress: bool = False,
        timings: dict[str, float] | None = None,
    ) -> list[ClusterItem]:
        """One item per article, in the same order; ``timings`` (stage -> seconds) gains embed and NER."""
        if not articles:
            return []
        embedder, nlp = self._load()
        leads = [lead_text(a, self.settings.max_chars) for a in articles]
        start = time.perf_counter()
        vectors = embedder.encode(leads, progress=progress)
        mid = time.perf_counter()
        heads = [len((a.title or "").strip()) for a in articles]
        signals = self._signals([lead[: self.settings.ner_chars] for lead in leads], heads, nlp)
        if timings is not None:
            timings["embed"] = timings.get("embed", 0.0) + mid - start
            timings["features ner"] = timings.get("features ner", 0.0) + time.perf_counter() - mid
        items = []
        for article, vector, (entities, numbers, years, people) in zip(
            articles, vectors, signals, strict=True
        ):
            items.append(
                ClusterItem(
                    id=article.id,
                    title=(article.title or article.text[:120]).strip(),
                    time=_time_of(article),
                    vector=np.asarray(vector, dtype=np.float32),
                    terms=item_terms(article.title or "", article.text, self.settings.lexical_chars),
                    entities=entities,
                    numbers=numbers,
                    years=years,
                    head_people=people,
                )
            )
        return items

    def _signals(self, texts: list[str], heads: list[int], nlp: Any) -> list[tuple[tuple[str, ...], ...]]:
        """Per text: entity keys, numbers, years, and the people named in its first ``heads[i]`` chars."""
        out: list[tuple[tuple[str, ...], ...]] = []
        if nlp is None:
            return [((), (), tuple(sorted(set(YEAR.findall(t)))), ()) for t in texts]
        with nlp.select_pipes(enable=ner_components(nlp)):
            for doc, head in zip(
                nlp.pipe(texts, batch_size=64, n_process=self.models.n_process), heads, strict=True
            ):
                entities: set[str] = set()
                numbers: set[str] = set()
                people: set[str] = set()
                for ent in doc.ents:
                    if ent.label_ in _ENTITY_LABELS:
                        key = _entity_key(ent.text)
                        if len(key) >= 2:
                            entities.add(key)
                            if ent.label_ == "PERSON" and " " in key:
                                entities.add(key.split()[-1])  # surname-only mentions
                            if ent.label_ == "PERSON" and ent.start_char < head:
                                people.update({key, key.split()[-1]})
                    elif ent.label_ in _NUMBER_LABELS:
                        num = _normalise_number(ent.text)
                        if num and not YEAR.fullmatch(num):
                            numbers.add(num)
                years = set(YEAR.findall(doc.text))
                out.append(
                    (
                        tuple(sorted(entities)),
                        tuple(sorted(numbers)),
                        tuple(sorted(years)),
                        tuple(sorted(people)),
                    )
                )
        return out
