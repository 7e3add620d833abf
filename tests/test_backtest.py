"""Backtests and the metrics they report, checked on cases with known answers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from builders import KEYS, daily_csv

from forecast.backtest import RESULT_KEYS, backtest, cross_validation
from forecast.errors import CostcastError
from forecast.ingest import ingest_files
from forecast.metrics import (
    bias,
    coverage,
    evaluate,
    mase,
    mase_scale,
    pinball,
    seasonal_scale,
    typical_change,
    wape,
)
from forecast.models import FORECASTERS
from forecast.pricing import load_price_book
from forecast.runs import RunSettings


def test_metrics_by_hand():
    actual = np.array([10.0, 20.0, 30.0])
    mean = np.array([13.0, 23.0, 33.0])  # errors 3 each, sum |actual| = 60
    assert wape(actual, actual) == 0.0
    assert wape(actual, mean) == pytest.approx(9 / 60)
    assert coverage(actual, actual - 1, actual + 1) == 1.0
    assert coverage(actual, mean - 1, mean + 1) == 0.0
    assert coverage(
        actual, np.array([9.0, 21.0, 29.0]), np.array([11.0, 22.0, 31.0])
    ) == pytest.approx(2 / 3)
    # every quantile equal to the truth: no loss
    assert pinball(actual, np.repeat(actual[None, :], 9, axis=0)) == 0.0
    # every quantile 1 above: under-forecast loss is 0, over-forecast (1 - q) * 1
    expected = np.mean([1 - q for q in np.arange(1, 10) / 10])
    assert pinball(actual, np.repeat((actual + 1)[None, :], 9, axis=0)) == pytest.approx(expected)
    week = np.array([1, 2, 3, 4, 5, 6, 7, 3, 2, 3, 4, 5, 6, 7.0])
    assert seasonal_scale(week) == pytest.approx(2 / 7)
    assert mase(actual, mean, 2 / 7) == pytest.approx(3 / (2 / 7))
    assert mase_scale(np.full(20, 4.0)) == 4.0  # flat: the mean level, never zero
    # one burst: the plain scale is mostly the burst, the typical change is not
    calm = np.tile([10.0, 12.0], 50)  # weekly changes of 2 every day
    calm[60] = 10_000.0
    assert mase_scale(calm) == pytest.approx((91 * 2 + 2 * 9_988) / 93, rel=1e-9)  # 10,000 - 12
    assert typical_change(calm) == pytest.approx(2.0)  # the 5% largest count as 2
    # days either side does not know are left out
    assert wape(np.array([10.0, np.nan]), np.array([12.0, 5.0])) == pytest.approx(0.2)
    # bias is signed: 9 over 60 too high; errors that cancel leave none, WAPE sees them
    assert bias(actual, mean) == pytest.approx(9 / 60)
    assert bias(actual, np.array([5.0, 25.0, 30.0])) == 0.0
    assert bias(np.array([10.0, 30.0]), np.array([4.0, 6.0])) == pytest.approx(-30 / 40)


def test_evaluate_scores_a_cross_validation_frame():
    cv = pd.DataFrame({
        "unique_id": ["a"] * 4, "cutoff": [1, 1, 2, 2], "y": [10.0, 10, 20, 20],
        "m": [12.0, 12, 20, 20], "m-lo-80": [11.0, 9, 19, 21], "m-hi-80": [13.0, 11, 21, 22],
    })  # fmt: skip
    scales = pd.Series({("a", 1): 2.0, ("a", 2): 1.0})
    row = evaluate(cv, ["m"], scales).iloc[0]
    assert row["wape"] == pytest.approx(4 / 60) and row["bias"] == pytest.approx(4 / 60)
    assert row["mase"] == pytest.approx(np.mean([2 / 2.0, 0 / 1.0]))
    assert row["coverage_80"] == pytest.approx(2 / 4) and row["forecasts"] == 4


@pytest.fixture
def weekly_ledger(ledger, tmp_path):
    ingest_files(ledger, [daily_csv(tmp_path / "u.csv", KEYS, days=140)])
    return ledger


@pytest.mark.slow
def test_constant_spend_is_forecast_without_error(weekly_ledger):
    frame = backtest(
        weekly_ledger, load_price_book(), horizon=7, windows=2, by="team", jobs=1,
        settings=RunSettings(n_paths=30),
    )  # fmt: skip
    assert list(frame.columns) == list(RESULT_KEYS)
    assert set(frame["model"]) == {*FORECASTERS, "ensemble", "auto"}
    scores = frame.set_index("model")
    exact = scores.drop(index="croston_sba")  # Croston's bias correction forecasts 5% low
    assert (exact["wape"] < 1e-6).all(), exact["wape"]
    assert (exact["bias"].abs() < 1e-6).all()
    assert scores.loc["croston_sba", "bias"] == pytest.approx(-0.05, abs=1e-3)  # low, not high
    assert (exact["coverage_80"] == 1.0).all() and (exact["pinball"] < 1e-6).all()
    assert scores.loc["croston_sba", "wape"] == pytest.approx(0.05, abs=1e-3)
    assert (frame["level"] == "team").all() and (frame["windows"] == 2).all()
    assert (frame["series_skipped"] == 0).all()


def test_where_a_candidate_could_not_forecast_a_series_auto_stands_in_and_says_so(ledger, tmp_path):
    ingest_files(ledger, [daily_csv(tmp_path / "old.csv", KEYS[:1], days=140),
                          daily_csv(tmp_path / "young.csv", KEYS[1:2], days=30)])  # fmt: skip
    cv, skipped = cross_validation(
        ledger, load_price_book(), horizon=7, windows=1, by="team,feature", jobs=1,
        settings=RunSettings(n_paths=20),
    )  # fmt: skip
    flags = cv.groupby("unique_id")[[c for c in cv if c.endswith("-stood_in")]].first()
    stood = {
        g: {c.removesuffix("-stood_in") for c in flags if flags.loc[g, c]} for g in flags.index
    }
    # 23 days at the cutoff: too young for any window (21 days before it), so the series gets
    # the simple forecasters' median and neither the costly candidates nor an ensemble of
    # scored ones; the global model forecasts it from what it learnt on the old series
    assert stood == {"search|ask": set(), "support|bot": {"ets", "theta", "prophet", "ensemble"}}
    assert skipped == {"ets": 1, "theta": 1, "prophet": 1, "ensemble": 1}
    young = cv[cv["unique_id"] == "support|bot"]
    for name in stood["support|bot"]:
        np.testing.assert_array_equal(young[name], young["auto"])


def test_too_many_windows_for_the_history(weekly_ledger):
    with pytest.raises(CostcastError, match="use fewer or shorter windows"):
        backtest(weekly_ledger, load_price_book(), horizon=28, windows=8)
    # a reach past any date (369,863 days) is the same error, not an OverflowError
    with pytest.raises(CostcastError, match="reach back 369,863 days"):
        backtest(weekly_ledger, load_price_book(), horizon=369_863, windows=1)


def test_backtest_command_json_has_exactly_the_documented_keys(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COSTCAST_DB", raising=False)
    cli("ingest", daily_csv(tmp_path / "u.csv", KEYS, days=100))
    code, out, err = cli(
        "backtest", "--horizon", "7", "--windows", "2", "--by", "model", "--paths", "20",
        "--output", "json", "--jobs", "1", "--models",
        "seasonal_naive,ets,theta,tsb,imapa,croston_sba,global_gbm",
    )  # fmt: skip
    assert code == 0, err
    records = json.loads(out)
    named = {"seasonal_naive", "ets", "theta", "tsb", "imapa", "croston_sba", "global_gbm"}
    assert [set(r) for r in records] == [set(RESULT_KEYS)] * (len(named) + 2)
    assert {r["model"] for r in records} == {*named, "ensemble", "auto"}
    assert all(0 <= r["coverage_80"] <= 1 for r in records)
