"""Prophet, wrapped so that each ``fit`` builds a fresh ``Prophet`` from our own parameters.

Fits daily volume on its own scale with multiplicative seasonality: the
weekly swing scales with the level, and the trend stays linear. (On the log
scale a feature's launch ramp becomes exponential growth, and the trend
uncertainty explodes within a quarter.) The point forecast is ``yhat``;
intervals come from the calibration, like every model's.

Holidays: each public holiday gets its own effect once the history holds two of it (two
years, as for yearly seasonality); before that, one effect for all of them, a regressor
flagging every holiday. A year of history sees each holiday once, so its own effect
would be fitted to a single day; the shared one is learned from all ten or so, and the
fit costs a third less (Prophet builds a feature block per named holiday).
"""

from __future__ import annotations

import contextlib
import functools
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecast.models.base import LocalForecaster
from forecast.models.calendar import holiday_flags

HOLIDAY = "holiday"  # the shared holiday regressor's column

# Prophet logs every fit and a missing plotly at import; neither helps a user.
logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)
logging.getLogger("prophet").setLevel(logging.ERROR)


def _quiet_cmdstan() -> None:
    # cmdstanpy installs its own handler on import, and prophet sets its logger to INFO on
    # import: silence both after that.
    logger = logging.getLogger("cmdstanpy")
    logger.disabled = True  # its handlers are re-added as models load; levels do not hold
    logging.getLogger("prophet").setLevel(logging.ERROR)


def _remove_fit_files(model: Any) -> None:
    """A fit's CmdStan output files, removed by Prophet's own clean-up (as its
    cross-validation does), and the folder cmdstanpy made for them: its parameters are read,
    and each fit left a folder of files in cmdstanpy's temporary one, which a server or a
    Dask worker keeps for its whole life (a forecast of the demo, about 1.5 MB)."""
    fit = model.stan_backend.stan_fit
    if fit is None:  # a constant history: Prophet sets its parameters without CmdStan
        return
    folders = {Path(f).parent for f in fit.runset.csv_files}
    model.stan_backend.cleanup()
    for folder in folders:
        with contextlib.suppress(OSError):  # not empty: not all of it was this fit's
            folder.rmdir()


@functools.cache
def _prophet() -> type:
    """Prophet, made to work out which feature columns feed which component once per set of
    columns: it rebuilt that table (a pandas crosstab) in every fit and every predict,
    10 ms of a 36 ms fit and predict, and ``auto`` fits Prophet seven times per series on the
    same columns. The table itself is Prophet's own, computed by it the first time."""
    from prophet import Prophet

    tables: dict[tuple[Any, ...], tuple[pd.DataFrame, Any]] = {}

    class LeanProphet(Prophet):
        def regressor_column_matrix(  # Prophet's own signature
            self, seasonal_features: pd.DataFrame, modes: Any
        ) -> tuple[pd.DataFrame, Any]:
            key = (
                tuple(seasonal_features.columns),
                tuple(modes["additive"]),
                tuple(modes["multiplicative"]),
                None if self.train_holiday_names is None else tuple(self.train_holiday_names),
                tuple((name, props["mode"]) for name, props in self.extra_regressors.items()),
                self.holidays_mode,
            )
            if key not in tables:
                if len(tables) > 256:  # one per model configuration: a run has a handful
                    tables.clear()
                table, grown = super().regressor_column_matrix(seasonal_features, modes)
                tables[key] = (table.copy(), {m: list(names) for m, names in grown.items()})
            table, grown = tables[key]
            modes.update({mode: list(names) for mode, names in grown.items()})
            # predicting, Prophet would check that the table equals the fit's: it is the fit's
            fitted = self.train_component_cols
            return (table.copy() if fitted is None else fitted), modes

    return LeanProphet


class ProphetForecaster(LocalForecaster):
    name = "prophet"
    cost = "costly"
    min_days = 14

    def __init__(
        self,
        weekly_seasonality: bool = True,
        yearly_seasonality: bool | str = "auto",
        holidays_country: str | None = "US",
        changepoint_prior_scale: float = 0.05,
        seasonality_prior_scale: float = 10.0,
        max_history: int = 731,  # two years from first day to last: 731 days
    ) -> None:
        self.weekly_seasonality = weekly_seasonality
        self.yearly_seasonality = yearly_seasonality
        self.holidays_country = holidays_country
        self.changepoint_prior_scale = changepoint_prior_scale
        self.seasonality_prior_scale = seasonality_prior_scale
        self.max_history = max_history

    def _fit_one(self, y: np.ndarray) -> tuple[Any, pd.Timestamp]:
        end = self._train_end
        y = y[-self.max_history :]
        ds = pd.date_range(end=end, periods=len(y), freq="D")
        # as Prophet counts (from the first day to the last), over the whole history: a fold
        # is scored with the yearly seasonality the final fit will have
        two_years = min(max(self._history_days, len(y)), self.max_history) > 2 * 365
        yearly = two_years if self.yearly_seasonality == "auto" else bool(self.yearly_seasonality)
        model = _prophet()(
            weekly_seasonality=self.weekly_seasonality,
            yearly_seasonality=yearly,
            daily_seasonality=False,
            changepoint_prior_scale=self.changepoint_prior_scale,
            seasonality_prior_scale=self.seasonality_prior_scale,
            seasonality_mode="multiplicative",
            uncertainty_samples=0,
        )
        history = pd.DataFrame({"ds": ds, "y": y})
        if self.holidays_country and two_years:
            model.add_country_holidays(country_name=self.holidays_country)
        elif self.holidays_country:
            model.add_regressor(HOLIDAY, prior_scale=model.holidays_prior_scale, standardize=False)
            history[HOLIDAY] = holiday_flags(ds, self.holidays_country)
        _quiet_cmdstan()
        model.fit(history, algorithm="LBFGS")
        _remove_fit_files(model)
        return model, end

    def _predict_one(self, state: tuple[Any, pd.Timestamp], h: int) -> np.ndarray:
        model, end = state
        days = pd.date_range(end + pd.Timedelta(days=1), periods=h)
        future = pd.DataFrame({"ds": days})
        if HOLIDAY in model.extra_regressors:
            future[HOLIDAY] = holiday_flags(days, self.holidays_country)
        return np.asarray(model.predict(future)["yhat"].to_numpy())
