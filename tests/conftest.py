"""Shared fixtures: paths to the seeds and the shared data, skipping when absent."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SEEDS = SHARED / "seeds"
DATA = SHARED / "data"


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    """The two seed articles; the core suite's golden tests need them."""
    if not SEEDS.is_dir():
        pytest.skip("../shared/seeds is absent")
    return SEEDS


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or a clean skip when it is absent."""
    if not DATA.is_dir():
        pytest.skip("../shared/data is absent")
    return DATA


@pytest.fixture(scope="session")
def article_json_keys() -> frozenset[str]:
    """The article fields ``show --format json`` promises (issue 2's stable shape): never renamed."""
    return frozenset(
        {
            "id",
            "title",
            "outlet",
            "wire_origin",
            "published",
            "dateline",
            "author",
            "source_url",
            "url",
            "text",
            "raw_text",
        }
    )
