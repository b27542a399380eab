"""Ingest goes on from the saved stream state: batch after batch gives the stories of one pass.

Each test compares a desk fed in batches with a desk fed everything at once; the batches must say
whether they resumed or started over, and a damaged or foreign state file must never be trusted.
"""

from __future__ import annotations

import dataclasses
import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from storydesk import snapshot
from storydesk.api import Desk
from storydesk.config import Settings

# Three events over five days, each told by several outlets, plus a verbatim copy and an undated piece.
ARTICLES: list[dict[str, Any]] = [
    {
        "id": "q1",
        "published": "2014-04-01",
        "title": "Magnitude 8.2 earthquake strikes off northern Chile",
        "text": "A magnitude 8.2 earthquake struck off the coast of northern Chile near Iquique on Tuesday, "
        "triggering a tsunami warning along the Pacific coast, the US Geological Survey said.",
    },
    {
        "id": "f1",
        "published": "2014-04-01",
        "title": "Floods force thousands from homes in Passau",
        "text": "Floods in Bavaria forced 4,000 residents of Passau from their homes as the Danube burst "
        "its banks, the regional government said. Rescue teams used boats to reach stranded families.",
    },
    {
        "id": "q2",
        "published": "2014-04-02",
        "title": "Chile earthquake kills six near Iquique",
        "text": "Six people were killed when a magnitude 8.2 earthquake hit northern Chile near Iquique, "
        "officials said on Wednesday. The tsunami warning for the Pacific coast was lifted.",
    },
    {
        "id": "e1",
        "published": "2014-04-02",
        "title": "Election commission sets date for Hungarian vote",
        "text": "Hungary's election commission confirmed that the parliamentary election will take place "
        "on April 6, with Prime Minister Viktor Orban's Fidesz party leading the polls.",
    },
    {
        "id": "f2",
        "published": "2014-04-03",
        "title": "Danube floods: Passau clears mud as water recedes",
        "text": "Residents of Passau began clearing mud from their homes as the Danube floods receded, "
        "Bavarian officials said, after 4,000 people had been forced to leave.",
    },
    {
        "id": "q3",
        "published": "2014-04-03",
        "title": "Aftershock rattles Iquique after Chile earthquake",
        "text": "A strong aftershock of magnitude 7.6 shook Iquique in northern Chile, a day after the "
        "magnitude 8.2 earthquake that killed six people, the Chilean government said.",
    },
    {
        "id": "e2",
        "published": "2014-04-04",
        "title": "Orban's Fidesz set to win Hungarian election, polls say",
        "text": "Viktor Orban's Fidesz party is expected to win Sunday's parliamentary election in Hungary, "
        "the last polls before the April 6 vote showed.",
    },
    {
        "id": "q2copy",
        "published": "2014-04-04",
        "title": "Deadly quake in Chile",
        "text": "Six people were killed when a magnitude 8.2 earthquake hit northern Chile near Iquique, "
        "officials said on Wednesday. The tsunami warning for the Pacific coast was lifted.",
    },
    {
        "id": "e3",
        "published": "2014-04-05",
        "title": "Hungarians vote as Orban seeks new term",
        "text": "Hungarians voted in a parliamentary election on Sunday in which Prime Minister Viktor Orban "
        "and his Fidesz party sought a second term, the election commission said.",
    },
    {
        "id": "f3",
        "title": "Passau counts the cost of the Danube floods",
        "text": "The city of Passau in Bavaria put the damage from the Danube floods, which forced 4,000 "
        "residents from their homes, at millions of euros.",
    },
]


def _settings(**cluster: Any) -> Settings:
    base = Settings()
    return dataclasses.replace(base, cluster=dataclasses.replace(base.cluster, **cluster))


def _write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _layer(desk: Desk) -> tuple[Any, ...]:
    """The story layer as the user sees it: stories, every article's story and explanation, merges."""
    stories = sorted((s.id, s.headline, s.article_ids, s.origins) for s in desk.stories())
    story_map = desk.store.story_map()
    explanations = {a: desk.store.explanations([a])[a] for a in story_map}
    return stories, story_map, explanations, desk.store.merges()


def _one_pass(tmp_path: Path, settings: Settings) -> tuple[Any, ...]:
    with Desk.open(tmp_path / "one.db", settings) as desk:
        summary = desk.ingest([_write(tmp_path / "all.jsonl", ARTICLES)])
        assert summary.stream.startswith("started over")
        return _layer(desk)


@pytest.mark.parametrize("index", ["exact", "usearch"])
@pytest.mark.models
def test_stream_batches_resume_and_match_one_pass(tmp_path: Path, index: str) -> None:
    settings = _settings(index=index)
    expected = _one_pass(tmp_path, settings)
    with Desk.open(tmp_path / "many.db", settings) as desk:
        streams = []
        for n, part in enumerate([ARTICLES[:3], ARTICLES[3:6], ARTICLES[6:8], ARTICLES[8:]]):
            summary = desk.ingest([_write(tmp_path / f"b{n}.jsonl", part)])
            assert summary.added == len(part)
            streams.append(summary.stream)
        assert streams[0] == "started over: no stream state saved yet"
        assert streams[1:] == ["resumed"] * 3
        ids = {a.external_id: a.id for a in desk.articles()}
        assert desk.store.duplicates() == {ids["q2copy"]: ids["q2"]}
        got = _layer(desk)
    assert got == expected
    assert len(expected[0]) == 3  # the three events, the copy and the undated piece inside them


@pytest.mark.models
def test_stream_older_batch_starts_over_and_still_matches(tmp_path: Path) -> None:
    settings = _settings()
    expected = _one_pass(tmp_path, settings)
    late, early = ARTICLES[4:], ARTICLES[:4]  # the second batch is older than the first
    with Desk.open(tmp_path / "many.db", settings) as desk:
        desk.ingest([_write(tmp_path / "late.jsonl", late)])
        summary = desk.ingest([_write(tmp_path / "early.jsonl", early)])
        assert summary.stream.startswith("started over: the batch has articles older")
        got = _layer(desk)
    # Ingest order differs from the one-pass run, so only the stories must agree, not their ids.
    assert sorted(len(s[2]) for s in got[0]) == sorted(len(s[2]) for s in expected[0])
    assert {frozenset(s[2]) for s in got[0]} == {frozenset(s[2]) for s in expected[0]}


@pytest.mark.models
def test_stream_missing_stale_or_changed_settings_start_over(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    with Desk.open(db) as desk:
        desk.ingest([_write(tmp_path / "a.jsonl", ARTICLES[:3])])
    snapshot.path_for(db).unlink()
    with Desk.open(db) as desk:
        summary = desk.ingest([_write(tmp_path / "b.jsonl", ARTICLES[3:5])])
        assert summary.stream.startswith("started over") and "does not exist" in summary.stream
    with Desk.open(db, _settings(threshold=0.9)) as desk:
        summary = desk.ingest([_write(tmp_path / "c.jsonl", ARTICLES[5:7])])
        assert summary.stream.startswith("started over") and "cluster settings" in summary.stream
    with Desk.open(db) as desk:  # the state the last batch saved has threshold 0.9: start over again
        summary = desk.ingest([_write(tmp_path / "d.jsonl", ARTICLES[7:8])])
        assert summary.stream.startswith("started over")
        summary = desk.ingest([_write(tmp_path / "e.jsonl", ARTICLES[8:9])])
        assert summary.stream == "resumed"
        assert len(desk.articles()) == 9


class _Boom:
    """A pickle that would run a shell command when loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        import os

        return (os.system, (f"touch {self.marker}",))


def _saved_state(tmp_path: Path) -> tuple[Path, str]:
    """A desk that ingested three articles: its database and the token its saved stream state carries."""
    db = tmp_path / "d.db"
    with Desk.open(db) as desk:
        desk.ingest([_write(tmp_path / "a.jsonl", ARTICLES[:3])])
        token = desk.store.meta("stream_token")
    assert token is not None
    return db, token


@pytest.mark.models
def test_stream_foreign_state_is_refused_not_run(tmp_path: Path) -> None:
    db, token = _saved_state(tmp_path)
    marker = tmp_path / "ran"
    payload = snapshot.MAGIC + pickle.dumps(_Boom(marker))
    snapshot.path_for(db).write_bytes(token.encode("ascii") + b"\n" + payload)
    with Desk.open(db) as desk:
        summary = desk.ingest([_write(tmp_path / "b.jsonl", ARTICLES[3:5])])
        assert "posix.system" in summary.stream or "os.system" in summary.stream
        assert summary.added == 2 and len(desk.stories()) >= 2
    assert not marker.exists()
    with pytest.raises(snapshot.SnapshotError, match="not a storydesk stream state"):
        snapshot.loads(b"garbage")


@pytest.mark.models
def test_stream_state_of_an_older_format_starts_over_and_says_so(tmp_path: Path) -> None:
    db, token = _saved_state(tmp_path)
    path = snapshot.path_for(db)
    saved = path.read_bytes()
    assert saved.startswith(token.encode("ascii") + b"\n" + snapshot.MAGIC)
    path.write_bytes(saved.replace(snapshot.MAGIC, b"storydesk-stream-state 1\n", 1))
    with Desk.open(db) as desk:
        summary = desk.ingest([_write(tmp_path / "b.jsonl", ARTICLES[3:5])])
        assert summary.stream.startswith("started over") and "format 1" in summary.stream
        assert summary.added == 2 and len(desk.articles()) == 5
        # The start over saved a state of this version's format: the next batch goes on from it.
        assert desk.ingest([_write(tmp_path / "c.jsonl", ARTICLES[5:6])]).stream == "resumed"


@pytest.mark.models
def test_stream_interrupted_batch_leaves_the_saved_state_usable(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    with Desk.open(db) as desk:
        desk.ingest([_write(tmp_path / "a.jsonl", ARTICLES[:3])])

        def interrupt(stage: str, done: int, total: int | None) -> None:
            if stage == "cluster" and done:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            desk.ingest([_write(tmp_path / "b.jsonl", ARTICLES[3:6])], progress=interrupt)
        assert not list(tmp_path.glob("*.tmp"))
        summary = desk.ingest([tmp_path / "b.jsonl"])
        assert summary.stream == "resumed" and summary.added == 3


@pytest.mark.models
def test_recluster_matches_one_pass(tmp_path: Path) -> None:
    expected = _one_pass(tmp_path, _settings())
    with Desk.open(tmp_path / "many.db") as desk:
        for n, part in enumerate([ARTICLES[:5], ARTICLES[5:]]):
            desk.ingest([_write(tmp_path / f"b{n}.jsonl", part)])
        assert desk.recluster() == len(expected[0])
        assert _layer(desk) == expected
        later = {
            "id": "q9",
            "published": "2014-04-06",
            "title": "Chile lifts tsunami alert after Iquique earthquake",
            "text": "Chile lifted the last tsunami alert in Iquique, days after the magnitude 8.2 earthquake.",
        }
        summary = desk.ingest([_write(tmp_path / "more.jsonl", [later])])
        assert summary.stream == "resumed" and summary.added == 1


@pytest.mark.models
def test_stream_batch_that_raced_another_ingest_clusters_everything(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    with Desk.open(db) as first, Desk.open(db) as second:
        first.ingest([_write(tmp_path / "a.jsonl", ARTICLES[:4])])
        other = _write(tmp_path / "b.jsonl", ARTICLES[4:7])

        def meanwhile(stage: str, done: int, total: int | None) -> None:
            if stage == "cluster" and done:  # after this batch clustered, before it commits
                assert first.ingest([other]).stream == "resumed"

        summary = second.ingest([_write(tmp_path / "c.jsonl", ARTICLES[7:])], progress=meanwhile)
        assert summary.stream == "started over: another ingest committed meanwhile"
        assert len(second.articles()) == len(ARTICLES)
        story_map = second.store.story_map()
        assert len(story_map) == len(ARTICLES)  # every article of both batches has its story
        copy = second.ingest([_write(tmp_path / "d.jsonl", [{**ARTICLES[0], "id": "x", "title": "Later"}])])
        assert copy.duplicates == 1 and copy.stream == "resumed"  # the saved state is the raced batch's


@pytest.mark.models
def test_cluster_records_reuses_cached_features_in_another_order(monkeypatch: pytest.MonkeyPatch) -> None:
    from storydesk.pipeline import Pipeline, cluster_records

    featurized: list[int] = []
    real = Pipeline.featurize

    def counting(self: Pipeline, articles: Any) -> Any:
        featurized.append(len(articles))
        return real(self, articles)

    monkeypatch.setattr(Pipeline, "featurize", counting)
    features: dict[Any, Any] = {}
    first = dict(cluster_records(ARTICLES, features=features))
    originals = len(features)
    assert featurized == [originals] and 0 < originals < len(ARTICLES)  # the verbatim copy is not embedded
    again = dict(cluster_records(list(reversed(ARTICLES)), features=features))
    # Reversed, the verbatim copy comes first and is the original: only it is new.
    assert featurized == [originals, 1] and len(features) == originals + 1
    cluster_records(ARTICLES, features=features)
    cluster_records(list(reversed(ARTICLES)), features=features)
    assert featurized[2:] == [0, 0]  # nothing embedded twice
    # The cached features give the stories the records give without a cache.
    assert dict(cluster_records(list(reversed(ARTICLES)))) == again

    def groups(placed: dict[Any, Any]) -> set[frozenset[Any]]:
        return {frozenset(i for i in placed if placed[i] == s) for s in set(placed.values())}

    assert groups(first) == groups(again)  # dated events are placed by date in either order
