"""Does the Spark job agree with one machine? Stories and duplicates of ``spark-run`` beside
``storydesk cluster`` and the desk's duplicate index, on the same JSONL input.

Both sides name an input record by its line number in the file (what ``storydesk cluster`` does
for records without an ``id``, and what the job keeps as ``source_line``). B³ F1 is computed between
the two outputs (neither is gold: F1 is symmetric in them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storydesk.config import Settings
from storydesk.evaluate.clusters import bcubed
from storydesk.ingest import load_jsonl
from storydesk.pipeline import Pipeline, cluster_records

__all__ = ["Parity", "compare", "single_machine", "spark_side"]


@dataclass(frozen=True, slots=True)
class Parity:
    records: int  # input lines compared
    bcubed_f1: float
    duplicates_single: Mapping[str, str]
    duplicates_spark: Mapping[str, str]

    @property
    def duplicates_identical(self) -> bool:
        return dict(self.duplicates_single) == dict(self.duplicates_spark)


def single_machine(path: Path, settings: Settings) -> tuple[dict[int, str], dict[str, str]]:
    """line -> story from ``cluster_records`` (``storydesk cluster``), and duplicate -> original from
    the desk's ``DuplicateIndex`` over the same articles in the same order."""
    records = [{k: v for k, v in r.items() if k != "id"} for r in load_jsonl(path)]
    stories = {int(n): s for n, s in cluster_records(records, settings, origin=str(path)) if s is not None}
    pipeline = Pipeline(settings)
    batch = pipeline.read_records(load_jsonl(path), str(path))
    unique = list({a.id: a for a in reversed(batch.articles)}.values())[::-1]
    verdicts = pipeline.dedup(pipeline.new_index(), unique)
    return stories, {v.article_id: v.duplicate_of for v in verdicts if v.duplicate_of}


def spark_side(out: Path, path: Path) -> tuple[dict[int, str], dict[str, str]]:
    """line -> story and duplicate -> original from the job's ``articles`` table (rows of ``path``)."""
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = pq.read_table(str(out / "articles")).to_pylist()
    mine = [r for r in rows if Path(r["source_path"]).resolve() == path.resolve()]
    stories = {int(r["source_line"]): r["story"] for r in mine if r["story"] is not None}
    return stories, {r["id"]: r["duplicate_of"] for r in mine if r["duplicate_of"]}


def compare(
    path: Path,
    out: Path,
    settings: Settings,
    known: tuple[dict[int, str], dict[str, str]] | None = None,
) -> Parity:
    """Compare the job's output under ``out`` (run on ``path``) with one machine on ``path``
    (``known``: ``single_machine``'s answer when already computed, for several runs)."""
    single, single_dups = known or single_machine(path, settings)
    spark, spark_dups = spark_side(out, path)
    common = set(single) & set(spark)
    _, _, f1 = bcubed({str(k): spark[k] for k in common}, {str(k): single[k] for k in common})
    return Parity(len(common), f1, single_dups, spark_dups)
