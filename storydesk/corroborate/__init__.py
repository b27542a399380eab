"""Align the claims of one story's articles into facts, each with a status and its citations.

A claim is a quantity (``20,000`` reserve servicemen), a quote, or a sentence. Claims about the
same thing are grouped into a ``Fact``; the fact is *corroborated* when two or more independent
sources carry it, *single-source* otherwise, and *conflicting* when the grouped values cannot all
be true (``20,000`` vs ``10,000``). Independence is by wire origin, not outlet: ten rewrites of one
Reuters report are one source.

Decisions (documented here because the brief relies on them):

- Quantities with neither a unit nor a counted noun are dropped: nothing says what they are about,
  so they can neither be aligned nor stated. Time spans and years (``20 years``, ``2020``) are
  timeline, not facts of the quantity kind, and are dropped too.
- Counted nouns are compared as sets of normalised terms (lemma + a small military/people synonym
  table: ``reservists`` ~ ``reserve servicemen`` ~ ``servicemen``), with the head noun required to
  agree. Agreeing values need only that; merely compatible values (``1,037`` and ``more than
  1,000``) need a closer counted noun or a similar sentence; incompatible values are declared a
  conflict only when the counted noun *and* the surrounding sentence agree, since a conflict is a
  strong claim and two different counts of soldiers are usually two different things.
- Quote and statement facts are emitted only when the same quote or sentence appears in two or more
  articles; a quote found once is shown in the brief's quotes section, not as a fact.

Modules, by subject: ``terms`` (normalised words of a counted noun or sentence), ``values`` (value
comparison), ``claims`` (quantity claims and their frames), ``alignment`` (claims into quantity
facts and conflicts), ``statements`` (quote and statement facts) and ``facade`` (``corroborate``).
Sentence splitting lives in ``storydesk.text`` and is re-exported here.
"""

from __future__ import annotations

from storydesk.corroborate.alignment import BOUND_REACH as BOUND_REACH
from storydesk.corroborate.alignment import CONTEXT_COMPATIBLE as CONTEXT_COMPATIBLE
from storydesk.corroborate.alignment import CONTEXT_CONFLICT as CONTEXT_CONFLICT
from storydesk.corroborate.alignment import CONTEXT_DISTINCTIVE as CONTEXT_DISTINCTIVE
from storydesk.corroborate.alignment import CONTEXT_RELATED as CONTEXT_RELATED
from storydesk.corroborate.alignment import CONTEXT_REWORDED as CONTEXT_REWORDED
from storydesk.corroborate.alignment import PARALLEL_LIST as PARALLEL_LIST
from storydesk.corroborate.alignment import TERMS_CONFLICT as TERMS_CONFLICT
from storydesk.corroborate.claims import CONVERSION_TOLERANCE as CONVERSION_TOLERANCE
from storydesk.corroborate.claims import source_of
from storydesk.corroborate.facade import corroborate
from storydesk.corroborate.statements import QUOTE_SIMILARITY as QUOTE_SIMILARITY
from storydesk.corroborate.statements import STATEMENT_SIMILARITY as STATEMENT_SIMILARITY
from storydesk.corroborate.values import ABOUT_TOLERANCE as ABOUT_TOLERANCE
from storydesk.corroborate.values import bound_word as bound_word
from storydesk.corroborate.values import values_compatible
from storydesk.text import sentence_spans, trim_span

__all__ = ["corroborate", "sentence_spans", "source_of", "trim_span", "values_compatible"]
