"""Spend on models a team had not used before: measured on its recent past, and said."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest
from builders import AS_OF, KEYS, daily_csv
from hypothesis import example, given, settings
from hypothesis import strategies as st

from forecast.churn import NEW, new_model_share, unseen_ratios
from forecast.fiscal import FiscalCalendar, Horizon
from forecast.ingest import ingest_files
from forecast.pricing import load_price_book
from forecast.runs import RunSettings, create_forecast
from forecast.runstore import load_paths, run_series
from forecast.scenario import parse_scenario
from forecast.scenario.engine import evaluate

DAY0 = dt.date(2026, 3, 1)


def _drivers(rows: dict[tuple[str, str], range]) -> pd.DataFrame:
    """1 USD a day for each (team, model) on the days (counted from DAY0) given."""
    return pd.DataFrame(
        [{"ds": pd.Timestamp(DAY0 + dt.timedelta(days=d)), "team": team, "feature": "f",
          "model": model, "cost": 1.0}
         for (team, model), days in rows.items() for d in days]
    )  # fmt: skip


def test_the_share_of_a_fortnight_spent_on_models_first_used_in_it_by_hand():
    """m1 every day 0-69, m2 from day 50; as of day 69 the cutoffs are days 55, 48, ..., 6.
    After 48 m2 is new (first used on 50): days 50-62, 13 of 27 USD; after 41: days 50-55,
    6 of 20; after 55 it is not new (14 of 28, none new); the five earlier fortnights are
    m1's alone (14 each). Pooled: 19 / (28 + 27 + 20 + 5 x 14) = 19 / 145."""
    drivers = _drivers({("a", "m1"): range(70), ("a", "m2"): range(50, 70),
                        ("b", "m1"): range(70)})  # fmt: skip
    shares = new_model_share(drivers, DAY0 + dt.timedelta(days=69))
    assert shares == [{"team": "a", "share": round(19 / 145, 4), "fortnights": 8},
                      {"team": "b", "share": 0.0, "fortnights": 8}]  # fmt: skip
    # a team that began after a cutoff: that fortnight is not counted (all of it is new)
    young = _drivers({("c", "m1"): range(40, 70)})
    assert new_model_share(young, DAY0 + dt.timedelta(days=69)) == [
        {"team": "c", "share": 0.0, "fortnights": 3}]  # cutoffs 55, 48, 41  # fmt: skip


def test_a_run_keeps_it_in_its_provenance(ledger, tmp_path):
    ingest_files(ledger, [daily_csv(tmp_path / "u.csv", KEYS)])
    run = create_forecast(ledger, load_price_book(), horizon=Horizon.parse("7d", FiscalCalendar()),
                          settings=RunSettings(forecasters="seasonal_naive", n_paths=20))  # fmt: skip
    # the same three models every day: nothing new
    assert run.meta["provenance"]["new_models"] == [
        {"team": "search", "share": 0.0, "fortnights": 8},
        {"team": "support", "share": 0.0, "fortnights": 8}]  # fmt: skip


def test_forecast_says_when_a_team_spends_much_on_models_new_to_it(cli, tmp_path, monkeypatch):
    """search: gpt-4o every day (0.35 USD), claude-3-5-sonnet from 20 days before the end
    (0.45): after the cutoff 21 days back its 13 days are new (5.85 of 10.75), after 28 days
    back 6 (2.70 of 7.60), after 14 back none (of 11.20), five earlier fortnights gpt-4o's
    4.90 each: 8.55 / 54.05 = 16%."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COSTCAST_DB", raising=False)
    sonnet = [("search", "ask", "claude-3-5-sonnet")]
    assert cli("ingest", daily_csv(tmp_path / "o.csv", KEYS[:1]),
               daily_csv(tmp_path / "a.csv", sonnet, days=20))[0] == 0  # fmt: skip
    code, _, err = cli("forecast", "--horizon", "7d", "--models", "seasonal_naive",
                       "--paths", "20", "--jobs", "1", "--output", "csv")  # fmt: skip
    assert code == 0, err
    said = " ".join(err.split())  # rich wraps long lines
    assert ("new models search spent 16% of its cost in the fortnights after the last 8 weekly "
            "cutoffs on models it had first used after the cutoff") in said  # fmt: skip
    # every series was young once: with h = 7 the cutoffs are 7, 14, ... days before the
    # end, gpt-4o's young ones 22, 15, 8 and 1 days into its 120, claude's 13 and 6 into
    # its 20; each as steady after as before
    assert ("young series in use grow on their paths as 6 young series in use did after past "
            "cutoffs (over 14 days, or the horizon if shorter; quartiles 1.00 / 1.00 / 1.00x"
            ) in said  # fmt: skip


# A team spends 1 USD a day on (f, m1) over days 0-69, and from day 50 0.5 a day on a
# feature it launched (g, m1). As of day 69, h = 14, the weekly cutoffs 2 to 13 weeks back
# are days 55, 48, ..., 6 (earlier ones have no usage in the fortnight before them):
# - 48: level 1 (days 21-48); after it, days 49-62: g new, 13 x 0.5 = 6.5 on top of the
#   known 14 (no shortfall): ratio 6.5 / 14; 41: g's days 50-55, 3 / 14;
# - 55: g known already (level (28 + 6 x 0.5) / 28, weight 15.5), 34 down to 6 (level 1:
#   at 6, days 0-6): nothing new, ratio 0, weight 14 each.
# Pooled 9.5 / (15.5 + 7 x 14) = 9.5 / 113.5; the level now, days 42-69: 38 / 28.
LAUNCH = {("a", "f", "m1"): (range(70), 1.0), ("a", "g", "m1"): (range(50, 70), 0.5)}
LAUNCH_RATIOS = [0, 6.5 / 14, 3 / 14, 0, 0, 0, 0, 0]  # cutoffs 55, 48, ..., 6
LAUNCH_WEIGHTS = [15.5, 14, 14, 14, 14, 14, 14, 14]


def _keyed(rows: dict[tuple[str, str, str], tuple[Any, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"ds": pd.Timestamp(DAY0 + dt.timedelta(days=d)), "team": team, "feature": feature,
          "model": model, "cost": cost}
         for (team, feature, model), (days, cost) in rows.items() for d in days]
    )  # fmt: skip


def test_new_spend_per_dollar_of_level_after_each_cutoff_by_hand():
    level, ratios, weights = unseen_ratios(_keyed(LAUNCH), DAY0 + dt.timedelta(days=69), 14)["a"]
    assert level == pytest.approx(38 / 28)
    assert ratios == pytest.approx(LAUNCH_RATIOS)
    assert weights == pytest.approx(LAUNCH_WEIGHTS)


def test_a_gap_in_the_data_lowers_no_level():
    """LAUNCH with no usage from anyone on days 20-33 (a missing export): those days count in
    no level and no days to come. Levels are then 1 (48, 41, 34: 15, 14 and 14 days
    counted), 25 / 22 at 55; days to come counted 14, but 8 after 27 (28-41), 1 after 20,
    6 after 13 and 13 after 6. Pooled 9.5 / (25 / 22 x 14 + 3 x 14 + 8 + 1 + 6 + 13); with
    the gap as idle days the level at 48 would be 15 / 28 and its ratio near double."""
    rows = {("a", "f", "m1"): ([d for d in range(70) if not 20 <= d <= 33], 1.0),
            ("a", "g", "m1"): (range(50, 70), 0.5)}  # fmt: skip
    level, ratios, weights = unseen_ratios(_keyed(rows), DAY0 + dt.timedelta(days=69), 14)["a"]
    assert level == pytest.approx(38 / 28)
    assert ratios == pytest.approx(LAUNCH_RATIOS)
    assert weights == pytest.approx([25 / 22 * 14, 14, 14, 14, 8, 1, 6, 13])


def test_a_team_that_moved_to_another_model_spent_nothing_new():
    """m1 to day 41, m2 from day 42, 1 USD a day each: after the cutoff on day 34, m2's 7
    days are new but m1 fell 7 short of its level, and so on: no cutoff has net new spend
    (in new_model_share's gross terms: all 14 days after day 41 and 7 of 14 after 34, of
    eight fortnights, 21 / 112)."""
    moved = _keyed({("b", "f", "m1"): (range(42), 1.0), ("b", "f", "m2"): (range(42, 70), 1.0)})
    assert unseen_ratios(moved, DAY0 + dt.timedelta(days=69), 14) == {}
    gross = new_model_share(moved.drop(columns="feature"), DAY0 + dt.timedelta(days=69))
    assert gross == [{"team": "b", "share": 21 / 112, "fortnights": 8}]


def _launch_run(ledger, folder):
    """LAUNCH at 0.35 USD a unit (gpt-4o, 100 requests a day; 50 for the launch)."""
    ingest_files(ledger, [daily_csv(folder / "f.csv", [("a", "f", "gpt-4o")], days=70),
                          daily_csv(folder / "g.csv", [("a", "g", "gpt-4o")], days=20,
                                    requests=50)])  # fmt: skip
    return create_forecast(ledger, load_price_book(), as_of=AS_OF,
                           horizon=Horizon.parse("14d", FiscalCalendar()),
                           settings=RunSettings(forecasters="seasonal_naive", n_paths=2000))  # fmt: skip


def test_a_run_holds_a_line_for_features_and_models_not_used_yet(ledger, tmp_path):
    """The line draws LAUNCH's cutoffs' ratios by weight, so 85.5 / 113.5 of its paths are
    zero, and its mean is the level now times the pooled ratio, 0.475 x 9.5 / 113.5 USD a
    day."""
    run = _launch_run(ledger, tmp_path)
    series = run_series(ledger, run.run_id).set_index(["feature", "model"])
    assert series.loc[(NEW, NEW), "forecaster"] == "new_series"
    assert "one of its last 8 weekly cutoffs" in series.loc[(NEW, NEW), "flag"]
    assert run.meta["provenance"]["new_series"] == [
        {"team": "a", "cutoffs": 8, "pooled_ratio": round(9.5 / 113.5, 4),
         "level_usd_per_day": round(0.475, 6)}]  # fmt: skip
    keys, cost = load_paths(ledger, run.run_id)
    line = cost[((keys["feature"] == NEW) & (keys["model"] == NEW)).to_numpy()][0]
    assert (line.sum(axis=1) == 0).mean() == pytest.approx(85.5 / 113.5, abs=0.03)
    assert line.mean() == pytest.approx(0.475 * 9.5 / 113.5, rel=0.15)
    # the team's level now, as it is shaped on each path: weekdays alike, paths differ
    assert np.ptp(line.sum(axis=1)) > 0


def test_scenarios_on_the_team_reach_its_line(ledger, tmp_path):
    """Twice the team's traffic is twice all of its cost, the line's included; a price cut
    for gpt-4o does not reach the line (the models it will use are not known)."""
    run = _launch_run(ledger, tmp_path)
    keys, cost = load_paths(ledger, run.run_id)
    line = cost[(keys["model"] == NEW).to_numpy()].sum(axis=(0, 2)).mean()
    known = cost[(keys["model"] != NEW).to_numpy()].sum(axis=(0, 2)).mean()
    start = AS_OF + dt.timedelta(days=1)

    def delta(change: str) -> float:
        text = f"name: t\nbaseline: {run.run_id}\nchanges:\n  - {{{change}, start: {start}}}\n"
        result = evaluate(ledger, run, load_price_book(), parse_scenario(text), FiscalCalendar())
        assert result.totals["baseline"]["mean"] == pytest.approx(known + line)
        return result.totals["delta"]["mean"]

    assert delta("kind: traffic, team: a, factor: 2") == pytest.approx(known + line)
    cut = "kind: price, model: gpt-4o, discount: 0.5"
    assert delta(cut) == pytest.approx(-known / 2)


def _by_the_definition(drivers: pd.DataFrame, as_of: pd.Timestamp, h: int) -> dict:
    """``unseen_ratios`` again, one cutoff and one day at a time, from its docstring."""
    used = drivers[(drivers["cost"] > 0) & (drivers["ds"] <= as_of)]
    # gap days: in a run of 7 or more with no usage from anyone
    days = pd.date_range(drivers["ds"].min(), as_of)
    quiet = [d for d in days if d not in set(used["ds"])]
    gap = {d for d in quiet if any(all(d + pd.Timedelta(days=j - i) in quiet for j in range(7))
                                   for i in range(7))}  # fmt: skip
    near = lambda frame, a, b: frame[(frame["ds"] > a) & (frame["ds"] <= b)]  # noqa: E731
    counted = lambda a, b: sum(d not in gap for d in pd.date_range(a, b, inclusive="right"))  # noqa: E731
    out = {}
    for team, mine in used.groupby("team"):
        first = mine.groupby(["feature", "model"])["ds"].transform("min")
        began = mine["ds"].min()

        def level(day, mine=mine, began=began):
            since = max(day - pd.Timedelta(days=28), began - pd.Timedelta(days=1))
            return near(mine, since, day)["cost"].sum() / max(counted(since, day), 1)

        ratios, weights = [], []
        for k in range(2, 53):
            cut = as_of - pd.Timedelta(days=7 * k)
            if cut < began or near(mine, cut - pd.Timedelta(days=14), cut).empty:
                continue
            if near(used, cut, cut + pd.Timedelta(days=14)).empty:
                continue
            n = min(h, (as_of - cut).days)
            expected = level(cut) * counted(cut, cut + pd.Timedelta(days=n))
            if expected <= 0:
                continue
            after = near(mine, cut, cut + pd.Timedelta(days=n))
            is_new = first[after.index] > cut
            short = max(0.0, expected - after[~is_new]["cost"].sum())
            net = after[is_new]["cost"].sum() - short  # a billionth of the expected: rounding
            ratios.append(net / expected if net > 1e-9 * expected else 0.0)
            weights.append(expected)
        if len(ratios) >= 4 and any(ratios):
            out[team] = (level(as_of), ratios, weights)
    return out


# One key taking over from another on the same day, its spend equal to the other's
# shortfall: a net new spend of 0 that summed in one order came to 9e-17 and made a line.
@example(spans=[("b", "f", "m1", 0, 69, 1.420403356241704, 1),
                ("b", "f", "m1", 38, 2, 1.420403356241704, 1),
                ("b", "f", "m2", 71, 1, 1.420403356241704, 1)], end=121, h=34)  # fmt: skip
@settings(max_examples=60, deadline=None)
@given(
    spans=st.lists(
        st.tuples(st.sampled_from("ab"), st.sampled_from(["f", "g"]),
                  st.sampled_from(["m1", "m2", "m3"]), st.integers(0, 150), st.integers(1, 150),
                  st.floats(0.01, 100.0), st.integers(1, 5)),
        min_size=1, max_size=6,
    ),
    end=st.integers(20, 160),
    h=st.integers(1, 40),
)  # fmt: skip
def test_new_spend_ratios_match_their_definition_on_random_ledgers(spans, end, h):
    """Keys used from a random day for a random number of days, every ``every``-th day, at
    a random cost; as of a random day: the ratios are those of the definition worked out
    one cutoff at a time, never negative, and scale with nothing (costs x 1,000)."""
    rows = [{"ds": pd.Timestamp(DAY0 + dt.timedelta(days=d)), "team": team, "feature": feature,
             "model": model, "cost": cost}
            for team, feature, model, start, length, cost, every in spans
            for d in range(start, start + length, every)]  # fmt: skip
    drivers = pd.DataFrame(rows).groupby(["team", "feature", "model", "ds"], as_index=False).sum()
    as_of = DAY0 + dt.timedelta(days=end)
    if drivers["ds"].min() > pd.Timestamp(as_of):
        return
    got = unseen_ratios(drivers, as_of, h)
    want = _by_the_definition(drivers, pd.Timestamp(as_of), h)
    assert got.keys() == want.keys()
    for team, (level, ratios, weights) in got.items():
        assert level == pytest.approx(want[team][0])
        assert ratios == pytest.approx(want[team][1])
        assert weights == pytest.approx(want[team][2])
        assert (ratios >= 0).all() and (weights > 0).all()
    scaled = unseen_ratios(drivers.assign(cost=drivers["cost"] * 1000), as_of, h)
    for team, (_, ratios, _) in scaled.items():
        assert ratios == pytest.approx(got[team][1])
