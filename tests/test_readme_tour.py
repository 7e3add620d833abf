"""The README's tour, run literally: every command in its first code block, in order, in a
fresh folder, must succeed (a reader who follows it gets the demo's price cut, fiscal year,
budgets and cost centres from the config demo-data writes)."""

from __future__ import annotations

import glob
import re
import shlex
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
README = Path(__file__).resolve().parent.parent / "README.md"


def tour() -> list[str]:
    text = README.read_text()
    block = text[text.index("## A short tour") :]
    block = block[block.index("```\n") + 4 :]
    block = block[: block.index("```")]
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]


def test_the_tour_runs_as_written(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COSTCAST_DB", raising=False)
    # the tour starts at the repository's root: ../scenarios is seen from demo/
    (tmp_path / "scenarios").symlink_to(README.parent / "scenarios")
    commands = tour()
    assert commands[0].startswith("costcast demo-data") and any(
        c.startswith("cd ") for c in commands
    )
    for command in commands:
        words = shlex.split(command.split(">")[0])
        if words[0] == "cd":
            monkeypatch.chdir(words[1])
            continue
        assert words[0] == "costcast", command
        args = [m for w in words[1:] for m in (sorted(glob.glob(w)) if "*" in w else [w])]
        code, out, err = cli(*args)
        assert code == 0, f"{command}\n{err}"
        if ">" in command:
            Path(command.split(">")[1].strip()).write_text(out)
    journal = Path("journal.csv").read_text().splitlines()
    assert journal[0].startswith("journal_id") and len(journal) > 2
    assert re.search(r"CC-[A-Z]+", journal[1])  # the demo's cost centres, from its config
