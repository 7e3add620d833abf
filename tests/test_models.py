"""The forecaster contract and what each model must get exactly right."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.errors import CostcastError
from forecast.models import MODELS, NotFittedError, ProphetForecaster, SeasonalNaive, make_model

DAYS = pd.date_range("2026-01-05", periods=140)  # starts on a Monday


@pytest.mark.parametrize("name", sorted(MODELS))
def test_contract(name):
    model = make_model(name)
    params = model.get_params()
    assert not any(attr.endswith("_") for attr in vars(model))  # __init__ only stores params
    with pytest.raises(NotFittedError, match="call fit"):
        model.sample_paths(7, 10, 0)
    y = np.full(len(DAYS), 50.0)
    assert model.fit(DAYS, y) is model
    paths = model.sample_paths(10, 30, seed=1)
    assert paths.shape == (30, 10) and (paths >= 0).all()
    np.testing.assert_array_equal(paths, model.sample_paths(10, 30, seed=1))
    # clone carries the parameters, not the fit
    twin = model.clone()
    assert twin.get_params() == params and not hasattr(twin, "last_day_")


def test_seasonal_naive_repeats_a_clean_week_exactly():
    week = np.array([100, 120, 130, 125, 110, 40, 30], dtype=float)
    y = np.tile(week, len(DAYS) // 7)
    paths = SeasonalNaive().fit(DAYS, y).sample_paths(21, 50, seed=3)
    np.testing.assert_allclose(paths, np.tile(week, 3)[None, :].repeat(50, axis=0))


def test_seasonal_naive_intervals_follow_the_series_own_errors():
    rng = np.random.default_rng(0)
    days = pd.date_range("2025-01-06", periods=364)

    def spread(y):
        paths = SeasonalNaive().fit(days, y).sample_paths(56, 4000, seed=0)
        width = np.percentile(paths, 90, axis=0) - np.percentile(paths, 10, axis=0)
        return width[:7].mean(), width[-7:].mean()

    # a drifting level (random walk): the rule's errors grow with the horizon
    first, last = spread(100 * np.exp(np.cumsum(rng.normal(0, 0.05, 364))))
    assert last > 2 * first
    # noise around a fixed level: errors do not grow, whatever the horizon
    first, last = spread(100 * np.exp(rng.normal(0, 0.2, 364)))
    assert last == pytest.approx(first, rel=0.25)


def test_prophet_forecasts_a_constant_as_that_constant():
    paths = ProphetForecaster().fit(DAYS, np.full(len(DAYS), 80.0)).sample_paths(30, 100, 0)
    assert paths.mean() == pytest.approx(80.0, rel=0.01)


def test_prophet_follows_weekly_shape_and_trend():
    rng = np.random.default_rng(1)
    level = np.linspace(1000, 1300, len(DAYS))
    weekly = np.where(DAYS.day_of_week < 5, 1.0, 0.4)
    y = level * weekly * np.exp(rng.normal(0, 0.05, len(DAYS)))
    mean = ProphetForecaster(holidays_country=None).fit(DAYS, y).sample_paths(14, 200, 0).mean(0)
    future = pd.date_range(DAYS[-1] + pd.Timedelta(days=1), periods=14)
    expected = (1300 + 300 / 139 * np.arange(1, 15)) * np.where(future.day_of_week < 5, 1.0, 0.4)
    assert np.abs(mean / expected - 1).mean() < 0.05


def test_bad_series_and_unknown_model():
    with pytest.raises(CostcastError, match="one value per consecutive day"):
        SeasonalNaive().fit(DAYS[::2], np.ones(len(DAYS[::2])))
    with pytest.raises(CostcastError, match="finite and >= 0"):
        SeasonalNaive().fit(DAYS[:3], np.array([1.0, -1.0, 2.0]))
    with pytest.raises(CostcastError, match=r"unknown model 'arima'.*seasonal_naive"):
        make_model("arima")


def test_global_model_learns_a_shape_shared_by_many_series():
    from forecast.models.global_gbm import GlobalGBM

    rng = np.random.default_rng(2)
    week = np.array([1.0, 1.1, 1.2, 1.1, 1.0, 0.3, 0.2])
    days = pd.date_range("2026-01-05", periods=119)  # Mondays first, 17 weeks
    series = {
        f"s{i}": (days, level * np.tile(week, 17) * np.exp(rng.normal(0, 0.05, 119)))
        for i, level in enumerate(rng.uniform(50, 500, 30))
    }
    model = GlobalGBM(holidays_country=None)
    with pytest.raises(NotFittedError, match="call fit"):
        model.sample_paths("s0", 7, 10, 0)
    model.fit(series)
    for key in ("s0", "s7"):
        level = series[key][1][-28:].mean() / week.mean()
        mean = model.sample_paths(key, 14, 300, seed=4).mean(axis=0)
        assert np.abs(mean / (level * np.tile(week, 2)) - 1).mean() < 0.1


def test_mixture_widen_and_spread_factor():
    from forecast.engine import SeriesForecast, SeriesTask, mixture, spread_factor, widen

    a, b = np.zeros((4, 3)), np.ones((4, 3))
    np.testing.assert_array_equal(mixture([a, b])[:, 0], [0, 1, 0, 1])
    paths = np.array([[8.0], [10.0], [12.0]])
    np.testing.assert_allclose(widen(paths, 2.0)[:, 0], [6.0, 10.0, 14.0])
    assert widen(np.array([[1.0], [10.0], [20.0]]), 3.0).min() == 0.0  # clipped, not negative
    # every backtest day misses the median by twice the interval's half-width: factor 2
    draws = np.random.default_rng(0).normal(100, 10, size=(10000, 14))
    mid, hi = np.quantile(draws, [0.5, 0.9], axis=0)
    actual = np.concatenate([np.zeros(28), mid + 2 * (hi - mid)])
    task = SeriesTask("k", pd.date_range("2026-01-01", periods=42), actual, 7, 10, 0, ("x",))
    result = SeriesForecast("k", "x", None, None, np.zeros((10, 7)), windows=[(28, draws)])
    assert spread_factor([task], {"k": result}) == pytest.approx(2.0)


def test_global_candidate_scores_every_window_a_series_allows():
    from forecast.engine import ALL_MODELS, SeriesTask, run_tasks

    rng = np.random.default_rng(0)

    def task(key, n):
        ds = pd.date_range("2026-01-01", periods=n)
        return SeriesTask(key, ds, rng.poisson(100, n).astype(float), 7, 20, 1, ALL_MODELS)

    # 56 days is exactly four weeks to fit on plus two 14-day windows
    results = run_tasks([task("long", 200), task("edge", 56)], jobs=1)
    assert len(results["edge"].windows) == 2
    assert set(results["edge"].scores) == {*ALL_MODELS, "ensemble"}
