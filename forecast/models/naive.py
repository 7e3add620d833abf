"""Weekly seasonal naive: next Monday looks like the last Monday.

Uncertainty is the series' own record of how wrong that rule has been: each
sample path replays the errors the rule would have made from one past
origin, day by day (on the log scale, so paths stay positive and spread with
the level). Replaying a whole stretch keeps errors as persistent as they
really were; errors for horizons longer than the history allows repeat the
last available week.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.models.base import Forecaster, check_series

SEASON = 7
MIN_ORIGINS = 20


class SeasonalNaive(Forecaster):
    name = "seasonal_naive"

    def __init__(self, season: int = SEASON, max_history: int = 364) -> None:
        self.season = season
        self.max_history = max_history

    def fit(self, ds: pd.DatetimeIndex, y: np.ndarray) -> SeasonalNaive:
        ds, y = check_series(ds, y)
        self.z_ = np.log1p(y[-self.max_history :])
        self.season_ = min(self.season, len(self.z_))
        self.last_season_ = self.z_[-self.season_ :]
        self.last_day_ = ds[-1]
        return self

    def _errors(self, h: int) -> np.ndarray:
        """(origins, h) errors of the rule from every usable past origin, centred per horizon."""
        z, m = self.z_, self.season_
        longest = len(z) - m - MIN_ORIGINS  # keep at least MIN_ORIGINS origins
        if longest < 1:
            return np.zeros((1, h))
        steps = np.arange(h)
        # beyond the longest horizon the history shows, repeat its last week, weekday kept
        usable = np.where(
            steps < longest,
            steps,
            longest - m + (steps - longest) % m if longest >= m else steps % longest,
        )
        origins = np.arange(m, len(z) - usable.max())
        forecast = z[origins[:, None] - m + (usable[None, :] % m)]
        actual = z[origins[:, None] + usable[None, :]]
        errors = actual - forecast
        return errors - errors.mean(axis=0, keepdims=True)  # level drift is not ours to extrapolate

    def sample_paths(self, h: int, n_paths: int, seed: int) -> np.ndarray:
        self._check_fitted()
        rng = np.random.default_rng(seed)
        base = self.last_season_[np.arange(h) % self.season_]
        errors = self._errors(h)
        picks = rng.integers(0, len(errors), size=n_paths)
        return np.clip(np.expm1(base[None, :] + errors[picks]), 0.0, None)
