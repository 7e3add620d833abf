"""Forecast benchmark: N synthetic daily series of 365 days, 90-day horizon with intervals.

Compares costcast's engine (model choice per series by backtest, process
pool over all cores) with a plain loop of Prophet fit + predict (its default
1000 uncertainty samples) on the same series in the same run. Both are fitted
on the first 337 days and scored on the last 28 (WAPE, sum over series).
Prints series per second of each, their ratio, both WAPEs, and peak RSS.
Goal (issue 11): ratio >= 10 with WAPE no worse than 0.211 (auto before issue 11).
Both are timed warm: each runs once, untimed, on 40 other series first, so that neither
pays for importing its libraries.

    python bench/forecast.py [--series 2000] [--forecasters auto] [--jobs N]
                             [--dask tcp://HOST:8786] [--baseline-series N]

With ``--dask`` the series are forecast on that cluster and the peak memory
of each worker is printed; the plain loop runs here on the first
``--baseline-series`` series (default: all, at most 2,000) and the ratio
compares series per second.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

# This file is named like the package it measures: keep its folder off the import path.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

HISTORY, HOLDOUT, HORIZON = 365, 28, 90
WARM_SERIES = 40  # run once, untimed, before either side is timed


def synthetic(n: int, seed: int = 0) -> list[tuple[str, pd.DatetimeIndex, np.ndarray]]:
    """Daily request counts: level, growth or decline, weekly shape, noise, the odd burst."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2025-11-01", periods=HISTORY)
    out = []
    for i in range(n):
        level = rng.lognormal(6, 1.5)
        trend = np.exp(rng.normal(0, 0.5) * np.arange(HISTORY) / HISTORY)
        weekend = rng.uniform(0.2, 1.0)
        week = np.where(ds.day_of_week >= 5, weekend, 1.0)
        noise = rng.lognormal(0, rng.uniform(0.05, 0.3), HISTORY)
        bursts = np.where(rng.random(HISTORY) < 0.01, rng.uniform(2, 10), 1.0)
        y = rng.poisson(level * trend * week * noise * bursts).astype(float)
        out.append((f"s{i}", ds, y))
    return out


def plain_prophet(series) -> tuple[float, float]:
    from prophet import Prophet

    err = total = 0.0
    start = time.perf_counter()
    for _, ds, y in series:
        model = Prophet()
        model.fit(pd.DataFrame({"ds": ds[:-HOLDOUT], "y": y[:-HOLDOUT]}))
        future = model.make_future_dataframe(HORIZON, include_history=False)
        forecast = model.predict(future)  # yhat, yhat_lower, yhat_upper from 1000 samples
        mean = np.clip(forecast["yhat"].to_numpy()[:HOLDOUT], 0, None)
        err += np.abs(y[-HOLDOUT:] - mean).sum()
        total += y[-HOLDOUT:].sum()
    return time.perf_counter() - start, err / total


def engine(
    series, models: str, jobs: int | None, dask_client=None, scored: int | None = None
) -> tuple[float, float, dict]:
    from forecast.chunk import SeriesInput
    from forecast.engine import budget_costly, run_engine
    from forecast.models import resolve_forecasters

    candidates = resolve_forecasters(models)
    # volume is requests; one token kind at a fixed intensity, so cost is proportional
    inputs = [
        SeriesInput(key, y[:-HOLDOUT], 1000.0 * y[None, :-HOLDOUT], np.array([2.5e-6]), candidates,
                    weight=float(y[-HOLDOUT - 28 : -HOLDOUT].sum()))
        for key, _, y in series
    ]  # fmt: skip
    if models == "auto":  # as create_forecast does: costly models for the heaviest series
        budget_costly(inputs)
    end = series[0][1][-HOLDOUT - 1]
    start = time.perf_counter()
    result = run_engine(inputs, HORIZON, end=end, n_paths=200, jobs=jobs, dask_client=dask_client)
    seconds = time.perf_counter() - start
    n = scored or len(series)
    errors, totals = [], []
    chosen: dict[str, int] = {}
    for key, _, y in series:
        forecast = result.forecasts[key]
        mean = forecast.paths.mean(axis=0)[:HOLDOUT]
        errors.append(np.abs(y[-HOLDOUT:] - mean).sum())
        totals.append(y[-HOLDOUT:].sum())
        if len(errors) <= n:
            chosen[forecast.forecaster] = chosen.get(forecast.forecaster, 0) + 1
    wapes = (sum(errors[:n]) / sum(totals[:n]), sum(errors) / sum(totals))
    return seconds, wapes, chosen


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=2000)
    parser.add_argument("--forecasters", "--models", dest="models", default="auto")
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--dask", help="scheduler address, e.g. tcp://10.0.0.5:8786")
    parser.add_argument("--baseline-series", type=int, default=None)
    args = parser.parse_args()
    logging.getLogger("cmdstanpy").disabled = True
    logging.getLogger("prophet").setLevel(logging.ERROR)
    warnings.simplefilter("ignore", FutureWarning)
    series = synthetic(args.series)
    n_base = min(args.baseline_series or args.series, args.series, 2000)
    client = None
    if args.dask:
        from distributed import Client

        client = Client(args.dask)
    # Both sides are timed warm, as a server or a notebook runs them: their libraries
    # imported and each run once on a few other series first. The plain loop's import
    # was always outside its timing; the engine's (statsforecast, Prophet, scikit-learn,
    # and their first compiled calls) was inside it, about 4 s of a 13 s run.
    warm = synthetic(WARM_SERIES, seed=1)
    engine(warm, args.models, args.jobs, client)
    plain_prophet(warm[:1])
    ours_s, (ours_wape, all_wape), chosen = engine(
        series, args.models, args.jobs, client, scored=n_base
    )
    base_s, base_wape = plain_prophet(series[:n_base])
    rss = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
              resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024  # fmt: skip
    n = args.series
    where = f"Dask cluster {args.dask}" if client else f"{os.cpu_count()} cores"
    print(f"{n} series x {HISTORY} days, horizon {HORIZON}, {where}")
    print(f"plain Prophet loop: {base_s:7.1f}s  {n_base / base_s:6.2f} series/s  "
          f"WAPE@28 {base_wape:.3f}  ({n_base} series)")  # fmt: skip
    print(f"costcast engine:    {ours_s:7.1f}s  {n / ours_s:6.2f} series/s  WAPE@28 {ours_wape:.3f}"
          f"  (on the same {n_base}; --forecasters {args.models}: {chosen})")  # fmt: skip
    if n_base < n:
        print(f"costcast engine WAPE@28 on all {n} series: {all_wape:.3f}")
    ratio = (n / ours_s) / (n_base / base_s)
    print(f"throughput ratio (costcast / plain, series per second): {ratio:.2f}  "
          f"(goal >= 10, WAPE <= 0.211)")  # fmt: skip
    print(f"peak RSS (largest local process): {rss:,.0f} MB")
    if client is not None:
        peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        for worker, mb in sorted(peaks.items()):
            print(f"peak RSS of worker {worker}: {mb:,.0f} MB")
        client.close()


if __name__ == "__main__":
    main()
