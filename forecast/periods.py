"""Period totals of sample paths, and the chance of exceeding a budget: the two sums every
table of a forecast or a scenario is made of."""

from __future__ import annotations

import numpy as np


def period_runs(labels: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """(index where each period starts, its label) for days labelled in order: periods are
    runs of consecutive days, so ``np.add.reduceat(values, starts, axis=-1)`` sums them all."""
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    return starts, [str(label) for label in labels[starts]]


def period_totals(values: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """(..., days) daily values to (..., periods) totals, and the periods' labels."""
    starts, periods = period_runs(labels)
    return np.add.reduceat(values, starts, axis=-1), periods


def exceed_share(paths: np.ndarray, amount: float) -> float:
    """The share of sample paths whose total is above ``amount``."""
    return float((np.asarray(paths) > amount).mean())
