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


def test_seasonal_naive_intervals_widen_with_the_horizon():
    rng = np.random.default_rng(0)
    y = 100 * np.exp(rng.normal(0, 0.2, len(DAYS)))
    paths = SeasonalNaive().fit(DAYS, y).sample_paths(28, 2000, seed=0)
    spread = np.percentile(paths, 90, axis=0) - np.percentile(paths, 10, axis=0)
    assert spread[21:].mean() > 1.5 * spread[:7].mean()


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
