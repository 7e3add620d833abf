"""A run's own backtest score, from the windows its intervals were calibrated on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from forecast.chunk import Outcome
from forecast.dependence import choose_alpha, costliest, held_out, repair
from forecast.engine import EngineResult
from forecast.metrics import bias, coverage, wape


def largest_miss(outcomes: Sequence[Outcome], window: int, cutoff: int) -> dict[str, Any] | None:
    """The series whose point forecast from ``window`` missed its cost by the most dollars:
    its forecast against what came (``forecast_vs_actual``, -0.34 for 34% low), and how old
    it was at the cutoff. A window that ran off is mostly one series' doing, often one
    launched shortly before its cutoff; the run says which."""
    misses = []
    for o in outcomes:
        actual = float(np.nansum(o.actual_cv[window] * o.unit_cv[window]))
        forecast = float(np.nansum(o.point_cv[window] * o.unit_cv[window]))
        if np.isfinite(forecast - actual) and actual > 0:
            misses.append((abs(forecast - actual), forecast / actual - 1, o))
    if not misses:
        return None
    size, ratio, worst = max(misses, key=lambda m: m[0])
    return {
        "series": worst.uid,
        "forecast_vs_actual": ratio,
        "missed_usd": size,
        "days_old_at_cutoff": worst.history_days - cutoff,
    }


def run_score(result: EngineResult, seed: int = 0, n_paths: int = 100) -> dict[str, Any]:
    """The run's own backtest on total daily cost, from its full cross-validation windows.

    Point forecasts are out of sample (each fitted before its cutoff). Each window's
    interval is drawn from the other windows' errors only (leave one window out), and its
    series paired for the total as the other windows asked (``forecast.dependence``), so
    its coverage is out of sample too. Cost is at the prices of the first forecast day."""
    bank, plan, paired = result.bank, result.plan, result.paired
    outcomes = [result.outcomes[uid] for uid in result.forecasts]
    full = [int(j) for j in np.flatnonzero(bank.reaches == plan.cv_horizon)]
    actual_all, mean_all, lo_all, hi_all = [], [], [], []
    by_window: list[dict[str, Any]] = []
    used: set[str] = set()
    # the costliest series re-paired one by one, the rest as one block of their sum
    apart = set(costliest(outcomes))
    for held in held_out(bank, outcomes, full, seed, n_paths, apart=apart):
        alpha = choose_alpha(paired.hits, paired.days, leave_out=held.window)
        total = repair(held.paths, alpha).sum(axis=0)
        used.update(o.uid for i, o in enumerate(outcomes) if bank.has[i, held.window])
        actual_all.append(held.actual)
        mean_all.append(total.mean(axis=0))
        lo, hi = np.quantile(total, [0.1, 0.9], axis=0)
        lo_all.append(lo)
        hi_all.append(hi)
        # two windows of a long horizon: one whose level ran off moves the whole by tens of
        # points, so each is said apart
        cutoff = int(plan.cutoffs[held.window])
        by_window.append({"cutoff_days_before": cutoff,
                          "coverage_80": coverage(held.actual, lo, hi),
                          "bias": bias(held.actual, mean_all[-1]),
                          "largest_miss": largest_miss(outcomes, held.window, cutoff)})  # fmt: skip
    if not actual_all:
        return {"series": 0}
    actual, mean = np.concatenate(actual_all), np.concatenate(mean_all)
    return {
        "level": "total",
        "horizon": plan.cv_horizon,
        "windows": len(actual_all),
        "series": len(used),
        "wape": wape(actual, mean),
        "bias": bias(actual, mean),
        "coverage_80": coverage(actual, np.concatenate(lo_all), np.concatenate(hi_all)),
        "by_window": by_window,
    }
