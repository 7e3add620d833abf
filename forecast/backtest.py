"""Rolling-origin backtests of daily cost, per forecaster and aggregation level.

``cross_validation`` forecasts from each of ``windows`` cutoffs (the last one
``horizon`` days before the as-of date, earlier ones ``step`` days apart)
exactly as a run made that day would have: every series fitted on the
history up to the cutoff, with its own inner cross-validation to choose a
forecaster and calibrate its paths, priced with the intensities and book
known then. It returns one long frame, ``unique_id`` (the group), ``ds``,
``cutoff``, ``y`` (the cost spent) and per forecaster its mean, 80% bounds,
deciles and ``-stood_in`` (auto's forecast stood in for a series of the
group, below); ``backtest`` scores it with ``forecast.metrics``.

Every candidate is scored on every series (no costly-model budget here), and
``auto`` as it would have chosen. Where a candidate could not fit a series
from a cutoff, that series counts with auto's forecast in the candidate's
group sums, and the table says on how many series that happened. Series born
after a cutoff cannot be forecast from it: their spend counts as error, as
it would have in real life.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from forecast.aggregate import parse_levels
from forecast.coverage import default_as_of
from forecast.engine import EngineResult, run_engine
from forecast.errors import CostcastError
from forecast.ledger import Ledger
from forecast.metrics import DECILES, bias, coverage, mase_scale, path_summary, pinball, wape
from forecast.models import AUTO, resolve_forecasters
from forecast.pricing.book import PriceBook
from forecast.runs import RunSettings, driver_series, engine_params
from forecast.series import SERIES_KEYS, DriverSeries, priced_drivers, tier_mix, usd_per_unit

RESULT_KEYS = ("model", "level", "horizon", "windows", "wape", "bias", "mase", "coverage_80",
               "pinball", "series_skipped")  # fmt: skip
MIN_HISTORY = 28  # days before the first cutoff


def _group_of(key: tuple[Any, ...], levels: Sequence[str]) -> str:
    named = dict(zip(SERIES_KEYS, key, strict=True))
    return "|".join(named[level] for level in levels) or "total"


# Long on purpose: one frame built in the order statsforecast users read it; its steps share the engine's result.
def cross_validation(
    ledger: Ledger,
    book: PriceBook,
    *,
    horizon: int = 28,
    windows: int = 8,
    step: int | None = None,
    by: str | Sequence[str] | None = None,
    as_of: dt.date | None = None,
    settings: RunSettings | None = None,
    jobs: int | None = None,
    dask_client: Any = None,
    on_window: Callable[[dt.date], None] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """(cross-validation frame, per forecaster the series-cutoffs it was skipped on)."""

    settings = settings or RunSettings(n_paths=100)
    levels = parse_levels(by)
    as_of = as_of or default_as_of(ledger)[0]
    # as a forecast does: models the book cannot price are left out
    drivers, _ = priced_drivers(ledger, book, as_of)
    cutoffs = _cutoffs(drivers, as_of, horizon, windows, step or horizon)
    candidates = resolve_forecasters(settings.forecasters)
    names = [*candidates, "ensemble", AUTO]
    group = [_group_of(k, levels) for k in drivers[list(SERIES_KEYS)].itertuples(index=False)]
    cost_by = drivers.assign(group=group).groupby(["group", "ds"])[["cost"]].sum()
    frames: list[pd.DataFrame] = []
    skipped: dict[str, int] = {}  # forecaster -> series it could not fit
    for cutoff in cutoffs:
        if on_window:
            on_window(cutoff)
        cut = pd.Timestamp(cutoff)
        history = drivers[drivers["ds"] <= cut]
        days = pd.date_range(cut + pd.Timedelta(days=1), periods=horizon, freq="D")
        series = driver_series(history, book, tier_mix(ledger, cutoff), days, candidates,
                               settings, horizon)  # fmt: skip
        result = run_engine(
            [s.input for s in series], horizon, end=cut, n_windows=settings.backtest_windows,
            step=settings.backtest_step, n_paths=settings.n_paths, seed=settings.seed,
            params=engine_params(settings), keep_candidates=True, jobs=jobs, dask_client=dask_client,
        )  # fmt: skip
        sums, stood_in = _group_costs(series, result, levels, names, skipped)
        in_window = cost_by.index.get_level_values("ds").isin(days)
        present = set(cost_by.index.get_level_values("group")[in_window])
        for g in sorted(set(sums) | present):
            daily = cost_by["cost"].get(g, pd.Series(dtype=float))
            empty = np.zeros((settings.n_paths, horizon))
            frames.append(_window_frame(g, daily, cut, days, {
                name: sums.get(g, {}).get(name, empty) for name in names}, stood_in.get(g, set())))  # fmt: skip
    return pd.concat(frames, ignore_index=True), skipped


def _cutoffs(drivers: pd.DataFrame, as_of: dt.date, horizon: int, windows: int,
             step: int) -> list[dt.date]:  # fmt: skip
    """The windows' cutoffs, ``step`` days apart, the last ``horizon`` days before
    ``as_of``; an error where they reach back too far for the ledger."""
    if horizon < 1 or windows < 1 or step < 1:
        raise CostcastError("horizon, windows and step must be at least 1", param="windows")
    first_day = drivers["ds"].min().date()
    # in whole days first: a reach of a million days has no date to name
    reach = horizon + step * (windows - 1)
    if reach > (as_of - first_day).days - (MIN_HISTORY - 1):
        back = f"to {as_of - dt.timedelta(days=reach)}" if reach < 100_000 else f"{reach:,} days"
        raise CostcastError(
            f"{windows} windows of {horizon} days {step} days apart reach back {back}, "
            f"but the ledger starts on {first_day}: a backtest needs {MIN_HISTORY} days "
            "before its first cutoff, so use fewer or shorter windows",
            param="windows",
        )
    return [as_of - dt.timedelta(days=horizon + step * (windows - 1 - i)) for i in range(windows)]


def _group_costs(series: Sequence[DriverSeries], result: EngineResult, levels: Sequence[str],
                 names: list[str], skipped: dict[str, int],
                 ) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, set[str]]]:  # fmt: skip
    """Per group and forecaster, the cost paths of one window summed over the group's
    series; and per group, the candidates ``auto`` stood in for (a series they could not
    fit), each counted in ``skipped``."""
    sums: dict[str, dict[str, np.ndarray]] = {}
    stood_in: dict[str, set[str]] = {}
    for s in series:
        f = result.forecasts[s.input.uid]
        unit = usd_per_unit(f.intensity, s.prices)
        g = _group_of((s.team, s.feature, s.model), levels)
        for name in names:
            paths = f.paths if name == AUTO else f.candidate_paths.get(name)
            if paths is None:
                skipped[name] = skipped.get(name, 0) + 1
                stood_in.setdefault(g, set()).add(name)
                paths = f.paths
            into = sums.setdefault(g, {})
            into[name] = into.get(name, 0.0) + paths * unit[None, :]
    return sums, stood_in


def _window_frame(group: str, daily: pd.Series, cut: pd.Timestamp, days: pd.DatetimeIndex,
                  paths: dict[str, np.ndarray], stood_in: set[str]) -> pd.DataFrame:  # fmt: skip
    """One group's rows of the cross-validation frame for one window: the actual cost,
    the MASE scale of the days before, and each forecaster's mean, 80% interval and
    deciles."""
    columns = {"unique_id": group, "ds": days, "cutoff": cut,
               "y": daily.reindex(days, fill_value=0.0).to_numpy(),
               "scale": mase_scale(daily[daily.index <= cut].to_numpy())}  # fmt: skip
    for name, drawn in paths.items():
        summary = path_summary(drawn)
        columns[name] = summary["mean"]
        columns[f"{name}-lo-80"], columns[f"{name}-hi-80"] = summary["lo-80"], summary["hi-80"]
        for q, values in zip(DECILES, summary["q"], strict=True):
            columns[f"{name}-q{round(q * 100)}"] = values
        columns[f"{name}-stood_in"] = name in stood_in
    return pd.DataFrame(columns)


def backtest(ledger: Ledger, book: PriceBook, *, horizon: int = 28, windows: int = 8,
             by: str | Sequence[str] | None = None, **options: Any) -> pd.DataFrame:  # fmt: skip
    """One record per forecaster (each candidate, the ensemble and ``auto``) with the
    metrics of ``RESULT_KEYS``, pooled over groups and cutoffs; MASE is the mean over
    groups of each group's MAE over its in-sample weekly-naive MAE."""
    cv, skipped = cross_validation(ledger, book, horizon=horizon, windows=windows, by=by, **options)
    levels = parse_levels(by)
    names = [c for c in cv.columns if c not in ("unique_id", "ds", "cutoff", "y", "scale")
             and "-" not in c]  # fmt: skip
    actual = cv["y"].to_numpy()
    records = []
    for name in names:
        mean = cv[name].to_numpy()
        per_group = (cv.assign(err=np.abs(actual - mean) / cv["scale"])
                     .groupby("unique_id")["err"].mean())  # fmt: skip
        deciles = cv[[f"{name}-q{round(q * 100)}" for q in DECILES]].to_numpy().T
        records.append({
            "model": name, "level": ",".join(levels) or "total", "horizon": horizon,
            "windows": windows, "wape": wape(actual, mean), "bias": bias(actual, mean),
            "mase": float(per_group.mean()),
            "coverage_80": coverage(actual, cv[f"{name}-lo-80"].to_numpy(),
                                    cv[f"{name}-hi-80"].to_numpy()),
            "pinball": pinball(actual, deciles), "series_skipped": skipped.get(name, 0),
        })  # fmt: skip
    return pd.DataFrame(records, columns=list(RESULT_KEYS))
