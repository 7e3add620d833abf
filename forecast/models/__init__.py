"""Forecasters: one contract (``base``), one registry; ``make_forecaster`` builds one by name."""

from __future__ import annotations

from collections.abc import Sequence
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
# tried by auto on the heaviest series only (``forecast.engine.budget_costly``)
COSTLY = frozenset(name for name, cls in FORECASTERS.items() if cls.cost == "costly")
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


def resolve_forecasters(names: str | Sequence[str]) -> tuple[str, ...]:
    """``auto`` (every forecaster) or a comma-separated list of names."""
    listed = names.split(",") if isinstance(names, str) else list(names)
    listed = [n.strip() for n in listed if n.strip()]
    if listed == [AUTO] or not listed:
        return tuple(FORECASTERS)
    for name in listed:
        make_forecaster(name)  # raises with the list of names
    return tuple(dict.fromkeys(listed))


__all__ = [
    "AUTO",
    "COSTLY",
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
    "resolve_forecasters",
]
