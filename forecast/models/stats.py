"""Statistical models from statsforecast, one small wrapper each.

Each wrapper keeps its own parameters and builds a fresh statsforecast model
per fit (statsforecast models hold their fit on the instance). The point
forecast is the model's own mean; the intermittent-demand models (TSB,
IMAPA, Croston SBA) forecast a flat daily rate, which is what a bursty
series with idle days is best summarised by.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from forecast.models.base import LocalForecaster

WEEK = 7


class _StatsForecastModel(LocalForecaster):
    statsforecast_class: str  # the model's name in statsforecast.models
    max_history: int | None = None  # the most recent days a fit looks at (None: all)

    def _model(self) -> Any:
        """A fresh statsforecast model from this wrapper's own parameters (all of them but
        ``max_history``, which is ours)."""
        import statsforecast.models

        if "_params" not in vars(self):  # read once: a run builds thousands of these
            self._params = {k: v for k, v in self.get_params().items() if k != "max_history"}
        return getattr(statsforecast.models, self.statsforecast_class)(**self._params)

    def _recent(self, y: np.ndarray) -> np.ndarray:
        return y if self.max_history is None else y[-self.max_history :]

    def _fit_one(self, y: np.ndarray) -> Any:
        return self._model().fit(y=self._recent(y))

    def _predict_one(self, state: Any, h: int) -> np.ndarray:
        return np.asarray(state.predict(h=h)["mean"])

    def _forecast_one(self, y: np.ndarray, h: int) -> np.ndarray:
        return np.asarray(self._model().forecast(y=self._recent(y), h=h)["mean"])


class _Forwardable(_StatsForecastModel):
    """Models whose fitted parameters can forecast a longer series (``forward``)."""

    forwards = True

    def _forward_one(self, state: Any, y: np.ndarray, h: int) -> np.ndarray:
        return np.asarray(state.forward(y=self._recent(y), h=h)["mean"])


class SeasonalNaive(_StatsForecastModel):
    """Next Monday looks like the last Monday."""

    name = "seasonal_naive"
    statsforecast_class = "SeasonalNaive"
    min_days = WEEK

    def __init__(self, season_length: int = WEEK) -> None:
        self.season_length = season_length


class ETS(_Forwardable):
    """Exponential smoothing, its error, trend and season types chosen by AICc (AutoETS)."""

    name = "ets"
    statsforecast_class = "AutoETS"
    cost = "costly"
    min_days = 2 * WEEK

    def __init__(self, season_length: int = WEEK, model: str = "ZZZ") -> None:
        self.season_length = season_length
        self.model = model


class Theta(_Forwardable):
    """Dynamic standard Theta (theta = 2, the smoothing and level updated as data come)
    on the deseasonalised series, with a weekly seasonal decomposition where a test finds
    one. The optimised variant (DOTM) also fits theta: on the real-usage benchmark `auto`
    scored the same with either (median MASE within 0.01 at every h), and this one fits
    in half the time, a fifth of a 2,000-series run. It looks at the last half year:
    that halves its fitting time again, and older usage says little about the trend to
    come.

    Still 6-7 ms a series, six times the other statistical models and a third of a run
    of thousands, so auto tries it where it tries Prophet and AutoETS: on the heaviest
    series. On the 2,000 series of ``bench/forecast.py`` auto's WAPE was 0.214 with it
    on every series and 0.212 without it on the long tail."""

    name = "theta"
    statsforecast_class = "DynamicTheta"
    cost = "costly"
    min_days = 2 * WEEK

    def __init__(self, season_length: int = WEEK, max_history: int | None = 182) -> None:
        self.season_length = season_length
        self.max_history = max_history


class TSB(_StatsForecastModel):
    """Teunter-Syntetos-Babai: demand size and probability smoothed apart; the rate decays
    when demand stops, which Croston's method never does."""

    name = "tsb"
    statsforecast_class = "TSB"
    min_days = 1

    def __init__(self, alpha_d: float = 0.1, alpha_p: float = 0.1) -> None:
        self.alpha_d = alpha_d
        self.alpha_p = alpha_p


class IMAPA(_StatsForecastModel):
    """Intermittent multiple aggregation: the mean of SES forecasts at several aggregation
    levels, robust to how lumpy the series is."""

    name = "imapa"
    statsforecast_class = "IMAPA"
    min_days = 1

    def __init__(self) -> None:  # no parameters: statsforecast optimises them per series
        pass


class CrostonSBA(_StatsForecastModel):
    """Croston's method with the Syntetos-Boylan bias correction."""

    name = "croston_sba"
    statsforecast_class = "CrostonSBA"
    min_days = 1

    def __init__(self) -> None:  # no parameters: statsforecast optimises them per series
        pass
