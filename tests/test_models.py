"""The forecaster contract, and what each model must get exactly right."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecast.errors import CostcastError
from forecast.frame import Panel
from forecast.models import FORECASTERS, NotFittedError, make_forecaster

DAYS = pd.date_range("2026-01-05", periods=140)  # starts on a Monday
FAST = sorted(n for n, cls in FORECASTERS.items() if n != "prophet")


def long_frame(values: dict[str, np.ndarray], end=DAYS[-1]) -> pd.DataFrame:
    return pd.concat(
        pd.DataFrame({"unique_id": k, "ds": pd.date_range(end=end, periods=len(v)), "y": v})
        for k, v in values.items()
    )


@pytest.mark.parametrize("name", sorted(FORECASTERS))
def test_contract(name):
    model = make_forecaster(name)
    params = model.get_params()
    assert not any(attr.endswith("_") for attr in vars(model))  # __init__ only stores params
    with pytest.raises(NotFittedError, match="call fit"):
        model.predict(7)
    rng = np.random.default_rng(0)
    frame = long_frame({f"s{i}": rng.poisson(50, len(DAYS)).astype(float) for i in range(3)})
    assert model.fit(frame) is model
    out = model.predict(10)
    assert list(out.columns) == ["unique_id", "ds", name]
    assert len(out) == 30 and (out[name] >= 0).all()
    assert out["ds"].min() == DAYS[-1] + pd.Timedelta(days=1)
    pd.testing.assert_frame_equal(out, model.predict(10))  # the same data, the same answer
    twin = model.clone()  # clone carries the parameters, not the fit
    assert twin.get_params() == params and not hasattr(twin, "panel_")


@pytest.mark.parametrize("name", sorted(FORECASTERS))
def test_a_constant_series_is_forecast_as_that_constant(name):
    panel = Panel(tuple(f"s{i}" for i in range(4)), tuple(np.full(len(DAYS), 80.0) for _ in range(4)),
                  DAYS[-1])  # fmt: skip
    mean = make_forecaster(name).forecast(panel, 14)
    # Croston's bias correction (Syntetos-Boylan) scales the rate by 1 - alpha/2, alpha = 0.1
    expected = 80.0 * 0.95 if name == "croston_sba" else 80.0
    np.testing.assert_allclose(mean, expected, rtol=0.01)


def test_seasonal_naive_repeats_a_clean_week_exactly():
    week = np.array([100, 120, 130, 125, 110, 40, 30], dtype=float)
    panel = Panel(("k",), (np.tile(week, 20),), DAYS[-1])
    mean = make_forecaster("seasonal_naive").forecast(panel, 21)
    np.testing.assert_array_equal(mean[0], np.tile(week, 3))


def test_prophet_follows_weekly_shape_and_trend():
    rng = np.random.default_rng(1)
    level = np.linspace(1000, 1300, len(DAYS))
    weekly = np.where(DAYS.day_of_week < 5, 1.0, 0.4)
    y = level * weekly * np.exp(rng.normal(0, 0.05, len(DAYS)))
    mean = make_forecaster("prophet", holidays_country=None).forecast(
        Panel(("k",), (y,), DAYS[-1]), 14
    )
    future = pd.date_range(DAYS[-1] + pd.Timedelta(days=1), periods=14)
    expected = (1300 + 300 / 139 * np.arange(1, 15)) * np.where(future.day_of_week < 5, 1.0, 0.4)
    assert np.abs(mean[0] / expected - 1).mean() < 0.05


def test_a_prophet_fit_leaves_no_cmdstan_files_behind():
    """Each fit wrote a folder of CmdStan output into cmdstanpy's temporary one, kept until
    the process ended: a server or a Dask worker grew it with every forecast."""
    from pathlib import Path

    import cmdstanpy

    before = set(Path(cmdstanpy._TMPDIR).iterdir())
    y = np.full(len(DAYS), 100.0) * np.where(DAYS.day_of_week < 5, 1.0, 0.5)
    for _ in range(2):
        make_forecaster("prophet", holidays_country=None).forecast(Panel(("k",), (y,), DAYS[-1]), 7)
    assert set(Path(cmdstanpy._TMPDIR).iterdir()) == before


def test_prophet_learns_one_holiday_effect_from_a_year_that_sees_each_holiday_once():
    # 2025-01-15 to 2025-11-20: eight US holidays at 35% of a weekday (Veterans Day's is seen,
    # Thanksgiving, 2025-11-27, is not); a year's history gives each its own effect from
    # one day, and a holiday never seen none: the shared effect carries to Thanksgiving.
    days = pd.date_range("2025-01-15", "2025-11-20")
    rng = np.random.default_rng(3)
    holidays = pd.to_datetime(["2025-01-20", "2025-02-17", "2025-05-26", "2025-06-19",
                               "2025-07-04", "2025-09-01", "2025-10-13", "2025-11-11"])  # fmt: skip
    weekly = np.where(days.day_of_week < 5, 1.0, 0.5)
    y = 1000 * weekly * np.where(days.isin(holidays), 0.35, 1.0) * rng.lognormal(0, 0.03, len(days))
    mean = make_forecaster("prophet").forecast(Panel(("k",), (y,), days[-1]), 14)[0]
    future = pd.date_range(days[-1] + pd.Timedelta(days=1), periods=14)
    thanksgiving = mean[future == "2025-11-27"][0]
    other_thursday = mean[future == "2025-12-04"][0]
    assert thanksgiving / other_thursday == pytest.approx(0.35, abs=0.1)


def test_prophet_is_scored_in_every_fold_with_the_yearly_seasonality_it_will_use():
    # 760 days of a yearly wave: the final fit has two years, so yearly seasonality; a fold
    # 91 days back has 669 days. Fitted alone, 669 days get none and the wave's rising edge
    # becomes a trend (off by about 60 on a level of 100); as a fold of the 760 days it is
    # fitted as the final model will be, so its score says how that model does.
    t = np.arange(760)
    y = 100 + 40 * np.sin(2 * np.pi * t / 365.25) + np.random.default_rng(0).normal(0, 2, 760)
    end = pd.Timestamp("2026-06-30")
    prophet = make_forecaster("prophet", holidays_country=None)
    fold = prophet.cross_validate(Panel(("k",), (y,), end), 91, [91])[0, 0]
    alone = make_forecaster("prophet", holidays_country=None).forecast(
        Panel(("k",), (y[:-91],), end - pd.Timedelta(days=91)), 91
    )[0]
    assert np.abs(fold - y[-91:]).mean() < 5
    assert np.abs(alone - y[-91:]).mean() > 20


@pytest.mark.parametrize("days", [300, 800])  # the shared holiday regressor; each holiday's own
def test_prophet_remembering_its_component_table_forecasts_as_prophet_does(days):
    from prophet import Prophet

    from forecast.models.calendar import holiday_flags
    from forecast.models.prophet import HOLIDAY, _prophet

    ds = pd.date_range("2024-01-01", periods=days)
    rng = np.random.default_rng(4)
    y = 500 * np.where(ds.day_of_week < 5, 1.0, 0.6) * rng.lognormal(0, 0.05, days)
    future = pd.DataFrame({"ds": pd.date_range(ds[-1] + pd.Timedelta(days=1), periods=30)})
    yearly = days > 730
    forecasts = []
    for cls in (Prophet, _prophet(), _prophet()):  # the second lean fit finds the table made
        model = cls(yearly_seasonality=yearly, seasonality_mode="multiplicative",
                    uncertainty_samples=0)  # fmt: skip
        history, ahead = pd.DataFrame({"ds": ds, "y": y}), future.copy()
        if yearly:
            model.add_country_holidays(country_name="US")
        else:
            model.add_regressor(HOLIDAY, standardize=False)
            history[HOLIDAY] = holiday_flags(ds, "US")
            ahead[HOLIDAY] = holiday_flags(pd.DatetimeIndex(ahead["ds"]), "US")
        model.fit(history, algorithm="LBFGS")
        forecasts.append((model.train_component_cols, model.component_modes,
                          model.predict(ahead)))  # fmt: skip
    for table, modes, forecast in forecasts[1:]:
        pd.testing.assert_frame_equal(table, forecasts[0][0])
        assert modes == forecasts[0][1]
        pd.testing.assert_frame_equal(forecast, forecasts[0][2])


def test_global_model_learns_a_shape_shared_by_many_series():
    rng = np.random.default_rng(2)
    week = np.array([1.0, 1.1, 1.2, 1.1, 1.0, 0.3, 0.2])
    days = pd.date_range("2026-01-05", periods=119)  # Mondays first, 17 weeks
    levels = rng.uniform(50, 500, 30)
    panel = Panel(
        tuple(f"s{i}" for i in range(30)),
        tuple(lv * np.tile(week, 17) * np.exp(rng.normal(0, 0.05, 119)) for lv in levels),
        days[-1],
    )
    mean = make_forecaster("global_gbm", holidays_country=None).forecast(panel, 14)
    for i in (0, 7):
        truth = levels[i] * np.tile(week, 2)
        assert np.abs(mean[i] / truth - 1).mean() < 0.1


def test_global_model_learns_from_at_most_max_rows(monkeypatch):
    """30 series of 119 days, up to 14 steps per training cutoff (fewer for a cutoff near
    the end): one cutoff each would be up to 420 rows, so a cap of 140 rows takes 10 series
    (140 // 14), a cutoff each; a cap of 840 takes every series, 840 // (30 x 14) = 2
    cutoffs each, more than the 420 that one each could give."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    seen = []
    fit = HistGradientBoostingRegressor.fit
    monkeypatch.setattr(HistGradientBoostingRegressor, "fit",
                        lambda self, X, y: (seen.append(len(X)), fit(self, X, y))[1])  # fmt: skip
    rng = np.random.default_rng(5)
    panel = Panel(tuple(f"s{i}" for i in range(30)),
                  tuple(rng.poisson(100, 119).astype(float) for _ in range(30)),
                  pd.Timestamp("2026-05-03"))  # fmt: skip
    for cap, more_than in ((140, 70), (840, 420)):
        seen.clear()
        gbm = make_forecaster("global_gbm", max_horizon=14, max_rows=cap, holidays_country=None)
        assert np.isfinite(gbm.forecast(panel, 7)).all()
        assert len(seen) == 1 and more_than < seen[0] <= cap


def test_global_model_summarises_many_series_as_it_does_one():
    """The batched summary (one matrix for every series with two level windows) gives the
    per-series summary's numbers, idle and young series included."""
    from forecast.models.global_gbm import GlobalGBM

    rng = np.random.default_rng(4)
    pasts = [rng.poisson(rng.uniform(0, 30), n) * (rng.random(n) < rng.uniform(0.1, 1))
             for n in rng.integers(1, 200, 300)]  # fmt: skip
    pasts += [np.zeros(60), np.r_[np.zeros(30), np.ones(30)], np.r_[np.ones(30), np.zeros(30)]]
    levels, summaries = GlobalGBM._summaries([p.astype(float) for p in pasts])
    for past, level, summary in zip(pasts, levels, summaries, strict=True):
        one_level, one = GlobalGBM._summary(past.astype(float))
        assert level == pytest.approx(one_level, rel=1e-12)
        assert (summary is None) == (one is None)
        if one is not None:
            np.testing.assert_allclose(summary, one, rtol=1e-12, atol=1e-12)
    assert sum(s is None for s in summaries) >= 2  # the two idle ones at least


@pytest.mark.parametrize("name", FAST)
def test_cross_validation_sees_nothing_after_its_cutoff(name):
    """Forecasts from a cutoff are the same whatever happened after it."""
    rng = np.random.default_rng(3)
    base = [rng.poisson(100, 120).astype(float) * np.where(np.arange(120) % 7 < 5, 1, 0.3)
            for _ in range(6)]  # fmt: skip
    changed = [np.r_[v[:-14], v[-14:] * 5] for v in base]  # the last two weeks differ
    a = make_forecaster(name).cross_validate(Panel(tuple("abcdef"), tuple(base), DAYS[-1]), 7,
                                             [14, 21, 28])  # fmt: skip
    b = make_forecaster(name).cross_validate(Panel(tuple("abcdef"), tuple(changed), DAYS[-1]), 7,
                                             [14, 21, 28])  # fmt: skip
    assert not np.isnan(a).any()
    np.testing.assert_allclose(a, b)


def test_a_model_that_cannot_fit_a_series_skips_it_and_says_why():
    panel = Panel(("young", "old"), (np.ones(10), np.ones(60)), DAYS[-1])
    ets = make_forecaster("ets")
    mean = ets.forecast(panel, 7)
    assert np.isnan(mean[0]).all() and not np.isnan(mean[1]).any()
    assert ets.skipped_ == {"young": "needs 14 days, has 10"}
    gbm = make_forecaster("global_gbm")
    assert np.isnan(gbm.forecast(Panel(("a",), (np.ones(20),), DAYS[-1]), 7)).all()
    assert "no series has 35 days" in gbm.skipped_["a"]
    # busy for its first 28 days, idle for the 12 after: every day it could learn to
    # forecast (those after a cutoff with 28 days behind it) was idle. A Poisson loss
    # cannot fit that; the model says so instead of failing the run.
    stopped = np.concatenate([np.full(28, 100.0), np.zeros(12)])
    assert np.isnan(gbm.forecast(Panel(("stopped",), (stopped,), DAYS[-1]), 7)).all()
    assert gbm.skipped_ == {"stopped": "every day it could learn to forecast was idle"}


def test_bad_frames_and_unknown_forecaster():
    with pytest.raises(CostcastError, match="one value per consecutive day"):
        make_forecaster("tsb").fit(long_frame({"a": np.ones(10)}).iloc[::2])
    with pytest.raises(CostcastError, match="finite number >= 0"):
        make_forecaster("tsb").fit(long_frame({"a": np.array([1.0, -1.0, 2.0])}))
    with pytest.raises(CostcastError, match="lacks column"):
        make_forecaster("tsb").fit(pd.DataFrame({"unique_id": ["a"], "ds": [DAYS[0]]}))
    with pytest.raises(CostcastError, match="must end on the same day"):
        make_forecaster("tsb").fit(pd.concat([long_frame({"a": np.ones(9)}),
                                              long_frame({"b": np.ones(9)}, end=DAYS[-2])]))  # fmt: skip
    undated = long_frame({"a": np.ones(4)}).astype({"ds": object})
    undated.loc[2, "ds"] = "soon"  # the third row
    with pytest.raises(CostcastError) as bad_day:
        make_forecaster("tsb").fit(undated)
    assert str(bad_day.value) == "record 3, field 'ds': not a date or time (got 'soon')"
    # a row without a series name would drop out of every group, unseen
    nameless = long_frame({"a": np.ones(4)}).astype({"unique_id": object})
    nameless.loc[1, "unique_id"] = None
    with pytest.raises(CostcastError) as unnamed:
        make_forecaster("tsb").fit(nameless)
    assert str(unnamed.value) == (
        "record 2, field 'unique_id': a series needs a name: a text or a number"
    )
    with pytest.raises(CostcastError, match=r"unknown forecaster 'arima'.*seasonal_naive"):
        make_forecaster("arima")


# a frame's days as a user or a client might send them: dates in several forms and time
# zones, times of day, numbers, flags, empties and text
_DAYS = st.one_of(
    st.dates(
        min_value=pd.Timestamp("1990-01-01").date(), max_value=pd.Timestamp("2100-01-01").date()
    ).map(str),
    st.datetimes().map(lambda t: t.isoformat()),
    st.sampled_from(["2024-01-01T00:00Z", "2024-01-02T00:00+05:00", "01/02/2024", "NaT", ""]),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.none(),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=2),
)


_IDS = st.one_of(st.sampled_from(["a", "b"]), st.integers(0, 2), st.floats(), st.none(),
                st.lists(st.integers(), max_size=1), st.dictionaries(st.text(), st.integers()))  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(data=st.data(), days=st.lists(_DAYS, min_size=1, max_size=6))
def test_any_days_in_a_long_frame_fit_or_say_which_record(data, days):
    """Whatever a frame's ``unique_id`` and ``ds`` hold, fitting it either works or is
    refused with a costcast error; one that names a record names a real one."""
    ids = data.draw(st.lists(_IDS, min_size=len(days), max_size=len(days)))
    frame = pd.DataFrame({"unique_id": pd.Series(ids, dtype=object),
                          "ds": pd.Series(days, dtype=object), "y": np.ones(len(days))})  # fmt: skip
    try:
        make_forecaster("seasonal_naive").fit(frame)
    except CostcastError as refused:
        assert refused.record is None or 1 <= refused.record <= len(days)
