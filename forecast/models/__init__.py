"""Forecasters: one contract (``base``), one registry; ``make_forecaster`` builds one by name."""

from __future__ import annotations

from typing import Any

from forecast.errors import CostcastError
from forecast.models.base import Forecaster, LocalForecaster, NotFittedError
from forecast.models.global_gbm import GlobalGBM
from forecast.models.prophet import ProphetForecaster
from forecast.models.stats import ETS, IMAPA, TSB, CrostonSBA, SeasonalNaive, Theta

FORECASTERS: dict[str, type[Forecaster]] = {
    cls.name: cls
    for cls in (SeasonalNaive, ETS, Theta, TSB, IMAPA, CrostonSBA, ProphetForecaster, GlobalGBM)
}
AUTO = "auto"
ENSEMBLE = "ensemble"  # the robust combination auto falls back on; see forecast.selection


def make_forecaster(name: str, **params: Any) -> Forecaster:
    try:
        cls = FORECASTERS[name]
    except KeyError:
        raise CostcastError(
            f"unknown forecaster {name!r}; choose from {AUTO}, {', '.join(FORECASTERS)}",
            param="forecasters",
        ) from None
    return cls(**params)


__all__ = [
    "AUTO",
    "ENSEMBLE",
    "ETS",
    "FORECASTERS",
    "IMAPA",
    "TSB",
    "CrostonSBA",
    "Forecaster",
    "GlobalGBM",
    "LocalForecaster",
    "NotFittedError",
    "ProphetForecaster",
    "SeasonalNaive",
    "Theta",
    "make_forecaster",
]
