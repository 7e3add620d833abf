"""Token intensity forecasts: tokens of each kind per unit of volume, with their trend.

Prompts grow: a system prompt gains examples, a retrieval step returns more
context, an agent keeps more history. That slow growth is the most common
cause of a surprise bill, so intensity is forecast, not frozen:

- the **level** is the volume-weighted mean over the last 28 days;
- the **trend** is a weighted least-squares slope of log weekly intensity over
  the last 12 weeks (weeks weighted by their volume), shrunk towards zero by
  its own noise (``b * b^2 / (b^2 + se^2)``: a slope as large as its standard
  error keeps half its size, a clear one nearly all);
- the trend is **damped** (factor 0.995 a day, as in damped-trend exponential
  smoothing), so no slope compounds without end, and the total change over
  any horizon is capped at 3x either way.

Volume is requests where the source counts them, else tokens: then the
"intensity" of each kind is its share of all tokens, forecast the same way.
How wrong these forecasts were in the past is part of each series'
calibration errors (``forecast.intervals``), so the sample paths carry the
intensity's uncertainty together with the volume's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

LEVEL_DAYS = 28
TREND_WEEKS = 12
MIN_TREND_WEEKS = 6
DAMPING = 0.995  # per day
MAX_CHANGE = 3.0
UNIT_MARGIN = 0.05  # how much better requests must forecast cost to be the volume


def intensity_forecast(volume: np.ndarray, tokens: np.ndarray, h: int) -> np.ndarray:
    """(kinds, h) tokens per unit of volume for the ``h`` days after the arrays end.

    ``volume`` is (days,), ``tokens`` (kinds, days) over the same days.
    """
    kinds = tokens.shape[0]
    recent = slice(max(0, len(volume) - LEVEL_DAYS), None)
    v = volume[recent].sum()
    t = tokens[:, recent].sum(axis=1)
    if v <= 0:  # idle for four weeks: the intensity it had when it last ran
        v, t = volume.sum(), tokens.sum(axis=1)
    if v <= 0:
        return np.zeros((kinds, h))
    level = t / v
    slope = _weekly_slopes(volume, tokens)  # per week, log scale, shrunk
    beta = slope / 7.0
    # the level is the mean of the last four weeks, centred two weeks before the first
    # forecast day: undamped up to now, damped from the first forecast day on
    steps = np.arange(1, h + 1)
    damped = DAMPING * (1 - DAMPING**steps) / (1 - DAMPING)
    change = np.exp(beta[:, None] * (LEVEL_DAYS / 2 + damped[None, :]))
    return np.asarray(level[:, None] * np.clip(change, 1 / MAX_CHANGE, MAX_CHANGE))


def _weekly_slopes(volume: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """Shrunk WLS slope of log weekly intensity per kind (0 where there is too little)."""
    weeks = min(TREND_WEEKS, len(volume) // 7)
    kinds = tokens.shape[0]
    if weeks < MIN_TREND_WEEKS:
        return np.zeros(kinds)
    n = weeks * 7
    v = volume[-n:].reshape(weeks, 7).sum(axis=1)
    t = tokens[:, -n:].reshape(kinds, weeks, 7).sum(axis=2)
    x = np.arange(weeks, dtype=float)
    out = np.zeros(kinds)
    for k in range(kinds):
        use = (v > 0) & (t[k] > 0)
        if use.sum() < MIN_TREND_WEEKS:
            continue
        w = v[use] / v[use].sum()
        xs, ys = x[use], np.log(t[k][use] / v[use])
        xm, ym = w @ xs, w @ ys
        sxx = w @ (xs - xm) ** 2
        if sxx <= 0:
            continue
        b = (w @ ((xs - xm) * (ys - ym))) / sxx
        m = use.sum()
        resid = ys - ym - b * (xs - xm)
        sigma2 = (w @ resid**2) * m / (m - 2)  # weights sum to one
        se2 = sigma2 * (w**2 @ (xs - xm) ** 2) / sxx**2
        out[k] = b**3 / (b**2 + se2) if b != 0 else 0.0
    return out


def priced_volume(tokens: np.ndarray, intensity: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The volume that, at the forecast intensity, would have used these tokens, each
    kind weighted by its price: ``sum_k tokens_k p_k / sum_k intensity_k p_k``.

    The difference from the forecast volume is then the error in cost, in units of
    volume: a mis-forecast intensity shows up in it as much as a mis-forecast volume.
    ``tokens`` and ``intensity`` are (kinds, days); ``weights`` (kinds,). Days where
    the forecast prices nothing give nan."""
    unit = weights @ intensity
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(unit > 0, (weights @ tokens) / unit, np.nan)


def better_unit(
    requests: np.ndarray | None,
    tokens: np.ndarray,
    weights: np.ndarray,
    cutoffs: Sequence[int],
    horizon: int,
    min_train: int = 21,
) -> str:
    """``"requests"`` or ``"tokens"``: which volume, times its forecast intensity, would
    have forecast priced tokens better from ``cutoffs`` (days before the end), each with
    the same plain forecast of volume (its weekday means over the last four weeks).

    Requests win where they forecast cost better by ``UNIT_MARGIN`` at least (tokens per
    request steadier than the token count); tokens win ties, and where requests are
    missing, never count anything, or vary without telling cost."""
    total = tokens.sum(axis=0)
    if requests is None or np.isnan(requests).any() or requests.sum() <= 0:
        return "tokens"
    if total.sum() <= 0:
        return "requests"
    cost = weights @ tokens
    errors = {}
    for unit, volume in (("requests", requests), ("tokens", total)):
        error = 0.0
        for cut in cutoffs:
            end, n = len(volume) - cut, min(horizon, cut)
            if end < min_train:
                continue
            reference = _weekday_means(volume[:end], n)
            unit_cost = weights @ intensity_forecast(volume[:end], tokens[:, :end], n)
            error += np.abs(cost[end : end + n] - reference * unit_cost).sum()
        errors[unit] = error
    # Cost is linear in tokens: forecasting them is one error, requests times tokens per
    # request two. Requests must earn their place.
    noise = 1e-9 * np.abs(cost).sum()  # rounding differences are not a win
    better = errors["requests"] < (1 - UNIT_MARGIN) * errors["tokens"] - noise
    return "requests" if better else "tokens"


def _weekday_means(past: np.ndarray, h: int) -> np.ndarray:
    tail = past[-LEVEL_DAYS:]
    residue = (np.arange(len(tail)) - len(tail)) % 7  # 0: the weekday of the next day
    means = np.bincount(residue, tail, 7) / np.maximum(np.bincount(residue, minlength=7), 1)
    return means[np.arange(h) % 7]
