"""``storydesk import DIR``: the Spark job's Parquet tables into a desk, through the store's methods.

Reads with pyarrow (no JVM). The desk must hold no articles yet: the job's stories were clustered
over its whole input, and mixing them with stories clustered elsewhere would give neither.
After the import every command (``stories``, ``show``, ``articles --json``, ``why``, ``serve``)
works on the desk; a later ``ingest`` goes on from it (starting its stream over once).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storydesk.errors import ConfigError, InputError, StoreError
from storydesk.models import Assignment, Rejection, Source
from storydesk.spark import tables
from storydesk.store import Store, fact_from_json, resolved_entity_from_json

__all__ = ["ImportSummary", "import_output"]


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What one import loaded."""

    articles: int
    duplicates: int
    stories: int
    facts: int
    rejections: int

    def to_dict(self) -> dict[str, int]:
        return {
            "articles": self.articles,
            "duplicates": self.duplicates,
            "stories": self.stories,
            "facts": self.facts,
            "rejections": self.rejections,
        }


def _rows(folder: Path, table: str, *, required: bool = True) -> Iterator[dict[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ConfigError("importing Parquet needs pyarrow: pip install 'storydesk[spark]'") from exc
    path = folder / table
    if not path.exists():
        if required:
            raise InputError(str(path), f"no such table (is {folder} the --out of spark-run?)")
        return
    try:
        dataset = pq.ParquetDataset(str(path))
        batches = dataset.read().to_batches()
    except Exception as exc:  # pyarrow raises its own errors for broken or foreign files
        raise InputError(str(path), f"cannot read the Parquet table: {exc}") from exc
    for batch in batches:
        yield from batch.to_pylist()


def import_output(store: Store, folder: str | Path, view_version: str) -> ImportSummary:
    """Load the tables under ``folder`` into ``store`` in one transaction.

    ``view_version``: the version of the code the desk computes story views with; views the job
    computed with other code are left for the desk to compute again when read.
    """
    folder = Path(folder)
    if store.count_articles():
        raise StoreError(f"{store.path} already holds articles: import into a new desk")
    articles = sorted(_rows(folder, "articles"), key=lambda r: r["seq"])
    stories = list(_rows(folder, "stories"))
    facts: dict[str, list[dict[str, Any]]] = {}
    for row in _rows(folder, "facts"):
        facts.setdefault(row["story"], []).append(row)
    rejections = [
        Rejection(r["stage"], r["reason"], Source(r["path"], r["line"], r["member"]))
        for r in _rows(folder, "rejections", required=False)
    ]
    known = {s["id"] for s in stories}
    for row in articles:
        if row["story"] is not None and row["story"] not in known:
            raise InputError(str(folder), f"article {row['id']} is in story {row['story']}, which is missing")
    assignments = [
        Assignment(r["id"], r["story"], tables.explanation_from_json(r["explanation"]))
        for r in articles
        if r["story"] is not None
    ]
    with store.transaction():
        for row in articles:
            store.add_article(tables.article_from_row(row), tables.verdict_from_row(row))
            if row["extraction"] is not None:
                store.put_extraction(row["id"], json.loads(row["extraction"]))
            if row["cluster_item"] is not None:
                store.put_cluster_item(row["id"], json.loads(row["cluster_item"]))
        store.replace_stories([tables.story_from_row(s) for s in stories], assignments, [])
        for s in stories:
            if s["view_version"] != view_version:
                continue
            story_facts = [_fact(f) for f in sorted(facts.get(s["id"], []), key=lambda f: f["n"])]
            entities = [resolved_entity_from_json(e) for e in json.loads(s["entities"])]
            store.put_story_view(s["id"], view_version, story_facts, entities)
        store.add_rejections(rejections)
    return ImportSummary(
        articles=len(articles),
        duplicates=sum(1 for r in articles if r["duplicate_of"]),
        stories=len(stories),
        facts=sum(len(v) for v in facts.values()),
        rejections=len(rejections),
    )


def _fact(row: dict[str, Any]) -> Any:
    data = {k: v for k, v in row.items() if k not in ("story", "n")}
    data["citations"] = json.loads(row["citations"])
    return fact_from_json(data)
