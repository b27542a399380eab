"""The public surface: __all__ lists exactly what each public module exports."""

from __future__ import annotations

import types

import pytest

import storydesk
from storydesk import snapshot, stream


def test_exports_all_names_resolve() -> None:
    for name in storydesk.__all__:
        assert hasattr(storydesk, name), name


def test_exports_all_is_exactly_the_public_names() -> None:
    public = {n for n in vars(storydesk) if not n.startswith("_") and n[0].isupper()} | {"__version__"}
    assert set(storydesk.__all__) == public
    assert len(storydesk.__all__) == len(set(storydesk.__all__))


@pytest.mark.parametrize("module", [stream, snapshot])
def test_exports_module_all_is_exactly_its_public_definitions(module: types.ModuleType) -> None:
    defined = {
        n
        for n, v in vars(module).items()
        if not n.startswith("_")
        and not isinstance(v, types.ModuleType)
        and (getattr(v, "__module__", module.__name__) == module.__name__ or n.isupper())
        and n not in {"annotations", "TYPE_CHECKING"}
    }
    assert set(module.__all__) == defined
