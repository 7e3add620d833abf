"""Choosing a forecaster per series from its rolling-origin scores, or combining several.

Every candidate is scored by MASE over all the series' cross-validation
windows (mean absolute error of its point forecasts, scaled by the in-sample
weekly seasonal naive's). The **ensemble** is the day-by-day median of the
five best candidates' point forecasts (all of them where fewer are scored): a
median ignores the wildest members, so it is the robust choice when no single
model clearly wins, which on bursty usage, judged over a few weeks, is most of
the time. ``auto`` keeps the best single candidate only when it wins
clearly: by more than ``CLEAR_MARGIN`` over all windows *and* in at least
``CLEAR_WINS`` of the windows one by one (a win in one lucky window is not a
pattern); otherwise the ensemble. ``chosen_without`` replays the choice with each window
left out, for errors that calibrate the intervals out of sample.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from forecast.metrics import mase
from forecast.models import ENSEMBLE

ENSEMBLE_SIZE = 5
CLEAR_MARGIN = 0.10
CLEAR_WINS = 0.8  # share of the scored windows the single candidate must win


@dataclass
class Choice:
    name: str  # a candidate's name or ENSEMBLE
    members: tuple[str, ...]  # the candidates it combines (one for a single model)
    scores: dict[str, float]  # MASE per candidate and the ensemble


def combine(forecasts: Mapping[str, np.ndarray], members: tuple[str, ...]) -> np.ndarray:
    """The ensemble's point forecast: the median over its members, day by day."""
    if len(members) == 1:
        return forecasts[members[0]]
    return np.asarray(np.median(np.stack([forecasts[m] for m in members]), axis=0))


def choose(actual: np.ndarray, cv: Mapping[str, np.ndarray], scale: float) -> Choice:
    """Pick from candidates' cross-validation forecasts (each ``(windows, h)``, NaN where
    it has none) against ``actual`` (same shape)."""
    scores = {name: mase(actual, forecast, scale) for name, forecast in cv.items()}
    ranked = sorted((s, n) for n, s in scores.items() if np.isfinite(s))
    if not ranked:
        raise ValueError("no candidate has a scored window")
    best = ranked[0][1]
    if len(ranked) == 1:
        return Choice(best, (best,), scores)
    members = tuple(n for _, n in ranked[:ENSEMBLE_SIZE])
    ensemble = combine(cv, members)
    scores[ENSEMBLE] = mase(actual, ensemble, scale)
    if scores[best] < (1 - CLEAR_MARGIN) * scores[ENSEMBLE] and (
        _window_wins(actual, cv[best], ensemble) >= CLEAR_WINS
    ):
        return Choice(best, (best,), scores)
    return Choice(ENSEMBLE, members, scores)


def _window_wins(actual: np.ndarray, single: np.ndarray, ensemble: np.ndarray) -> float:
    """Share of the scored windows (rows) in which ``single`` has the smaller error."""
    wins = []
    for a, s, e in zip(actual, single, ensemble, strict=True):
        known = ~np.isnan(a) & ~np.isnan(s)
        if known.any():
            wins.append(np.abs(a - s)[known].sum() < np.abs(a - e)[known].sum())
    return float(np.mean(wins)) if wins else 0.0


def chosen_without(actual: np.ndarray, cvs: Mapping[str, np.ndarray], choice: Choice,
                   scale: float) -> np.ndarray:  # fmt: skip
    """Each window's forecast by the choice made without that window (the choice itself
    where there is one window only): the errors the intervals are calibrated on are then
    the selection's out of sample. The chosen model's own errors on the windows that chose
    it are its luckiest, and made intervals a few points too narrow."""
    out = np.asarray(combine(cvs, choice.members)).copy()
    scored = [j for j in range(len(actual)) if (~np.isnan(actual[j])).any()]
    if len(scored) < 2:
        return out
    for j in scored:
        rest = actual.copy()
        rest[j] = np.nan
        out[j] = combine(cvs, choose(rest, cvs, scale).members)[j]
    return out
