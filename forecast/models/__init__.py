"""Forecasters: one contract, several models; ``make_model`` builds one by name."""

from __future__ import annotations

from forecast.errors import CostcastError
from forecast.models.base import Forecaster, NotFittedError
from forecast.models.naive import SeasonalNaive
from forecast.models.prophet import ProphetForecaster

MODELS: dict[str, type[Forecaster]] = {
    SeasonalNaive.name: SeasonalNaive,
    ProphetForecaster.name: ProphetForecaster,
}


def make_model(name: str, **params) -> Forecaster:
    try:
        return MODELS[name](**params)
    except KeyError:
        raise CostcastError(
            f"unknown model {name!r}; choose from auto, {', '.join(MODELS)}, global_gbm",
            field="--models",
        ) from None


__all__ = [
    "MODELS",
    "Forecaster",
    "NotFittedError",
    "ProphetForecaster",
    "SeasonalNaive",
    "make_model",
]
