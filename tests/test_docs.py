"""Documentation stays true: every command has help text and appears in the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main

from storydesk.cli import app

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _commands() -> list[tuple[str, object]]:
    root = typer.main.get_command(app)
    found = []
    for name, cmd in root.commands.items():  # type: ignore[attr-defined]
        if hasattr(cmd, "commands"):  # a sub-app such as `eval`
            found += [(f"{name} {sub}", c) for sub, c in cmd.commands.items()]
        else:
            found.append((name, cmd))
    return found


@pytest.mark.parametrize(("name", "cmd"), _commands(), ids=[n for n, _ in _commands()])
def test_docs_command_has_help_and_is_in_readme(name: str, cmd: object) -> None:
    assert (getattr(cmd, "help", None) or "").strip(), f"`storydesk {name}` has no help text"
    assert re.search(rf"storydesk (--db \S+ )?(--set \S+ )?{re.escape(name)}\b", README), (
        f"`storydesk {name}` is missing from README.md"
    )


def test_docs_readme_opens_with_the_two_commands() -> None:
    head = README.split("\n## ", 1)[0]
    assert "make demo" in head and "make test" in head


def test_docs_every_setting_has_help() -> None:
    from storydesk.config import Settings

    rows = Settings().describe()
    assert rows
    assert all(help_text.strip() for _, _, help_text in rows)
