"""Selection, intensity and calibrated paths, on cases whose answers are known by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.chunk import Plan, SeriesInput, held, hold_start
from forecast.engine import run_engine
from forecast.intensity import better_unit, intensity_forecast
from forecast.intervals import ErrorBank, extend, growth_exponent
from forecast.models import ENSEMBLE, resolve_forecasters
from forecast.paths import lowest_ratio, paths_from
from forecast.selection import Selector, combine

END = pd.Timestamp("2026-06-30")


def test_each_window_is_judged_by_the_choice_made_without_it():
    actual = np.full((5, 1), 10.0)
    # a is exact but in window 0 (20 high); b is 2 high everywhere
    cv = {"a": np.array([[30.0], [10], [10], [10], [10]]), "b": np.full((5, 1), 12.0)}
    # All windows: MAE a 4, b 2, their median (the mean of two: 21, then 11) 3; b wins by
    # the margin but in one window of five, so the choice is the ensemble.
    choice = Selector(actual, cv, 1.0).choose()
    assert choice.name == ENSEMBLE
    # Without window 0: a 0, b 2, ensemble 1; a wins in all four windows: a's 30.
    # Without window 1 (or 2, 3, 4): a 5, b 2, ensemble 3.5; b wins in one of four: 11.
    assert Selector(actual, cv, 1.0).chosen_without(choice)[:, 0].tolist() == [30.0, 11, 11, 11, 11]
    # one window: nothing to leave out, the choice's own forecast (the ensemble: one window
    # cannot show a clear winner)
    one = {n: f[:1] for n, f in cv.items()}
    single = Selector(actual[:1], one, 1.0)
    assert single.chosen_without(single.choose())[0, 0] == 21.0


def test_a_single_winner_is_kept_only_if_choosing_it_holds_out_of_sample():
    actual = np.full((5, 1), 10.0)
    # a misses by 1, 1, 1, 1, 3; b by 3, 3, 3, 3, 1; their median (the mean of two) by 2
    # in every window. Over all five: a 1.4, the ensemble 2.0, b 2.6, and a wins four
    # windows of five: a clear winner.
    cv = {"a": np.array([[11.0], [11], [11], [11], [13]]),
          "b": np.array([[13.0], [13], [13], [13], [11]])}  # fmt: skip
    choice = Selector(actual, cv, 1.0).choose()
    assert choice.name == "a"
    # Without window 4, a wins all four others and is chosen: 3 in window 4, where the
    # ensemble misses by 2. Without any other, a wins three of four (not 80%): the
    # ensemble, 2. Choosing: 3 + 4 x 2 = 11, against the ensemble's 5 x 2 = 10.
    kept = Selector(actual, cv, 1.0).confirmed(choice)
    assert kept.name == ENSEMBLE and kept.members == ("a", "b")
    assert kept.scores == choice.scores
    # b 5 high in window 4 (the ensemble then 4 high, a 3): a wins every window, is chosen
    # without each of them, and misses by 7 in all where the ensemble misses by 12
    cv["b"][4] = 15.0
    selector = Selector(actual, cv, 1.0)
    assert selector.confirmed(selector.choose()).name == "a"


def test_a_clear_winner_is_chosen_and_a_close_race_is_combined():
    actual = np.full((4, 3), 10.0)
    misses = {"a": 1.0, "b": -1.2, "c": 1.5, "d": -2.0, "e": 3.0, "f": 8.0}
    cv = {name: actual + miss for name, miss in misses.items()}
    # the five best are a-e; their median (11, 8.8, 11.5, 8, 13 -> 11) misses by 1, as a does
    choice = Selector(actual, cv, 1.0).choose()
    assert choice.name == ENSEMBLE and choice.members == ("a", "b", "c", "d", "e")
    assert choice.scores == pytest.approx({**{n: abs(m) for n, m in misses.items()}, ENSEMBLE: 1.0})
    # a exact, the others 4-9 high: the median of the five best (15) misses by 5
    cv = {
        name: actual + miss
        for name, miss in {"a": 0, "b": 4, "c": 6, "d": 5, "e": 7, "f": 9}.items()
    }
    assert Selector(actual, cv, 1.0).choose().name == "a"
    np.testing.assert_array_equal(combine(cv, ("b", "c", "f")), actual + 6)  # median of 4, 6, 9
    # the same race over three windows: too few to tell a pattern from luck
    assert Selector(actual[:3], {n: f[:3] for n, f in cv.items()}, 1.0).choose().name == ENSEMBLE
    # a better overall (3 against the ensemble's 5.5: its median is 15, then 16 where a
    # misses by 6) but winning two windows of four
    cv["a"] = actual + np.array([[0.0], [0.0], [6.0], [6.0]])
    assert Selector(actual, cv, 1.0).choose().name == ENSEMBLE


def test_one_burst_no_candidate_foresaw_does_not_decide_the_choice():
    actual = np.full((6, 7), 10.0)
    actual[0, 3] = 100_000.0  # a day of 10,000x, in the earliest window
    # a forecasts the level throughout; b learnt the burst into its level (100 afterwards)
    cv = {"a": np.full((6, 7), 10.0), "b": np.r_[np.full((1, 7), 10.0), np.full((5, 7), 100.0)]}
    # uncapped, the burst's error (99,990) is most of every sum: a (99,990) is not 10% better
    # than the ensemble (99,990 + 35 days x 45), and the ensemble keeps b's 100 in its median
    assert Selector(actual, cv, 1.0).choose().name == ENSEMBLE
    # each day's error counted up to 11: a 11 in all, the ensemble 11 + 35 x 11
    assert Selector(actual, cv, 1.0, cap=11.0).choose().name == "a"


def test_paths_keep_the_point_forecast_as_their_mean_and_stay_non_negative():
    point = np.array([10.0, 0.0, 5.0, 1.0])
    z = np.random.default_rng(0).normal(0, 2, size=(400, 4))
    z -= z.mean(axis=0)
    paths = paths_from(point, 3.0, z)
    assert (paths >= 0).all()
    np.testing.assert_allclose(paths.mean(axis=0), point)  # clipping at 0 moved no mean
    assert paths[:, 1].max() == 0.0  # a zero forecast stays zero


def test_no_path_falls_below_the_lowest_day_the_series_has_seen_against_its_forecast():
    # windows' days against their forecasts: 8 / 10, 12 / 10, 5 / 10 (the lowest, 0.5);
    # a NaN (a window the series is too young for) and a zero forecast say nothing
    actual = np.array([[8.0, 12.0], [5.0, 3.0], [np.nan, np.nan]])
    point = np.array([[10.0, 10.0], [10.0, 0.0], [np.nan, np.nan]])
    assert lowest_ratio(actual, point) == 0.5
    assert lowest_ratio(np.array([[0.0, 9.0]]), np.array([[10.0, 10.0]])) == 0.0  # an idle day
    assert lowest_ratio(np.full((1, 2), np.nan), np.full((1, 2), np.nan)) == 0.0  # no window
    # three paths of a day forecast at 10, level 1: -10, 10 and 30 before the floor; at
    # half the forecast the first is 5, then all are rescaled to a mean of 10: x 10 / 15
    paths = paths_from(np.array([10.0]), 1.0, np.array([[-20.0], [0.0], [20.0]]), 0.5)
    np.testing.assert_allclose(paths[:, 0], [5 * 10 / 15, 10 * 10 / 15, 30 * 10 / 15])


def test_errors_beyond_the_validated_horizon_grow_like_a_power_of_it():
    H = 14
    level_error = np.r_[np.zeros(7), np.full(7, 0.2)]  # the last week runs 20% high
    z = np.stack([level_error, -level_error])
    for gamma in (0.0, 0.5, 1.0):
        out = extend(z, 42, gamma)
        assert out.shape == (2, 42)
        np.testing.assert_array_equal(out[:, :H], z)
        # day 41 (the 42nd) against the last validated week's centre, H - 3.5 days out
        np.testing.assert_allclose(out[0, 41], 0.2 * (42 / 10.5) ** gamma)
        np.testing.assert_allclose(out[1], -out[0])


def test_days_beyond_a_window_take_its_last_week_at_random_not_on_their_weekday():
    z = np.r_[np.zeros(6), 7.0][None, :]  # one burst, on the last day of a one-week window
    replayed = extend(np.repeat(z, 700, axis=0), 28, 0.0)
    # on its weekday: the burst recurs on the same day of every later week, in every path
    assert (replayed[:, 7:] == 7).mean(axis=0).tolist() == [0.0] * 6 + [1.0] + [0.0] * 6 + [
        1.0] + [0.0] * 6 + [1.0]  # fmt: skip
    picks = np.random.default_rng(0).integers(0, 7, (700, 28))
    drawn = extend(np.repeat(z, 700, axis=0), 28, 0.0, picks=picks)
    np.testing.assert_array_equal(drawn[:, 7:], z[0, picks[:, 7:]])  # gamma 0: no growth
    # drawn days: on any later day, in about one path of seven
    assert np.abs((drawn[:, 7:] == 7).mean(axis=0) - 1 / 7).max() < 0.05


def test_a_series_replays_its_own_windows_and_a_class_mate_lends_shape_not_size():
    rng = np.random.default_rng(8)
    errors = rng.choice([-0.2, 0.2], size=(7, 4, 14))  # every series +-20% a day
    errors[1, :, 10] = 50.0  # series 1: a burst of 50 levels on day 11 of every window
    errors[2, :2] = np.nan  # series 2: young, its own trajectories at windows 2 and 3 only
    bank = ErrorBank(errors, np.zeros(7, dtype=int), np.ones(7), np.full(4, 14))
    draws = np.arange(4).repeat(50)
    # series 0 has every window: its draws are its own errors, whatever a class-mate did
    own = errors[0][draws]
    np.testing.assert_allclose(bank.draw(0, 0, draws, seed=0, h=14), own - own.mean(axis=0))
    # series 2 borrows at windows 0 and 1, each trajectory scaled to the size its own errors
    # typically reach over a window (0.2, as for every series but the bursty one): the burst
    # is 50 / mean(|errors|) = 50 / 3.76 = 13.3 times the rest of its trajectory, so 2.7
    z = bank.draw(2, 0, draws, seed=0, h=14)
    assert 2.0 < np.abs(z).max() < 3.0
    # at its own windows, its own errors (less the centring, the same for every path)
    shift = z[draws >= 2] - errors[2][draws[draws >= 2]]
    np.testing.assert_allclose(shift, np.broadcast_to(shift[0], shift.shape))


def test_growth_exponent_tells_noise_from_a_random_walk():
    rng = np.random.default_rng(1)
    noise = rng.normal(0, 1, size=(200, 6, 28))
    assert growth_exponent(noise) < 0.15  # noise around a fixed level: no growth
    walk = np.cumsum(rng.normal(0, 1, size=(200, 6, 28)), axis=2)
    assert 0.35 < growth_exponent(walk) < 0.65  # a random walk: like the square root


def test_identical_series_share_their_shocks_in_every_total():
    """Paths draw the same cutoff for every series: perfectly correlated series give a
    total whose interval is the sum of theirs, not the square-root-shrunk one."""
    rng = np.random.default_rng(2)
    trajectory = rng.normal(0, 0.3, size=(6, 14))
    errors = np.repeat(trajectory[None], 20, axis=0)  # 20 series, the same errors
    bank = ErrorBank(errors, np.zeros(20, dtype=int), np.ones(20), np.full(6, 14))
    draws = rng.integers(0, 6, 300)
    one = bank.draw(0, 0, draws, seed=1, h=14)
    total = sum(bank.draw(i, 0, draws, seed=100 + i, h=14) for i in range(20))
    np.testing.assert_allclose(total, 20 * one)


def test_a_series_without_windows_borrows_its_class_errors_at_its_own_noise():
    errors = np.full((4, 4, 7), np.nan)
    errors[0] = 0.1 * np.random.default_rng(3).choice([-1.0, 1.0], size=(4, 7))
    errors[1] = 10 * errors[0]  # another class: must not be borrowed from
    # series 2 is as noisy day to day as series 0, series 3 twice as noisy
    bank = ErrorBank(errors, np.array([0, 1, 0, 0]), np.array([0.5, 0.5, 0.5, 1.0]), np.full(4, 7))
    draws = np.arange(4).repeat(25)
    borrowed = errors[0][draws] - errors[0][draws].mean(axis=0)  # the class-mate's, not 10x
    np.testing.assert_allclose(bank.draw(2, 0, draws, seed=0, h=7), borrowed, atol=1e-12)
    np.testing.assert_allclose(bank.draw(3, 0, draws, seed=0, h=7), 2 * borrowed, atol=1e-12)


def test_few_trajectories_are_stretched_until_held_out_windows_are_covered():
    """Six draws of a normal error per step: their 10-90% range covers far less than 80%
    of a new draw; holding each window out finds the stretch that restores it."""
    rng = np.random.default_rng(7)
    errors = rng.normal(0, 1, size=(200, 6, 7))
    bank = ErrorBank(errors, np.zeros(200, dtype=int), np.ones(200), np.full(6, 7))
    bank.calibrate(seed=0)
    assert 1.1 < bank.factors["daily"] < 1.6
    fresh = rng.normal(0, 1, size=(200, 7))
    draws = rng.integers(0, 6, 500)
    inside = []
    for i in range(200):
        lo, hi = np.quantile(bank.draw(i, 0, draws, seed=i, h=7), [0.1, 0.9], axis=0)
        inside.append((fresh[i] >= lo) & (fresh[i] <= hi))
    assert 0.75 <= np.mean(inside) <= 0.88


def test_busy_and_mostly_idle_series_are_stretched_apart():
    """Half the series are busy (a normal error every day), half mostly idle (one error
    and its opposite in each week: five days of seven and every week's total exactly
    right). One factor pooled over both was held down by the idle days covered for free:
    the busy series' fresh days fell inside in about 73% of cases. Per class, each covers
    its own (the busy class's factor weighs 30 / 33 its own, 3 / 33 the pooled one)."""
    rng = np.random.default_rng(7)

    def sparse(shape: tuple[int, ...]) -> np.ndarray:
        out, size = np.zeros((*shape, 7)), rng.normal(0, 1, shape)
        out[..., 2], out[..., 5] = size, -size
        return out

    idle = np.arange(60) >= 30
    classes = np.where(idle, 2, 0)
    errors = rng.normal(0, 1, size=(60, 6, 7))
    errors[idle] = sparse((30, 6))
    bank = ErrorBank(errors, classes, np.ones(60), np.full(6, 7))
    bank.calibrate(seed=0)
    assert bank.factors["smooth"]["series"] == bank.factors["mostly_idle"]["series"] == 30
    assert bank.spread[0] > bank.spread[2] and bank.factors["daily"] > bank.spread[2]
    fresh = rng.normal(0, 1, size=(60, 5, 7))
    fresh[idle] = sparse((30, 5))
    draws = rng.integers(0, 6, 500)
    inside = []
    for i in range(60):
        lo, hi = np.quantile(bank.draw(i, classes[i], draws, seed=i, h=7), [0.1, 0.9], axis=0)
        inside.append(((fresh[i] >= lo) & (fresh[i] <= hi)).mean())
    assert 0.78 <= np.mean(inside[:30]) <= 0.9
    assert 0.78 <= np.mean(inside[30:]) <= 0.92


def test_the_pooled_stretch_is_what_the_days_that_missed_need():
    """Half the series idle and forecast idle (every error exactly 0), half busy: the
    pooled factor, every class's prior, is the busy half's own within sampling noise. Had
    the idle days counted, half the days needing no stretch would have put the pooled
    80% quantile at the busy days' 60% one."""
    rng = np.random.default_rng(3)
    busy = rng.normal(0, 1, size=(30, 6, 7))
    errors = np.concatenate([busy, np.zeros((30, 6, 7))])
    classes = np.r_[np.zeros(30, dtype=int), np.full(30, 2)]
    mixed = ErrorBank(errors, classes, np.ones(60), np.full(6, 7))
    alone = ErrorBank(busy, classes[:30], np.ones(30), np.full(6, 7))
    mixed.calibrate(seed=0)
    alone.calibrate(seed=0)
    for kind in ("daily", "total"):
        assert mixed.factors[kind] == pytest.approx(alone.factors[kind], rel=0.05)


def test_intensity_carries_a_growing_prompt_forward():
    days = 300
    requests = np.full(days, 100.0)
    per_request = np.linspace(15_000, 21_000, days)  # +20 tokens a day
    tokens = np.stack([requests * per_request, requests * 500])
    forecast = intensity_forecast(requests, tokens, 90)
    # the level of the last four weeks, carried to today and on, damped
    assert forecast[0, 0] == pytest.approx(21_000, rel=0.01)
    assert 21_000 * 1.04 < forecast[0, -1] < 21_000 + 20 * 90  # grows, never beyond the line
    np.testing.assert_allclose(forecast[1], 500, rtol=1e-6)  # a steady kind stays put
    flat = np.stack([requests * 15_000 * np.exp(np.random.default_rng(4).normal(0, 0.05, days))])
    assert intensity_forecast(requests, flat, 90)[0, -1] == pytest.approx(15_000, rel=0.05)


def test_volume_is_counted_in_requests_only_where_they_forecast_cost_better():
    rng = np.random.default_rng(5)
    days = 120
    cutoffs, weights = [28, 35, 42], np.array([1e-6])
    # requests jump around while the tokens stay steady: forecast the tokens
    tokens_per_day = 1e6 * np.exp(rng.normal(0, 0.05, days))
    noisy_requests = rng.choice([10.0, 1000.0], size=days)
    assert better_unit(noisy_requests, tokens_per_day[None], weights, cutoffs, 28) == "tokens"
    # steady requests whose prompt grows 1% a day: the intensity's trend carries the growth,
    # a plain profile of the token count cannot
    weekly = np.where(np.arange(days) % 7 < 5, 1000.0, 200.0)
    growing = 500 * np.exp(0.01 * np.arange(days))
    assert better_unit(weekly, (weekly * growing)[None], weights, cutoffs, 28) == "requests"
    # tokens per request fixed: both forecast cost equally well, and the tie goes to tokens
    assert better_unit(weekly, 800 * weekly[None], weights, cutoffs, 28) == "tokens"
    assert better_unit(None, tokens_per_day[None], weights, cutoffs, 28) == "tokens"


@pytest.mark.slow
def test_intervals_cover_what_they_say_on_series_from_a_known_process():
    """80% intervals of 60 series whose futures are simulated by the same process cover
    close to 80% of days, and 28-day totals about as often."""
    rng = np.random.default_rng(6)
    n, days, h = 60, 210, 28
    inputs, futures = [], []
    weekday = np.where(np.arange(days + h) % 7 < 5, 1.0, 0.4)
    for i in range(n):
        log_level = np.cumsum(rng.normal(0, 0.03, days + h))  # a slowly wandering level
        y = rng.poisson(200 * np.exp(log_level) * weekday).astype(float)
        inputs.append(SeriesInput(f"s{i}", y[:days], 1000 * y[None, :days], np.array([1e-6]),
                                  resolve_forecasters("seasonal_naive,theta,tsb,imapa")))  # fmt: skip
        futures.append(y[days:])
    result = run_engine(inputs, h, end=END, n_paths=200, jobs=1)
    inside, total_inside = [], []
    for s, future in zip(inputs, futures, strict=True):
        paths = result.forecasts[s.uid].paths
        lo, hi = np.quantile(paths, [0.1, 0.9], axis=0)
        inside.append((future >= lo) & (future <= hi))
        lo, hi = np.quantile(paths.sum(axis=1), [0.1, 0.9])
        total_inside.append(lo <= future.sum() <= hi)
    assert 0.72 <= np.mean(inside) <= 0.88
    assert 0.6 <= np.mean(total_inside) <= 0.95


def test_a_steady_series_keeps_a_sensible_month_beside_bursty_class_mates():
    """A steady series' month is not distorted by a class-mate's burst or change of level:
    its median month stays near its mean (it was a fifth of it when steady series borrowed
    their class-mates' trajectories whatever their own)."""
    rng = np.random.default_rng(9)
    days, h = 150, 91
    steady = rng.lognormal(0, 0.6, days)
    spiky = rng.lognormal(0, 0.4, days)
    spiky[-50] *= 10_000  # one day of ten thousand
    step = rng.lognormal(0, 0.3, days)
    step[-50:] *= 5  # five times the level for the last 50 days
    young = rng.lognormal(0, 0.5, 60)
    inputs = [SeriesInput(name, y, 1000 * y[None], np.array([1e-3]),
                          resolve_forecasters("seasonal_naive,tsb,imapa"))
              for name, y in (("steady", steady), ("spiky", spiky), ("step", step),
                              ("young", young))]  # fmt: skip
    result = run_engine(inputs, h, end=END, n_paths=200, jobs=1)
    for name in ("steady", "young"):
        month = result.forecasts[name].paths[:, -30:].sum(axis=1)
        p10, p50, p90 = np.quantile(month, [0.1, 0.5, 0.9])
        assert 0.8 < p50 / month.mean() < 1.2, (name, p10, p50, p90, month.mean())
        if name == "steady":  # all its windows its own
            assert p10 / month.mean() > 0.3 and p90 / month.mean() < 2.5, (p10, p90)
    # The step's windows across its jump ran levels low; centred, their mirror image is a
    # fall through zero, and 44.5% of its paths sat at zero on day 60. No day of its
    # windows came in under half its forecast (0.495), and no path goes lower now.
    step = result.forecasts["step"].paths
    assert (step[:, 59] > 0).all()
    assert np.quantile(step[:, -30:].sum(axis=1), 0.1) > 0.2 * step[:, -30:].sum(axis=1).mean()
    # The young series borrows at the three cutoffs it is too young for: a third of those
    # paths replay the step's shape (scaled to its size), and its P10 month is still low
    # (4% of the mean here; 40% without the bursty class-mates).


def test_past_its_evidence_a_forecast_repeats_the_week_before():
    forecast = np.arange(1.0, 11.0)
    assert held(forecast, 7).tolist() == [1, 2, 3, 4, 5, 6, 7, 1, 2, 3]
    assert held(forecast, 8).tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 2, 3]
    assert held(forecast, 7, days=8).tolist() == [1, 2, 3, 4, 5, 6, 7, 1, 9, 10]
    assert held(forecast, None) is forecast and held(forecast, 10) is forecast
    # windows of 91 days from 7, 14, 28, 56, 91 and 105 days back, each after 21 days of
    # history at least: the furthest a series' own windows reach is where its forecast holds
    plan = Plan(91, (7, 14, 28, 56, 91, 105), 91, END)
    assert [hold_start(n, plan) for n in (10, 30, 35, 50, 77, 111, 112, 400)] == [
        7, 7, 14, 28, 56, 56, None, None]  # fmt: skip


def test_a_launch_ramp_is_not_carried_past_what_the_young_series_has_shown():
    """Thirty days after a launch (a 21-day ramp to 100 a day, then flat), the trend
    candidates score best on the ramp; a quarter of that slope would end near 500 a day.
    Past the one week its windows reach, the forecast repeats that week, and says so."""
    rng = np.random.default_rng(4)
    y = np.concatenate([np.linspace(5, 100, 21), np.full(9, 100.0)]) * rng.lognormal(0, 0.05, 30)
    inputs = [SeriesInput("copilot", y, 1000 * y[None], np.array([1e-3]),
                          resolve_forecasters("seasonal_naive,theta,ets"))]  # fmt: skip
    result = run_engine(inputs, 91, end=END, n_paths=100, jobs=1)
    outcome = result.outcomes["copilot"]
    assert np.allclose(outcome.point[7:], np.resize(outcome.point[:7], 84))
    assert 80 < outcome.point.mean() < 125, outcome.point.mean()
    assert outcome.flag == (
        "30 days of history: from day 8 on, its forecast repeats days 1-7 (no window of its own "
        "reaches further)"
    )


@pytest.mark.slow
def test_a_pool_of_workers_gives_the_numbers_of_one_process():
    """Workers fit local candidates while the global model learns, then choose per chunk;
    in one process every chunk is fitted and chosen in turn. Where a chunk ran never
    changes a number: choices, forecasts and every path are the same."""
    rng = np.random.default_rng(3)
    days = 120
    weekday = np.where(np.arange(days) % 7 < 5, 1.0, 0.3)
    inputs = []
    for i in range(24):
        y = rng.poisson(rng.lognormal(4, 1) * weekday).astype(float)
        y[: rng.integers(0, 60)] = 0.0 if i % 5 == 0 else y[0]  # some start idle
        inputs.append(SeriesInput(f"s{i}", y, 1000 * y[None], np.array([1e-6]),
                                  resolve_forecasters("seasonal_naive,tsb,imapa,global_gbm"),
                                  weight=float(y[-28:].sum())))  # fmt: skip
    alone = run_engine(inputs, 14, end=END, n_paths=40, jobs=1)
    pooled = run_engine(inputs, 14, end=END, n_paths=40, jobs=2)
    assert {f.forecaster for f in alone.forecasts.values()} >= {ENSEMBLE}
    for uid, one in alone.forecasts.items():
        other = pooled.forecasts[uid]
        assert (one.forecaster, one.members) == (other.forecaster, other.members)
        np.testing.assert_array_equal(one.paths, other.paths)
    assert alone.bank.factors == pooled.bank.factors
