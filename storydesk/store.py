"""SQLite store: schema by numbered migrations, WAL mode, one writer, FTS5 search.

The store keeps model objects, not logic: articles with their cleaning steps and
dedup verdicts, per-article extraction and clustering features (so stories can be
rebuilt without re-running models), story assignments, merges and rejections.
Every write happens inside ``transaction()``: a batch lands whole or not at all.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from storydesk.errors import StoreError
from storydesk.extract.serialise import extraction_from_json as extraction_from_json
from storydesk.extract.serialise import extraction_to_json as extraction_to_json
from storydesk.models import (
    Article,
    Assignment,
    Citation,
    CleanStep,
    DedupResult,
    Explanation,
    Fact,
    FeedSource,
    Rejection,
    ResolvedEntity,
    SeenItem,
    Source,
    Story,
    StoryMerge,
    WireOrigin,
)

# Numbered migrations: (number, name, SQL). Never edit one that has shipped; add a new one.
MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "initial schema",
        """
        CREATE TABLE articles (
            id TEXT PRIMARY KEY,
            seq INTEGER NOT NULL UNIQUE,
            external_id TEXT,
            title TEXT,
            text TEXT NOT NULL,
            raw_text TEXT NOT NULL,
            url TEXT,
            source_url TEXT,
            outlet TEXT,
            published TEXT,
            published_at TEXT,
            dateline TEXT,
            desk TEXT,
            author TEXT,
            bio TEXT,
            steps TEXT NOT NULL DEFAULT '[]',
            metadata TEXT NOT NULL DEFAULT '{}',
            source_path TEXT,
            source_line INTEGER,
            source_member TEXT,
            duplicate_of TEXT REFERENCES articles(id),
            duplicate_kind TEXT,
            duplicate_similarity REAL,
            wire_origin TEXT,
            wire_evidence TEXT,
            wire_start INTEGER,
            wire_end INTEGER,
            ingested_at TEXT NOT NULL
        );
        CREATE INDEX articles_duplicate_of ON articles(duplicate_of);
        CREATE TABLE extractions (
            article_id TEXT PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
            data TEXT NOT NULL
        );
        CREATE TABLE cluster_items (
            article_id TEXT PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
            record TEXT NOT NULL
        );
        CREATE TABLE stories (
            id TEXT PRIMARY KEY,
            headline TEXT NOT NULL,
            first_published TEXT,
            last_published TEXT,
            article_count INTEGER NOT NULL,
            origins TEXT NOT NULL DEFAULT '[]'
        );
        CREATE TABLE assignments (
            article_id TEXT PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
            story_id TEXT NOT NULL,
            explanation TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX assignments_story ON assignments(story_id);
        CREATE TABLE story_merges (
            kept TEXT NOT NULL,
            absorbed TEXT NOT NULL,
            at_article TEXT NOT NULL,
            score REAL NOT NULL
        );
        CREATE TABLE rejections (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL,
            line INTEGER,
            member TEXT,
            stage TEXT NOT NULL,
            reason TEXT NOT NULL,
            at TEXT NOT NULL
        );
        CREATE VIRTUAL TABLE articles_fts USING fts5(
            title, text, content='articles', content_rowid='rowid', tokenize='porter unicode61'
        );
        CREATE TRIGGER articles_ai AFTER INSERT ON articles BEGIN
            INSERT INTO articles_fts(rowid, title, text) VALUES (new.rowid, new.title, new.text);
        END;
        CREATE TRIGGER articles_ad AFTER DELETE ON articles BEGIN
            INSERT INTO articles_fts(articles_fts, rowid, title, text)
            VALUES ('delete', old.rowid, old.title, old.text);
        END;
        CREATE TRIGGER articles_au AFTER UPDATE OF title, text ON articles BEGIN
            INSERT INTO articles_fts(articles_fts, rowid, title, text)
            VALUES ('delete', old.rowid, old.title, old.text);
            INSERT INTO articles_fts(rowid, title, text) VALUES (new.rowid, new.title, new.text);
        END;
        """,
    ),
    (
        2,
        "desk metadata",
        """
        CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        """,
    ),
    (
        3,
        "live desk: sources, seen items, pages, revisions, alerts",
        """
        CREATE TABLE sources (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL UNIQUE,
            title TEXT,
            kind TEXT,
            added_at TEXT NOT NULL,
            etag TEXT,
            last_modified TEXT,
            last_poll TEXT,
            last_status INTEGER,
            last_new INTEGER NOT NULL DEFAULT 0,
            items INTEGER NOT NULL DEFAULT 0,
            errors INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            next_poll TEXT
        );
        CREATE TABLE source_items (
            source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
            item_key TEXT NOT NULL,
            url TEXT,
            fingerprint TEXT NOT NULL,
            article_id TEXT,
            status TEXT NOT NULL,
            reason TEXT,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            PRIMARY KEY (source_id, item_key)
        );
        CREATE INDEX source_items_url ON source_items(url);
        CREATE TABLE pages (
            url TEXT PRIMARY KEY,
            article_id TEXT,
            etag TEXT,
            last_modified TEXT,
            fetched_at TEXT NOT NULL
        );
        CREATE INDEX pages_article ON pages(article_id);
        CREATE TABLE article_revisions (
            id INTEGER PRIMARY KEY,
            article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            title TEXT,
            text TEXT NOT NULL,
            raw_text TEXT NOT NULL,
            metadata TEXT NOT NULL DEFAULT '{}',
            replaced_at TEXT NOT NULL
        );
        CREATE INDEX article_revisions_article ON article_revisions(article_id);
        ALTER TABLE articles ADD COLUMN updated_at TEXT;
        CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            term TEXT NOT NULL UNIQUE COLLATE NOCASE,
            added_at TEXT NOT NULL
        );
        CREATE TABLE alert_hits (
            alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
            story_id TEXT NOT NULL,
            headline TEXT NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (alert_id, story_id)
        );
        """,
    ),
    (
        4,
        "story views: facts and entities stored when a story's articles change",
        """
        CREATE TABLE story_views (
            story_id TEXT PRIMARY KEY,
            version TEXT NOT NULL,
            facts TEXT NOT NULL,
            entities TEXT NOT NULL,
            computed_at TEXT NOT NULL
        );
        """,
    ),
)


# Seconds a connection waits for another one's write lock before "database is locked": long enough
# for an ingest's commit (its models run before the transaction opens) and for a second ingest
# to wait for the first one's commit rather than fail.
BUSY_TIMEOUT = 60.0


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _datetime(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


@dataclass(frozen=True, slots=True)
class StoredDetail:
    """One story's stored rows (``Store.story_detail``)."""

    story: Story
    articles: tuple[Article, ...]  # in the story's (date) order
    duplicates: Mapping[str, str]  # member duplicate -> its original
    origins: Mapping[str, str | None]  # member -> wire origin
    extractions: Mapping[str, Mapping[str, Any]]  # original member -> stored extraction JSON
    explanations: Mapping[str, Explanation]


class Store:
    """One SQLite database: the only writer of its file while it is open."""

    def __init__(self, path: str | Path, *, create: bool = True, busy_timeout: float = BUSY_TIMEOUT) -> None:
        self.path = str(path)
        self.busy_timeout = busy_timeout
        if not create and self.path != ":memory:" and not Path(self.path).is_file():
            raise StoreError(
                f"no desk at {self.path}: the file does not exist (`ingest` or `sources add` creates one)"
            )
        try:
            self.conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=busy_timeout
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open database {self.path}: {exc}") from exc
        self.conn.row_factory = sqlite3.Row
        try:
            if self.path != ":memory:":
                self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.migrate()
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise StoreError(f"{self.path} is not a storydesk database: {exc}") from exc
        self._in_tx = False

    # --- schema -------------------------------------------------------------

    def migrate(self) -> list[int]:
        """Apply the migrations this database lacks, each in its own transaction."""
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT)"
        )
        done = {row[0] for row in self.conn.execute("SELECT id FROM migrations")}
        applied = []
        for number, name, sql in MIGRATIONS:
            if number in done:
                continue
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _split_sql(sql):
                    self.conn.execute(statement)
                self.conn.execute(
                    "INSERT INTO migrations (id, name, applied_at) VALUES (?, ?, ?)", (number, name, _now())
                )
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            applied.append(number)
        return applied

    def migrations(self) -> list[tuple[int, str]]:
        return [
            (r["id"], r["name"]) for r in self.conn.execute("SELECT id, name FROM migrations ORDER BY id")
        ]

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One batch: committed whole, or rolled back whole (also on Ctrl-C)."""
        if self._in_tx:
            yield
            return
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            raise StoreError(
                f"{self.path} is being written by another process (waited {self.busy_timeout:g} s): "
                "try again when it has finished"
            ) from exc
        self._in_tx = True
        try:
            yield
        except sqlite3.Error as exc:  # a failed write is the store's failure: one StoreError, rolled back
            self.conn.execute("ROLLBACK")
            raise StoreError(f"{self.path}: the batch was rolled back: {exc}") from exc
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise StoreError(f"{self.path}: the batch could not be committed: {exc}") from exc
        finally:
            self._in_tx = False

    def close(self) -> None:
        self.conn.close()

    # --- articles -----------------------------------------------------------

    def has_article(self, article_id: str) -> bool:
        return self.conn.execute("SELECT 1 FROM articles WHERE id = ?", (article_id,)).fetchone() is not None

    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        wanted = list(ids)
        found: set[str] = set()
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ",".join("?" * len(chunk))
            found.update(
                r[0] for r in self.conn.execute(f"SELECT id FROM articles WHERE id IN ({marks})", chunk)
            )
        return found

    def add_article(self, article: Article, dedup: DedupResult) -> None:
        seq = self.conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM articles").fetchone()[0]
        wire = dedup.wire_origin
        source = article.source or Source(path="")
        self.conn.execute(
            """INSERT INTO articles (id, seq, external_id, title, text, raw_text, url, source_url, outlet,
                published, published_at, dateline, desk, author, bio, steps, metadata, source_path, source_line,
                source_member, duplicate_of, duplicate_kind, duplicate_similarity, wire_origin, wire_evidence,
                wire_start, wire_end, ingested_at)
               VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
            (
                article.id,
                seq,
                article.external_id,
                article.title,
                article.text,
                article.raw_text,
                article.url,
                article.source_url,
                article.outlet,
                _iso(article.published),
                _iso(article.published_at),
                article.dateline,
                article.desk,
                article.author,
                article.bio,
                json.dumps([asdict(s) for s in article.steps]),
                json.dumps(article.metadata, default=str),
                source.path,
                source.line,
                source.member,
                dedup.duplicate_of,
                dedup.kind,
                dedup.similarity,
                wire.name if wire else None,
                wire.evidence if wire else None,
                wire.start if wire else None,
                wire.end if wire else None,
                _now(),
            ),
        )

    def _article(self, row: sqlite3.Row) -> Article:
        return Article(
            id=row["id"],
            text=row["text"],
            raw_text=row["raw_text"],
            title=row["title"],
            external_id=row["external_id"],
            url=row["url"],
            source_url=row["source_url"],
            outlet=row["outlet"],
            published=_date(row["published"]),
            published_at=_datetime(row["published_at"]),
            dateline=row["dateline"],
            desk=row["desk"],
            author=row["author"],
            bio=row["bio"],
            steps=tuple(CleanStep(**s) for s in json.loads(row["steps"])),
            metadata=json.loads(row["metadata"]),
            source=Source(row["source_path"] or "", row["source_line"], row["source_member"]),
        )

    def article(self, article_id: str) -> Article | None:
        row = self.conn.execute("SELECT * FROM articles WHERE id = ?", (article_id,)).fetchone()
        return self._article(row) if row else None

    def articles(self, ids: Sequence[str] | None = None) -> list[Article]:
        """Articles in ingest order; all of them, or those with these ids."""
        if ids is None:
            rows = self.conn.execute("SELECT * FROM articles ORDER BY seq").fetchall()
        else:
            rows = self._rows_in("SELECT * FROM articles WHERE id IN ({})", ids)
            rows.sort(key=lambda r: r["seq"])
        return [self._article(r) for r in rows]

    def dedup_result(self, article_id: str) -> DedupResult:
        row = self.conn.execute(
            """SELECT duplicate_of, duplicate_kind, duplicate_similarity, wire_origin, wire_evidence, wire_start,
               wire_end FROM articles WHERE id = ?""",
            (article_id,),
        ).fetchone()
        if row is None:
            return DedupResult(article_id)
        wire = (
            WireOrigin(
                row["wire_origin"], row["wire_evidence"] or "", row["wire_start"] or 0, row["wire_end"] or 0
            )
            if row["wire_origin"]
            else None
        )
        return DedupResult(
            article_id, row["duplicate_of"], row["duplicate_kind"], row["duplicate_similarity"], wire
        )

    def wire_origins(self, ids: Sequence[str] | None = None) -> dict[str, str | None]:
        """Article id -> its wire origin (None when none was found); all articles, or these."""
        if ids is None:
            return {r[0]: r[1] for r in self.conn.execute("SELECT id, wire_origin FROM articles")}
        return {
            r[0]: r[1] for r in self._rows_in("SELECT id, wire_origin FROM articles WHERE id IN ({})", ids)
        }

    def _rows_in(self, sql: str, ids: Sequence[str]) -> list[sqlite3.Row]:
        """Rows of ``sql`` (with one ``IN ({})``) for these ids, fetched in chunks under SQLite's limit."""
        rows: list[sqlite3.Row] = []
        ids = list(ids)
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            rows += self.conn.execute(sql.format(",".join("?" * len(chunk))), chunk).fetchall()
        return rows

    # --- desk metadata ----------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def duplicates(self) -> dict[str, str]:
        """Duplicate article id -> the original it copies."""
        return {
            r[0]: r[1]
            for r in self.conn.execute("SELECT id, duplicate_of FROM articles WHERE duplicate_of IS NOT NULL")
        }

    def count_articles(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0])

    # --- per-article features -----------------------------------------------

    def put_extraction(self, article_id: str, data: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO extractions (article_id, data) VALUES (?, ?)",
            (article_id, json.dumps(data)),
        )

    def extractions(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for i in range(0, len(ids), 500):
            chunk = list(ids[i : i + 500])
            marks = ",".join("?" * len(chunk))
            for r in self.conn.execute(
                f"SELECT article_id, data FROM extractions WHERE article_id IN ({marks})", chunk
            ):
                out[r[0]] = json.loads(r[1])
        return out

    def put_cluster_item(self, article_id: str, record: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO cluster_items (article_id, record) VALUES (?, ?)",
            (article_id, json.dumps(record)),
        )

    def cluster_records(self, ids: Sequence[str] | None = None) -> list[tuple[str, dict[str, Any]]]:
        """Stored clustering records in ingest order: all of them, or those of these articles."""
        sql = (
            "SELECT c.article_id, c.record, a.seq FROM cluster_items c JOIN articles a ON a.id = c.article_id"
        )
        if ids is None:
            rows = self.conn.execute(sql + " ORDER BY a.seq").fetchall()
        else:
            rows = sorted(self._rows_in(sql + " WHERE c.article_id IN ({})", ids), key=lambda r: r[2])
        return [(r[0], json.loads(r[1])) for r in rows]

    # --- stories --------------------------------------------------------------

    def replace_stories(
        self, stories: Sequence[Story], assignments: Sequence[Assignment], merges: Sequence[StoryMerge]
    ) -> None:
        """Replace the story layer with a freshly computed one (inside the caller's transaction)."""
        self.conn.execute("DELETE FROM stories")
        self.conn.execute("DELETE FROM assignments")
        self._insert_layer("INSERT", stories, assignments)  # a fresh layer: a repeated row is an error
        self._write_merges(merges)

    def put_story_view(
        self, story_id: str, version: str, facts: Sequence[Fact], entities: Sequence[ResolvedEntity]
    ) -> None:
        """Store a story's derived view (its corroborated facts and resolved entities), computed by
        ``version`` of the code that makes them (inside the caller's transaction)."""
        self.conn.execute(
            "INSERT OR REPLACE INTO story_views (story_id, version, facts, entities, computed_at) "
            "VALUES (?,?,?,?,?)",
            (
                story_id,
                version,
                json.dumps([asdict(f) for f in facts], ensure_ascii=False),
                json.dumps([asdict(e) for e in entities], ensure_ascii=False),
                _now(),
            ),
        )

    def story_view(
        self, story_id: str, version: str
    ) -> tuple[tuple[Fact, ...], tuple[ResolvedEntity, ...]] | None:
        """The stored facts and entities of a story, or None when missing or made by another version."""
        row = self.conn.execute(
            "SELECT facts, entities FROM story_views WHERE story_id = ? AND version = ?", (story_id, version)
        ).fetchone()
        if row is None:
            return None
        facts = tuple(fact_from_json(f) for f in json.loads(row[0]))
        entities = tuple(resolved_entity_from_json(e) for e in json.loads(row[1]))
        return facts, entities

    def drop_stale_story_views(self) -> None:
        """Delete the views of stories that no longer exist (inside the caller's transaction)."""
        self.conn.execute("DELETE FROM story_views WHERE story_id NOT IN (SELECT id FROM stories)")

    def story_detail(self, story_id: str) -> StoredDetail | None:
        """One story's rows: the story, its articles (date order), their extractions, wire origins,
        duplicate links and explanations; read by id, never whole tables. None when no such story."""
        story = self.story(story_id)
        if story is None:
            return None
        ids = list(story.article_ids)
        by_id = {a.id: a for a in self.articles(ids)}
        articles = tuple(by_id[i] for i in ids if i in by_id)
        rows = self._rows_in("SELECT id, duplicate_of, wire_origin FROM articles WHERE id IN ({})", ids)
        duplicates = {r[0]: r[1] for r in rows if r[1]}
        origins = {r[0]: r[2] for r in rows}
        originals = [a.id for a in articles if a.id not in duplicates]
        return StoredDetail(
            story=story,
            articles=articles,
            duplicates=duplicates,
            origins={a.id: origins.get(a.id) for a in articles},
            extractions=self.extractions(originals),
            explanations=self.explanations(ids),
        )

    def story_map(self, ids: Sequence[str] | None = None) -> dict[str, str]:
        """Article id -> story id, for every assigned article, or for these (those assigned)."""
        if ids is None:
            return {r[0]: r[1] for r in self.conn.execute("SELECT article_id, story_id FROM assignments")}
        sql = "SELECT article_id, story_id FROM assignments WHERE article_id IN ({})"
        return {r[0]: r[1] for r in self._rows_in(sql, ids)}

    def update_stories(
        self,
        stories: Sequence[Story],
        gone: Iterable[str],
        assignments: Sequence[Assignment],
        moved: Mapping[str, str],
        merges: Sequence[StoryMerge],
    ) -> None:
        """Write what one batch changed (inside the caller's transaction).

        ``stories`` are written whole, ``gone`` deleted; ``assignments`` replace those rows, explanation
        included; ``moved`` (article -> story) changes only the story of an article whose explanation
        stands. The merge log is replaced by ``merges``.
        """
        self.conn.executemany("DELETE FROM stories WHERE id = ?", [(sid,) for sid in gone])
        self._insert_layer("INSERT OR REPLACE", stories, assignments)
        self.conn.executemany(
            "UPDATE assignments SET story_id = ? WHERE article_id = ?", [(s, a) for a, s in moved.items()]
        )
        self._write_merges(merges)

    def _insert_layer(
        self,
        verb: Literal["INSERT", "INSERT OR REPLACE"],
        stories: Sequence[Story],
        assignments: Sequence[Assignment],
    ) -> None:
        """Write story and assignment rows with ``verb``: the one place their columns are listed."""
        self.conn.executemany(
            f"{verb} INTO stories (id, headline, first_published, last_published, article_count, origins) "
            "VALUES (?,?,?,?,?,?)",
            [_story_row(s) for s in stories],
        )
        self.conn.executemany(
            f"{verb} INTO assignments (article_id, story_id, explanation) VALUES (?,?,?)",
            [(a.article_id, a.story_id, json.dumps(asdict(a.explanation))) for a in assignments],
        )

    def _write_merges(self, merges: Sequence[StoryMerge]) -> None:
        self.conn.execute("DELETE FROM story_merges")
        self.conn.executemany(
            "INSERT INTO story_merges (kept, absorbed, at_article, score) VALUES (?,?,?,?)",
            [(m.kept, m.absorbed, m.at_article, m.score) for m in merges],
        )

    def _story(self, row: sqlite3.Row) -> Story:
        ids = tuple(
            r[0]
            for r in self.conn.execute(
                "SELECT s.article_id FROM assignments s JOIN articles a ON a.id = s.article_id "
                "WHERE s.story_id = ? ORDER BY COALESCE(a.published, '9999'), a.seq",
                (row["id"],),
            )
        )
        return Story(
            id=row["id"],
            headline=row["headline"],
            article_ids=ids,
            first_published=_date(row["first_published"]),
            last_published=_date(row["last_published"]),
            origins=tuple(json.loads(row["origins"])),
        )

    def stories(self) -> list[Story]:
        rows = self.conn.execute(
            "SELECT * FROM stories ORDER BY COALESCE(last_published, '0000') DESC, article_count DESC, id"
        ).fetchall()
        return [self._story(r) for r in rows]

    def story_ids(self) -> set[str]:
        """The ids of the current stories, without loading their members."""
        return {r[0] for r in self.conn.execute("SELECT id FROM stories")}

    def story(self, story_id: str) -> Story | None:
        row = self.conn.execute("SELECT * FROM stories WHERE id = ?", (story_id,)).fetchone()
        if row is None:
            merged = self.conn.execute(
                "SELECT kept FROM story_merges WHERE absorbed = ? ORDER BY rowid DESC LIMIT 1", (story_id,)
            ).fetchone()
            if merged is not None and merged[0] != story_id:
                return self.story(merged[0])
            return None
        return self._story(row)

    def assignment(self, article_id: str) -> Assignment | None:
        row = self.conn.execute(
            "SELECT story_id, explanation FROM assignments WHERE article_id = ?", (article_id,)
        ).fetchone()
        if row is None:
            return None
        return Assignment(article_id, row[0], _explanation(json.loads(row[1])))

    def explanations(self, ids: Sequence[str]) -> dict[str, Explanation]:
        out = {}
        for article_id in ids:
            a = self.assignment(article_id)
            if a is not None:
                out[article_id] = a.explanation
        return out

    def merges(self) -> list[StoryMerge]:
        return [
            StoryMerge(r[0], r[1], r[2], r[3])
            for r in self.conn.execute(
                "SELECT kept, absorbed, at_article, score FROM story_merges ORDER BY rowid"
            )
        ]

    # --- rejections and search ------------------------------------------------

    def add_rejections(self, rejections: Iterable[Rejection]) -> None:
        now = _now()
        self.conn.executemany(
            "INSERT INTO rejections (path, line, member, stage, reason, at) VALUES (?,?,?,?,?,?)",
            [(r.source.path, r.source.line, r.source.member, r.stage, r.reason, now) for r in rejections],
        )

    def rejections(self, limit: int = 1000) -> list[Rejection]:
        rows = self.conn.execute(
            "SELECT path, line, member, stage, reason FROM rejections ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [Rejection(r[3], r[4], Source(r[0], r[1], r[2])) for r in rows]

    def search(
        self, query: str, limit: int = 20, *, marks: tuple[str, str] = ("[", "]")
    ) -> list[tuple[str, float, str]]:
        """(article id, bm25 rank, snippet) for an FTS5 query; plain words are matched as terms.
        ``marks`` go around each match in the snippet."""
        sql = (
            "SELECT a.id, bm25(articles_fts) AS rank, "
            "snippet(articles_fts, 1, ?, ?, ' … ', 12) AS snip "
            "FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid "
            "WHERE articles_fts MATCH ? ORDER BY rank LIMIT ?"
        )
        try:
            rows = self.conn.execute(sql, (*marks, query, limit)).fetchall()
        except sqlite3.OperationalError:
            # Not valid FTS5 syntax (a stray quote, a hyphen): search the words as quoted terms instead.
            terms = " ".join('"' + t.replace('"', '""') + '"' for t in query.split())
            if not terms:
                return []
            rows = self.conn.execute(sql, (*marks, terms, limit)).fetchall()
        return [(r[0], float(r[1]), r[2]) for r in rows]

    # --- the live desk: sources, items seen, pages, revisions, alerts ------------------

    def add_source(self, url: str) -> bool:
        """Watch a feed; False when it is watched already."""
        cur = self.conn.execute("INSERT OR IGNORE INTO sources (url, added_at) VALUES (?, ?)", (url, _now()))
        return cur.rowcount > 0

    def _source(self, r: sqlite3.Row) -> FeedSource:
        return FeedSource(
            id=r["id"],
            url=r["url"],
            title=r["title"],
            kind=r["kind"],
            added_at=_datetime(r["added_at"]),
            etag=r["etag"],
            last_modified=r["last_modified"],
            last_poll=_datetime(r["last_poll"]),
            last_status=r["last_status"],
            last_new=r["last_new"],
            items=r["items"],
            errors=r["errors"],
            error=r["error"],
            next_poll=_datetime(r["next_poll"]),
        )

    def sources(self) -> list[FeedSource]:
        return [self._source(r) for r in self.conn.execute("SELECT * FROM sources ORDER BY id")]

    def source(self, url: str) -> FeedSource | None:
        row = self.conn.execute("SELECT * FROM sources WHERE url = ?", (url,)).fetchone()
        return self._source(row) if row else None

    def due_sources(self, now: dt.datetime, interval: float | None = None) -> list[FeedSource]:
        """Sources never polled, or whose next poll is at or before ``now``, the most overdue first.

        With ``interval``, a source whose last poll succeeded that long ago is due too (a shorter
        interval than the one its next poll was planned with takes effect at once).
        """
        now = now.astimezone(dt.UTC)
        cutoff = now - dt.timedelta(seconds=interval) if interval is not None else None
        rows = self.conn.execute(
            "SELECT * FROM sources WHERE next_poll IS NULL OR next_poll <= ? "
            "OR (? IS NOT NULL AND errors = 0 AND last_poll <= ?) ORDER BY COALESCE(next_poll, ''), id",
            (_iso(now), _iso(cutoff), _iso(cutoff)),
        )
        return [self._source(r) for r in rows]

    def record_poll(self, source: FeedSource) -> None:
        """Write a source's polling state (everything but its url and added_at)."""
        self.conn.execute(
            """UPDATE sources SET title = ?, kind = ?, etag = ?, last_modified = ?, last_poll = ?,
               last_status = ?, last_new = ?, items = ?, errors = ?, error = ?, next_poll = ? WHERE id = ?""",
            (
                source.title,
                source.kind,
                source.etag,
                source.last_modified,
                _iso(source.last_poll),
                source.last_status,
                source.last_new,
                source.items,
                source.errors,
                source.error,
                _iso(source.next_poll),
                source.id,
            ),
        )

    def seen_items(self, source_id: int, keys: Iterable[str]) -> dict[str, SeenItem]:
        """The items of one source already handled, by key."""
        rows = self._rows_in(
            f"SELECT * FROM source_items WHERE source_id = {int(source_id)} AND item_key IN ({{}})",
            list(keys),
        )
        return {
            r["item_key"]: SeenItem(
                r["source_id"],
                r["item_key"],
                r["url"],
                r["fingerprint"],
                r["article_id"],
                r["status"],
                r["reason"],
            )
            for r in rows
        }

    def remember_item(self, item: SeenItem) -> None:
        now = _now()
        self.conn.execute(
            """INSERT INTO source_items (source_id, item_key, url, fingerprint, article_id, status, reason,
               first_seen, last_seen) VALUES (?,?,?,?,?,?,?,?,?)
               ON CONFLICT (source_id, item_key) DO UPDATE SET url = excluded.url,
               fingerprint = excluded.fingerprint, article_id = excluded.article_id,
               status = excluded.status, reason = excluded.reason, last_seen = excluded.last_seen""",
            (
                item.source_id,
                item.key,
                item.url,
                item.fingerprint,
                item.article_id,
                item.status,
                item.reason,
                now,
                now,
            ),
        )

    def count_items(self, source_id: int) -> int:
        return int(
            self.conn.execute(
                "SELECT COUNT(*) FROM source_items WHERE source_id = ?", (source_id,)
            ).fetchone()[0]
        )

    def article_for_url(self, url: str) -> str | None:
        """The article already stored for a canonical page URL (from any source), or None."""
        row = self.conn.execute(
            "SELECT article_id FROM pages WHERE url = ? AND article_id IS NOT NULL", (url,)
        ).fetchone()
        if row is None:
            row = self.conn.execute(
                "SELECT article_id FROM source_items WHERE url = ? AND article_id IS NOT NULL LIMIT 1", (url,)
            ).fetchone()
        return None if row is None else str(row[0])

    def page_validators(self, url: str) -> tuple[str | None, str | None]:
        """(ETag, Last-Modified) a page last answered with, for a conditional re-fetch."""
        row = self.conn.execute("SELECT etag, last_modified FROM pages WHERE url = ?", (url,)).fetchone()
        return (None, None) if row is None else (row[0], row[1])

    def put_page(self, url: str, article_id: str | None, etag: str | None, last_modified: str | None) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO pages (url, article_id, etag, last_modified, fetched_at) VALUES (?,?,?,?,?)",
            (url, article_id, etag, last_modified, _now()),
        )

    def update_article(self, article_id: str, article: Article) -> None:
        """Replace a stored article's content with a newer version of it, keeping the old one as a revision.

        The article keeps its id (its place in stories, its citations' ids); the FTS index follows
        through the update trigger.
        """
        row = self.conn.execute(
            "SELECT title, text, raw_text, metadata FROM articles WHERE id = ?", (article_id,)
        ).fetchone()
        if row is None:
            raise StoreError(f"no article {article_id!r} to update")
        now = _now()
        self.conn.execute(
            "INSERT INTO article_revisions (article_id, title, text, raw_text, metadata, replaced_at) "
            "VALUES (?,?,?,?,?,?)",
            (article_id, row["title"], row["text"], row["raw_text"], row["metadata"], now),
        )
        self.conn.execute(
            """UPDATE articles SET title = ?, text = ?, raw_text = ?, url = ?, source_url = ?, outlet = ?,
               published = ?, published_at = ?, dateline = ?, desk = ?, author = ?, bio = ?, steps = ?,
               metadata = ?, updated_at = ? WHERE id = ?""",
            (
                article.title,
                article.text,
                article.raw_text,
                article.url,
                article.source_url,
                article.outlet,
                _iso(article.published),
                _iso(article.published_at),
                article.dateline,
                article.desk,
                article.author,
                article.bio,
                json.dumps([asdict(s) for s in article.steps]),
                json.dumps(article.metadata, default=str),
                now,
                article_id,
            ),
        )

    def revisions(self, article_id: str) -> list[dict[str, Any]]:
        """An article's earlier versions, oldest first: title, text, and when each was replaced."""
        rows = self.conn.execute(
            "SELECT title, text, replaced_at FROM article_revisions WHERE article_id = ? ORDER BY id",
            (article_id,),
        )
        return [{"title": r[0], "text": r[1], "replaced_at": r[2]} for r in rows]

    def story_times(self) -> dict[str, tuple[str, str]]:
        """Story id -> (when its first article was stored, when it last gained or changed an article)."""
        rows = self.conn.execute(
            "SELECT s.story_id, MIN(a.ingested_at), MAX(COALESCE(a.updated_at, a.ingested_at)) "
            "FROM assignments s JOIN articles a ON a.id = s.article_id GROUP BY s.story_id"
        )
        return {r[0]: (r[1], r[2]) for r in rows}

    def article_times(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """Article id -> (when it was stored, when it last changed), UTC ISO."""
        rows = self._rows_in(
            "SELECT id, ingested_at, COALESCE(updated_at, ingested_at) FROM articles WHERE id IN ({})", ids
        )
        return {r[0]: (r[1], r[2]) for r in rows}

    def add_alert(self, term: str) -> bool:
        """Record a watch term; False when it is recorded already (terms match case-insensitively)."""
        cur = self.conn.execute("INSERT OR IGNORE INTO alerts (term, added_at) VALUES (?, ?)", (term, _now()))
        return cur.rowcount > 0

    def alerts(self) -> list[tuple[int, str]]:
        return [(r[0], r[1]) for r in self.conn.execute("SELECT id, term FROM alerts ORDER BY id")]

    def add_alert_hit(self, alert_id: int, story_id: str, headline: str) -> bool:
        """Note that a story matched an alert; False when it had matched before."""
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO alert_hits (alert_id, story_id, headline, at) VALUES (?,?,?,?)",
            (alert_id, story_id, headline, _now()),
        )
        return cur.rowcount > 0

    def alert_hits(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest stories that matched an alert, newest first."""
        rows = self.conn.execute(
            "SELECT a.term, h.story_id, h.headline, h.at FROM alert_hits h JOIN alerts a ON a.id = h.alert_id "
            "ORDER BY h.at DESC, h.rowid DESC LIMIT ?",
            (limit,),
        )
        return [{"term": r[0], "story": r[1], "headline": r[2], "at": r[3]} for r in rows]

    # --- the web desk (issue 21): story listing summaries ---------------------------------------
    # One grouped query for what the stories page ranks and filters on, so a listing never builds
    # a brief per story. Kept in its own block so it merges cleanly with the engine's derived views.

    def story_members(self) -> list[dict[str, Any]]:
        """Every assigned article's story and listing facts: story, id, outlet, wire origin, duplicate_of,
        published date, stored and last-changed times (UTC ISO), in story then ingest order."""
        rows = self.conn.execute(
            "SELECT s.story_id, a.id, a.outlet, a.wire_origin, a.duplicate_of, a.published, "
            "a.published_at, a.ingested_at, COALESCE(a.updated_at, a.ingested_at) "
            "FROM assignments s JOIN articles a ON a.id = s.article_id ORDER BY s.story_id, a.seq"
        )
        keys = (
            "story", "id", "outlet", "wire_origin", "duplicate_of", "published", "published_at",
            "stored_at", "changed_at",
        )  # fmt: skip
        return [dict(zip(keys, tuple(r), strict=True)) for r in rows]

    def story_rows(self) -> list[Story]:
        """Every story without its member list (``article_ids`` is empty): one query for a listing."""
        rows = self.conn.execute("SELECT * FROM stories").fetchall()
        return [
            Story(
                id=r["id"],
                headline=r["headline"],
                article_ids=(),
                first_published=_date(r["first_published"]),
                last_published=_date(r["last_published"]),
                origins=tuple(json.loads(r["origins"])),
            )
            for r in rows
        ]


def _story_row(s: Story) -> tuple[Any, ...]:
    return (
        s.id,
        s.headline,
        _iso(s.first_published),
        _iso(s.last_published),
        len(s.article_ids),
        json.dumps(list(s.origins)),
    )


def _explanation(data: dict[str, Any]) -> Explanation:
    """An Explanation from JSON, its lists back to tuples; unknown keys ignored."""
    known = {f for f in Explanation.__dataclass_fields__}
    values: dict[str, Any] = {
        k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items() if k in known
    }
    return Explanation(**values)


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies whole."""
    statements, buf = [], []
    for line in script.splitlines():
        buf.append(line)
        joined = "\n".join(buf).strip()
        if joined.endswith(";") and sqlite3.complete_statement(joined):
            statements.append(joined)
            buf = []
    rest = "\n".join(buf).strip()
    if rest:
        statements.append(rest)
    return statements


def fact_from_json(data: Mapping[str, Any]) -> Fact:
    """A Fact from ``dataclasses.asdict`` output."""
    return Fact(
        **{
            **data,
            "origins": tuple(data.get("origins", ())),
            "citations": tuple(Citation(**c) for c in data.get("citations", ())),
            "variants": tuple(data.get("variants", ())),
        }
    )


def resolved_entity_from_json(data: Mapping[str, Any]) -> ResolvedEntity:
    """A ResolvedEntity from ``dataclasses.asdict`` output."""
    return ResolvedEntity(
        **{
            **data,
            "variants": tuple(data.get("variants", ())),
            "roles": tuple(data.get("roles", ())),
            "article_ids": tuple(data.get("article_ids", ())),
        }
    )


def fts_phrase(term: str) -> str:
    """An FTS5 query matching ``term`` as a phrase (quotes in it doubled), for ``Store.search``."""
    return '"' + " ".join(term.split()).replace('"', '""') + '"'
