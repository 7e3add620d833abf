from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

from forecast.ledger import Ledger

FIXTURES = Path(__file__).parent / "fixtures"

# Property tests explore new examples on every run here (and keep the failures they find in
# .hypothesis/ to replay); CI (.ci/run) runs the same examples every time, so that a
# submission lands or not on its own code, not on the draw.
settings.register_profile("ci", derandomize=True, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "ledger.duckdb") as opened:
        yield opened
    # Whatever a test did to the usage (ingests, replaced spans, removals, refusals), the
    # daily rollup must still be the usage summed to days: checked after every one.
    with Ledger(tmp_path / "ledger.duckdb") as reopened:
        assert rollup_drift(reopened) == []


def rollup_drift(ledger: Ledger) -> list:
    """Days, dimensions and ingests where ``usage_daily`` differs from the usage summed
    to days here, and the stored span where it differs from a scan of every row; [] where
    they agree."""
    sums = """sum(requests), sum(input_tokens), sum(cached_input_tokens),
              sum(cache_write_tokens), sum(output_tokens), CAST(sum(reported_cost_usd) AS
              DECIMAL(38, 6))"""
    dims = 'team, feature, model, provider, service_tier, status, "user", deployment, ingest_id'
    drift = ledger.con.execute(
        f"""(SELECT date_trunc('day', ts), {dims}, {sums}, count(*) FROM usage GROUP BY ALL
             EXCEPT ALL SELECT ts, {dims}, {sums}, sum(rows) FROM usage_daily GROUP BY ALL)
            UNION ALL
            (SELECT ts, {dims}, {sums}, sum(rows) FROM usage_daily GROUP BY ALL
             EXCEPT ALL SELECT date_trunc('day', ts), {dims}, {sums}, count(*) FROM usage
             GROUP BY ALL)"""
    ).fetchall()
    scanned = [scanned_span(ledger)]
    stored = ledger.con.execute("SELECT * FROM usage_bounds").fetchall()
    return drift + ([("bounds", stored, scanned)] if stored != scanned else [])


def scanned_span(ledger: Ledger) -> tuple:
    """(first bucket start, last bucket start, end of the last bucket) by a plain scan of
    every usage row: what the stored span must be."""
    return ledger.con.execute(
        """SELECT min(ts), max(ts),
                  max(ts + CASE bucket WHEN '1d' THEN INTERVAL 1 DAY ELSE INTERVAL 1 HOUR END)
           FROM usage"""
    ).fetchall()[0]


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
