"""A run's own backtest score, from the windows its intervals were calibrated on."""

from __future__ import annotations

from typing import Any

import numpy as np

from forecast.engine import EngineResult
from forecast.intervals import BATCH
from forecast.metrics import coverage, wape
from forecast.paths import lowest_ratio, paths_from


def run_score(result: EngineResult, seed: int = 0, n_paths: int = 100) -> dict[str, Any]:
    """The run's own backtest on total daily cost, from its full cross-validation windows.

    Point forecasts are out of sample (each fitted before its cutoff). Each window's
    interval is drawn from the other windows' errors only (leave one window out), so
    its coverage is out of sample too. Cost is at the prices of the first forecast day."""
    bank, plan = result.bank, result.plan
    outcomes = [result.outcomes[uid] for uid in result.forecasts]
    H = plan.cv_horizon
    rng = np.random.default_rng(seed)
    actual_all, mean_all, lo_all, hi_all, used = [], [], [], [], set()
    for j in np.flatnonzero(bank.reaches == H):
        others = np.array([w for w in range(bank.windows) if w != j])
        members = [(i, o) for i, o in enumerate(outcomes) if bank.has[i, j]]
        if not len(others) or not members:
            continue
        draws = others[rng.integers(0, len(others), n_paths)]
        seeds = np.array([rng.integers(2**31) for _ in members], dtype=np.int64)
        total_actual = np.zeros(H)
        total_paths = np.zeros((n_paths, H))
        for start in range(0, len(members), BATCH):  # drawn as the run's own paths are
            part = members[start : start + BATCH]
            rows = np.array([i for i, _ in part])
            z = bank.draw_many(rows, np.array([o.cls for _, o in part]), draws,
                               seeds[start : start + BATCH], H)  # fmt: skip
            # each floor from the other windows only, as the draws are
            floors = [lowest_ratio(np.delete(o.actual_cv, j, 0), np.delete(o.point_cv, j, 0))
                      for _, o in part]  # fmt: skip
            paths = paths_from(np.stack([o.point_cv[j] for _, o in part]),
                               np.array([o.levels_cv[j] for _, o in part]), z,
                               np.array(floors))  # fmt: skip
            for (_, o), series_paths in zip(part, paths, strict=True):
                used.add(o.uid)
                unit = np.nan_to_num(o.unit_cv[j])
                total_actual += o.actual_cv[j] * unit
                total_paths += series_paths * unit
        actual_all.append(total_actual)
        mean_all.append(total_paths.mean(axis=0))
        lo, hi = np.quantile(total_paths, [0.1, 0.9], axis=0)
        lo_all.append(lo)
        hi_all.append(hi)
    if not actual_all:
        return {"series": 0}
    actual, mean = np.concatenate(actual_all), np.concatenate(mean_all)
    return {
        "level": "total",
        "horizon": H,
        "windows": len(actual_all),
        "series": len(used),
        "wape": wape(actual, mean),
        "coverage_80": coverage(actual, np.concatenate(lo_all), np.concatenate(hi_all)),
    }
