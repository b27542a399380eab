"""Settings: declared once, overridable by name, bad values refused."""

from __future__ import annotations

import pytest

from storydesk.config import Settings
from storydesk.errors import ConfigError


def test_config_overrides_parse_by_type() -> None:
    base = Settings()
    s = base.with_overrides(["cluster.threshold=0.65", "ingest.max_file_bytes=1000", "dedup.seed=7"])
    assert s.cluster.threshold == 0.65
    assert s.ingest.max_file_bytes == 1000
    assert s.dedup.seed == 7
    assert base.ingest.max_file_bytes == 20_000_000  # the original is untouched


@pytest.mark.parametrize(
    "bad", ["cluster.nope=1", "nosection.x=1", "cluster.threshold=abc", "missing-equals"]
)
def test_config_bad_overrides_raise(bad: str) -> None:
    with pytest.raises(ConfigError):
        Settings().with_overrides([bad])


def test_config_describe_lists_every_section() -> None:
    sections = {name.split(".")[0] for name, _, _ in Settings().describe()}
    assert {"ingest", "clean", "dedup", "models", "cluster", "extract"} <= sections
