"""A run's own backtest score, from the windows its intervals were calibrated on."""

from __future__ import annotations

from typing import Any

import numpy as np

from forecast.dependence import choose_alpha, costliest, held_out, repair
from forecast.engine import EngineResult
from forecast.metrics import coverage, wape


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
        by_window.append({"cutoff_days_before": int(plan.cutoffs[held.window]),
                          "coverage_80": coverage(held.actual, lo, hi)})  # fmt: skip
    if not actual_all:
        return {"series": 0}
    actual, mean = np.concatenate(actual_all), np.concatenate(mean_all)
    return {
        "level": "total",
        "horizon": plan.cv_horizon,
        "windows": len(actual_all),
        "series": len(used),
        "wape": wape(actual, mean),
        "coverage_80": coverage(actual, np.concatenate(lo_all), np.concatenate(hi_all)),
        "by_window": by_window,
    }
