"""The public surface: __all__ lists exactly what the package exports."""

from __future__ import annotations

import storydesk


def test_exports_all_names_resolve() -> None:
    for name in storydesk.__all__:
        assert hasattr(storydesk, name), name


def test_exports_public_names_are_listed() -> None:
    public = {n for n in vars(storydesk) if not n.startswith("_") and n[0].isupper()}
    assert public <= set(storydesk.__all__), public - set(storydesk.__all__)
