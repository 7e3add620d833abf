"""The forecaster contract, in the scikit-learn spirit.

``__init__`` only stores parameters; ``fit(ds, y)`` learns from one daily
series and returns ``self``; ``sample_paths(h, n_paths, seed)`` gives an
``(n_paths, h)`` array of possible futures. Fitted attributes end in ``_``.
Asking a model that was not fitted raises ``NotFittedError``.
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd

from forecast.errors import CostcastError


class NotFittedError(CostcastError):
    """A forecaster was asked to predict before ``fit``."""


class Forecaster:
    name = "base"

    def get_params(self) -> dict:
        """Constructor parameters, read from the signature so copies never drift."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {n: getattr(self, n) for n in names}

    def clone(self) -> Forecaster:
        return type(self)(**self.get_params())

    def fit(self, ds: pd.DatetimeIndex, y: np.ndarray) -> Forecaster:
        raise NotImplementedError

    def sample_paths(self, h: int, n_paths: int, seed: int) -> np.ndarray:
        raise NotImplementedError

    def _check_fitted(self) -> None:
        if not hasattr(self, "last_day_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet: call fit(ds, y) first"
            )

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


def check_series(ds: pd.DatetimeIndex, y: np.ndarray) -> tuple[pd.DatetimeIndex, np.ndarray]:
    ds = pd.DatetimeIndex(ds)
    y = np.asarray(y, dtype=float)
    if len(ds) != len(y) or len(y) == 0:
        raise CostcastError(f"a series needs as many days as values (got {len(ds)} and {len(y)})")
    if not np.isfinite(y).all() or (y < 0).any():
        raise CostcastError("series values must be finite and >= 0")
    if len(ds) > 1 and not (np.diff(ds.values) == np.timedelta64(1, "D")).all():
        raise CostcastError("a series must have one value per consecutive day")
    return ds, y
