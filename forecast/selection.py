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
pattern), over ``CLEAR_WINDOWS`` scored windows at least; otherwise the ensemble. A
young series with one to three windows always gets the ensemble: on the real usage of
``bench/accuracy.py`` a single model that won all of them (often the global model) lost
to the ensemble afterwards, and auto's median MASE fell 3-5% once such series kept the
ensemble. And a single candidate is kept only where choosing it holds out of sample
(``Selector.confirmed``): with each window left out, the choice made from the others must forecast
it better, over all windows, than the ensemble made from the others. A day's error counts
up to ``ERROR_CAP`` typical daily changes, so that one
burst no candidate foresaw does not decide the choice. ``Selector.chosen_without`` replays the
choice with each window left out, for errors that calibrate the intervals out of
sample.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from forecast.models import ENSEMBLE

ENSEMBLE_SIZE = 5
CLEAR_MARGIN = 0.10
CLEAR_WINS = 0.8  # share of the scored windows the single candidate must win
CLEAR_WINDOWS = 4  # and the fewest scored windows that can show it
# A day's error counts up to this many typical daily changes (``metrics.typical_change``):
# one burst that no candidate foresaw (a day of 10,000x) otherwise outweighed every other
# day of every window, and which candidates had learnt it into their level went unseen.
ERROR_CAP = 10.0


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


def _best(scores: Mapping[str, float]) -> tuple[str, ...]:
    """The ensemble's members: the ``ENSEMBLE_SIZE`` best-scored candidates."""
    ranked = sorted((s, n) for n, s in scores.items() if n != ENSEMBLE and np.isfinite(s))
    return tuple(n for _, n in ranked[:ENSEMBLE_SIZE])


class Selector:
    """One series' choice, from each candidate's absolute error and scored days per window,
    summed once: a choice over any set of windows (all of them; all but one, for each one)
    is then sums, and the choice made without a window is made once for both the
    out-of-sample check (``confirmed``) and the out-of-sample errors (``chosen_without``).
    A series asks for thirteen choices; deciding 2,000 series in one process took 1.37 s
    before, 0.91 s since."""

    def __init__(self, actual: np.ndarray, cv: Mapping[str, np.ndarray], scale: float,
                 cap: float = np.inf) -> None:  # fmt: skip
        self.actual, self.cv, self.scale, self.cap = actual, cv, scale, cap
        self.names = list(cv)
        sums = [self._sums(f) for f in cv.values()]
        self.errors = np.array([e for e, _ in sums]).reshape(len(sums), len(actual))
        self.days = np.array([d for _, d in sums]).reshape(len(sums), len(actual))
        self.scored = np.flatnonzero((~np.isnan(actual)).any(axis=1))
        self._combined: dict[tuple[str, ...], np.ndarray] = {}
        # the same members win with most windows left out: their median is taken once
        self._combined_sums: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = {}
        self._without: dict[int, Choice] = {}

    def _sums(self, forecast: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        known = ~np.isnan(self.actual) & ~np.isnan(forecast)
        error = np.where(known, np.minimum(np.abs(self.actual - forecast), self.cap), 0.0)
        return error.sum(axis=1), known.sum(axis=1)

    def forecast(self, members: tuple[str, ...]) -> np.ndarray:
        if members not in self._combined:
            self._combined[members] = combine(self.cv, members)
        return self._combined[members]

    def _forecast_sums(self, members: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        if members not in self._combined_sums:
            self._combined_sums[members] = self._sums(self.forecast(members))
        return self._combined_sums[members]

    def _mase(self, error: np.ndarray, days: np.ndarray, windows: np.ndarray) -> np.ndarray:
        """MASE over ``windows`` of each row of ``error`` and ``days`` (NaN where no day
        was scored)."""
        total, count = error[..., windows].sum(axis=-1), days[..., windows].sum(axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(count > 0, total / count / self.scale, np.nan)

    def window_error(self, members: tuple[str, ...], window: int) -> float:
        """The capped absolute error of these members' median over one window."""
        return float(self._forecast_sums(members)[0][window])

    def choose(self, windows: np.ndarray | None = None) -> Choice:
        """The choice over ``windows`` (a mask; all of them by default)."""
        if windows is None:
            windows = np.ones(len(self.actual), dtype=bool)
        scores = dict(zip(self.names, self._mase(self.errors, self.days, windows).tolist(),
                          strict=True))  # fmt: skip
        ranked = sorted((s, n) for n, s in scores.items() if np.isfinite(s))
        if not ranked:
            raise ValueError("no candidate has a scored window")
        best = ranked[0][1]
        if len(ranked) == 1:
            return Choice(best, (best,), scores)
        members = _best(scores)
        ensemble = self._forecast_sums(members)
        scores[ENSEMBLE] = float(self._mase(*ensemble, windows))
        at = self.names.index(best)
        single = self.errors[at], self.days[at]
        # a window counts where the single candidate has scored days in it
        won = single[0] < ensemble[0]
        counted = windows & (single[1] > 0)
        wins = float(won[counted].mean()) if counted.any() else 0.0
        clear = wins >= CLEAR_WINS and counted.sum() >= CLEAR_WINDOWS
        if scores[best] < (1 - CLEAR_MARGIN) * scores[ENSEMBLE] and clear:
            return Choice(best, (best,), scores)
        return Choice(ENSEMBLE, members, scores)

    def without(self, window: int) -> Choice:
        """The choice made from every window but ``window``."""
        if window not in self._without:
            others = np.ones(len(self.actual), dtype=bool)
            others[window] = False
            self._without[window] = self.choose(others)
        return self._without[window]

    def confirmed(self, choice: Choice) -> Choice:
        """``choice``, if it is a single candidate whose choosing also held out of sample:
        with each window left out in turn, the choice made from the others forecast that
        window with less error, summed over the windows, than the ensemble made from the
        others. Otherwise the ensemble. Winning the windows that chose it says little
        about the next window where the candidates are close; this asks the choosing
        itself the question the windows ask of each candidate."""
        if len(choice.members) != 1 or ENSEMBLE not in choice.scores:
            return choice
        chosen = combined = 0.0
        for j in map(int, self.scored):
            alone = self.without(j)
            chosen += self.window_error(alone.members, j)
            combined += self.window_error(_best(alone.scores), j)
        if chosen < combined:
            return choice
        return Choice(ENSEMBLE, _best(choice.scores), choice.scores)

    def chosen_without(self, choice: Choice) -> np.ndarray:
        """Each window's forecast by the choice made without that window (the choice
        itself where there is one window only): the errors the intervals are calibrated on
        are then the selection's out of sample. The chosen model's own errors on the
        windows that chose it are its luckiest, and made intervals a few points too
        narrow."""
        out = self.forecast(choice.members).copy()
        if len(self.scored) < 2:
            return out
        for j in map(int, self.scored):
            out[j] = self.forecast(self.without(j).members)[j]
        return out
