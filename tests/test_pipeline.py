"""Pipeline.process and the Desk around it, with the model doubles of conftest: no model is loaded."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from typer.testing import CliRunner

from storydesk import snapshot
from storydesk.api import Desk
from storydesk.cli import app
from storydesk.config import ClusterSettings, Settings
from storydesk.errors import ConfigError, StoreError
from storydesk.store import Store
from storydesk.stream import STREAM_TOKEN

QUAKE = "A strong earthquake struck Northern Chile on Monday, killing {n} people in Iquique, officials said."
FIRE = "A wildfire spread across Victoria on {day}, forcing {n} residents of Ballarat to leave, police said."


def _records(prefix: str, day: int) -> list[dict[str, Any]]:
    out = []
    for n in range(3):
        out.append(
            {
                "id": f"{prefix}q{n}",
                "title": "Earthquake in Chile",
                "text": QUAKE.format(n=10 + n + 10 * day),
                "published": f"2024-03-{day:02d}",
            }
        )
        out.append(
            {
                "id": f"{prefix}f{n}",
                "title": "Victoria wildfire",
                "text": FIRE.format(day="Friday", n=200 + n + 10 * day),
                "published": f"2024-03-{day:02d}",
            }
        )
    return out


def test_pipeline_process_extracts_and_featurizes_originals_only(fake_pipeline: Any) -> None:
    records = _records("a", 1)
    records.append({**records[0], "id": "copy", "text": records[0]["text"] + " Reuters"})  # a near-copy
    batch = fake_pipeline.read_records(records, "<test>")
    name = {a.id: a.external_id for a in batch.articles}
    processed = fake_pipeline.process(batch.articles, fake_pipeline.new_index())
    assert {name[d]: name[o] for d, o in processed.duplicates.items()} == {"copy": "aq0"}
    originals = [a.id for a in processed.originals]
    assert "copy" not in {name[a] for a in originals} and len(originals) == 6
    assert [e.article_id for e in processed.extractions] == originals
    assert [i.id for i in processed.items] == originals
    assert fake_pipeline.extractor.texts == [a.text for a in processed.originals]  # one parse each
    assert {"dedup", "read", "clean", "features"} <= set(fake_pipeline.timings)


def test_pipeline_process_parses_only_a_prefix_of_a_huge_article_and_says_so(fake_pipeline: Any) -> None:
    pipeline = type(fake_pipeline)(
        fake_pipeline.settings.with_overrides(["extract.max_chars=50"]),
        featurizer=fake_pipeline.featurizer,
        extractor=fake_pipeline.extractor,
    )
    long_text = " ".join(["The council met again and agreed nothing new."] * 40)
    batch = pipeline.read_records([{"id": "long", "title": "Council", "text": long_text}], "<test>")
    processed = pipeline.process(batch.articles, pipeline.new_index())
    (article,) = processed.articles
    assert article.metadata["parsed_chars"] == {"kept": 50, "total": len(long_text)}
    # the extractor is handed the whole text and cuts it itself (extract.max_chars), so check the record only
    short = pipeline.read_records([{"id": "short", "text": "The council met and agreed nothing."}], "<t>")
    assert "parsed_chars" not in pipeline.process(short.articles, pipeline.new_index()).articles[0].metadata


def test_pipeline_process_without_extraction_reuses_cached_features(fake_pipeline: Any) -> None:
    batch = fake_pipeline.read_records(_records("a", 1), "<test>")
    cache: dict[tuple[str, Any], Any] = {}
    first = fake_pipeline.process(batch.articles, fake_pipeline.new_index(), extract=False, features=cache)
    calls = fake_pipeline.featurizer.calls
    again = fake_pipeline.process(batch.articles, fake_pipeline.new_index(), extract=False, features=cache)
    assert first.extractions == [] and fake_pipeline.extractor.texts == []
    assert fake_pipeline.featurizer.calls == calls  # nothing missing: no model call
    assert [i.id for i in again.items] == [i.id for i in first.items]


def test_desk_ingest_with_fakes_groups_stories_and_stores_their_views(fake_desk: Desk) -> None:
    batch = fake_desk.pipeline.read_records(_records("a", 1), "<test>")
    summary = fake_desk.ingest_batch(batch)
    assert summary.added == 6
    name = {a.id: a.external_id for a in fake_desk.articles()}
    groups = sorted(sorted(name[a] for a in s.article_ids) for s in fake_desk.stories())
    assert groups == [["af0", "af1", "af2"], ["aq0", "aq1", "aq2"]]
    from storydesk.api import view_version

    for story in fake_desk.stories():
        assert fake_desk.store.story_view(story.id, view_version()) is not None
        detail = fake_desk.detail(story.id)
        assert [a.id for a in detail.articles] == list(story.article_ids)


def test_desk_failure_inside_the_commit_rolls_back_everything(
    fake_desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_desk.ingest_batch(fake_desk.pipeline.read_records(_records("a", 1), "<test>"))
    stories = fake_desk.stories()
    token = fake_desk.store.meta(STREAM_TOKEN)
    state = snapshot.path_for(fake_desk.store.path).read_bytes()

    def broken(self: Store, *args: Any) -> None:  # the last write of the commit: every other row is in
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(Store, "put_story_view", broken)
    with pytest.raises(StoreError, match="rolled back"):
        fake_desk.ingest_batch(fake_desk.pipeline.read_records(_records("b", 2), "<test>"))
    assert fake_desk.store.count_articles() == 6
    assert fake_desk.stories() == stories
    assert fake_desk.store.meta(STREAM_TOKEN) == token
    assert snapshot.path_for(fake_desk.store.path).read_bytes() == state
    assert not list(snapshot.path_for(fake_desk.store.path).parent.glob("*.stream.*"))  # nothing staged left

    monkeypatch.undo()
    summary = fake_desk.ingest_batch(fake_desk.pipeline.read_records(_records("b", 2), "<test>"))
    assert summary.added == 6 and fake_desk.store.count_articles() == 12


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("cluster.linkage=avg", "expected one of average, centroid"),
        ("cluster.index=faiss", "expected one of usearch, hnswlib, exact"),
        ("cluster.idf=tfidf", "expected one of background, online, blend"),
        ("cluster.threshold=abc", "bad value 'abc' for cluster.threshold"),
        ("models.n_process=two", "bad value 'two' for models.n_process"),
    ],
)
def test_settings_reject_a_bad_value_when_built(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings().with_overrides([override])
    result = CliRunner().invoke(app, ["--set", override, "settings"])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split()) and "Traceback" not in result.output


def test_settings_sections_check_their_values_when_built() -> None:
    with pytest.raises(ConfigError, match="linkage"):
        ClusterSettings(linkage="avg")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="threshold"):
        ClusterSettings(threshold="high")  # type: ignore[arg-type]
    assert ClusterSettings(threshold=1).threshold == 1  # an int is a fine float
