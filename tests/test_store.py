"""The SQLite store: migrations, WAL, round trips, transactions, full-text search."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from storydesk.errors import StoreError
from storydesk.models import (
    Article,
    Assignment,
    Citation,
    CleanStep,
    DedupResult,
    Entity,
    Explanation,
    Extraction,
    Fact,
    Quantity,
    Rejection,
    ResolvedEntity,
    Source,
    Story,
    StoryMerge,
    WireOrigin,
)
from storydesk.store import MIGRATIONS, Store, extraction_from_json, extraction_to_json


def _article(n: int, text: str = "", **kw: object) -> Article:
    body = text or f"Article number {n} says the harbour bridge reopened after repairs."
    return Article(id=f"a{n:03d}", text=body, raw_text="RAW " + body, title=f"Title {n}", **kw)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "desk.db")
    yield s
    s.close()


def test_store_migrations_recorded_once(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    first = Store(path)
    assert [n for n, _ in first.migrations()] == [n for n, _, _ in MIGRATIONS]
    first.close()
    again = Store(path)
    assert again.migrate() == []  # nothing left to apply
    assert len(again.migrations()) == len(MIGRATIONS)
    again.close()


def test_store_uses_wal(store: Store) -> None:
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"


def test_store_rejects_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    bogus = tmp_path / "not.db"
    bogus.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match="not a storydesk database"):
        Store(bogus)


def test_store_article_round_trip(store: Store) -> None:
    article = _article(
        1,
        published=dt.date(2021, 7, 5),
        dateline="Dushanbe",
        author="Lydia Isamova",
        steps=(CleanStep("dehyphenate", "inte-rlocutor", "interlocutor", 10),),
        metadata={"k": [1, 2]},
        source=Source("x.txt", 3),
    )
    wire = WireOrigin("Reuters", "told Reuters", 5, 17)
    with store.transaction():
        store.add_article(article, DedupResult(article.id, wire_origin=wire))
    back = store.article(article.id)
    assert back == article
    assert back is not None and back.steps == article.steps and back.metadata == {"k": [1, 2]}
    assert store.dedup_result(article.id).wire_origin == wire
    assert store.wire_origins() == {article.id: "Reuters"}


def test_store_transaction_rolls_back_whole_batch(store: Store) -> None:
    with store.transaction():
        store.add_article(_article(1), DedupResult("a001"))
    with pytest.raises(RuntimeError), store.transaction():
        store.add_article(_article(2), DedupResult("a002"))
        store.add_article(_article(3), DedupResult("a003"))
        raise RuntimeError("interrupted")
    assert [a.id for a in store.articles()] == ["a001"]


def test_store_duplicate_id_is_a_store_error_and_rolls_back(store: Store) -> None:
    with store.transaction():
        store.add_article(_article(1), DedupResult("a001"))
    with pytest.raises(StoreError, match="rolled back") as info, store.transaction():
        store.add_article(_article(2), DedupResult("a002"))
        store.add_article(_article(1), DedupResult("a001"))
    assert isinstance(info.value.__cause__, sqlite3.IntegrityError)
    assert store.count_articles() == 1
    assert not store.has_article("a002")


def test_store_search_ranks_and_tolerates_bad_syntax(store: Store) -> None:
    with store.transaction():
        store.add_article(
            _article(1, "Tajikistan mobilises twenty thousand reservists at the border."), DedupResult("a001")
        )
        store.add_article(
            _article(2, "Earthquake strikes northern California overnight."), DedupResult("a002")
        )
    assert [h[0] for h in store.search("reservists")] == ["a001"]
    assert [h[0] for h in store.search("earthquakes")] == ["a002"]  # porter stemming
    assert [h[0] for h in store.search('tajik-afghan "border')] == []  # broken syntax: no exception
    assert store.search("Tajikistan")[0][2].count("[") >= 1  # snippet marks the hit


def test_store_story_layer_replaced_and_merges_followed(store: Store) -> None:
    with store.transaction():
        for n in (1, 2, 3):
            store.add_article(_article(n, published=dt.date(2021, 7, n)), DedupResult(f"a00{n}"))
        story = Story(
            "s1", "Headline", ("a001", "a002"), dt.date(2021, 7, 1), dt.date(2021, 7, 2), ("Reuters",)
        )
        other = Story("s3", "Other", ("a003",))
        assignments = [
            Assignment("a001", "s1", Explanation(similarity=1.0, new_story=True)),
            Assignment(
                "a002", "s1", Explanation(similarity=0.8, shared_entities=("Rahmon",), runner_up="s3")
            ),
            Assignment("a003", "s3", Explanation(similarity=1.0, new_story=True)),
        ]
        store.replace_stories([story, other], assignments, [StoryMerge("s1", "s2", "a002", 0.7)])
    got = store.story("s1")
    assert got is not None and got.article_ids == ("a001", "a002") and got.origins == ("Reuters",)
    assert store.story("s2") == got  # an absorbed id leads to the story that kept it
    assert store.story("nope") is None
    a2 = store.assignment("a002")
    assert a2 is not None and a2.explanation.shared_entities == ("Rahmon",)
    assert [s.id for s in store.stories()] == ["s1", "s3"]  # most recent first, undated last
    assert store.story_map() == {"a001": "s1", "a002": "s1", "a003": "s3"}
    # Only the assignments asked for (a stream batch reads those that may have changed).
    assert store.story_map(["a003", "a001", "a009"]) == {"a001": "s1", "a003": "s3"}
    assert store.story_map([]) == {}


def test_store_rejections_kept(store: Store) -> None:
    with store.transaction():
        store.add_rejections(
            [
                Rejection("ingest", "binary file", Source("blob.bin")),
                Rejection("ingest", "bad JSON", Source("x.jsonl", 4)),
            ]
        )
    assert {str(r) for r in store.rejections()} == {
        "blob.bin: ingest: binary file",
        "x.jsonl:4: ingest: bad JSON",
    }


def test_store_extraction_json_round_trip() -> None:
    ex = Extraction(
        article_id="a1",
        entities=(Entity("Rahmon", "PERSON", 0, 6, "Emomali Rahmon", role="President"),),
        quantities=(Quantity("20,000", 20000.0, "=", None, "reservists", 10, 16, 0, 40),),
        sentences=((0, 40), (41, 80)),
    )
    assert extraction_from_json(extraction_to_json(ex)) == ex


def test_store_story_view_round_trips_and_is_keyed_by_version(store: Store) -> None:
    fact = Fact(
        statement="20,000 reservists",
        kind="quantity",
        status="corroborated",
        origins=("Reuters", "RIA"),
        citations=(Citation("a001", 0, 40, "Tajikistan called up 20,000 reservists."),),
        value=20000.0,
        bound="=",
        counts="reservists",
        variants=("20,000", "twenty thousand"),
    )
    entity = ResolvedEntity("Emomali Rahmon", "PERSON", ("Rahmon",), ("President",), ("a001",), 2)
    with store.transaction():
        store.put_story_view("s1", "v1", [fact], [entity])
    assert store.story_view("s1", "v1") == ((fact,), (entity,))
    assert store.story_view("s1", "v2") is None  # made by other code: not served
    assert store.story_view("s2", "v1") is None


def test_store_live_desk_migration_upgrades_an_older_desk_keeping_its_articles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storydesk.store as store_module

    path = tmp_path / "old.db"
    monkeypatch.setattr(store_module, "MIGRATIONS", MIGRATIONS[:2])  # a desk from before migration 3
    old = Store(path)
    with old.transaction():
        old.add_article(_article(1), DedupResult("a001"))
    old.close()
    monkeypatch.undo()
    upgraded = Store(path)
    assert [n for n, _ in upgraded.migrations()] == [n for n, _, _ in MIGRATIONS]
    assert [a.id for a in upgraded.articles()] == ["a001"]
    with upgraded.transaction():
        assert upgraded.add_source("https://example.com/feed") is True
        assert upgraded.add_source("https://example.com/feed") is False
        upgraded.update_article("a001", _article(1, "The harbour bridge reopened on Friday after two years."))
    assert upgraded.article("a001").text.startswith("The harbour bridge reopened on Friday")  # type: ignore[union-attr]
    (revision,) = upgraded.revisions("a001")
    assert revision["text"].startswith("Article number 1")
    assert [hit[0] for hit in upgraded.search("Friday")] == ["a001"]  # the FTS index followed
    assert upgraded.search("number") == []
    upgraded.close()
