"""Re-pairing each series' paths for the company total, worked out by hand: no series'
own paths change, only which of them add up with which."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecast import engine
from forecast.chunk import SeriesInput
from forecast.dependence import (
    ALPHAS,
    Held,
    Pairing,
    choose_alpha,
    costliest,
    covered,
    held_out,
    pairing,
    repair,
)
from forecast.models import resolve_forecasters


def test_pairing_by_hand():
    # two series, four paths; as drawn, the total's scores are 3, 1, 3, 5
    scores = np.array([[0.0, 1, 2, 3], [3.0, 0, 1, 2]])
    np.testing.assert_array_equal(pairing(scores, 0.0), [[0, 1, 2, 3], [0, 1, 2, 3]])
    # alpha 1: each series' paths in the order of the total's ranks (1, 0, 2, 3; the tie
    # of the first and third path kept in order): series 1 takes 1, 0, 2, 3, series 2 its
    # second lowest, lowest, third and highest: 1, 0, 2, 3 as well
    order = pairing(scores, 1.0)
    paired = np.take_along_axis(scores, order, axis=1)
    np.testing.assert_array_equal(paired, [[1, 0, 2, 3], [1, 0, 2, 3]])
    # the total now spans 0 to 6 (as drawn: 1 to 5); each series kept its own values
    assert sorted(paired.sum(axis=0)) == [0, 2, 4, 6]
    np.testing.assert_array_equal(np.sort(paired, axis=1), np.sort(scores, axis=1))


def test_a_total_drawn_against_itself_covers_once_paired():
    """Series A's paths 0..9 beside B's 9..0 sum to 9 on every path: an interval of zero
    width that misses a total of 12. Paired in order, the total runs 0..18: its 10-90%
    interval is 1.8 to 16.2 and holds 12."""
    a = np.arange(10.0)[:, None]
    held = Held(0, np.stack([a, a[::-1]]), np.array([12.0]))
    assert not covered(held, 0.0).any()
    assert covered(held, 1.0).all()
    total = repair(held.paths, 1.0).sum(axis=0)[:, 0]
    assert np.quantile(total, [0.1, 0.9]) == pytest.approx([1.8, 16.2])


def test_the_least_alpha_that_covers_is_chosen_and_one_window_can_be_left_out():
    days = {0: 10, 1: 10}
    # covered days per alpha (0, 0.25, 0.5, 0.75, 1): window 0 needs 0.5, window 1 none
    hits = {0: np.array([5, 7, 8, 9, 9]), 1: np.array([9, 9, 9, 10, 10])}
    assert len(ALPHAS) == 5
    assert choose_alpha(hits, days) == 0.25  # (5 + 9) / 20 = 0.7 at 0, (7 + 9) / 20 at 0.25
    assert choose_alpha(hits, days, leave_out=1) == 0.5  # window 0 alone: 8 of 10 at 0.5
    assert choose_alpha(hits, days, leave_out=0) == 0.0  # window 1 alone: 9 of 10 at 0
    # none covers 80%: the alpha that covers most
    assert choose_alpha({0: np.array([1, 3, 2, 2, 2])}, {0: 10}) == 0.25
    assert Pairing(0.25, hits, days).shares()["0.5"] == pytest.approx((8 + 9) / 20)


def test_repairing_keeps_every_series_paths_and_means_and_widens_the_total(monkeypatch):
    """The same run with its series paired as drawn (alpha 0) and in order (alpha 1):
    each series holds the same paths, every day's mean is the point forecast, and the
    total of 12 series that share a wandering level spreads wider."""
    rng = np.random.default_rng(4)
    days, h = 150, 28
    common = np.cumsum(rng.normal(0, 0.04, days))
    inputs = []
    for i in range(12):
        y = rng.poisson(100 * np.exp(common + rng.normal(0, 0.2, days))).astype(float)
        inputs.append(SeriesInput(f"s{i}", y, 1000 * y[None], np.array([1e-6]),
                                  resolve_forecasters("seasonal_naive,tsb")))  # fmt: skip
    runs = {}
    for alpha in (0.0, 1.0):
        monkeypatch.setattr(engine, "calibrate_dependence",
                            lambda *_, a=alpha, **__: Pairing(a, {}, {}))  # fmt: skip
        runs[alpha] = engine.run_engine(inputs, h, end=pd.Timestamp("2026-06-28"),
                                        n_paths=100, jobs=1)  # fmt: skip
    drawn, paired = runs[0.0].forecasts, runs[1.0].forecasts
    for s in inputs:
        before, after = drawn[s.uid].paths, paired[s.uid].paths
        np.testing.assert_array_equal(np.sort(before, axis=0), np.sort(after, axis=0))
        np.testing.assert_allclose(after.mean(axis=0), before.mean(axis=0))
    totals = {a: sum(f.paths.sum(axis=1) for f in runs[a].forecasts.values()) for a in runs}
    assert totals[0.0].mean() == pytest.approx(totals[1.0].mean())
    spread = {a: np.subtract(*np.quantile(totals[a], [0.9, 0.1])) for a in totals}
    assert spread[1.0] > 1.2 * spread[0.0], spread


def test_series_outside_the_costliest_are_one_block_that_adds_up_the_same():
    """The run's own backtest keeps the 200 costliest series apart and sums the rest into
    one block: per path and day, the block plus the series kept apart is the total of every
    series drawn alone, and the actual total is the same."""
    rng = np.random.default_rng(5)
    inputs = [SeriesInput(f"s{i}", y, 1000 * y[None], np.array([1e-6]),
                          resolve_forecasters("seasonal_naive,tsb"))
              for i, y in enumerate(rng.poisson(50 * (i + 1), 120).astype(float)
                                    for i in range(5))]  # fmt: skip
    result = engine.run_engine(inputs, 14, end=pd.Timestamp("2026-06-28"), n_paths=50, jobs=1)
    outcomes = [result.outcomes[s.uid] for s in inputs]
    assert costliest(outcomes, 2) == [3, 4]  # the two largest series
    windows = range(result.bank.windows)
    alone = list(held_out(result.bank, outcomes, windows, seed=1, n_paths=50))
    block = list(held_out(result.bank, outcomes, windows, seed=1, n_paths=50, apart={3, 4}))
    assert len(alone) == len(block) > 0
    for a, b in zip(alone, block, strict=True):
        assert b.paths.shape[0] == 3  # two apart, one block
        np.testing.assert_allclose(b.paths.sum(axis=0), a.paths.sum(axis=0))
        np.testing.assert_allclose(b.paths[:2], a.paths[3:])
        np.testing.assert_allclose(b.actual, a.actual)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 6), st.integers(2, 30), st.sampled_from(ALPHAS), st.integers(0, 2**31))
def test_any_pairing_is_a_permutation_of_each_series_paths(series, paths, alpha, seed):
    rng = np.random.default_rng(seed)
    scores = rng.choice([0.0, 1.0, rng.normal()], size=(series, paths))  # ties, too
    order = pairing(scores, alpha)
    for row in order:
        assert sorted(row) == list(range(paths))
    if alpha == 0:
        np.testing.assert_array_equal(order, np.tile(np.arange(paths), (series, 1)))
    if alpha == 1:  # every series in the order of the total as drawn
        total = scores.sum(axis=0)
        slots = np.argsort(total, kind="stable")
        paired = np.take_along_axis(scores, order, axis=1)[:, slots]
        assert (np.diff(paired, axis=1) >= 0).all()
