"""Aggregates of a forecast run: sums of sample paths per group and fiscal period.

Every table is built the same way: for each path, add up cost over the
group's keys and the period's days (actuals for days up to the as-of date,
so the current period shows its landing), then take the mean and quantiles
across paths. Means therefore add up across groups exactly; quantiles are
real quantiles of each sum, and do not add up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from forecast.errors import CostcastError
from forecast.fiscal import FiscalCalendar
from forecast.ledger import Ledger
from forecast.periods import exceed_share, period_totals
from forecast.runstore import (
    ForecastRun,
    first_actual_day,
    load_actuals,
    load_paths,
    load_period_paths,
)
from forecast.schema import split_keys

if TYPE_CHECKING:
    from forecast.config import Config

LEVELS = ("team", "feature", "model")
OUTPUT_FREQS = ("day", "week", "month", "quarter", "year")
TOTAL = "total"


def quantile_name(q: float) -> str:
    """0.1 -> p10, 0.975 -> p97.5"""
    return f"p{round(float(q) * 100, 6):g}"


def parse_levels(by: str | Sequence[str] | None) -> list[str]:
    return split_keys(by, LEVELS, "forecast")


def period_sums(
    ledger: Ledger, run: ForecastRun, levels: Sequence[str], freq: str, calendar: FiscalCalendar
) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """(groups, sums, periods): per group of ``levels`` (every series when empty: one group),
    path and period, the cost summed over the group's series and the period's days, with
    the actuals of the period's days up to the as-of date added to every path."""
    kept = load_period_paths(ledger, run.run_id, freq, calendar)
    if kept is not None:
        keys, per_series, periods = kept  # actuals to date already in
    else:
        keys, cost = load_paths(ledger, run.run_id, "cost")  # (series, paths, days)
        days = pd.date_range(run.start, run.horizon_end, freq="D")
        per_series, periods = period_totals(cost, calendar.labels(days, freq).to_numpy())
    levels = list(levels)
    if levels:
        groups = keys[levels].drop_duplicates().sort_values(levels).reset_index(drop=True)
        index = keys[levels].merge(groups.reset_index(), on=levels, how="left")["index"]
    else:
        groups = pd.DataFrame(index=[0])
        index = pd.Series(np.zeros(len(keys), dtype=int))
    # one-hot (group x series) times (series x everything): the group sums in one product
    onehot = np.zeros((len(groups), len(keys)))
    onehot[index.to_numpy(), np.arange(len(keys))] = 1.0
    sums = (onehot @ per_series.reshape(len(keys), -1)).reshape(len(groups), *per_series.shape[1:])
    if kept is not None:
        return groups, sums, periods
    past = load_actuals(ledger, run.run_id, calendar.period_start(run.start, freq))
    if not past.empty:
        past["period"] = calendar.labels(past["ds"], freq).to_numpy()
        past = past.groupby([*levels, "period"], as_index=False)["cost"].sum()
        where = (
            groups.reset_index().merge(past, on=levels, how="inner")
            if levels
            else (past.assign(index=0))
        )
        for row in where.itertuples(index=False):
            if row.period in periods:
                sums[row.index, :, periods.index(row.period)] += row.cost
    return groups, sums, periods


def summarize(
    ledger: Ledger,
    run: ForecastRun,
    *,
    by: str | Sequence[str] | None = None,
    freq: str = "month",
    calendar: FiscalCalendar | None = None,
    budgets: Sequence[dict[str, Any]] = (),
    quantiles: Sequence[float] = (0.1, 0.5, 0.9),
) -> pd.DataFrame:
    """One row per group and period: mean, p10, p50, p90 (or the quantiles asked for),
    budget, p_exceed; plus total rows."""
    levels = parse_levels(by)
    if not quantiles or any(not 0 < q < 1 for q in quantiles):
        raise CostcastError("quantiles must lie strictly between 0 and 1", param="quantiles",
                            value=list(quantiles))  # fmt: skip
    if freq not in OUTPUT_FREQS:
        raise CostcastError(
            f"unknown period {freq!r}; choose from {', '.join(OUTPUT_FREQS)}", param="freq"
        )
    calendar = calendar or FiscalCalendar()
    groups, sums, periods = period_sums(ledger, run, levels, freq, calendar)
    total = sums.sum(axis=0, keepdims=True)  # (1, paths, periods)
    frames = []
    if levels:  # without --by, the total rows are all there is
        frames.append(_stats_frame(groups, sums, periods, quantiles))
    totals = pd.DataFrame({level: [TOTAL] for level in levels}, index=[0])
    frames.append(_stats_frame(totals, total, periods, quantiles))
    frame = pd.concat(frames, ignore_index=True)
    frame = _with_budgets(frame, levels, budgets, groups, sums, periods)
    covered = period_coverage(ledger, run, periods, freq, calendar)
    frame["days"] = frame["period"].map({p: c[0] for p, c in covered.items()})
    frame["partial"] = frame["period"].map({p: c[0] < c[1] for p, c in covered.items()})
    frame["run_id"] = run.run_id
    return frame


def period_coverage(
    ledger: Ledger, run: ForecastRun, periods: Sequence[str], freq: str, calendar: FiscalCalendar
) -> dict[str, tuple[int, int]]:
    """Per period: (days the numbers cover, days the period has). A period is covered by
    the actuals the run saw (from the ledger's first day) and its forecast days; the first
    and last periods of a run are often covered only in part, and say so."""
    first = first_actual_day(ledger, run.run_id)
    seen_from = max(first or run.start, calendar.period_start(run.start, freq))
    out = {}
    for label in periods:
        if freq in ("day", "week"):
            start = dt.date.fromisoformat(label)
            end = calendar.period_end(start, freq)
        else:
            start, end = calendar.parse_period(label)
        from_day, to_day = max(start, seen_from), min(end, run.horizon_end + dt.timedelta(days=1))
        out[label] = (max((to_day - from_day).days, 0), (end - start).days)
    return out


def _stats_frame(
    groups: pd.DataFrame, sums: np.ndarray, periods: list[str], quantiles: Sequence[float]
) -> pd.DataFrame:
    """Rows of (group, period) ordered by group then period, with mean and quantiles across
    paths (linear interpolation, as SQL's quantile_cont)."""
    n_groups, _, n_periods = sums.shape
    frame = groups.loc[groups.index.repeat(n_periods)].reset_index(drop=True)
    frame["period"] = periods * n_groups
    flat = sums.transpose(0, 2, 1).reshape(n_groups * n_periods, -1)  # (rows, paths)
    frame["mean"] = flat.mean(axis=1)
    for q, values in zip(quantiles, np.quantile(flat, list(quantiles), axis=1), strict=True):
        frame[quantile_name(q)] = values
    return frame


def _with_budgets(
    frame: pd.DataFrame,
    levels: Sequence[str],
    budgets: Sequence[dict[str, Any]],
    groups: pd.DataFrame,
    sums: np.ndarray,
    periods: list[str],
) -> pd.DataFrame:
    frame["budget"] = pd.NA
    frame["p_exceed"] = pd.NA
    for budget in budgets:
        if budget["period"] not in periods:
            continue
        scope = {k: budget.get(k) for k in LEVELS if budget.get(k)}
        if any(k not in levels for k in scope):
            continue  # a team budget says nothing about a by-model table
        match = pd.Series(frame["period"] == budget["period"], index=frame.index)
        for level in levels:
            match &= frame[level] == scope.get(level, TOTAL)
        if not match.any():
            continue
        inside = np.ones(len(groups), dtype=bool)
        for level, value in scope.items():
            inside &= (groups[level] == value).to_numpy()
        paths = sums[inside, :, periods.index(budget["period"])].sum(axis=0)
        frame.loc[match, "budget"] = budget["amount"]
        frame.loc[match, "p_exceed"] = exceed_share(paths, budget["amount"])
    return frame


def config_budgets(config: Config, ledger: Ledger, run_id: str) -> list[dict[str, Any]]:
    """The config's budgets, refusing any that name a team, feature or model the run lacks."""
    from forecast.runstore import run_series

    series = run_series(ledger, run_id)
    budgets = []
    for index, budget in enumerate(config.budgets):
        for level in LEVELS:
            value = getattr(budget, level)
            if value is not None and value not in set(series[level]):
                raise CostcastError(
                    f"budget for unknown {level} {value!r}",
                    file=str(config.source) if config.source else None,
                    field=f"budgets[{index}].{level}",
                    hint=f"the {level}s in the forecast are: {', '.join(sorted(set(series[level])))}",
                )
        budgets.append(budget.model_dump(exclude_none=True))
    return budgets
