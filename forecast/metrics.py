"""Forecast accuracy metrics over daily values, one signature each: (actual, paths) -> float.

``actual`` is ``(n,)``; ``paths`` is ``(n_paths, n)`` for the same days. The
point forecast is the mean of the paths; intervals and quantiles come from
the paths too.
"""

from __future__ import annotations

import numpy as np

DECILES = np.arange(1, 10) / 10


def wape(actual: np.ndarray, paths: np.ndarray) -> float:
    """Weighted absolute percentage error: sum |actual - mean| / sum |actual| (a fraction)."""
    total = np.abs(actual).sum()
    return float(np.abs(actual - paths.mean(axis=0)).sum() / total) if total > 0 else float("nan")


def mae(actual: np.ndarray, paths: np.ndarray) -> float:
    return float(np.abs(actual - paths.mean(axis=0)).mean())


def coverage(actual: np.ndarray, paths: np.ndarray, level: float = 0.8) -> float:
    """Share of days whose actual lies inside the central ``level`` interval."""
    lo, hi = np.quantile(paths, [(1 - level) / 2, (1 + level) / 2], axis=0)
    # Cost reaches here by two roads (SQL sums, numpy products): allow rounding noise.
    tol = 1e-9 * np.maximum(1.0, np.abs(actual))
    return float(((actual >= lo - tol) & (actual <= hi + tol)).mean())


def pinball(actual: np.ndarray, paths: np.ndarray, quantiles=DECILES) -> float:
    """Mean pinball (quantile) loss over the deciles, in the data's unit."""
    q = np.quantile(paths, quantiles, axis=0)  # (n_quantiles, n)
    diff = actual[None, :] - q
    losses = np.maximum(quantiles[:, None] * diff, (quantiles[:, None] - 1) * diff)
    return float(losses.mean())


def seasonal_scale(history: np.ndarray, season: int = 7) -> float:
    """In-sample mean absolute change against the same weekday a week earlier (MASE's scale)."""
    if len(history) <= season:
        return float("nan")
    return float(np.abs(history[season:] - history[:-season]).mean())
