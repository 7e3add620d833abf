"""Weekly seasonal naive: next Monday looks like the last Monday.

Uncertainty comes from bootstrapping the series' own week-over-week changes
(on the log scale, so paths stay positive and spread with the level): the
k-th week ahead adds k resampled changes, so intervals widen with the horizon.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.models.base import Forecaster, check_series

SEASON = 7


class SeasonalNaive(Forecaster):
    name = "seasonal_naive"

    def __init__(self, season: int = SEASON, max_history: int = 182) -> None:
        self.season = season
        self.max_history = max_history

    def fit(self, ds: pd.DatetimeIndex, y: np.ndarray) -> SeasonalNaive:
        ds, y = check_series(ds, y)
        z = np.log1p(y[-self.max_history :])
        season = min(self.season, len(z))
        self.last_season_ = z[-season:]
        changes = z[season:] - z[:-season] if len(z) > season else np.zeros(1)
        self.changes_ = changes - changes.mean()  # level drift is not the model's to extrapolate
        self.last_day_ = ds[-1]
        return self

    def sample_paths(self, h: int, n_paths: int, seed: int) -> np.ndarray:
        self._check_fitted()
        rng = np.random.default_rng(seed)
        season = len(self.last_season_)
        steps = np.arange(h)
        base = self.last_season_[steps % season]
        weeks_ahead = steps // season + 1
        draws = rng.choice(self.changes_, size=(n_paths, h))
        # Each weekday's chain accumulates its own changes, one per week ahead.
        walk = np.zeros((n_paths, h))
        for offset in range(season):
            idx = steps[steps % season == offset]
            walk[:, idx] = np.cumsum(draws[:, idx], axis=1)
        noise = np.where(weeks_ahead > 0, walk, 0.0)
        return np.clip(np.expm1(base + noise), 0.0, None)
