"""The forecaster contract, one for local and global models, in the scikit-learn spirit.

``__init__`` only stores parameters. A forecaster gives **point forecasts**
(the mean of the daily value) for every series of a panel, and the same from
past cutoffs for cross-validation; sample paths and intervals are not its job
but the calibration's (``forecast.intervals``), which draws them from every
model's own rolling-origin errors in the same way.

- ``forecast(panel, h)`` -> ``(series, h)`` array, a row of NaN where the model
  could not fit a series (the reason is in ``skipped_``);
- ``cross_validate(panel, h, cutoffs)`` -> ``(series, cutoffs, h)``, each cutoff
  a number of days before the panel's end, NaN where a series was too young and
  past a window's reach: a cutoff ``c`` days back is forecast ``min(h, c)`` days,
  as later days have no actuals to score against;
- ``fit(df)`` / ``predict(h)`` do the same on long frames for notebook use.

A *local* model learns from each series alone (``_fit_one`` / ``_predict_one``
over one array, as statsforecast models do); a *global* one learns across the
panel at once.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from forecast.errors import CostcastError
from forecast.frame import Panel, forecast_frame

REUSE_SHARE = 0.6  # of the history the earliest cutoff's fit must have seen to serve today
# What a model may raise on data it cannot handle: skipped for that series, never fatal.
FIT_ERRORS = (ValueError, ArithmeticError, np.linalg.LinAlgError, RuntimeError, IndexError)


class NotFittedError(CostcastError):
    """A forecaster was asked to predict before ``fit``."""


class Forecaster:
    name: ClassVar[str] = "base"
    scope: ClassVar[str] = "local"  # or "global"
    # "cheap" fits in about a millisecond; "costly" ones (Prophet, AutoETS: a tenth of a
    # second or more a series; Theta: 6-7 ms) are tried by auto on the heaviest series only.
    cost: ClassVar[str] = "cheap"
    min_days: ClassVar[int] = 1  # the shortest history the model fits
    # Why a series got no forecast from this model (series id -> reason), after a call.
    skipped_: dict[str, str]

    def get_params(self) -> dict[str, Any]:
        """Constructor parameters, read from the signature so copies never drift."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {n: getattr(self, n) for n in names}

    def clone(self) -> Forecaster:
        return type(self)(**self.get_params())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- the panel contract ------------------------------------------------------------

    def forecast(self, panel: Panel, h: int) -> np.ndarray:
        raise NotImplementedError

    def cross_validate(self, panel: Panel, h: int, cutoffs: Sequence[int]) -> np.ndarray:
        raise NotImplementedError

    def forecast_and_validate(
        self, panel: Panel, h: int, cv_h: int, cutoffs: Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """``forecast`` and ``cross_validate`` in one call, for models that can share work."""
        return self.forecast(panel, h), self.cross_validate(panel, cv_h, cutoffs)

    # -- long frames ---------------------------------------------------------------------

    def fit(self, df: pd.DataFrame) -> Forecaster:
        self.panel_ = Panel.from_frame(df)
        return self

    def predict(self, h: int) -> pd.DataFrame:
        """Point forecasts as a long frame ``unique_id, ds, <name>``."""
        if not hasattr(self, "panel_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet: call fit(df) first"
            )
        means = self.forecast(self.panel_, h)
        keep = ~np.isnan(means).any(axis=1)
        ids = [uid for uid, k in zip(self.panel_.ids, keep, strict=True) if k]
        return forecast_frame(ids, self.panel_.end, means[keep], self.name)


class LocalForecaster(Forecaster):
    """A model fitted to each series alone. Subclasses give ``_fit_one(y) -> state`` and
    ``_predict_one(state, h) -> mean`` (``self._train_end`` is the day ``y`` ends on, for
    models that need the calendar; ``self._history_days`` the whole series' length, so
    that a model's form, such as Prophet's yearly seasonality, is in every fold what the
    final fit will use); ``_forward_one(state, y, h)`` where the model can forecast a
    longer series with the parameters it already has (statsforecast's ``forward``), which
    makes cross-validation one fit instead of one per cutoff."""

    forwards: ClassVar[bool] = False  # has ``_forward_one``
    _panel_end: pd.Timestamp
    _days_back = 0  # how many days before the panel's end the series being fitted ends
    _history_days = 0  # the length of the whole series being fitted, whatever the fold

    @property
    def _train_end(self) -> pd.Timestamp:
        # worked out when asked (by Prophet) only: a Timestamp sum per fit costs as much as
        # a cheap model's fit
        return self._panel_end - pd.Timedelta(days=self._days_back)

    def _fit_one(self, y: np.ndarray) -> Any:
        raise NotImplementedError

    def _predict_one(self, state: Any, h: int) -> np.ndarray:
        raise NotImplementedError

    def _forecast_one(self, y: np.ndarray, h: int) -> np.ndarray:
        return self._predict_one(self._fit_one(y), h)

    def _forward_one(self, state: Any, y: np.ndarray, h: int) -> np.ndarray:
        raise NotImplementedError

    def _guarded(self, uid: str, call: Callable[..., Any], *args: Any) -> np.ndarray | None:
        """``call``'s forecast, or None (and why, in ``skipped_``); ``_run`` silences warnings."""
        try:
            mean = np.asarray(call(*args), dtype=float)
        except FIT_ERRORS as exc:
            self.skipped_[uid] = f"{type(exc).__name__}: {exc}"[:200]
            return None
        if not np.isfinite(mean).all():
            self.skipped_[uid] = "the fit gave non-finite forecasts"
            return None
        return np.asarray(np.clip(mean, 0.0, None))  # a mean of usage is never negative

    def forecast(self, panel: Panel, h: int) -> np.ndarray:
        return self.forecast_and_validate(panel, h, h, ())[0]

    def cross_validate(self, panel: Panel, h: int, cutoffs: Sequence[int]) -> np.ndarray:
        return self._run(panel, None, h, cutoffs)[1]

    def forecast_and_validate(
        self, panel: Panel, h: int, cv_h: int, cutoffs: Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        points, cv = self._run(panel, h, cv_h, cutoffs)
        assert points is not None  # asked for with h
        return points, cv

    def _run(
        self, panel: Panel, h: int | None, cv_h: int, cutoffs: Sequence[int]
    ) -> tuple[np.ndarray | None, np.ndarray]:
        # once for the panel, not per fit: entering these costs as much as a cheap model's fit
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")  # statsmodels and Prophet warn on every fit
            return self._run_quietly(panel, h, cv_h, cutoffs)

    def _run_quietly(
        self, panel: Panel, h: int | None, cv_h: int, cutoffs: Sequence[int]
    ) -> tuple[np.ndarray | None, np.ndarray]:
        """Both at once: a model with ``_forward_one`` learns its parameters once, at the
        earliest cutoff (as statsforecast's ``cross_validation(refit=False)`` does, so no
        later data leaks into them), forecasts from every later cutoff with them, and from
        the end too when that fit saw most of the history (``REUSE_SHARE``)."""
        self.skipped_ = getattr(self, "skipped_", {})
        self._panel_end = panel.end
        points = None if h is None else np.full((len(panel), h), np.nan)
        cv = np.full((len(panel), len(cutoffs), cv_h), np.nan)
        for i, (uid, y) in enumerate(zip(panel.ids, panel.values, strict=True)):
            if len(y) < self.min_days:
                self.skipped_[uid] = f"needs {self.min_days} days, has {len(y)}"
                continue
            usable = [j for j, c in enumerate(cutoffs) if len(y) - c >= self.min_days]
            self._history_days = len(y)
            state, learned = None, 0
            if self.forwards and usable:
                earliest = max(usable, key=lambda j: cutoffs[j])
                learned = len(y) - cutoffs[earliest]
                self._days_back = cutoffs[earliest]
                state = self._guarded_state(uid, y[:learned])
                if state is None:
                    continue
            for j in usable:
                train = y[: len(y) - cutoffs[j]]
                reach = min(cv_h, cutoffs[j])
                if reach < 1:
                    continue
                self._days_back = cutoffs[j]
                if state is not None and len(train) == learned:  # the fit's own data
                    mean = self._guarded(uid, self._predict_one, state, reach)
                elif state is not None:
                    mean = self._guarded(uid, self._forward_one, state, train, reach)
                else:
                    mean = self._guarded(uid, self._forecast_one, train, reach)
                if mean is not None:
                    cv[i, j, :reach] = mean
            if points is None:
                continue
            self._days_back = 0
            if state is not None and learned >= REUSE_SHARE * len(y):
                mean = self._guarded(uid, self._forward_one, state, y, h)
            else:
                mean = self._guarded(uid, self._forecast_one, y, h)
            if mean is not None:
                points[i] = mean
        return points, cv

    def _guarded_state(self, uid: str, y: np.ndarray) -> Any:
        try:
            return self._fit_one(y)
        except FIT_ERRORS as exc:
            self.skipped_[uid] = f"{type(exc).__name__}: {exc}"[:200]
            return None
