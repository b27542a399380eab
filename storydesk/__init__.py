"""storydesk: a news monitoring desk that turns a stream of articles into verified stories."""

from __future__ import annotations

from storydesk.config import Settings
from storydesk.errors import (
    ChecksumMismatch,
    ConfigError,
    FetchError,
    FetchRefused,
    FetchTooLarge,
    InputError,
    ModelError,
    NotFound,
    SnapshotError,
    StoreError,
    StorydeskError,
)
from storydesk.models import (
    Article,
    Assignment,
    Citation,
    DateMention,
    Entity,
    Explanation,
    Extraction,
    Fact,
    FeedSource,
    Quantity,
    Quote,
    RawDocument,
    Rejection,
    Source,
    Story,
)

__version__ = "0.1.0"

__all__ = [
    "Article",
    "Assignment",
    "ChecksumMismatch",
    "Citation",
    "ConfigError",
    "DateMention",
    "Entity",
    "Explanation",
    "Extraction",
    "Fact",
    "FeedSource",
    "FetchError",
    "FetchRefused",
    "FetchTooLarge",
    "InputError",
    "ModelError",
    "NotFound",
    "Quantity",
    "Quote",
    "RawDocument",
    "Rejection",
    "Settings",
    "SnapshotError",
    "Source",
    "StoreError",
    "Story",
    "StorydeskError",
    "__version__",
]
