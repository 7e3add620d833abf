"""Prophet, wrapped so that each ``fit`` builds a fresh ``Prophet`` from our own parameters.

Fits daily volume on its own scale with multiplicative seasonality: the
weekly swing scales with the level, and the trend stays linear. (On the log
scale a feature's launch ramp becomes exponential growth, and the trend
uncertainty explodes within a quarter.) Sample paths are Prophet's own
predictive samples (future trend changes and noise), clipped at zero.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd

from forecast.models.base import Forecaster, check_series

# Prophet logs every fit and a missing plotly at import; neither helps a user.
logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)
logging.getLogger("prophet").setLevel(logging.ERROR)


def _quiet_cmdstan() -> None:
    # cmdstanpy installs its own handler on import; silence it after that.
    logger = logging.getLogger("cmdstanpy")
    logger.disabled = True  # its handlers are re-added as models load; levels do not hold


class ProphetForecaster(Forecaster):
    name = "prophet"

    def __init__(
        self,
        weekly_seasonality: bool = True,
        yearly_seasonality: bool | str = "auto",
        holidays_country: str | None = "US",
        changepoint_prior_scale: float = 0.05,
        seasonality_prior_scale: float = 10.0,
        max_history: int = 730,
    ) -> None:
        self.weekly_seasonality = weekly_seasonality
        self.yearly_seasonality = yearly_seasonality
        self.holidays_country = holidays_country
        self.changepoint_prior_scale = changepoint_prior_scale
        self.seasonality_prior_scale = seasonality_prior_scale
        self.max_history = max_history

    def fit(self, ds: pd.DatetimeIndex, y: np.ndarray) -> ProphetForecaster:
        from prophet import Prophet

        ds, y = check_series(ds, y)
        ds, y = ds[-self.max_history :], y[-self.max_history :]
        yearly = self.yearly_seasonality
        if yearly == "auto":
            yearly = len(y) >= 2 * 365
        model = Prophet(
            weekly_seasonality=self.weekly_seasonality,
            yearly_seasonality=yearly,
            daily_seasonality=False,
            changepoint_prior_scale=self.changepoint_prior_scale,
            seasonality_prior_scale=self.seasonality_prior_scale,
            seasonality_mode="multiplicative",
            uncertainty_samples=0,
        )
        if self.holidays_country:
            model.add_country_holidays(country_name=self.holidays_country)
        with warnings.catch_warnings():
            # Prophet uses pandas features pandas deprecates; that is Prophet's to fix.
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            _quiet_cmdstan()
            model.fit(pd.DataFrame({"ds": ds, "y": y}), algorithm="LBFGS")
        self.model_ = model
        self.last_day_ = ds[-1]
        return self

    def sample_paths(self, h: int, n_paths: int, seed: int) -> np.ndarray:
        self._check_fitted()
        future = pd.DataFrame(
            {"ds": pd.date_range(self.last_day_ + pd.Timedelta(days=1), periods=h)}
        )
        self.model_.uncertainty_samples = n_paths
        state = np.random.get_state()
        np.random.seed(seed % 2**32)  # Prophet samples from numpy's global generator
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                warnings.simplefilter("ignore", DeprecationWarning)
                samples = self.model_.predictive_samples(future)["yhat"]  # (h, n_paths)
        finally:
            np.random.set_state(state)
        return np.clip(samples.T, 0.0, None)
