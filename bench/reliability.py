"""Reliability figures (issue 20): hostile inputs, kill points, fuzzing and concurrency, printed.

    python bench/reliability.py [--fuzz 2000] [--skip kill,fuzz,concurrency]

- **hostile inputs**: each case of the issue's table is built in a temporary folder and read in a
  child process of its own (read + clean, what ingest does before the models), whose wall time and
  peak memory (its own VmHWM) are printed with the outcome; the WARC bomb is also ingested end to end
  through the CLI (models included) to show the good article stored.
- **kill points**: a real ``storydesk ingest`` is SIGKILLed at each point of its write path, on a
  fresh desk and on a second batch; a point is survived when ``PRAGMA integrity_check`` says ok and
  a re-run gives exactly the stories of an uninterrupted run.
- **fuzzing**: the hypothesis tests of tests/test_fuzz.py with ``--fuzz`` inputs per reader.
- **concurrency**: readers on 127.0.0.1 against ``storydesk serve``'s app while batches are ingested;
  requests served and errors.

Nothing here asserts: the suite does (tests/test_hostile.py, tests/test_faults.py, tests/test_fuzz.py).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from test_hostile import LAUGHS, STORY, _gzip_member, _repeat, _rss, _warc_parts, _warc_record  # noqa: E402

MiB = 1 << 20
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

_READ = """
import json, sys
from storydesk.pipeline import Pipeline
batch = Pipeline().read_paths(sys.argv[1:])
print(json.dumps({
    "articles": len(batch.articles),
    "truncated": [a.metadata["truncated"] for a in batch.articles if "truncated" in a.metadata],
    "decoding": [a.metadata["decoding"] for a in batch.articles if "decoding" in a.metadata],
    "published": [str(a.published) for a in batch.articles],
    "rejected": [str(r) for r in batch.rejections],
}))
"""


# Prints the process's own peak RSS at exit (VmHWM; ru_maxrss would include the parent's, from
# before exec), then runs the given script or module with the remaining arguments.
_MEASURED = """
import atexit, runpy, sys
def _peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            print("@@peak_kb", line.split()[1], file=sys.stderr)
atexit.register(_peak)
kind, target, *rest = sys.argv[1:]
sys.argv = [target, *rest]
if kind == "-m":
    runpy.run_module(target, run_name="__main__")
else:
    exec(compile(target, "<child>", "exec"), {"__name__": "__main__"})
"""


def _child(args: list[str]) -> tuple[int, str, float, float]:
    """Run ``python -c SCRIPT ...`` or ``python -m MODULE ...``: exit status, output, wall seconds,
    and the child's own peak memory in MB."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED, *args], capture_output=True, text=True, env=ENV, check=False
    )
    seconds = time.perf_counter() - start
    peak = re.search(r"@@peak_kb (\d+)", done.stderr)
    stderr = re.sub(r"@@peak_kb \d+\n?", "", done.stderr)
    return done.returncode, done.stdout + stderr, seconds, int(peak.group(1)) / 1024 if peak else float("nan")


def _read(paths: list[Path]) -> tuple[dict[str, Any], float, float]:
    code, text, seconds, mb = _child(["-c", _READ, *map(str, paths)])
    found = [line for line in text.splitlines() if line.startswith('{"articles"')]
    if code != 0 or not found:
        return {"error": f"exit {code}: {text[-300:]}"}, seconds, mb
    return json.loads(found[-1]), seconds, mb


def _short(reasons: list[str], root: Path) -> str:
    return "; ".join(r.replace(str(root) + "/", "") for r in reasons[:4]) + (
        " ..." if len(reasons) > 4 else ""
    )


def hostile_cases(root: Path) -> list[tuple[str, Callable[[], list[Path]]]]:
    def warc_bomb() -> list[Path]:
        size = 64 * MiB
        path = root / "bomb.warc.gz"
        bomb = _warc_parts(
            "https://bomb.example/page", [b"<html><body><p>", *_repeat(b"la ", size - 15)], size
        )
        path.write_bytes(
            _gzip_member([_warc_record("https://good.example/quake", STORY)]) + _gzip_member(bomb)
        )
        return [path]

    def gz_bombs() -> list[Path]:
        out = []
        for name in ("bomb.txt.gz", "bomb.html.gz"):
            (root / name).write_bytes(_gzip_member(_repeat(b"<p>lol</p> ", 1024 * MiB)))
            out.append(root / name)
        return out

    def entities() -> list[Path]:
        (root / "secret.txt").write_text("TOP-SECRET", encoding="utf-8")
        (root / "laughs.xml").write_bytes(_rss(f'<!DOCTYPE rss [<!ENTITY lol0 "lol">{LAUGHS}]>', "&lol9;"))
        (root / "xxe.rss").write_bytes(
            _rss(f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{root}/secret.txt">]>', "&xxe;")
        )
        return [root / "laughs.xml", root / "xxe.rss"]

    def huge_int() -> list[Path]:
        good = {"id": "g", "title": "Quake", "text": "A quake hit the coast on Tuesday, officials said."}
        line = json.dumps({**good, "id": "b"})[:-1] + f', "views": {"9" * 5000}}}'
        path = root / "digits.jsonl"
        path.write_text(
            f"{json.dumps(good)}\n{line}\n{json.dumps({**good, 'id': 'h', 'title': 'B'})}\n", "utf-8"
        )
        return [path]

    def huge_article() -> list[Path]:
        sentence = "Officials said the quake damaged hundreds of homes along the coast on Tuesday. "
        path = root / "huge.txt"
        path.write_text(sentence * (19_000_000 // len(sentence)), encoding="utf-8")
        return [path]

    def big_file() -> list[Path]:
        path = root / "big.txt"
        with path.open("wb") as fh:
            fh.truncate(30_000_000)
        return [path]

    def warc_404() -> list[Path]:
        path = root / "mixed.warc"
        path.write_bytes(
            _warc_record("https://x.example/missing", STORY, status="404 Not Found")
            + _warc_record("https://x.example/logo.png", b"\x89PNG", content_type="image/png")
            + _warc_record("https://x.example/story", STORY)
        )
        return [path]

    def charsets() -> list[Path]:
        french = "Le séisme a frappé la côte mercredi. Les secours ont évacué des centaines de familles. " * 3
        (root / "latin1.txt").write_bytes(french.encode("latin-1"))
        utf8 = french.encode()
        (root / "onebad.txt").write_bytes(utf8[:30] + b"\xff" + utf8[30:])
        return [root / "latin1.txt", root / "onebad.txt"]

    def folder() -> list[Path]:
        tree = root / "tree"
        tree.mkdir()
        (tree / "story.txt").write_text("A quake hit the coast on Tuesday, officials said.", "utf-8")
        for name in ("paper.pdf", "letter.docx", "table.csv"):
            (tree / name).write_bytes(b"x")
        (tree / "dangling.txt").symlink_to(root / "gone.txt")
        (tree / "self").symlink_to(tree / "self")
        (tree / "up").symlink_to(tree)
        return [tree]

    def dates() -> list[Path]:
        path = root / "dates.jsonl"
        rows = [
            {"id": "a", "title": "Q", "text": "A quake hit the coast.", "published": "September 14, 2013 10 : 46 AM"},
            {"id": "b", "title": "F", "text": "A flood hit the town.", "published": "not a date at all"},
        ]  # fmt: skip
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        return [path]

    return [
        ("WARC gzip bomb (64 MiB record) + good article", warc_bomb),
        (".txt.gz / .html.gz bombs (1 GiB each)", gz_bombs),
        ("feed: billion laughs, XXE", entities),
        ("JSONL line with a 5,000-digit integer", huge_int),
        ("19 MB single article", huge_article),
        ("30 MB file", big_file),
        ("WARC: HTTP 404, non-HTML record", warc_404),
        ("Latin-1 file, one bad UTF-8 byte", charsets),
        ("folder: .pdf .docx .csv, dangling link, link loops", folder),
        ("published unreadable / as a page writes it", dates),
    ]


def run_hostile() -> None:
    print("== hostile inputs (read + clean in a child process: wall time, peak RSS) ==")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for title, build in hostile_cases(root):
            paths = build()
            result, seconds, mb = _read(paths)
            outcome = f"{result.get('articles', '?')} articles kept"
            for key in ("truncated", "decoding", "published"):
                if result.get(key):
                    outcome += f"; {key}: {result[key]}"
            outcome += f"; skipped: {_short(result.get('rejected', []), root)}"
            if "error" in result:
                outcome = result["error"]
            print(f"- {title}: {seconds:.1f} s, {mb:.0f} MB: {outcome}")
        run_state(root)
        run_cli_cases(root)


def run_state(root: Path) -> None:
    database = root / "state.db"
    script = (
        "import sys; from storydesk import snapshot\n"
        "payload = b'\\x80\\x05cbuiltins\\nbytearray\\nJ' + (2_000_000_000).to_bytes(4, 'little') + b'\\x85R.'\n"
        "snapshot.commit(snapshot.stage(sys.argv[1], 't', snapshot.MAGIC + payload))\n"
        "try:\n    snapshot.read(sys.argv[1], 't')\nexcept snapshot.SnapshotError as exc:\n    print('refused:', exc)\n"
    )
    _, text, seconds, mb = _child(["-c", script, str(database)])
    print(f"- stream state asking for bytearray(2_000_000_000): {seconds:.1f} s, {mb:.0f} MB: {text.strip()}")


def run_cli_cases(root: Path) -> None:
    cli = ["-m", "storydesk.cli"]
    typo = root / "typo.db"
    code, text, _, _ = _child([*cli, "--db", str(typo), "stories"])
    print(f"- --db typo.db stories: exit {code}, {text.strip()!r}, file created: {typo.exists()}")
    with tempfile.TemporaryDirectory() as folder:
        desk = Path(folder) / "d.db"
        script = (
            "import sys\nfrom storydesk.models import *\nfrom storydesk.store import Store, extraction_to_json\n"
            "evil = 'Quake \\x1b[2J\\x07 hits \\u202egnp.exe\\u202c coast'\n"
            "s = Store(sys.argv[1]); a = Article(id='a1', text=evil + ' said officials.', raw_text=evil, title=evil)\n"
            "with s.transaction():\n    s.add_article(a, DedupResult('a1'))\n"
            "    s.put_extraction('a1', extraction_to_json(Extraction(article_id='a1')))\n"
            "    s.replace_stories([Story('s1', evil, ('a1',))], [Assignment('a1', 's1', Explanation(1.0))], [])\n"
        )
        _child(["-c", script, str(desk)])
        for command in (["articles"], ["search", "officials"], ["show", "s1"]):
            code, text, _, _ = _child([*cli, "--db", str(desk), *command])
            raw = [c for c in "\x1b\x07\u202e\u202c" if c in text]
            print(f"- ESC/BEL/U+202E in `{' '.join(command)}`: exit {code}, raw controls printed: {len(raw)}")
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        bomb = _warc_parts(
            "https://bomb.example/page", [b"<html><body><p>", *_repeat(b"la ", 64 * MiB)], 64 * MiB + 15
        )
        (base / "in").mkdir()
        (base / "in" / "bomb.warc.gz").write_bytes(
            _gzip_member([_warc_record("https://good.example/quake", STORY)]) + _gzip_member(bomb)
        )
        (base / "alone").mkdir()
        (base / "alone" / "good.warc").write_bytes(_warc_record("https://good.example/quake", STORY))
        (base / "huge").mkdir()
        sentence = "Officials said the quake damaged hundreds of homes along the coast on Tuesday. "
        (base / "huge" / "huge.txt").write_text(sentence * (19_000_000 // len(sentence)), encoding="utf-8")
        for label, name in (
            ("the WARC bomb beside a good article", "in"),
            ("the good article alone", "alone"),
            ("a 19 MB single article", "huge"),
        ):
            code, text, seconds, mb = _child(
                [*cli, "--db", str(base / f"{name}.db"), "ingest", str(base / name), "--json"]
            )
            match = re.search(r'"added": (\d+)', text)
            added = match.group(1) if match else "?"
            print(
                f"- end to end, `storydesk ingest` of {label}: exit {code}, {added} added, "
                f"{seconds:.1f} s, {mb:.0f} MB (models included)"
            )


def run_kill() -> None:
    from test_faults import KILL_POINTS, _integrity, ingest_killed_at
    from test_stream import ARTICLES, _layer, _write

    from storydesk.api import Desk

    print("== kill points (SIGKILL inside a real `storydesk ingest`) ==")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        first = _write(root / "a.jsonl", ARTICLES[:4])
        second = _write(root / "b.jsonl", ARTICLES[4:8])
        with Desk.open(root / "clean.db") as desk:
            desk.ingest([first])
            desk.ingest([second])
            expected = _layer(desk)
        survived = total = 0
        for case in ("fresh desk", "second batch"):
            for point, nth in KILL_POINTS:
                total += 1
                db = root / f"{case[:5]}-{point}.db"
                if case == "second batch":
                    with Desk.open(db) as desk:
                        desk.ingest([first])
                code = ingest_killed_at(point, nth, db, second if case == "second batch" else first)
                sound = _integrity(db) == "ok"
                with Desk.open(db) as desk:
                    if case == "fresh desk":
                        desk.ingest([first])
                    desk.ingest([second])
                    converged = _layer(desk) == expected
                ok = code == -9 and sound and converged
                survived += ok
                print(f"- {case}, {point}: killed={code == -9} integrity={sound} converged={converged}")
        print(f"kill points survived: {survived} of {total}")


def run_fuzz(examples: int) -> None:
    print(f"== fuzzing ({examples} inputs per reader, tests/test_fuzz.py) ==")
    env = {**ENV, "STORYDESK_FUZZ_EXAMPLES": str(examples)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:warnings", "-p", "no:cacheprovider",
         "--hypothesis-show-statistics", str(ROOT / "tests" / "test_fuzz.py")],
        env=env, capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    current = ""
    for line in done.stdout.splitlines():
        if m := re.match(r"tests/test_fuzz.py::(\w+):", line.strip()):
            current = m.group(1)
        elif m := re.search(r"(\d+) passing, (\d+) failing", line):
            print(f"- {current}: {m.group(1)} inputs passed, {m.group(2)} failed")
    crashes = len(re.findall(r"^FAILED", done.stdout, re.MULTILINE))
    print(
        f"crashes found: {crashes} ({done.stdout.strip().splitlines()[-1] if done.stdout.strip() else 'no output'})"
    )


def run_concurrency(rounds: int = 20) -> None:
    import uvicorn
    from test_stream import ARTICLES, _write

    from storydesk.api import Desk
    from storydesk.web import create_app

    print(f"== concurrency (4 readers on 127.0.0.1 while {rounds} batches are ingested) ==")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        db = root / "d.db"
        with Desk.open(db) as desk:
            desk.ingest([_write(root / "seed.jsonl", ARTICLES[:2])])
        server = uvicorn.Server(uvicorn.Config(create_app(db), host="127.0.0.1", port=0, log_level="error"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
        stop = threading.Event()
        served: list[int] = []
        errors: list[str] = []

        def reader(path: str) -> None:
            while not stop.is_set():
                try:
                    with urllib.request.urlopen(base + path, timeout=60) as response:
                        response.read()
                        served.append(response.status)
                except Exception as exc:
                    errors.append(f"{path}: {exc}")

        readers = [
            threading.Thread(target=reader, args=(p,))
            for p in ("/api/stories", "/api/articles", "/api/search?q=earthquake", "/")
        ]
        for r in readers:
            r.start()
        start = time.perf_counter()
        with Desk.open(db) as desk:
            for n in range(rounds):  # the articles again and again, each round's copies told apart
                batch = [
                    {**a, "id": f"{a['id']}-{n}", "text": f"{a['text']} (Update {n}: {a['id']}.)"}
                    for a in ARTICLES[(2 * n) % len(ARTICLES) :][:2]
                ]
                desk.ingest([_write(root / f"b{n}.jsonl", batch)])
        seconds = time.perf_counter() - start
        stop.set()
        for r in readers:
            r.join()
        server.should_exit = True
        thread.join(timeout=10)
        print(
            f"requests served: {len(served)} in {seconds:.1f} s of ingest; errors: {len(errors)} {errors[:3]}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fuzz", type=int, default=2000, help="Inputs per reader for the fuzz run.")
    parser.add_argument(
        "--skip", default="", help="Comma-separated parts to skip: hostile,kill,fuzz,concurrency."
    )
    args = parser.parse_args()
    skip = set(args.skip.split(","))
    if "hostile" not in skip:
        run_hostile()
    if "kill" not in skip:
        run_kill()
    if "fuzz" not in skip:
        run_fuzz(args.fuzz)
    if "concurrency" not in skip:
        run_concurrency()


if __name__ == "__main__":
    main()
