"""Whatever daily history a ledger holds, the engine gives a forecast a finance table can sum:
no exception, paths finite and never negative, and each day's mean over the paths exactly
the series' point forecast (the number that adds up in every total). Histories are drawn
by hypothesis: a day to five months long, idle, constant, bursty up to a trillion, or
switching between them, alone or beside others in one run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecast.chunk import SeriesInput
from forecast.engine import run_engine
from forecast.models import resolve_forecasters

END = pd.Timestamp("2026-06-30")
# every candidate but Prophet (a Stan fit per window: minutes for a hundred examples) and
# ETS's slower sibling; the global model is in, as it pools the run's series
CANDIDATES = resolve_forecasters("seasonal_naive,ets,theta,tsb,imapa,croston_sba,global_gbm")

# a day's volume is a count of requests or tokens: whole numbers, up to a trillion (one
# real coding agent logged ten billion tokens in a day)
day_values = st.one_of(st.just(0.0), st.integers(0, 1_000).map(float),
                       st.integers(0, 10**12).map(float))  # fmt: skip


@st.composite
def histories(draw: st.DrawFn) -> np.ndarray:
    days = draw(st.integers(1, 150))
    kind = draw(st.sampled_from(["any", "constant", "idle", "runs"]))
    if kind == "constant":
        return np.full(days, draw(day_values))
    if kind == "idle":
        return np.zeros(days)
    if kind == "runs":  # stretches of one value each: launches, outages, changes of level
        out = np.zeros(days)
        for start in sorted(draw(st.lists(st.integers(0, days - 1), max_size=4))):
            out[start:] = draw(day_values)
        return out
    return np.array(draw(st.lists(day_values, min_size=days, max_size=days)))


@pytest.mark.slow
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(histories(), min_size=1, max_size=3), st.sampled_from([1, 7, 30, 91, 400]))
def test_any_history_gets_paths_whose_mean_is_its_point_forecast(
    ys: list[np.ndarray], h: int
) -> None:
    inputs = [SeriesInput(f"s{i}", y, np.stack([0.9 * y, 0.1 * y]), np.array([1e-6, 4e-6]),
                          CANDIDATES, weight=float(y[-28:].sum()))
              for i, y in enumerate(ys)]  # fmt: skip
    result = run_engine(inputs, h, end=END, n_paths=50, jobs=1)
    for i, s in enumerate(inputs):
        paths = result.forecasts[s.uid].paths
        point = result.outcomes[s.uid].point
        assert paths.shape == (50, h)
        assert np.isfinite(paths).all() and (paths >= 0).all()
        assert np.isfinite(point).all() and (point >= 0).all()
        # the mean of the paths is the point forecast, to rounding; for a series with no
        # window of its own, on the share of its paths that does not stop (forecast.paths)
        if not result.bank.has[i].any():
            point = point * (1 - result.stops[0, int(s.y[-7:].sum() > 0)])
        np.testing.assert_allclose(paths.mean(axis=0), point, rtol=1e-9, atol=1e-9 * point.max())
        if not s.y.any():  # never used: nothing to forecast
            assert not paths.any()
        intensity = result.forecasts[s.uid].intensity
        assert np.isfinite(intensity).all() and (intensity >= 0).all()
