"""The ``storydesk`` command: parse arguments, call the API, print.

No logic lives here: every command is a call into ``storydesk.api`` or
``storydesk.pipeline``; library errors become one clean line and exit code 2.
Article text is untrusted: control characters (ESC, BEL, CR ...) and bidi overrides in
what a command prints are written as ``\\uXXXX`` (``_safe``), so no article can drive the terminal.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from storydesk.config import Settings
from storydesk.errors import ConfigError, StorydeskError

app = typer.Typer(
    help="storydesk: turn a stream of news articles into verified, cited stories.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
eval_app = typer.Typer(help="Score storydesk against labelled data.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")

out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, highlight=False)


@dataclasses.dataclass(frozen=True, slots=True)
class _Options:
    """The global options (``--db``, ``--set``), built once by the root callback and handed to every
    command as typer's context object (``ctx.obj``)."""

    db: str
    settings: Settings


def _options(ctx: typer.Context) -> _Options:
    """The global options of this invocation (a subcommand's context inherits its parent's object)."""
    options = ctx.obj
    assert isinstance(options, _Options), "the root callback sets ctx.obj"
    return options


# C0 controls but tab and newline, DEL, C1 controls, and the bidi marks, embeddings, overrides and isolates.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _safe(text: str) -> str:
    """Text with every terminal-controlling character written as ``\\uXXXX``: visible, inert, and in
    JSON output the same escape JSON itself uses, so the data reads back unchanged."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _show(value: object) -> str:
    """A value for rich: terminal controls neutralised, then markup escaped."""
    return escape(_safe(str(value)))


@app.callback()
def _root(
    ctx: typer.Context,
    db: Annotated[
        str, typer.Option("--db", envvar="STORYDESK_DB", help="SQLite database file of the desk.")
    ] = ("storydesk.db"),
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a setting, e.g. --set cluster.threshold=0.6 (see `settings`)."),
    ] = None,
) -> None:
    with _errors():  # settings are checked once, here: a bad --set is one clean line, exit 2
        settings = Settings().with_overrides(list(set_ or ()))
    ctx.obj = _Options(db=db, settings=settings)


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except StorydeskError as exc:
        err.print(f"[red]error:[/red] {_show(exc)}")
        raise typer.Exit(2) from None


def _desk(ctx: typer.Context, *, create: bool = False) -> Any:
    """The desk of ``--db``; commands that only read it refuse a missing file instead of creating it."""
    from storydesk.api import Desk

    options = _options(ctx)
    return Desk.open(options.db, options.settings, create=create)


@contextlib.contextmanager
def _progress() -> Iterator[Any]:
    """A rich progress bar on a terminal; silence in pipes."""
    if not err.is_terminal:
        yield lambda stage, done, total: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    tasks: dict[str, Any] = {}
    with Progress(
        TextColumn("{task.description:>8}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    ) as bar:

        def report(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield report


def _print_json(data: Any) -> None:
    sys.stdout.write(_safe(json.dumps(data, ensure_ascii=False, indent=2, default=str)) + "\n")


def _write_jsonl(rows: list[dict[str, Any]], target: Path | None) -> None:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if target is None:
        sys.stdout.write(_safe(text))
    else:
        target.write_text(text, encoding="utf-8")


# --- the desk ----------------------------------------------------------------------


@app.command()
def ingest(
    ctx: typer.Context,
    paths: Annotated[list[str], typer.Argument(help="Files, folders (read recursively) or globs.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Ingest articles: .txt, .html/.htm, .jsonl/.json, RSS/Atom feeds, WARC archives.

    Exit code 0 when everything was read, 1 when something was skipped (listed with its reason).
    """
    with _errors(), _desk(ctx, create=True) as desk, _progress() as report:
        summary = desk.ingest(paths, progress=report)
    if as_json:
        _print_json(summary.to_dict())
    else:
        out.print(
            f"{summary.files} files, {summary.documents} documents: {summary.added} added, "
            f"{summary.already_stored} already stored, {summary.duplicates} duplicates, "
            f"{len(summary.rejected)} skipped; {summary.stories} stories ({summary.new_stories} new)"
        )
        if summary.stream:
            out.print(f"clustering: {_show(summary.stream)}")
        for note in summary.notes:
            err.print(f"[cyan]note[/cyan] {_show(note)}")
        for rejection in summary.rejected:
            err.print(f"[yellow]skipped[/yellow] {_show(rejection)}")
    if not summary.ok:
        raise typer.Exit(1)


@app.command()
def recluster(ctx: typer.Context) -> None:
    """Cluster every stored article again in one pass, with the current settings.

    Ingest goes on from the state its last batch saved; run this after changing cluster settings to
    apply them now, or to get exactly what ``storydesk cluster`` gives for the stored articles.
    """
    with _errors(), _desk(ctx, create=True) as desk, _progress() as report:
        count = desk.recluster(progress=report)
    out.print(f"{count} stories")


@app.command()
def stories(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
    sort: Annotated[
        str,
        typer.Option(
            help="rank (independent origins, articles, outlets, recency), recent, articles, origins or outlets."
        ),
    ] = "rank",
) -> None:
    """List stories, ranked as the web UI lists them: id, dates, articles, outlets, independent origins, headline."""
    with _errors(), _desk(ctx) as desk:
        rows = [r.to_dict() for r in desk.listing(sort)]
    if as_json:
        _print_json(rows)
        return
    table = Table(box=None, pad_edge=False)
    for col in ("id", "date", "articles", "outlets", "origins", "headline"):
        table.add_column(col)
    for r in rows:
        span = r["first_published"] or "-"
        if r["last_published"] and r["last_published"] != r["first_published"]:
            span += f"..{r['last_published']}"
        table.add_row(
            r["id"],
            span,
            str(r["article_count"]),
            str(r["outlet_count"]),
            str(r["independent_count"]),
            _show(r["headline"]),
        )
    out.print(table)


@app.command()
def show(
    ctx: typer.Context,
    story_id: Annotated[str | None, typer.Argument(help="Story id (see `stories`).")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text, md, json or html.")] = "text",
    all_: Annotated[bool, typer.Option("--all", help="Show every story.")] = False,
) -> None:
    """Print a story's cited brief: facts with statuses, quotes, people, places, sources."""
    if fmt not in {"text", "md", "json", "html"}:
        err.print(f"[red]error:[/red] unknown format {escape(fmt)!r}: use text, md, json or html")
        raise typer.Exit(2)
    if not all_ and story_id is None:
        err.print("[red]error:[/red] give a STORY_ID or --all")
        raise typer.Exit(2)
    with _errors(), _desk(ctx) as desk:
        ids = [r.story.id for r in desk.listing()] if all_ else [story_id]  # in the order of `stories`
        rendered = [desk.render(i, fmt) for i in ids]
    if fmt == "json" and all_:
        sys.stdout.write(_safe("[" + ",\n".join(rendered) + "]") + "\n")
    else:
        sys.stdout.write(_safe("\n\n".join(r.rstrip("\n") for r in rendered)) + "\n")


@app.command()
def articles(
    ctx: typer.Context,
    story: Annotated[str | None, typer.Option("--story", help="Only this story's articles.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """List articles with outlet, date, wire origin and story."""
    from storydesk.api import article_summary

    with _errors(), _desk(ctx) as desk:
        rows = [article_summary(a, desk.story_of(a.id), desk.wire_origin(a.id)) for a in desk.articles(story)]
    if as_json:
        _print_json(rows)
        return
    table = Table(box=None, pad_edge=False)
    for col in ("id", "date", "outlet", "origin", "story", "title"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["id"],
            r["published"] or "-",
            _show(r["outlet"] or "-"),
            _show(r["wire_origin"] or "-"),
            r["story"] or "-",
            _show((r["title"] or "")[:90]),
        )
    out.print(table)


@app.command()
def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="Words or an SQLite FTS5 query.")],
    limit: Annotated[int, typer.Option(help="Most hits to show.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Full-text search over article titles and text (SQLite FTS5, BM25 ranking)."""
    with _errors(), _desk(ctx) as desk:
        hits = desk.search(query, limit)
    rows = [
        {
            "id": h.article.id,
            "story": h.story_id,
            "title": h.article.title,
            "rank": h.rank,
            "snippet": h.snippet,
        }
        for h in hits
    ]
    if as_json:
        _print_json(rows)
        return
    for r in rows:
        out.print(f"[bold]{r['id']}[/bold] ({r['story'] or '-'}) {_show(r['title'] or '')}")
        out.print(f"    {_show(r['snippet'])}")
    if not rows:
        err.print("no matches")


@app.command()
def why(
    ctx: typer.Context,
    article_id: Annotated[str, typer.Argument(help="Article id (see `articles`).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Explain why an article joined its story: similarity, shared entities/numbers, time gap, runner-up."""
    with _errors(), _desk(ctx) as desk:
        data = desk.why(article_id)
    if as_json:
        _print_json(data)
        return
    for key, value in data.items():
        out.print(f"{key:>16}: {_show(value)}")


@app.command()
def rejections(
    ctx: typer.Context, limit: Annotated[int, typer.Option(help="Most rows to show.")] = 50
) -> None:
    """List inputs that ingest skipped, with path, line and reason."""
    with _errors(), _desk(ctx) as desk:
        for r in desk.rejections(limit):
            out.print(_show(r))


@app.command("settings")
def settings_cmd(ctx: typer.Context) -> None:
    """List every setting with its current value and help (change one with --set)."""
    for name, value, text in _options(ctx).settings.describe():
        out.print(f"[bold]{name}[/bold] = {escape(repr(value))}\n    {escape(text)}")


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[
        str,
        typer.Option(help="Address to listen on; anything but this machine's loopback prints a warning."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    watch_: Annotated[
        bool, typer.Option("--watch", help="Also run the watcher beside the web app (see `watch`).")
    ] = False,
    interval: Annotated[
        float | None, typer.Option(min=1, help="With --watch: seconds between polls of a source.")
    ] = None,
) -> None:
    """Serve the web UI and the JSON API over this desk (with --watch, keep it current from its sources)."""
    import threading

    import uvicorn

    from storydesk.web import create_app
    from storydesk.web.app import LOCAL_HOSTS

    options = _options(ctx)
    settings = options.settings
    token = os.environ.get("STORYDESK_WEB_TOKEN", "")
    if token and not settings.web.token:
        settings = dataclasses.replace(settings, web=dataclasses.replace(settings.web, token=token))
    if not _loopback(host):
        writes = (
            "write requests from other machines need the web.token bearer token"
            if settings.web.token
            else "write requests from other machines are refused (no web.token is set)"
        )
        err.print(
            f"[yellow]warning:[/yellow] serving on {escape(host)}: every machine that can reach this "
            f"address can read the whole desk; {writes}. Use --host 127.0.0.1 to keep it on this machine."
        )
    with _errors():
        # On loopback, answer only to this machine's names (no DNS rebinding) unless told otherwise.
        hosts = settings.web.allowed_hosts or ((*LOCAL_HOSTS, host) if _loopback(host) else ())
        application = create_app(options.db, settings, create=False, hosts=hosts)
    stop = threading.Event()
    watcher = None
    if watch_:
        watcher = threading.Thread(
            target=_watch_beside, args=(stop, interval, options), name="watcher", daemon=True
        )
        watcher.start()
    try:
        uvicorn.run(application, host=host, port=port)
    finally:
        stop.set()
        if watcher is not None:
            watcher.join(timeout=30)


def _loopback(host: str) -> bool:
    """True when ``host`` listens on this machine only (a loopback address or localhost)."""
    import ipaddress

    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host.casefold() == "localhost"


def _watch_beside(stop: Any, interval: float | None, options: _Options) -> None:
    """The watcher's thread under ``serve --watch``: its own desk (SQLite connection), until ``stop``."""
    from storydesk.api import Desk
    from storydesk.watch import Watcher

    try:
        with Desk.open(options.db, options.settings) as desk, Watcher(desk, interval=interval) as watcher:
            watcher.run(
                stop=stop,
                report=_print_poll,
                failed=lambda exc: err.print(f"[red]watch:[/red] {_show(exc)}"),
            )
    except StorydeskError as exc:
        err.print(f"[red]watch stopped:[/red] {_show(exc)}")


# --- the live desk: sources, watch, alerts ------------------------------------------------

sources_app = typer.Typer(help="The feeds the desk watches (RSS, Atom, news sitemaps).")
app.add_typer(sources_app, name="sources")
alerts_app = typer.Typer(help="Watch terms: `watch` reports stories that newly mention one.")
app.add_typer(alerts_app, name="alerts")


@sources_app.callback(invoke_without_command=True)
def sources_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """List each source: last poll, HTTP status, new items, errors (with the reason), next poll."""
    if ctx.invoked_subcommand is not None:
        return
    from storydesk.watch import source_summary, sources

    with _errors(), _desk(ctx) as desk:
        rows = [source_summary(s) for s in sources(desk)]
    if as_json:
        _print_json(rows)
        return
    table = Table(box=None, pad_edge=False)
    table.add_column("url", overflow="fold")
    for col in ("last poll", "status", "new", "items", "errors", "next poll"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            _show(r["url"]),
            (r["last_poll"] or "never")[:19],
            str(r["status"] or "-"),
            str(r["new_items"]),
            str(r["items"]),
            str(r["errors"]) + (f" {_show(r['error'])}" if r["error"] else ""),
            (r["next_poll"] or "now")[:19],
        )
    out.print(table)


@sources_app.command("add")
def sources_add(
    ctx: typer.Context,
    targets: Annotated[
        list[str], typer.Argument(metavar="FEEDS.txt|URL", help="Feed URLs, or files listing one a line.")
    ],
) -> None:
    """Watch feeds: a URL, or a file with one feed URL a line (RSS, Atom, or a news sitemap).

    Exit code 1 when a line or file was not a feed URL (each is printed with its reason).
    """
    from storydesk.watch import add_sources

    with _errors(), _desk(ctx, create=True) as desk:
        done = add_sources(desk, targets)
    out.print(f"{len(done.added)} sources added, {len(done.known)} watched already")
    for rejection in done.rejected:
        err.print(f"[yellow]skipped[/yellow] {_show(rejection)}")
    if done.rejected:
        raise typer.Exit(1)


@app.command()
def watch(
    ctx: typer.Context,
    interval: Annotated[
        float | None,
        typer.Option(min=1, help="Seconds between polls of a source (default: the watch.interval setting)."),
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Poll the sources due now, then exit.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print each poll's report as JSON.")] = False,
) -> None:
    """Poll due sources, fetch new items' pages, update stories; runs until Ctrl-C (or once).

    Failing sources are reported, stored with their reason and backed off; they do not stop the watch.
    """
    from storydesk.watch import Watcher

    printer = _print_poll_json if as_json else _print_poll

    def report(poll: Any) -> None:
        if once and not poll.polled:
            err.print("no source is due (see `storydesk sources` for the next polls)")
        printer(poll)

    try:
        with _errors(), _desk(ctx) as desk, Watcher(desk, interval=interval) as watcher:
            watcher.run(
                once=once,
                report=report,
                failed=lambda exc: err.print(f"[red]error:[/red] {_show(exc)}"),
            )
    except KeyboardInterrupt:
        err.print("watch stopped")


def _print_poll_json(report: Any) -> None:
    sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def _print_poll(report: Any) -> None:
    """One poll's summary line, its failures and its alerts."""
    import datetime as dt

    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    if not report.polled:
        return
    out.print(
        f"{stamp} polled {report.polled} sources ({report.not_modified} not modified, {report.failed} failed): "
        f"{report.added} new articles ({report.headline_only} headline-only), {report.updated} updated, "
        f"{report.already} already stored; {report.stories} stories ({report.new_stories} new, "
        f"{len(report.updated_stories)} updated)"
    )
    for source in report.sources:
        if source.error:
            label = "[red]failed[/red]" if source.failed else "[yellow]warning[/yellow]"
            out.print(f"  {label} {_show(source.url)}: {_show(source.error)}")
    for rejection in report.rejected:
        out.print(f"  [yellow]skipped[/yellow] {_show(rejection)}")
    for hit in report.alerts:
        out.print(f"  [bold]alert[/bold] {_show(hit['term'])!r}: {hit['story']} {_show(hit['headline'])}")


@alerts_app.callback(invoke_without_command=True)
def alerts_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the watch terms and the latest stories that matched them."""
    if ctx.invoked_subcommand is not None:
        return
    with _errors(), _desk(ctx) as desk:
        terms, hits = desk.alerts(), desk.alert_hits()
    if as_json:
        _print_json({"terms": terms, "hits": hits})
        return
    for term in terms:
        out.print(f"[bold]{_show(term)}[/bold]")
        for hit in hits:
            if hit["term"] == term:
                out.print(f"  {hit['at'][:19]} {hit['story']} {_show(hit['headline'])}")


@alerts_app.command("add")
def alerts_add(
    ctx: typer.Context,
    term: Annotated[str, typer.Argument(help="Words a story must mention, e.g. a place.")],
) -> None:
    """Record a watch term: `watch` prints (and the web shows) stories that newly mention it."""
    with _errors(), _desk(ctx, create=True) as desk:
        added = desk.add_alert(term)
        matched = desk.check_alerts()  # stories already on the desk count as matched from now
    out.print(
        f"alert {'added' if added else 'known already'}: {_show(term)!r} ({len(matched)} stories match now)"
    )


# --- stateless commands ----------------------------------------------------------------


@app.command()
def cluster(
    ctx: typer.Context,
    input_path: Annotated[
        Path, typer.Argument(metavar="INPUT.jsonl", help="Articles, one JSON object a line.")
    ],
    out_path: Annotated[Path | None, typer.Option("--out", help="Write here instead of stdout.")] = None,
) -> None:
    """Cluster a JSONL file into stories without a database: one {"id", "story"} line per input, in order."""
    from storydesk.ingest import load_jsonl
    from storydesk.pipeline import cluster_records

    with _errors():
        records = load_jsonl(input_path)
        pairs = cluster_records(records, _options(ctx).settings, origin=str(input_path))
    _write_jsonl([{"id": i, "story": s} for i, s in pairs], out_path)


@app.command()
def extract(
    ctx: typer.Context,
    input_path: Annotated[
        Path, typer.Argument(metavar="INPUT.jsonl", help="Articles, one JSON object a line.")
    ],
    out_path: Annotated[Path | None, typer.Option("--out", help="Write here instead of stdout.")] = None,
) -> None:
    """Extract entities, quantities, dates and quotes; offsets index each input `text` exactly."""
    from storydesk.ingest import load_jsonl
    from storydesk.pipeline import extract_records

    with _errors():
        rows = extract_records(load_jsonl(input_path), _options(ctx).settings)
    _write_jsonl(rows, out_path)


# --- beyond one machine ---------------------------------------------------------------------


@app.command("spark-run")
def spark_run(
    ctx: typer.Context,
    inputs: Annotated[
        list[str], typer.Argument(metavar="INPUT...", help="WARC/WARC.gz or JSONL files, or folders of them.")
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the Parquet tables (replaced).")],
    master: Annotated[
        str | None, typer.Option("--master", help="Spark master, e.g. local[2] or spark://host:7077.")
    ] = None,
    window_days: Annotated[
        float, typer.Option("--window-days", help="Story windows: each is clustered in one task.")
    ] = 7.0,
    overlap_days: Annotated[
        float | None,
        typer.Option(
            "--overlap-days", help="Context a window takes from before it (default: cluster.window_days)."
        ),
    ] = None,
    stories: Annotated[
        str,
        typer.Option(
            "--stories",
            help="one-pass: the windows in time order through one clusterer (one machine's stories); "
            "windows: each window in its own task, its stories linked in time order by the "
            "clusterer's own join and split tests (faster on many cores; stories may differ).",
        ),
    ] = "one-pass",
    partitions: Annotated[
        int, typer.Option(help="Partitions per stage (0: twice the default parallelism).")
    ] = 0,
    driver_memory: Annotated[str, typer.Option("--driver-memory", help="Spark driver memory.")] = "2g",
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Run the pipeline on Apache Spark (needs the spark extra of storydesk): Parquet tables articles,
    stories, facts, quotes and rejections under --out; `storydesk import` loads them into a desk.

    Exit code 0 when everything was read, 1 when something was skipped (listed with its reason).
    """
    from storydesk.spark.job import JobOptions, run

    options = JobOptions(
        master=master,
        window_days=window_days,
        overlap_days=overlap_days,
        partitions=partitions,
        driver_memory=driver_memory,
        stories="windows" if stories == "windows" else "one-pass",
    )
    with _errors():
        if stories not in ("one-pass", "windows"):
            raise ConfigError(f"--stories must be one-pass or windows, not {stories!r}")
        summary = run(inputs, out_dir, _options(ctx).settings, options)
    if as_json:
        _print_json(summary.to_dict())
    else:
        out.print(
            f"{summary.files} files, {summary.articles} articles: {summary.duplicates} duplicates, "
            f"{summary.stories} stories, {summary.facts} facts, {summary.quotes} quotes, "
            f"{summary.rejections} skipped; {summary.seconds:.1f} s; tables in {_show(summary.out)}"
        )
        for rejection in summary.rejected:
            err.print(f"[yellow]skipped[/yellow] {_show(rejection)}")
        if summary.rejections > len(summary.rejected):
            err.print(f"... and {summary.rejections - len(summary.rejected)} more in the rejections table")
    if summary.rejections:
        raise typer.Exit(1)


@app.command("import")
def import_(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="The --out folder of spark-run.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Load spark-run's Parquet tables into a new desk (--db); then every command works on it."""
    from storydesk.api import view_version
    from storydesk.spark.load import import_output

    with _errors(), _desk(ctx, create=True) as desk:
        summary = import_output(desk.store, folder, view_version())
    if as_json:
        _print_json(summary.to_dict())
    else:
        out.print(
            f"{summary.articles} articles ({summary.duplicates} duplicates), {summary.stories} stories, "
            f"{summary.facts} facts, {summary.rejections} rejections imported"
        )


# --- evaluation ---------------------------------------------------------------------------


@eval_app.command("clusters")
def eval_clusters(
    ctx: typer.Context,
    gold_path: Annotated[
        Path, typer.Argument(metavar="GOLD.jsonl", help="Articles with a gold story label.")
    ],
    label: Annotated[str, typer.Option(help="Field holding the gold story label.")] = "gold",
    ecbplus: Annotated[
        bool, typer.Option("--ecbplus", help="Input is ECB+ (ecbplus_train_dev.jsonl): gold = subtopic.")
    ] = False,
    split: Annotated[str | None, typer.Option(help="With --ecbplus: train or dev.")] = None,
    baseline: Annotated[bool, typer.Option(help="Also score the TF-IDF + average-linkage baseline.")] = False,
    reference: Annotated[
        bool,
        typer.Option(
            help="Also score K-means over TF-IDF told the gold story count (the literature's reference)."
        ),
    ] = False,
    headlines: Annotated[
        bool,
        typer.Option(
            "--headlines", help="Keep only each article's title (and time): a headline-only stream."
        ),
    ] = False,
    errors: Annotated[
        bool,
        typer.Option(
            "--errors", help="Also list the stories that mix gold stories and the gold stories split up."
        ),
    ] = False,
    orders: Annotated[
        int,
        typer.Option(
            min=0,
            help="Also cluster this many shuffled input orders and report their B3 F1 (order sensitivity).",
        ),
    ] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Cluster a labelled JSONL and print B-cubed P/R/F1, pairwise F1 and story counts."""
    from storydesk.evaluate import clusters as ev
    from storydesk.pipeline import cluster_records

    settings = _options(ctx).settings

    features: dict[Any, Any] = {}  # embeddings and NER once, however many orders are clustered

    def assign(records: list[dict[str, Any]]) -> dict[str, str]:
        placed = cluster_records(records, settings, origin=str(gold_path), features=features)
        return {str(i): str(s) for i, s in placed}

    with _errors():
        records = ev.ecbplus_records(gold_path, split) if ecbplus else ev.load_gold_jsonl(gold_path, label)
        if headlines:
            records = ev.headlines_only(records)
        report = ev.evaluate_clusters(
            records,
            assign,
            settings.cluster,
            baseline=baseline,
            reference=reference,
            errors=errors,
            orders=orders,
        )
    if as_json:
        _print_json(report.to_dict())
    else:
        out.print(_safe(report.format()), markup=False)


@eval_app.command("facts")
def eval_facts(
    ctx: typer.Context,
    facts_dir: Annotated[
        Path,
        typer.Argument(metavar="DIR", help="Folder of gold fact sheets (e.g. ../shared/data/facts/dev)."),
    ],
    articles: Annotated[
        list[Path] | None,
        typer.Option(help="ECB+ JSONL with the stories' texts (default: ecbplus/*.jsonl beside the data)."),
    ] = None,
    errors: Annotated[
        bool,
        typer.Option("--errors", help="Also list each false conflict, wrong status and missed fact."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Ingest each gold story into its own desk and score its quantity facts and statuses."""
    from storydesk.evaluate import facts as ev

    settings = _options(ctx).settings

    def progress(story: str, done: int, total: int) -> None:
        err.print(f"[{done}/{total}] {story}", markup=False)

    with _errors():
        report = ev.evaluate_facts(facts_dir, articles=articles, settings=settings, progress=progress)
    if as_json:
        _print_json(report.to_dict())
    else:
        out.print(_safe(report.format(errors=errors)), markup=False)


@eval_app.command("quotes")
def eval_quotes(
    ctx: typer.Context,
    data_dir: Annotated[Path, typer.Argument(metavar="DIR", help="PolNeAR split: text/ and attributions/.")],
    limit: Annotated[int | None, typer.Option(help="Score only the first N articles.")] = None,
) -> None:
    """Score quote/attribution extraction against PolNeAR brat annotations."""
    from storydesk.evaluate import quotes as ev
    from storydesk.extract import Extractor

    settings = _options(ctx).settings
    with _errors():
        report = ev.evaluate_quotes(data_dir, Extractor(settings.extract, settings.models), limit=limit)
    out.print(_safe(report.format()), markup=False)


@eval_app.command("wire")
def eval_wire(
    metadata: Annotated[Path, typer.Argument(metavar="METADATA.tsv", help="PolNeAR metadata.tsv.")],
    text_dir: Annotated[Path, typer.Argument(metavar="DIR", help="Folder of article texts (e.g. dev/text).")],
) -> None:
    """Score wire-origin detection against PolNeAR's `wire` column."""
    from storydesk.evaluate import wire as ev

    with _errors():
        report = ev.evaluate_wire(metadata, text_dir)
    out.print(_safe(report.format()), markup=False)


@eval_app.command("html")
def eval_html(
    data_dir: Annotated[Path, typer.Argument(metavar="DIR", help="article-extraction-benchmark folder.")],
    limit: Annotated[int | None, typer.Option(help="Score only the first N pages.")] = None,
) -> None:
    """Score HTML main-text extraction (F1 over word 4-gram shingles)."""
    from storydesk.evaluate import html as ev

    with _errors():
        report = ev.evaluate_html(data_dir, limit=limit)
    out.print(_safe(report.format()), markup=False)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
