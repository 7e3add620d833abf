"""Rolling-origin backtests of daily cost, per model and aggregation level.

For each of ``windows`` cutoffs (the last one ``horizon`` days before the
as-of date, earlier ones ``step`` days apart), every series is fitted on the
history up to the cutoff, priced with the drivers and book known then, and
its next ``horizon`` days compared with what was spent. ``auto`` is scored
as it would have chosen at each cutoff. Series born after a cutoff cannot be
forecast from it: their spend counts as error, as it would have in real life.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from forecast.aggregate import parse_levels
from forecast.engine import (
    ALL_MODELS,
    ENSEMBLE,
    SeriesTask,
    calibrate,
    run_tasks,
    series_seed,
)
from forecast.errors import CostcastError
from forecast.ledger import Ledger
from forecast.metrics import coverage, pinball, seasonal_scale, wape
from forecast.pricing.book import PriceBook
from forecast.series import (
    SERIES_KEYS,
    daily_drivers,
    intensities,
    key_id,
    last_complete_day,
    tier_mix,
    unit_costs,
)

# Every model backtest reports: the candidates, their mixture, and the per-series choice.
SCORED = (*ALL_MODELS, ENSEMBLE, "auto")
RESULT_KEYS = ("model", "level", "horizon", "windows", "wape", "mase", "coverage_80", "pinball")


def _group_of(key: tuple, levels: Sequence[str]) -> tuple:
    named = dict(zip(SERIES_KEYS, key, strict=True))
    return tuple(named[level] for level in levels) or ("total",)


def backtest(
    ledger: Ledger,
    book: PriceBook,
    *,
    horizon: int = 28,
    windows: int = 8,
    step: int | None = None,
    by: str | Sequence[str] | None = None,
    as_of: dt.date | None = None,
    n_paths: int = 100,
    seed: int = 0,
    jobs: int | None = None,
    dask_client=None,
    on_window: Callable[[dt.date], None] | None = None,
) -> pd.DataFrame:
    """One record per model (every model and ``auto``) with the metrics of ``RESULT_KEYS``."""
    levels = parse_levels(by)
    step = step or horizon
    if horizon < 1 or windows < 1 or step < 1:
        raise CostcastError("horizon, windows and step must be at least 1", field="--windows")
    as_of = as_of or last_complete_day(ledger)
    drivers = daily_drivers(ledger, book, as_of)
    first_day = drivers["ds"].min().date()
    cutoffs = [
        as_of - dt.timedelta(days=horizon + step * (windows - 1 - i)) for i in range(windows)
    ]
    if cutoffs[0] - first_day < dt.timedelta(days=28):
        raise CostcastError(
            f"{windows} windows of {horizon} days {step} days apart reach back to "
            f"{cutoffs[0]}, but the ledger starts on {first_day}: use fewer windows",
            field="--windows",
        )
    actual_by: dict[tuple, list] = defaultdict(list)
    paths_by: dict[tuple, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    scale_by: dict[tuple, list] = defaultdict(list)
    daily = drivers.assign(
        group=[_group_of(k, levels) for k in drivers[list(SERIES_KEYS)].itertuples(index=False)]
    )
    for cutoff in cutoffs:
        if on_window:
            on_window(cutoff)
        _one_window(
            ledger, book, drivers, daily, cutoff, horizon, levels, n_paths, seed, jobs,
            dask_client, actual_by, paths_by, scale_by,
        )  # fmt: skip
    records = []
    for name in SCORED:
        actual, paths, scaled = [], [], []
        for group, actuals in actual_by.items():
            a = np.concatenate(actuals)
            p = np.concatenate(paths_by[group][name], axis=1)
            actual.append(a)
            paths.append(p)
            scale = np.mean(scale_by[group])
            if scale > 0:
                scaled.append(np.abs(a - p.mean(axis=0)).mean() / scale)
        a, p = np.concatenate(actual), np.concatenate(paths, axis=1)
        records.append(
            {
                "model": name,
                "level": ",".join(levels) or "total",
                "horizon": horizon,
                "windows": windows,
                "wape": wape(a, p),
                "mase": float(np.mean(scaled)) if scaled else None,
                "coverage_80": coverage(a, p),
                "pinball": pinball(a, p),
            }
        )
    return pd.DataFrame(records, columns=list(RESULT_KEYS))


def _one_window(
    ledger, book, drivers, daily, cutoff, horizon, levels, n_paths, seed, jobs, dask_client,
    actual_by, paths_by, scale_by,
) -> None:  # fmt: skip
    cut = pd.Timestamp(cutoff)
    history = drivers[drivers["ds"] <= cut]
    days = pd.date_range(cutoff + dt.timedelta(days=1), periods=horizon, freq="D")
    keys = intensities(history, cutoff)
    per_unit = unit_costs(book, keys, tier_mix(ledger, cutoff), days)
    tasks = [
        SeriesTask(
            key=key_id(*k), ds=pd.DatetimeIndex(part["ds"]), y=part["volume"].to_numpy(float),
            h=horizon, n_paths=n_paths, seed=series_seed(seed, key_id(*k)),
            candidates=ALL_MODELS, keep_candidates=True,
        )
        for k, part in history.groupby(list(SERIES_KEYS), sort=True)
    ]  # fmt: skip
    results = run_tasks(tasks, jobs=jobs, dask_client=dask_client)
    calibrate(tasks, results)  # auto is scored as forecasts are made: calibrated
    window = daily[(daily["ds"] > cut) & (daily["ds"] <= days[-1])]
    groups = sorted(
        set(window["group"])
        | {_group_of(tuple(k), levels) for k in keys[list(SERIES_KEYS)].itertuples(index=False)}
    )
    sums = {g: {name: np.zeros((n_paths, horizon)) for name in SCORED} for g in groups}
    for key in keys.itertuples(index=False):
        kid = key_id(key.team, key.feature, key.model)
        group = _group_of((key.team, key.feature, key.model), levels)
        result = results[kid]
        unit = per_unit.loc[kid].to_numpy()[None, :]
        for name, paths in result.candidate_paths.items():
            sums[group][name] += paths * unit
        sums[group]["auto"] += result.paths * unit
    past = daily[daily["ds"] <= cut]
    for group in groups:
        spent = window[window["group"] == group].groupby("ds")["cost"].sum()
        actual_by[group].append(spent.reindex(days, fill_value=0.0).to_numpy())
        for name, total in sums[group].items():
            paths_by[group][name].append(total)
        history_cost = past[past["group"] == group].groupby("ds")["cost"].sum().to_numpy()
        scale_by[group].append(seasonal_scale(history_cost) if len(history_cost) > 7 else np.nan)
