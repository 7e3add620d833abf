"""What scenario changes act on: a baseline series as a *stream* of drivers, and the
context every change shares (the horizon's days, the paths, the price book)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from forecast.pricing.book import PRICE_COLUMNS, PriceBook
from forecast.series import kind_prices


@dataclass
class Stream:
    """One series' drivers over the horizon. Changes never write into these arrays: they
    return new streams (``dataclasses.replace``) with new arrays."""

    team: str
    feature: str
    model: str
    volume: np.ndarray  # (paths, days)
    intensity: dict[str, Any]  # kind -> tokens per unit of volume, (days,) or (paths, days)
    failure: np.ndarray  # (days,) or (paths, days)
    prices: dict[str, Any]  # kind -> USD per million tokens, (days,) or (paths, days)
    tiers: dict[str, Any] = field(default_factory=lambda: {"standard": 1.0})

    def per_unit(self) -> np.ndarray:
        """USD per unit of volume: (days,), or (paths, days) when a drawn range is in play."""
        return np.asarray(sum(self.intensity[k] * self.prices[k] for k in PRICE_COLUMNS) / 1e6)

    def cost(self) -> np.ndarray:
        return np.asarray(self.volume * self.per_unit())

    def total(self) -> np.ndarray:
        """Cost over the horizon per path; a product with the daily unit cost when it is the
        same for every path, without building the (paths, days) cost."""
        unit = self.per_unit()
        if np.ndim(unit) == 1:
            return np.asarray(self.volume @ unit)
        return np.asarray((self.volume * unit).sum(axis=1))


@dataclass
class Context:
    """The horizon, the number of paths and the price book, shared by every change."""

    days: pd.DatetimeIndex
    n_paths: int
    book: PriceBook
    _prices: dict[tuple[str, str], dict[str, np.ndarray]] = field(default_factory=dict)

    def prices(self, model: str, tiers: dict[str, float]) -> dict[str, np.ndarray]:
        """The book's prices per kind and day for a model and tier mix, computed once (every
        subset of changes asks again)."""
        key = (model, json.dumps(tiers, sort_keys=True))
        if key not in self._prices:
            self._prices[key] = kind_prices(self.book, model, tiers, self.days)
        return dict(self._prices[key])

    def same_model(self, a: str, b: str) -> bool:
        """The same model, by name or through the book's aliases (dated snapshots)."""
        return a == b or (
            self.book.resolve(a) is not None and self.book.resolve(a) == self.book.resolve(b)
        )
