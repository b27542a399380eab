"""Score corroboration against gold fact sheets (``../shared/data/facts/``).

Each gold story (one ECB+ subtopic) is ingested into a desk of its own, through the same
``Desk.ingest`` a user runs, and every quantity fact of that desk is matched to the sheet.

The matching rule (kept fixed: independent checks use it too): a storydesk fact matches a gold
fact when one of its cited sentences overlaps a gold mention's sentence in the same article (one
contains the other after whitespace normalisation, or their token Jaccard is at least 0.5) and
the storydesk fact's value equals that mention's value within 1%.

- fact precision: storydesk facts with a value that match a gold fact / storydesk facts with a value
- fact recall: gold facts matched by some storydesk fact / gold facts
- status accuracy: matched storydesk facts whose status is their gold fact's / matched storydesk facts
- conflict precision: storydesk conflicts matching a gold conflict / storydesk conflicts
- conflict recall: gold conflicts one of whose mention sentences a storydesk conflict cites / gold conflicts
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storydesk.errors import InputError, MalformedInput

if TYPE_CHECKING:
    from storydesk.config import Settings

__all__ = [
    "FactReport",
    "GoldFact",
    "GoldMention",
    "SystemFact",
    "evaluate_facts",
    "load_fact_sheets",
    "score_facts",
    "sentences_overlap",
    "story_facts",
]

#: Relative tolerance between a storydesk value and a gold mention's value.
VALUE_TOLERANCE = 0.01
#: Token Jaccard at or above which two sentences count as the same sentence.
SENTENCE_JACCARD = 0.5

_TOKEN = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class GoldMention:
    """One article's statement of a gold fact."""

    article: str
    sentence: str
    value_text: str
    value: float | None
    bound: str = "="
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class GoldFact:
    """One quantity of one thing in a story, with every article's mention and the gold status."""

    story: str
    id: str
    what: str
    subject: str
    status: str
    note: str
    mentions: tuple[GoldMention, ...]


@dataclass(frozen=True, slots=True)
class SystemFact:
    """A storydesk fact reduced to what the scorer compares; citations are (article id, sentence)."""

    story: str
    statement: str
    status: str
    value: float | None
    citations: tuple[tuple[str, str], ...]
    note: str | None = None
    variants: tuple[str, ...] = ()


def _norm(text: str) -> str:
    return " ".join(text.split())


def _tokens(text: str) -> frozenset[str]:
    return frozenset(t.lower() for t in _TOKEN.findall(text))


def sentences_overlap(a: str, b: str) -> bool:
    """The matching rule's sentence test: containment after whitespace normalisation, or Jaccard >= 0.5."""
    na, nb = _norm(a), _norm(b)
    if not na or not nb:
        return False
    if na in nb or nb in na:
        return True
    ta, tb = _tokens(na), _tokens(nb)
    if not ta or not tb:
        return False
    return len(ta & tb) / len(ta | tb) >= SENTENCE_JACCARD


def _same_value(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return False
    return abs(a - b) <= VALUE_TOLERANCE * max(abs(a), abs(b), 1e-12)


def _cites(fact: SystemFact, mention: GoldMention) -> bool:
    return any(aid == mention.article and sentences_overlap(s, mention.sentence) for aid, s in fact.citations)


def _matches(fact: SystemFact, gold: GoldFact) -> int:
    """How many of the gold fact's mentions this fact matches (0: no match)."""
    return sum(1 for m in gold.mentions if _same_value(fact.value, m.value) and _cites(fact, m))


# --- loading --------------------------------------------------------------------------------------


def load_fact_sheets(facts_dir: str | Path) -> list[GoldFact]:
    """Every gold fact of every sheet (``*.json``) in a folder, in file order."""
    folder = Path(facts_dir)
    if not folder.is_dir():
        raise InputError(str(folder), "not a folder of fact sheets")
    sheets = sorted(folder.glob("*.json"))
    if not sheets:
        raise InputError(str(folder), "holds no fact sheet (*.json)")
    facts: list[GoldFact] = []
    for path in sheets:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            story = str(data.get("story") or path.stem)
            for raw in data["facts"]:
                mentions = tuple(
                    GoldMention(
                        article=str(m["article"]),
                        sentence=str(m["sentence"]),
                        value_text=str(m.get("value_text") or ""),
                        value=None if m.get("value") is None else float(m["value"]),
                        bound=str(m.get("bound") or "="),
                        unit=m.get("unit"),
                    )
                    for m in raw.get("mentions", ())
                )
                facts.append(
                    GoldFact(
                        story=story,
                        id=str(raw.get("id", len(facts) + 1)),
                        what=str(raw.get("what") or ""),
                        subject=str(raw.get("subject") or ""),
                        status=str(raw["status"]),
                        note=str(raw.get("note") or ""),
                        mentions=mentions,
                    )
                )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise MalformedInput(str(path), f"not a fact sheet: {type(exc).__name__}: {exc}") from exc
    return facts


def _article_files(facts_dir: Path) -> list[Path]:
    """The ECB+ JSONL files beside the fact sheets (``<data>/ecbplus/*.jsonl``)."""
    for base in (facts_dir.parent.parent, facts_dir.parent):
        found = sorted((base / "ecbplus").glob("*.jsonl"))
        if found:
            return found
    return []


def _story_records(
    facts: Sequence[GoldFact], article_files: Sequence[Path]
) -> dict[str, list[dict[str, Any]]]:
    """Each story's articles as ingest records, from the ECB+ rows of its subtopic."""
    from storydesk.evaluate.clusters import ecbplus_records

    rows = [r for path in article_files for r in ecbplus_records(path)]
    by_id = {r["id"]: r for r in rows}
    out: dict[str, list[dict[str, Any]]] = {}
    for story in dict.fromkeys(f.story for f in facts):
        subtopics = {
            by_id[m.article]["gold"]
            for f in facts
            if f.story == story
            for m in f.mentions
            if m.article in by_id
        }
        named = story.split("_", 1)[1] if "_" in story else story
        if any(r["gold"] == named for r in rows):
            subtopics = {named}
        if not subtopics:
            raise InputError(story, "none of this story's articles is in the article files")
        records = [r for r in rows if r["gold"] in subtopics]
        out[story] = [
            {k: r[k] for k in ("id", "title", "text", "published", "url") if r.get(k) is not None}
            for r in records
        ]
    return out


# --- running storydesk ---------------------------------------------------------------------------


def story_facts(
    story: str, records: Sequence[Mapping[str, Any]], settings: Settings | None = None
) -> list[SystemFact]:
    """Ingest one story's records into a fresh desk and return every quantity fact of every story."""
    from storydesk.api import Desk

    with tempfile.TemporaryDirectory(prefix="storydesk-facts-") as tmp:
        path = Path(tmp) / f"{story}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for record in records:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        with Desk.open(Path(tmp) / "desk.db", settings) as desk:
            desk.ingest([path])
            external = {a.id: (a.external_id or a.id) for a in desk.articles()}
            out: list[SystemFact] = []
            for desk_story in desk.stories():
                for fact in desk.detail(desk_story.id).facts:
                    if fact.kind != "quantity":
                        continue
                    out.append(
                        SystemFact(
                            story=story,
                            statement=fact.statement,
                            status=fact.status,
                            value=fact.value,
                            citations=tuple(
                                (external.get(c.article_id, c.article_id), c.text) for c in fact.citations
                            ),
                            note=fact.note,
                            variants=fact.variants,
                        )
                    )
    return out


# --- scoring ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FactError:
    """One error for the listing: kind, story, what storydesk said, what the gold says."""

    kind: str  # "false conflict", "missed fact", "wrong status", "unmatched fact"
    story: str
    system: SystemFact | None
    gold: GoldFact | None


@dataclass(frozen=True, slots=True)
class FactReport:
    """The five figures, with their counts and the errors behind them."""

    stories: int
    gold_facts: int
    system_facts: int
    matched_system: int
    matched_gold: int
    status_correct: int
    system_conflicts: int
    true_conflicts: int
    gold_conflicts: int
    recalled_conflicts: int
    errors: tuple[FactError, ...] = field(default=())

    @property
    def precision(self) -> float:
        return self.matched_system / self.system_facts if self.system_facts else 0.0

    @property
    def recall(self) -> float:
        return self.matched_gold / self.gold_facts if self.gold_facts else 0.0

    @property
    def status_accuracy(self) -> float:
        return self.status_correct / self.matched_system if self.matched_system else 0.0

    @property
    def conflict_precision(self) -> float:
        return self.true_conflicts / self.system_conflicts if self.system_conflicts else 0.0

    @property
    def conflict_recall(self) -> float:
        return self.recalled_conflicts / self.gold_conflicts if self.gold_conflicts else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "stories": self.stories,
            "gold_facts": self.gold_facts,
            "system_facts": self.system_facts,
            "fact_precision": round(self.precision, 4),
            "fact_recall": round(self.recall, 4),
            "status_accuracy": round(self.status_accuracy, 4),
            "conflict_precision": round(self.conflict_precision, 4),
            "conflict_recall": round(self.conflict_recall, 4),
            "counts": {
                "matched_system": self.matched_system,
                "matched_gold": self.matched_gold,
                "status_correct": self.status_correct,
                "system_conflicts": self.system_conflicts,
                "true_conflicts": self.true_conflicts,
                "gold_conflicts": self.gold_conflicts,
                "recalled_conflicts": self.recalled_conflicts,
            },
            "errors": [_error_dict(e) for e in self.errors],
        }

    def format(self, *, errors: bool = False) -> str:
        lines = [
            f"stories {self.stories}, gold facts {self.gold_facts}, storydesk facts with a value {self.system_facts}",
            "",
            f"{'measure':<20} {'score':>6}  counts",
            f"{'fact precision':<20} {self.precision:>6.3f}  {self.matched_system}/{self.system_facts}",
            f"{'fact recall':<20} {self.recall:>6.3f}  {self.matched_gold}/{self.gold_facts}",
            f"{'status accuracy':<20} {self.status_accuracy:>6.3f}  {self.status_correct}/{self.matched_system}",
            f"{'conflict precision':<20} {self.conflict_precision:>6.3f}  {self.true_conflicts}/{self.system_conflicts}",
            f"{'conflict recall':<20} {self.conflict_recall:>6.3f}  {self.recalled_conflicts}/{self.gold_conflicts}",
        ]
        if errors:
            lines.extend(_format_errors(self.errors))
        return "\n".join(lines)


def _error_dict(error: FactError) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": error.kind, "story": error.story}
    if error.system is not None:
        s = error.system
        out["storydesk"] = {
            "statement": s.statement,
            "status": s.status,
            "value": s.value,
            "note": s.note,
            "citations": [{"article": a, "sentence": t} for a, t in s.citations],
        }
    if error.gold is not None:
        g = error.gold
        out["gold"] = {
            "id": g.id,
            "what": g.what,
            "status": g.status,
            "note": g.note,
            "mentions": [
                {"article": m.article, "value_text": m.value_text, "sentence": m.sentence} for m in g.mentions
            ],
        }
    return out


def _format_errors(errors: Sequence[FactError], width: int = 160) -> list[str]:
    def cut(text: str) -> str:
        text = _norm(text)
        return text if len(text) <= width else text[: width - 1] + "…"

    lines: list[str] = []
    for kind in ("false conflict", "wrong status", "missed fact", "unmatched fact"):
        chosen = [e for e in errors if e.kind == kind]
        if not chosen:
            continue
        lines += ["", f"{kind}s ({len(chosen)}):"]
        for e in chosen:
            head = f"- [{e.story}]"
            if e.gold is not None:
                head += f" gold {e.gold.id} {e.gold.what!r} is {e.gold.status}"
            if e.system is not None:
                head += f"; storydesk says {e.system.status}: {cut(e.system.statement)}"
            lines.append(head)
            if e.system is not None and e.system.note:
                lines.append(f"    note: {cut(e.system.note)}")
            if e.system is not None:
                lines.extend(f"    cites {a}: {cut(t)}" for a, t in e.system.citations[:4])
            if e.gold is not None:
                lines.extend(
                    f"    gold {m.article} ({m.value_text}): {cut(m.sentence)}" for m in e.gold.mentions[:4]
                )
    return lines


def score_facts(gold: Sequence[GoldFact], system: Sequence[SystemFact]) -> FactReport:
    """The five figures of the matching rule over every story, with the errors behind them."""
    gold_by_story: dict[str, list[GoldFact]] = {}
    for g in gold:
        gold_by_story.setdefault(g.story, []).append(g)
    valued = [s for s in system if s.value is not None]
    matched_gold: set[tuple[str, str]] = set()
    errors: list[FactError] = []
    matched_system = status_correct = system_conflicts = true_conflicts = 0
    for fact in valued:
        candidates = [(n, g) for g in gold_by_story.get(fact.story, ()) if (n := _matches(fact, g))]
        conflict = fact.status == "conflicting"
        system_conflicts += conflict
        if not candidates:
            errors.append(
                FactError("false conflict" if conflict else "unmatched fact", fact.story, fact, None)
            )
            continue
        # the gold fact with the most matched mentions stands for this fact
        best = max(candidates, key=lambda item: item[0])[1]
        matched_system += 1
        matched_gold.update((g.story, g.id) for _, g in candidates)
        if fact.status == best.status:
            status_correct += 1
        elif conflict:
            errors.append(FactError("false conflict", fact.story, fact, best))
        else:
            errors.append(FactError("wrong status", fact.story, fact, best))
        true_conflicts += conflict and best.status == "conflicting"
    conflicts_cited = [s for s in system if s.status == "conflicting"]
    gold_conflicts = [g for g in gold if g.status == "conflicting"]
    recalled = sum(
        1
        for g in gold_conflicts
        if any(s.story == g.story and any(_cites(s, m) for m in g.mentions) for s in conflicts_cited)
    )
    errors.extend(
        FactError("missed fact", g.story, None, g) for g in gold if (g.story, g.id) not in matched_gold
    )
    return FactReport(
        stories=len({g.story for g in gold}),
        gold_facts=len(gold),
        system_facts=len(valued),
        matched_system=matched_system,
        matched_gold=len(matched_gold),
        status_correct=status_correct,
        system_conflicts=system_conflicts,
        true_conflicts=true_conflicts,
        gold_conflicts=len(gold_conflicts),
        recalled_conflicts=recalled,
        errors=tuple(errors),
    )


def evaluate_facts(
    facts_dir: str | Path,
    *,
    articles: Iterable[str | Path] | None = None,
    settings: Settings | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> FactReport:
    """Ingest each gold story into its own desk and score its quantity facts against the sheet.

    ``articles``: the ECB+ JSONL files holding the stories' texts; by default the ``ecbplus/*.jsonl``
    beside the sheets' data folder.
    """
    folder = Path(facts_dir)
    gold = load_fact_sheets(folder)
    files = [Path(p) for p in articles] if articles is not None else _article_files(folder)
    if not files:
        raise InputError(str(folder), "no ECB+ article file found beside it (give --articles)")
    stories = _story_records(gold, files)
    system: list[SystemFact] = []
    for n, (story, records) in enumerate(stories.items(), 1):
        system.extend(story_facts(story, records, settings))
        if progress is not None:
            progress(story, n, len(stories))
    return score_facts(gold, system)
