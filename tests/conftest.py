from __future__ import annotations

import sys
from pathlib import Path

import pytest

from forecast.ledger import Ledger

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "ledger.duckdb") as opened:
        yield opened


@pytest.fixture
def fixture_path():
    return lambda name: FIXTURES / name


@pytest.fixture
def cli(monkeypatch, capsys):
    """Run `costcast ARGS` in-process; returns (exit code, stdout, stderr)."""
    from forecast.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["costcast", *map(str, args)])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def totals(ledger: Ledger, where: str = "TRUE") -> dict:
    row = ledger.con.execute(
        f"""SELECT count(*), sum(requests), sum(input_tokens), sum(cached_input_tokens),
                   sum(cache_write_tokens), sum(output_tokens), sum(reported_cost_usd)
            FROM usage WHERE {where}"""
    ).fetchone()
    keys = ("rows", "requests", "input", "cached", "write", "output", "reported_cost")
    return dict(zip(keys, row, strict=True))
