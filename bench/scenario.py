"""Scenario benchmark: a 5-change scenario on a forecast run of N series x 365 days of history.

Builds a ledger of synthetic daily usage (N series over 8 teams and 8
models), fits a run (``--forecasters``, default prophet, 90-day horizon), then
times evaluating a five-change scenario (launch, route, price, tokens,
retries; two with ranges; exact Shapley shares over 32 subsets) against it.
Prints the evaluation time as a ratio to the run's fitting time, both
measured in this process. Goal (issue 4): <= 1%.

    python bench/scenario.py [--series 1000] [--forecasters prophet]
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import tempfile
import time
from pathlib import Path

# This folder has a forecast.py: keep it off the import path.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402

MODELS = ["gpt-4.1", "gpt-4.1-mini", "gpt-4o-mini", "o4-mini",
          "claude-sonnet-4", "claude-3-5-haiku", "gemini-2.5-flash", "gemini-2.5-pro"]  # fmt: skip
END = dt.date(2026, 10, 31)
SCENARIO = """
name: bench
changes:
  - {kind: launch, team: team-0, feature: new-bot, model: gpt-4.1, start: 2026-11-10, ramp_days: 14,
     requests_per_day: {low: 500, likely: 800, high: 1500}, input_tokens_per_request: 900,
     output_tokens_per_request: 200}
  - {kind: route, team: team-1, from_model: gpt-4.1, to_model: gpt-4.1-mini, share: 0.6, start: 2026-11-15}
  - {kind: price, model: claude-sonnet-4, discount: {low: 0.1, likely: 0.2, high: 0.3}, start: 2026-12-01}
  - {kind: tokens, team: team-2, input_factor: 1.25, start: 2026-11-05, ramp_days: 30}
  - {kind: retries, team: team-3, failure_factor: 0.5, start: 2026-11-20}
"""


def write_usage(path: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    days = [END - dt.timedelta(days=i) for i in range(364, -1, -1)]
    weekday = np.array([d.weekday() < 5 for d in days])
    lines = ["timestamp,bucket,team,feature,model,status,requests,input_tokens,output_tokens"]
    for i in range(n):
        level = rng.lognormal(5, 1.2)
        y = rng.poisson(
            level * np.where(weekday, 1.0, 0.4) * np.exp(np.linspace(0, rng.normal(0, 0.4), 365))
        )
        team, model = f"team-{i % 8}", MODELS[(i * 7 // 8) % 8]
        for day, req in zip(days, y, strict=True):
            if req:
                lines.append(
                    f"{day}T00:00:00Z,1d,{team},feature-{i},{model},success,{req},{req * 1100},{req * 250}"
                )
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--forecasters", "--models", dest="models", default="prophet")
    args = parser.parse_args()
    from forecast import (
        FiscalCalendar,
        Horizon,
        Ledger,
        RunSettings,
        create_forecast,
        ingest_files,
        load_price_book,
    )
    from forecast.scenario import parse_scenario
    from forecast.scenario.engine import evaluate

    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "usage.csv"
        write_usage(csv, args.series)
        book = load_price_book()
        with Ledger(Path(tmp) / "ledger.duckdb") as ledger:
            ingest_files(ledger, [csv])
            start = time.perf_counter()
            run = create_forecast(
                ledger, book, horizon=Horizon.until(END + dt.timedelta(days=90)),
                settings=RunSettings(forecasters=args.models, n_paths=200),
            )  # fmt: skip
            fit = time.perf_counter() - start
            scenario = parse_scenario(SCENARIO)
            start = time.perf_counter()
            result = evaluate(ledger, run, book, scenario, FiscalCalendar(1))
            scen = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{args.series} series x 365 days, 90-day horizon, 200 paths, --forecasters {args.models}"
    )
    print(f"forecast run (fit + save): {fit:8.1f}s")
    print(
        f"5-change scenario:         {scen:8.2f}s  (delta {result.totals['delta']['mean']:,.0f} USD)"
    )
    print(f"ratio scenario / fit: {scen / fit:.2%}  (goal <= 1%)")
    print(f"peak RSS (this process): {rss:,.0f} MB")


if __name__ == "__main__":
    main()
