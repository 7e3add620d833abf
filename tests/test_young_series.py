"""Models in their first weeks: tried, dropped, or taken up; their paths replay their own
days, and the run's other young series say how often such a model went quiet."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.chunk import SeriesInput
from forecast.engine import run_engine
from forecast.models import resolve_forecasters
from forecast.paths import own_history_paths, stop_shares

END = pd.Timestamp("2026-06-30")


def test_stop_shares_count_young_series_that_went_quiet_after_a_cutoff():
    # cutoffs 17, 10 and 3 days into each 31-day history (14 days must follow each)
    once = np.r_[5.0, np.zeros(30)]  # day 0 only
    # at 17 and 10: not used the week before, quiet after; at 3: used that week, quiet after
    steady = np.ones(31)  # used the week before each cutoff and after it
    quiet, used = stop_shares([once, steady], h=14)
    assert quiet == 2 / (2 + 3)  # 2 of 2 quiet, shrunk as if 3 more had gone on
    assert used == 1 / (4 + 3)  # 1 of 4 stopped
    # a series old now was young at cutoffs 25, 18, 11 and 4 days into it (those of 32
    # days and more are too old), and went on after each
    assert stop_shares([once, steady, np.ones(60)], h=14) == (quiet, 1 / (8 + 3))


def test_a_model_used_once_keeps_the_odds_of_that_day():
    """13 days with usage on the last: a week-long block misses that day from 6 of its 13
    starting days, so two blocks (a fortnight) both miss it with odds (6/13)^2."""
    history = np.r_[np.zeros(12), 26.0]
    point = np.full(14, 2.0)
    paths = own_history_paths(point, history, 4000, np.random.default_rng(1))
    np.testing.assert_allclose(paths.mean(axis=0), point)  # the mean is the point forecast
    idle = (paths.sum(axis=1) == 0).mean()
    assert abs(idle - (6 / 13) ** 2) < 0.02, idle
    # a day with usage replays the burst, over its share of paths: 26 / 2 = 13x the point
    burst = paths[paths > 0]
    assert 11 < np.median(burst / 2.0) < 15
    # half the paths stopped: idle on the other half as before, the rest scaled to the mean
    stopped = own_history_paths(point, history, 4000, np.random.default_rng(1), stop=0.5)
    np.testing.assert_allclose(stopped.mean(axis=0), point)
    assert abs((stopped.sum(axis=1) == 0).mean() - (0.5 + 0.5 * (6 / 13) ** 2)) < 0.02


def test_a_young_model_used_once_may_spend_nothing_next_fortnight():
    """Before: a model used on one day of thirteen borrowed the errors of steadier, older
    series: its fortnight's P10 was 40% of its mean (2.31 of 5.81), no path at zero."""
    rng = np.random.default_rng(5)
    inputs = []
    for i in range(6):
        y = rng.lognormal(3, 0.3, 120)
        inputs.append(SeriesInput(f"busy{i}", y, 1000 * y[None], np.array([1e-3]),
                                  resolve_forecasters("seasonal_naive,tsb,imapa")))  # fmt: skip
    once = np.r_[30.0, np.zeros(12)]
    inputs.append(SeriesInput("once", once, 1000 * once[None], np.array([1e-3]),
                              resolve_forecasters("seasonal_naive,tsb,imapa")))  # fmt: skip
    result = run_engine(inputs, 14, end=END, n_paths=200, jobs=1)
    paths = result.forecasts["once"].paths
    total = paths.sum(axis=1)
    np.testing.assert_allclose(paths.mean(axis=0), result.outcomes["once"].point)
    assert np.quantile(total, 0.1) == 0.0
    # its own week-long blocks miss its one day with odds (6/13)^2 = 21%
    assert 0.12 < (total == 0).mean() < 0.32
    # the older series keep paths of the error bank: none of theirs is idle for a fortnight
    assert (result.forecasts["busy0"].paths.sum(axis=1) > 0).all()
