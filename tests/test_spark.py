"""The Spark job (issue 19): the same dedup, stories and facts as one machine, in local mode.

The pure parts (band keys, windows, story links, table rows) run in the fast suite; the rest starts
a local Spark (Java 17 and the spark extra) and is ``slow``: one session for the module, the
real models, a small real input (the seeds, some ECB+ articles, made copies, a WARC, bad files).
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from storydesk import dedup
from storydesk.cluster import ClusterItem
from storydesk.config import DedupSettings, Settings
from storydesk.models import Article, CleanStep, DedupResult, Explanation, Source, WireOrigin
from storydesk.spark import job, link, tables

WORDS = [
    "border",
    "troops",
    "minister",
    "capital",
    "river",
    "election",
    "council",
    "market",
    "harbour",
    "storm",
    "village",
    "court",
    "budget",
    "strike",
    "railway",
    "airport",
    "summit",
    "treaty",
    "protest",
    "hospital",
    "school",
    "factory",
    "bridge",
    "festival",
]


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) + str(rng.randrange(50)) for _ in range(n))


def _corpus(seed: int = 7) -> list[tuple[str, str]]:
    """Texts with exact copies (other typography), near copies, copies of copies and short texts."""
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    for n in range(40):
        choice = rng.random()
        if out and choice < 0.15:
            _, base = rng.choice(out)
            text = base.upper().replace(" ", "  ")  # the same words: an exact copy
        elif out and choice < 0.45:
            _, base = rng.choice(out)
            words = base.split()
            for _ in range(rng.randrange(1, 6)):
                words[rng.randrange(len(words))] = rng.choice(WORDS)
            text = " ".join(words)
        elif choice < 0.55:
            text = _text(rng, rng.randrange(2, 9))  # too short for near matching
        else:
            text = _text(rng, rng.randrange(40, 120))
        out.append((f"a{n:03d}", text))
    return out


def _by_the_rules(corpus: list[tuple[str, str]], settings: DedupSettings) -> dict[str, DedupResult]:
    """The corpus-wide rules the Spark job applies, one pair at a time, without an index."""
    first: dict[str, str] = {}
    order = {aid: n for n, (aid, _) in enumerate(corpus)}
    keys: dict[str, set[bytes]] = {}
    hashes: dict[str, np.ndarray] = {}
    out: dict[str, DedupResult] = {}
    for aid, text in corpus:
        fp = dedup.fingerprint(text)
        if fp in first:
            out[aid] = DedupResult(aid, first[fp], "exact", 1.0)
            continue
        first[fp] = aid
        hashes[aid] = dedup.shingles(text, settings)
        keys[aid] = set(dedup.band_keys(hashes[aid], settings))
        best: tuple[float, int, str] | None = None
        for other, other_keys in keys.items():
            if other == aid or not (keys[aid] & other_keys):
                continue
            sim = dedup.jaccard(hashes[aid], hashes[other])
            if sim >= settings.near_threshold and (best is None or (sim, -order[other]) > best[:2]):
                best = (sim, -order[other], other)
        if best is not None:
            out[aid] = DedupResult(aid, best[2], "near", best[0])
    return out


def _by_the_index(corpus: list[tuple[str, str]], settings: DedupSettings) -> dict[str, DedupResult]:
    index = dedup.DuplicateIndex(settings)
    verdicts = [index.add(aid, text) for aid, text in corpus]
    return {v.article_id: v for v in verdicts if v.duplicate_of}


@pytest.mark.parametrize("seed", [1, 7, 19])
@pytest.mark.parametrize("near", [0.8, 0.6])
def test_spark_band_keys_reproduce_the_duplicate_index(seed: int, near: float) -> None:
    settings = DedupSettings(near_threshold=near)
    corpus = _corpus(seed)
    expected = _by_the_index(corpus, settings)
    assert any(v.kind == "near" for v in expected.values()) and any(
        v.kind == "exact" for v in expected.values()
    )
    assert _by_the_rules(corpus, settings) == expected


def test_spark_band_keys_none_for_short_texts_and_equal_for_equal_sets() -> None:
    settings = DedupSettings()
    assert dedup.band_keys(dedup.shingles("three short words", settings), settings) == []
    text = " ".join(f"w{n}" for n in range(60))
    a = dedup.band_keys(dedup.shingles(text, settings), settings)
    assert a == dedup.band_keys(dedup.shingles(text.upper(), settings), settings)
    assert len({k[:2] for k in a}) == len(a) > 1  # one key per band, each band numbered


def test_spark_windows_own_and_context() -> None:
    keys = [float("-inf"), 10.0, 13.9, 14.0, 20.5, 40.0]
    owns, contexts = job.windows_of(keys, window_days=7.0, overlap_days=3.0)
    assert owns == [1, 1, 1, 2, 2, 5]  # the leading undated article joins the first dated window
    assert contexts == [[], [], [2], [], [3], [6]]
    _, none = job.windows_of(keys, window_days=7.0, overlap_days=0.0)
    assert none == [[]] * len(keys)


def test_spark_link_stories_union_and_names() -> None:
    stories = [(1, "sa"), (1, "sb"), (2, "sa"), (2, "sc"), (3, "sd"), (3, "sb")]
    links = [((1, "sa"), (2, "sc")), ((2, "sc"), (3, "sd"))]
    final = job.link_stories(stories, links)
    assert final[(1, "sa")] == final[(2, "sc")] == final[(3, "sd")] == "sa"
    assert final[(1, "sb")] == "sb"
    # (2, "sa") is another story that happens to share a name: it must not be merged into "sa"
    assert final[(2, "sa")] != "sa" and final[(3, "sb")] != "sb"
    assert len(set(final.values())) == 4


def _event_items(
    name: str, direction: np.ndarray, terms: list[str], entities: list[str], n: int, day: float, seed: int
) -> tuple[ClusterItem, ...]:
    """``n`` articles of one event: vectors near ``direction``, the event's terms and names."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        vec = direction + 0.05 * rng.standard_normal(direction.shape)
        vec = (vec / np.linalg.norm(vec)).astype(np.float32)
        out.append(
            ClusterItem(
                id=f"{name}{k}",
                title=name,
                time=day + k / 10,
                vector=vec,
                terms=tuple((t, 2) for t in terms),
                entities=tuple(entities),
            )
        )
    return tuple(out)


def _unit(*weights: float) -> np.ndarray:
    vec = np.zeros(16)
    vec[: len(weights)] = weights
    return vec / np.linalg.norm(vec)


def test_spark_link_window_stories_one_event_siblings_and_strangers() -> None:
    settings = Settings().cluster
    quake = ["earthquake", "magnitude", "coast", "tsunami", "rescue", "chile", "collapsed", "quake"]
    sibling = ["earthquake", "magnitude", "coast", "tsunami", "peru", "lima", "highway", "province"]
    first = _event_items("a", _unit(1, 0), quake, ["chile", "valparaiso"], 4, 14000.0, 1)
    again = _event_items("b", _unit(1, 0), quake, ["chile", "valparaiso"], 4, 14003.0, 2)
    other = _event_items("c", _unit(0.6, 0.8), sibling, ["peru", "valparaiso"], 4, 14004.0, 3)
    stranger = _event_items("d", _unit(0, 0, 1), ["election", "ballot", "senate"], ["ohio"], 3, 14005.0, 4)
    stories = [
        link.WindowStory(2000, "sa", first, (14000.0, 0)),
        link.WindowStory(2001, "sb", again, (14003.0, 10)),
        link.WindowStory(2001, "sc", other, (14004.0, 20)),
        link.WindowStory(2001, "sd", stranger, (14005.0, 30)),
    ]
    linker = link.Linker(settings)
    pairs = [(it, link._unit_weights(it)) for it in other]
    for story in stories[:2]:
        linker.add(story)
    linked = next(iter(linker._linked.values()))
    score, needed = linker._score(pairs, linked)
    assert score >= needed  # the sibling passes the assignment test against the event's story ...
    founders = dict(link.link_window_stories(reversed(stories), settings))  # input order is not used
    assert founders[(2001, "sb")] == (2000, "sa")  # the same event, a window later: linked
    assert founders[(2001, "sc")] == (2001, "sc")  # ... and fails the split test: a story of its own
    assert founders[(2001, "sd")] == (2001, "sd")
    assert founders[(2000, "sa")] == (2000, "sa")


def test_spark_link_merges_nothing_for_one_window_story() -> None:
    items = _event_items("a", _unit(1, 0), ["storm", "harbour"], [], 2, 14000.0, 1)
    founders = dict(
        link.link_window_stories([link.WindowStory(5, "s1", items, (14000.0, 0))], Settings().cluster)
    )
    assert founders == {(5, "s1"): (5, "s1")}


def test_spark_tables_article_row_round_trip() -> None:
    article = Article(
        id="abc",
        text="Body.",
        raw_text="Raw body.",
        title="T",
        external_id="7",
        published=__import__("datetime").date(2021, 7, 5),
        steps=(CleanStep("bio", "x", "", 3),),
        metadata={"notes": ["n"]},
        source=Source("f.jsonl", 2, None),
    )
    verdict = DedupResult("abc", "def", "near", 0.9, WireOrigin("AP", "(AP) —", 0, 6))
    explanation = Explanation(similarity=0.5, shared_entities=("x",), score=0.9, components={"e": 0.1})
    row = tables.article_row(5, article, verdict, "s1", explanation, None, None)
    assert set(row) == {name for name, _, _ in tables.COLUMNS["articles"]}
    back = tables.article_from_row(row)
    assert back == article and back.metadata == article.metadata and back.source == article.source
    assert tables.verdict_from_row(row) == verdict
    again = tables.explanation_from_json(row["explanation"])
    assert again == explanation and again.components == explanation.components


# --- in Spark local mode ---------------------------------------------------------------------------


def _spark_or_skip() -> Any:
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("no java on PATH")
    return job.session("local[2]", driver_memory="1g", app="storydesk-tests")


@pytest.fixture(scope="module")
def spark() -> Any:
    session = _spark_or_skip()
    yield session
    session.stop()


@pytest.mark.slow
def test_spark_corpus_duplicates_equal_the_index(spark: Any) -> None:
    settings = Settings()
    corpus = _corpus(3) + _corpus(11)
    corpus = [(f"{n:03d}{aid}", text) for n, (aid, text) in enumerate(corpus)]
    reads = [
        job._Read(
            order=n,
            article=Article(id=aid, text=text, raw_text=text),
            fingerprint=dedup.fingerprint(text),
            shingles=dedup.shingles(text, settings.dedup).tobytes(),
            bands=tuple(dedup.band_keys(dedup.shingles(text, settings.dedup), settings.dedup)),
            wire=None,
        )
        for n, (aid, text) in enumerate(corpus)
    ]
    rdd = spark.sparkContext.parallelize(list(reversed(reads)), 3)  # input order must not matter
    found = dict(job.corpus_duplicates(rdd, settings, 4).collect())
    assert found == _by_the_index(corpus, settings.dedup)


@pytest.mark.slow
@pytest.mark.parametrize("parts", [1, 3, 7])
def test_spark_arrival_keys_scan_equals_one_pass(spark: Any, parts: int) -> None:
    import datetime as dt

    rng = random.Random(parts)
    articles = []
    for n in range(60):
        dated = rng.random() < 0.4 and n > 2  # the first ones undated: keys of -inf
        published = dt.date(2020, 1, 1) + dt.timedelta(days=rng.randrange(400)) if dated else None
        articles.append(Article(id=f"a{n:02d}", text="", raw_text="", published=published))
    expected, _ = job.cluster_stage.arrival_keys(articles)
    modelled = spark.sparkContext.parallelize(
        [(a.id, (n * 3, a, None, {})) for n, a in reversed(list(enumerate(articles)))], 4
    )
    keyed, earliest = job.arrival_keys_of(modelled, parts)
    got = dict(keyed.collect())
    assert [got[a.id][0] for a in articles] == expected
    assert earliest == min(k for k in expected if k != float("-inf"))


@pytest.mark.slow
def test_spark_duplicate_stories_follow_chains(spark: Any) -> None:
    sc = spark.sparkContext
    verdicts = {
        "b": DedupResult("b", "a", "exact", 1.0),
        "c": DedupResult("c", "b", "near", 0.9),  # a copy of a copy
        "d": DedupResult("d", "c", "near", 0.9),  # three hops from its root
        "f": DedupResult("f", "e", "near", 0.9),  # its root has no story
    }
    stories = sc.parallelize([("a", "s1"), ("x", "s2")], 2)
    found = dict(job._duplicate_stories(sc.parallelize(list(verdicts.items()), 3), stories, 4).collect())
    assert found == {"b": "s1", "c": "s1", "d": "s1"}


def _warc_record(uri: str, payload: bytes, status: str = "200 OK") -> bytes:
    http = f"HTTP/1.1 {status}\r\nContent-Type: text/html\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
    block = http + payload
    head = (
        f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: {uri}\r\nWARC-Record-ID: <urn:uuid:{uri[-8:]}>\r\n"
        "WARC-Date: 2021-07-05T10:00:00Z\r\nContent-Type: application/http; msgtype=response\r\n"
        f"Content-Length: {len(block)}\r\n\r\n"
    ).encode()
    return gzip.compress(head + block + b"\r\n\r\n")


@pytest.fixture(scope="module")
def job_input(tmp_path_factory: pytest.TempPathFactory, shared_data: Path, seeds_dir: Path) -> Path:
    """Seeds and the first ECB+ topics as JSONL, with an exact and a near copy; a WARC of two
    benchmark pages and a 404; a broken WARC, a binary file and a broken link."""
    folder = tmp_path_factory.mktemp("spark-input")
    lines = (shared_data / "ecbplus" / "ecbplus_train_dev.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines if json.loads(line)["topic"] in (1, 3)][:30]
    for path in sorted(seeds_dir.glob("*.txt")):
        records.append({"id": path.stem, "text": path.read_text(encoding="utf-8")})
    exact = dict(records[3], doc_id="exact-copy", title="Another title")
    near = dict(records[5], doc_id="near-copy", text=records[5]["text"].replace(" the ", " a ", 2))
    records[10:10] = [exact]
    records.append(near)
    (folder / "articles.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    pages = sorted((shared_data / "article-extraction-benchmark" / "html").glob("*.html.gz"))[:2]
    warc = b"".join(
        _warc_record(f"https://example.org/page-{n:04d}", gzip.decompress(p.read_bytes()))
        for n, p in enumerate(pages)
    )
    warc += _warc_record("https://example.org/gone-0404", b"<html>gone</html>", "404 Not Found")
    (folder / "pages.warc.gz").write_bytes(warc)
    (folder / "broken.warc.gz").write_bytes(
        _warc_record("https://example.org/x-000001", b"<html>x</html>")[:-30]
    )
    (folder / "garbage.jsonl").write_bytes(bytes(range(256)) * 8)
    (folder / "gone.jsonl").symlink_to(folder / "nowhere.jsonl")
    return folder


@pytest.fixture(scope="module")
def job_output(spark: Any, job_input: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    out = tmp_path_factory.mktemp("spark-out")
    summary = job.run([str(job_input)], out, Settings(), job.JobOptions(partitions=2), spark=spark)
    return out, summary


@pytest.mark.slow
def test_spark_run_agrees_with_one_machine(job_input: Path, job_output: tuple[Path, Any]) -> None:
    from storydesk.spark import parity

    out, _ = job_output
    result = parity.compare(job_input / "articles.jsonl", out, Settings())
    assert result.records >= 30
    assert result.bcubed_f1 >= 0.97
    assert result.duplicates_identical
    assert len(result.duplicates_spark) >= 2  # the exact and the near copy


@pytest.mark.slow
def test_spark_run_linked_windows_agree_with_one_machine(spark: Any, job_input: Path, tmp_path: Path) -> None:
    from storydesk.spark import parity

    options = job.JobOptions(partitions=2, stories="windows")
    summary = job.run([str(job_input)], tmp_path, Settings(), options, spark=spark)
    assert summary.windows > 1 and summary.links > 0  # stories really are cut by windows and linked
    result = parity.compare(job_input / "articles.jsonl", tmp_path, Settings())
    assert result.bcubed_f1 >= 0.97
    assert result.duplicates_identical


@pytest.mark.data
def test_spark_parity_slice_is_deterministic(shared_data: Path, tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "bench_spark", Path(__file__).parent.parent / "bench" / "spark.py"
    )
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    counts = bench.build_slice(tmp_path / "a.jsonl", 2000)
    bench.build_slice(tmp_path / "b.jsonl", 2000)
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    records = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(records) == counts["records"] == 2000 and len({r["id"] for r in records}) == 2000
    copies = [r for r in records if "-copy" in r["id"] or "-near" in r["id"]]
    assert len(copies) == counts["copies"] == 2000 - 772 - 924
    assert sum(1 for r in records if r.get("source") == "breitbart") > 0  # PolNeAR is in it


@pytest.mark.slow
def test_spark_run_reports_bad_input_and_keeps_the_rest(
    job_input: Path, job_output: tuple[Path, Any]
) -> None:
    import pyarrow.parquet as pq

    out, summary = job_output
    reasons = {(Path(r.source.path).name, r.source.member): r.reason for r in summary.rejected}
    assert any(name == "broken.warc.gz" for name, _ in reasons), reasons
    assert ("pages.warc.gz", "https://example.org/gone-0404") in reasons
    assert any(name == "garbage.jsonl" for name, _ in reasons), reasons
    assert any(name == "gone.jsonl" for name, _ in reasons), reasons
    rows = pq.read_table(str(out / "articles")).to_pylist()
    warc_rows = [r for r in rows if r["source_path"].endswith("pages.warc.gz")]
    assert len(warc_rows) == 2 and all(
        r["source_member"].startswith("https://example.org/page-") for r in warc_rows
    )
    assert all(r["story"] for r in rows)
    rejected = pq.read_table(str(out / "rejections")).to_pylist()
    assert len(rejected) == len(summary.rejected)


@pytest.mark.slow
def test_spark_import_then_every_command_works(job_output: tuple[Path, Any], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from storydesk.cli import app

    out, summary = job_output
    db = str(tmp_path / "desk.db")
    runner = CliRunner()
    imported = runner.invoke(app, ["--db", db, "import", str(out), "--json"])
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.output)["stories"] == summary.stories
    articles = json.loads(runner.invoke(app, ["--db", db, "articles", "--json"]).output)
    assert len(articles) == summary.articles
    assert all(a["story"] for a in articles)
    assert {"1_10ecb", "exact-copy", "near-copy"} <= {a["external_id"] for a in articles}
    stories = json.loads(runner.invoke(app, ["--db", db, "stories", "--json"]).output)
    assert len(stories) == summary.stories
    seeds = next(s for s in stories if "20,000" in s["headline"] or "Tajik" in s["headline"])
    shown = runner.invoke(app, ["--db", db, "show", seeds["id"], "--format", "json"])
    assert shown.exit_code == 0, shown.output
    brief = json.loads(shown.output)
    assert any(f["status"] == "corroborated" for f in brief["facts"])
    again = runner.invoke(app, ["--db", db, "import", str(out)])
    assert again.exit_code == 2 and "new desk" in again.output


def test_spark_job_options_are_frozen() -> None:
    options = job.JobOptions(master="local[1]")
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.master = "local[2]"  # type: ignore[misc]


@pytest.mark.parametrize(
    "argv",
    [["bench/spark.py", "--help"], ["storydesk/spark/job.py", "--help"]],
    ids=["bench", "spark-submit"],
)
def test_spark_help_works_without_pyspark(argv: list[str]) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    code = (
        "import runpy, sys; sys.modules['pyspark'] = None; sys.argv = "
        + repr(argv)
        + "; runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "--out" in done.stdout or "--mb" in done.stdout


@pytest.mark.slow
def test_spark_run_reads_hadoop_uris(spark: Any, job_input: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    warc = job_input / "pages.warc.gz"
    inputs = [warc.as_uri(), (job_input / "nowhere").as_uri() + "/*.warc.gz"]
    summary = job.run(inputs, tmp_path / "out", Settings(), job.JobOptions(partitions=1), spark=spark)
    rows = pq.read_table(str(tmp_path / "out" / "articles")).to_pylist()
    assert len(rows) == 2 and all(r["source_path"].endswith("/pages.warc.gz") for r in rows)
    assert all(r["source_path"].startswith("file:") and r["story"] for r in rows)
    reasons = {str(r.source.path): r.reason for r in summary.rejected}
    assert any(p.endswith("pages.warc.gz") and "404" in why for p, why in reasons.items()), reasons
    assert any("nowhere" in p and "no such file" in why for p, why in reasons.items()), reasons


def test_spark_story_rows_keep_a_story_whose_corroboration_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    from storydesk.spark import adapter

    def broken(*args: Any) -> Any:
        raise IndexError("list index out of range")

    monkeypatch.setattr(adapter, "story_view", broken)
    article = Article(id="a1", text="Body text.", raw_text="Body text.", title="T")
    rows = list(job._story_rows("s1", [(article, DedupResult("a1"), None, None)]))
    kinds = [kind for kind, _ in rows]
    assert kinds == ["rejection", "story"]
    rejection, story = rows[0][1], rows[1][1]
    assert rejection.stage == "corroborate" and "IndexError" in rejection.reason and "s1" in str(rejection)
    assert story["id"] == "s1" and story["article_ids"] == ["a1"] and story["view_version"] == ""


def test_spark_run_refuses_an_unknown_stories_mode_before_starting_spark(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from storydesk.cli import app

    done = CliRunner().invoke(
        app, ["spark-run", str(tmp_path), "--out", str(tmp_path / "o"), "--stories", "x"]
    )
    assert done.exit_code == 2 and "one-pass or windows" in done.output
