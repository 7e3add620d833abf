"""A global model: one scikit-learn gradient-boosting regressor learned across all series.

It predicts a day's volume relative to the series' recent level, from
calendar features (weekday, day of year, holiday), the horizon, and the
series' own recent shape (last-week and last-four-week means, its weekday
profile, the same weekday a week before the cutoff). Every series and many
past cutoffs are training rows, so a young or bursty series borrows what the
others show. Sample paths resample the model's own out-of-sample-like
residuals (from the training cutoffs), per horizon week, on the log scale.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from forecast.errors import CostcastError

LEVEL_DAYS = 28


@lru_cache(maxsize=64)
def _holiday_days(country: str, year: int) -> np.ndarray:
    import holidays

    return np.array(sorted(holidays.country_holidays(country, years=[year])), dtype="datetime64[D]")


def _holidays(days: pd.DatetimeIndex, country: str | None) -> np.ndarray:
    if not country:
        return np.zeros(len(days))
    known = np.concatenate([_holiday_days(country, int(y)) for y in sorted(set(days.year))])
    return np.isin(days.to_numpy().astype("datetime64[D]"), known).astype(float)


def _features(z: np.ndarray, cut: int, steps: np.ndarray, days: pd.DatetimeIndex, hol: np.ndarray):
    """Rows for forecasting days ``cut + steps`` of log series ``z`` from history ``z[:cut]``."""
    past = z[:cut]
    level = past[-LEVEL_DAYS:].mean()
    week = past[-7:].mean()
    if cut >= 7:
        tail = past[-LEVEL_DAYS:]
        residue = np.arange(cut - len(tail), cut) % 7
        weekday_mean = np.bincount(residue, tail, 7) / np.bincount(residue, minlength=7)
    else:
        weekday_mean = np.full(7, level)
    target_pos = cut + steps
    same_weekday_last_week = past[cut - 7 + (steps % 7)] if cut >= 7 else np.full(len(steps), level)
    return np.column_stack(
        [
            steps,
            days.day_of_week.to_numpy(),
            days.day_of_year.to_numpy(),
            hol,
            np.full(len(steps), week - level),
            weekday_mean[target_pos % 7] - level,
            same_weekday_last_week - level,
            np.full(len(steps), np.log1p(cut)),
        ]
    ), level


class GlobalGBM:
    """Fit on many series at once; then sample paths for any of them."""

    name = "global_gbm"

    def __init__(
        self,
        max_horizon: int = 91,
        cutoffs_per_series: int = 12,
        holidays_country: str | None = "US",
        max_iter: int = 200,
        random_state: int = 0,
        max_rows: int = 400_000,
    ) -> None:
        self.max_horizon = max_horizon
        self.cutoffs_per_series = cutoffs_per_series
        self.max_rows = max_rows
        self.holidays_country = holidays_country
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, series: dict[str, tuple[pd.DatetimeIndex, np.ndarray]]) -> GlobalGBM:
        from sklearn.ensemble import HistGradientBoostingRegressor

        rng = np.random.default_rng(self.random_state)
        X, y, steps_all = [], [], []
        self.series_ = {}
        # Past a few hundred thousand rows the trees learn little more: with many series,
        # fewer cutoffs each (never fewer than two).
        cutoffs = int(np.clip(self.max_rows // (max(len(series), 1) * self.max_horizon), 2,
                              self.cutoffs_per_series))  # fmt: skip
        for key, (ds, values) in series.items():
            z = np.log1p(np.asarray(values, dtype=float))
            ds = pd.DatetimeIndex(ds)
            self.series_[key] = (ds, z)
            n = len(z)
            if n < LEVEL_DAYS + 7:
                continue
            h = min(self.max_horizon, n - LEVEL_DAYS)
            cuts = rng.integers(LEVEL_DAYS, n - 1, size=cutoffs)
            holiday = _holidays(ds, self.holidays_country)  # once per series, not per cutoff
            for cut in cuts:
                steps = np.arange(min(h, n - cut))
                feats, level = _features(z, cut, steps, ds[cut + steps], holiday[cut + steps])
                X.append(feats)
                y.append(z[cut + steps] - level)
                steps_all.append(steps)
        if not X:
            raise CostcastError("the global model needs at least one series of 35 days or more")
        X, y, steps_all = np.vstack(X), np.concatenate(y), np.concatenate(steps_all)
        model = HistGradientBoostingRegressor(
            max_iter=self.max_iter, learning_rate=0.05, random_state=self.random_state
        )
        model.fit(X, y)
        self.model_ = model
        # In-sample residuals by horizon week: the spread of the sample paths. A sample of
        # rows describes the spread as well as all of them.
        rows = rng.choice(len(y), size=min(len(y), 50_000), replace=False)
        X, y, steps_all = X[rows], y[rows], steps_all[rows]
        residuals = y - model.predict(X)
        self.residuals_ = {
            w: residuals[steps_all // 7 == w] for w in range(int(steps_all.max() // 7) + 1)
        }
        return self

    def sample_paths(self, key: str, h: int, n_paths: int, seed: int) -> np.ndarray:
        return self.sample_paths_many([key], h, n_paths, [seed])[key]

    def sample_paths_many(
        self, keys: list[str], h: int, n_paths: int, seeds: list[int]
    ) -> dict[str, np.ndarray]:
        """Paths for many series with one prediction call: key -> (n_paths, h)."""
        if not hasattr(self, "model_"):
            from forecast.models.base import NotFittedError

            raise NotFittedError("this GlobalGBM is not fitted yet: call fit(series) first")
        steps = np.arange(h)
        rows, levels = [], []
        calendars = {}  # most series end on the same day: their future days are the same
        for key in keys:
            ds, z = self.series_[key]
            if ds[-1] not in calendars:
                days = pd.date_range(ds[-1] + pd.Timedelta(days=1), periods=h)
                calendars[ds[-1]] = (days, _holidays(days, self.holidays_country))
            feats, level = _features(z, len(z), steps, *calendars[ds[-1]])
            rows.append(feats)
            levels.append(level)
        if not rows:
            return {}
        means = self.model_.predict(np.vstack(rows)).reshape(len(keys), h)
        means += np.asarray(levels)[:, None]
        last = max(self.residuals_)
        weeks = [(np.flatnonzero(steps // 7 == w), self.residuals_.get(w, self.residuals_[last]))
                 for w in range(int(steps.max()) // 7 + 1)]  # fmt: skip
        out = {}
        for key, mean, seed in zip(keys, means, seeds, strict=True):
            rng = np.random.default_rng(seed)
            noise = np.empty((n_paths, h))
            for cols, pool in weeks:  # each day's residual drawn from its horizon week's pool
                noise[:, cols] = pool[rng.integers(0, len(pool), size=(n_paths, len(cols)))]
            out[key] = np.clip(np.expm1(mean[None, :] + noise), 0.0, None)
        return out
