"""Models in their first weeks: tried, dropped, or taken up; their paths replay their own
days, and the run's other young series say how often such a model went quiet."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from forecast.chunk import SeriesInput
from forecast.engine import run_engine
from forecast.models import resolve_forecasters
from forecast.paths import after_cutoffs, own_history_paths

END = pd.Timestamp("2026-06-30")


def test_stop_shares_count_series_that_went_quiet_after_a_cutoff():
    # 14 days must follow a cutoff: in 31 days, cutoffs 17, 10 and 3 days in (all young)
    once = np.r_[5.0, np.zeros(30)]  # used on day 0 only
    # at 17 and 10: not used the week before, quiet after; at 3: used that week, quiet after
    steady = np.ones(31)  # used the week before each cutoff and after it
    shares = after_cutoffs([once, steady], h=14).stop_shares
    # (young, old) x (quiet, used), each shrunk as if 3 more series had gone on
    np.testing.assert_allclose(shares, [[2 / (2 + 3), 1 / (4 + 3)], [0, 0]])
    # 60 days: cutoffs 46, 39 and 32 days in are old, 25, 18, 11 and 4 young; this one
    # was used to day 39 and had nothing in the 14 days after the cutoff at 46
    dropped = np.r_[np.ones(40), np.zeros(20)]
    shares = after_cutoffs([once, steady, np.ones(60), dropped], h=14).stop_shares
    np.testing.assert_allclose(shares, [[2 / 5, 1 / (4 + 8 + 3)], [0, 1 / (6 + 3)]])


def test_young_growth_is_what_young_series_in_use_did_after_a_cutoff_by_hand():
    """31 days, cutoffs 17, 10 and 3 days in (all young). ``ramp``: 1 a day for 10 days,
    then 2: at 17, 28 / 14 after over 24 / 17 before, 34 / 24; at 10, 2 over 1; at 3, 21 /
    14 over 1. ``steady``: 1 each time. A model used once, on day 0, was used the week
    before the cutoff at 3 but had nothing after: it went on at none, and counts nowhere."""
    once, steady = np.r_[5.0, np.zeros(30)], np.ones(31)
    ramp = np.r_[np.ones(10), np.full(21, 2.0)]
    np.testing.assert_allclose(after_cutoffs([once, steady, ramp], 14).young_growth,
                               [1, 1, 1, 34 / 24, 2, 21 / 14])  # fmt: skip


def test_a_run_keeps_its_young_growth():
    once, steady = np.r_[5.0, np.zeros(30)], np.ones(31)
    ramp = np.r_[np.ones(10), np.full(21, 2.0)]
    inputs = [SeriesInput(f"s{i}", y, 1000 * y[None], np.array([1e-3]),
                          resolve_forecasters("seasonal_naive"))
              for i, y in enumerate([once, steady, ramp])]  # fmt: skip
    result = run_engine(inputs, 14, end=END, n_paths=50, jobs=1)
    np.testing.assert_allclose(result.growth, [1, 1, 1, 34 / 24, 2, 21 / 14])


def test_young_paths_grow_as_the_runs_young_series_did_and_keep_their_mean():
    """A steady history, one young series that grew 3x: a path grows 3x with odds 1 in 4
    (the one beside the 3 that did not grow, STOP_PRIOR); the mean stays the point."""
    point = np.ones(7)
    paths = own_history_paths(point, np.ones(14), 4000, np.random.default_rng(2),
                              growth=np.array([3.0]))  # fmt: skip
    np.testing.assert_allclose(paths.mean(axis=0), point)
    high = paths[:, 0] > paths[:, 0].min()
    assert 0.23 < high.mean() < 0.27
    np.testing.assert_allclose(paths[high].min() / paths[~high].max(), 3)


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
    # half the paths stopped: idle on the other half as before; the mean is the point
    # forecast on the half that goes on
    stopped = own_history_paths(point, history, 4000, np.random.default_rng(1), stop=0.5)
    np.testing.assert_allclose(stopped.mean(axis=0), point / 2)
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


def test_a_busy_series_may_stop_as_often_as_the_runs_busy_series_did():
    """Four models used for 60 days and dropped 40 days ago beside six in daily use for
    120: at the cutoffs after their 28th day, the six went on every time (12 cutoffs
    each) and the four, used the week before, stopped once in 6 (at 65 days, with 14 quiet
    days after): 4 of 96, shrunk: 4 / 99, 8 of 200 paths. A busy series' own windows never
    held a day under half its forecast, and none of its paths came near zero."""
    rng = np.random.default_rng(8)
    busy = [rng.lognormal(3, 0.3, 120) for _ in range(6)]
    dropped = [np.r_[rng.lognormal(3, 0.3, 60), np.zeros(40)] for _ in range(4)]

    def run(histories):
        inputs = [SeriesInput(f"s{i}", y, 1000 * y[None], np.array([1e-3]),
                              resolve_forecasters("seasonal_naive,tsb,imapa"))
                  for i, y in enumerate(histories)]  # fmt: skip
        return run_engine(inputs, 14, end=END, n_paths=200, jobs=1)

    alone = run(busy).forecasts["s0"].paths
    assert (alone.sum(axis=1) > 0).all()
    result = run(busy + dropped)
    paths = result.forecasts["s0"].paths
    assert (paths.sum(axis=1) == 0).sum() == 8
    np.testing.assert_allclose(paths.mean(axis=0), result.outcomes["s0"].point)


def test_a_day_no_path_drew_usage_on_goes_to_paths_that_have_some():
    # two paths, one stopped; the other has usage on one day only: the other day's
    # forecast goes to it, never to the stopped path
    paths = own_history_paths(np.array([1.0, 3.0]), np.array([4.0, 0.0]), 2,
                              np.random.default_rng(0), stop=0.5)  # fmt: skip
    stopped_row = paths.sum(axis=1) == 0
    assert stopped_row.sum() == 1
    # the mean: the point forecast on the half of the paths that goes on
    np.testing.assert_allclose(paths[~stopped_row][0], [1.0, 3.0])
    np.testing.assert_allclose(paths.mean(axis=0), [0.5, 1.5])


def test_a_gap_in_the_data_is_not_every_model_stopping():
    # two series silent together for 20 days (an export that failed), then back: the
    # cutoffs 7 and 14 days into the silence saw nobody use anything, and are left out
    gap = np.r_[np.ones(30), np.zeros(20), np.ones(16)]
    shares = after_cutoffs([gap, gap.copy()], h=14).stop_shares
    assert shares[1, 0] == 0 and shares[1, 1] == 0
    # one of them silent alone: the other's usage says the data is there; it stopped
    assert after_cutoffs([gap, np.ones(66)], h=14).stop_shares[1].sum() > 0


@settings(max_examples=300, deadline=None)
@given(
    # volumes are counts (requests or tokens); point forecasts any size a model gives
    st.lists(st.integers(0, 10**9), min_size=1, max_size=40),
    st.lists(st.just(0.0) | st.floats(1e-9, 1e6), min_size=1, max_size=30),
    st.floats(0, 0.99),
    st.integers(1, 60),
    # what the run's young series did: from stopping to 1,000x
    st.none() | st.lists(st.floats(0, 1e3), max_size=5).map(np.array),
)
def test_own_history_paths_keep_their_mean_and_stop_as_asked(history, point, stop, n_paths,
                                                            growth):  # fmt: skip
    history, point = np.array(history, dtype=float), np.array(point)
    paths = own_history_paths(point, history, n_paths, np.random.default_rng(0), stop, growth)
    assert paths.shape == (n_paths, len(point))
    assert np.isfinite(paths).all() and (paths >= 0).all()
    if history.sum() <= 0:  # never used: the point forecast, on every path
        np.testing.assert_allclose(paths, np.repeat(point[None, :], n_paths, axis=0))
        return
    # the mean: the point forecast on the share that goes on, day by day
    np.testing.assert_allclose(paths.mean(axis=0), point * (1 - stop), rtol=1e-9, atol=1e-9)
    if point.sum() > 0:
        # the stopped paths spend nothing (one always goes on)
        idle = int((paths.sum(axis=1) == 0).sum())
        assert idle >= min(round(stop * n_paths), n_paths - 1)
