"""The command line: exit codes, bad input reported and skipped, stable JSON shapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from storydesk.cli import app

runner = CliRunner()

QUAKE = (
    "A magnitude 6.1 earthquake struck northern Chile on Tuesday, damaging hundreds of homes in Iquique, "
    "officials said. The quake was felt in Bolivia and Peru. No deaths were reported."
)
FLOOD = (
    "Floods in Bavaria forced 4,000 residents from their homes on Sunday as the Danube burst its banks in "
    "Passau, the regional government said. Rescue teams used boats to reach stranded families."
)


def _invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.jsonl").write_text(
        json.dumps({"id": "q1", "title": "Quake hits Chile", "text": QUAKE, "published": "2014-04-01"})
        + "\n{broken json\n"
        + json.dumps({"id": "f1", "title": "Bavaria floods", "text": FLOOD, "published": "2013-06-02"})
        + "\n",
        encoding="utf-8",
    )
    (folder / "blob.txt").write_bytes(bytes(range(256)) * 40)
    (folder / "empty.txt").write_text("", encoding="utf-8")
    return folder


@pytest.mark.models
def test_cli_ingest_reports_bad_input_and_keeps_the_rest(corpus: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "d.db")
    code, out, _ = _invoke("--db", db, "ingest", str(corpus), "--json")
    assert code == 1  # something was skipped
    summary = json.loads(out)
    assert summary["added"] == 2
    reasons = {(Path(r["path"]).name, r["line"]) for r in summary["rejected"]}
    assert ("good.jsonl", 2) in reasons
    assert any(name == "blob.txt" for name, _ in reasons)
    assert any(name == "empty.txt" for name, _ in reasons)
    code, out, _ = _invoke("--db", db, "stories", "--json")
    assert code == 0
    rows = json.loads(out)
    assert len(rows) == 2
    for row in rows:
        assert {"id", "headline", "first_published", "last_published", "article_count", "origins"} <= set(row)
    code, _, _ = _invoke("--db", db, "ingest", str(corpus / "good.jsonl"))
    assert code == 1  # still one broken line, nothing new
    code, out, _ = _invoke("--db", db, "articles", "--json")
    assert len(json.loads(out)) == 2


@pytest.mark.models
def test_cli_show_json_shape(corpus: Path, tmp_path: Path, article_json_keys: frozenset[str]) -> None:
    db = str(tmp_path / "d.db")
    _invoke("--db", db, "ingest", str(corpus / "good.jsonl"))
    story_id = json.loads(_invoke("--db", db, "stories", "--json")[1])[0]["id"]
    code, out, _ = _invoke("--db", db, "show", story_id, "--format", "json")
    assert code == 0
    brief = json.loads(out)
    assert {"id", "headline", "first_published", "last_published", "origins", "articles"} <= set(brief)
    assert all(article_json_keys <= set(a) for a in brief["articles"])


def test_cli_errors_exit_2(tmp_path: Path) -> None:
    db = str(tmp_path / "d.db")
    code, _, err = _invoke("--db", db, "show", "no-such-story")
    assert code == 2 and "no desk at" in err  # a read-only command never creates a desk
    code, _, _ = _invoke("--db", db, "ingest", str(tmp_path / "nothing-here"))
    assert code == 1  # ingest creates it (and reports the missing input)
    code, _, err = _invoke("--db", db, "show", "no-such-story")
    assert code == 2 and "no-such-story" in err
    code, _, err = _invoke("--db", db, "show", "x", "--format", "pdf")
    assert code == 2 and "pdf" in err
    code, _, err = _invoke("--db", db, "--set", "cluster.nope=1", "stories")
    assert code == 2 and "cluster.nope" in err


@pytest.mark.models
def test_cli_cluster_writes_one_line_per_input_in_order(tmp_path: Path) -> None:
    records = [
        {"id": "a", "title": "Quake hits Chile", "text": QUAKE},
        {"id": "b", "title": "Bavaria floods", "text": FLOOD},
        {"id": "c", "title": "Quake hits Chile", "text": QUAKE},  # an exact copy
        {"id": 7, "title": "Headline only: strong quake shakes northern Chile"},
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    dst = tmp_path / "out.jsonl"
    code, _, err = _invoke("cluster", str(src), "--out", str(dst))
    assert code == 0, err
    lines = [json.loads(x) for x in dst.read_text(encoding="utf-8").splitlines()]
    assert [x["id"] for x in lines] == ["a", "b", "c", 7]
    story = {x["id"]: x["story"] for x in lines}
    assert story["a"] == story["c"] != story["b"]
    assert all(isinstance(s, str) for s in story.values())
    # Deterministic: a second run gives the same ids.
    code, out, _ = _invoke("cluster", str(src))
    assert [json.loads(x) for x in out.splitlines()] == lines


@pytest.mark.models
def test_cli_eval_clusters_errors_print_titles_verbatim(tmp_path: Path) -> None:
    records = [  # an exact copy labelled as another story: the clusterer must put it with its original
        {"id": "a", "title": "Quake hits [red]Chile[/red]", "text": QUAKE, "story": "quake"},
        {"id": "b", "title": "Quake hits [red]Chile[/red]", "text": QUAKE, "story": "other"},
        {"id": "c", "title": "Bavaria floods", "text": FLOOD, "story": "flood"},
    ]
    src = tmp_path / "gold.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    code, out, err = _invoke("eval", "clusters", str(src), "--label", "story", "--errors")
    assert code == 0, err
    assert "errors: 1 stories mix gold stories, 0 gold stories are split" in out
    assert "'Quake hits [red]Chile[/red]'" in out  # markup in a title is text, not styling
    code, out, err = _invoke("eval", "clusters", str(src), "--label", "story", "--errors", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["articles"] == 3 and report["gold_stories"] == 3 and report["system"]["stories"] == 2
    assert [e["kind"] for e in report["errors"]] == ["merged"]


def test_cli_cluster_reports_broken_line(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": 1, "text": "fine text here with words"}\n{nope\n', encoding="utf-8")
    code, _, err = _invoke("cluster", str(src))
    assert code == 2 and ":2" in err


@pytest.mark.models
def test_cli_extract_offsets_index_the_input(tmp_path: Path) -> None:
    text = "  Officials said 4,000 residents left Passau on Sunday.  "
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "x", "text": text, "published": "2013-06-03"}) + "\n", encoding="utf-8")
    code, out, err = _invoke("extract", str(src))
    assert code == 0, err
    row = json.loads(out)
    assert row["id"] == "x"
    for q in row["quantities"]:
        assert text[q["start"] : q["end"]] == q["text"]
    for e in row["entities"]:
        assert text[e["start"] : e["end"]] == e["text"]
    assert any(q["value"] == 4000 for q in row["quantities"])
