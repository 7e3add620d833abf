"""Forecast accuracy metrics, defined once, and ``evaluate`` over cross-validation frames.

The metrics take plain arrays over the same days: ``actual``, the point
forecast ``mean``, and interval bounds or quantiles. Days where either side
is NaN are left out. ``evaluate`` applies them to a long cross-validation
frame (``unique_id, ds, cutoff, y`` and a column per model, with
``<model>-lo-80`` / ``<model>-hi-80`` and ``<model>-q10`` ... ``-q90``), the
layout statsforecast and utilsforecast use.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

DECILES = np.arange(1, 10) / 10


def _known(*arrays: np.ndarray) -> np.ndarray:
    mask = np.ones(np.shape(arrays[0]), dtype=bool)
    for a in arrays:
        mask &= ~np.isnan(a)
    return mask


def wape(actual: np.ndarray, mean: np.ndarray) -> float:
    """Weighted absolute percentage error: sum |actual - mean| / sum |actual| (a fraction)."""
    k = _known(actual, mean)
    total = np.abs(actual[k]).sum()
    return float(np.abs(actual[k] - mean[k]).sum() / total) if total > 0 else float("nan")


def bias(actual: np.ndarray, mean: np.ndarray) -> float:
    """WAPE's signed twin: sum (mean - actual) / sum |actual| (a fraction; -0.2: the forecasts
    add up to 20% less than came), what a budget set on their sum would be off by."""
    k = _known(actual, mean)
    total = np.abs(actual[k]).sum()
    return float((mean[k] - actual[k]).sum() / total) if total > 0 else float("nan")


def mae(actual: np.ndarray, mean: np.ndarray) -> float:
    k = _known(actual, mean)
    return float(np.abs(actual[k] - mean[k]).mean()) if k.any() else float("nan")


def seasonal_scale(history: np.ndarray, season: int = 7) -> float:
    """In-sample mean absolute change against the same weekday a week earlier (MASE's scale),
    over the pairs of days both known."""
    changes = np.abs(history[season:] - history[:-season])
    known = ~np.isnan(changes)
    return float(changes[known].mean()) if known.any() else float("nan")


def mase_scale(history: np.ndarray) -> float:
    """MASE's denominator: the in-sample weekly seasonal naive's mean absolute error, or the
    mean level where the series is too short or too flat for one (never 0)."""
    scale = seasonal_scale(history)
    if not scale > 0:
        scale = float(np.nanmean(np.abs(history))) if (~np.isnan(history)).any() else 0.0
    return scale if scale > 0 else 1.0


def typical_change(history: np.ndarray, season: int = 7, top: float = 0.05) -> float:
    """MASE's scale with the largest ``top`` of the weekly changes counted at the size of
    the smallest of them: the change of a typical day, which one burst does not set (a
    day of 10,000x made the plain mean a hundred times the usual change)."""
    if len(history) <= season:
        return mase_scale(history)
    changes = np.abs(history[season:] - history[:-season])
    value = float(np.minimum(changes, np.quantile(changes, 1 - top)).mean())
    return value if value > 0 else mase_scale(history)


def mase(actual: np.ndarray, mean: np.ndarray, scale: float) -> float:
    """Mean absolute scaled error: the forecast's MAE over the in-sample naive's."""
    return mae(actual, mean) / scale


def coverage(actual: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    """Share of days whose actual lies inside [lo, hi]."""
    k = _known(actual, lo, hi)
    if not k.any():
        return float("nan")
    a = actual[k]
    # Cost reaches here by two roads (SQL sums, numpy products): allow rounding noise.
    tol = 1e-9 * np.maximum(1.0, np.abs(a))
    return float(((a >= lo[k] - tol) & (a <= hi[k] + tol)).mean())


def pinball(actual: np.ndarray, quantiles: np.ndarray, levels: np.ndarray = DECILES) -> float:
    """Mean pinball (quantile) loss over ``levels``; ``quantiles`` is (levels, days)."""
    levels = np.asarray(levels)[:, None]
    diff = actual[None, :] - quantiles
    loss = np.maximum(levels * diff, (levels - 1) * diff)
    k = _known(actual[None, :] + quantiles)
    return float(loss[k].mean()) if k.any() else float("nan")


def path_summary(paths: np.ndarray) -> dict[str, np.ndarray]:
    """Mean, 80% bounds and deciles of sample paths ``(paths, days)``, per day."""
    q = np.quantile(paths, DECILES, axis=0)
    return {"mean": paths.mean(axis=0), "lo-80": q[0], "hi-80": q[-1], "q": q}


def evaluate(
    cv: pd.DataFrame,
    models: Sequence[str],
    scales: pd.Series | None = None,
    id_col: str = "unique_id",
) -> pd.DataFrame:
    """One row per series and model: ``wape``, ``bias``, ``mase`` (with ``scales``: the MASE
    denominator per ``(unique_id, cutoff)``), ``coverage_80``, ``pinball``, ``forecasts``
    (days scored). MASE is the mean over cutoffs of each cutoff's MAE over its scale."""
    rows = []
    for uid, part in cv.groupby(id_col, sort=True):
        actual = part["y"].to_numpy(float)
        for model in models:
            mean = part[model].to_numpy(float)
            row = {id_col: uid, "model": model, "wape": wape(actual, mean),
                   "bias": bias(actual, mean),
                   "forecasts": int(_known(actual, mean).sum())}  # fmt: skip
            if scales is not None:
                per_cutoff = [
                    mase(g["y"].to_numpy(float), g[model].to_numpy(float), scales[(uid, c)])
                    for c, g in part.groupby("cutoff")
                ]
                row["mase"] = float(np.nanmean(per_cutoff)) if per_cutoff else float("nan")
            if f"{model}-lo-80" in part:
                row["coverage_80"] = coverage(
                    actual, part[f"{model}-lo-80"].to_numpy(float),
                    part[f"{model}-hi-80"].to_numpy(float),
                )  # fmt: skip
            deciles = [f"{model}-q{round(q * 100)}" for q in DECILES]
            if all(c in part for c in deciles):
                row["pinball"] = pinball(actual, part[deciles].to_numpy(float).T)
            rows.append(row)
    return pd.DataFrame(rows)
