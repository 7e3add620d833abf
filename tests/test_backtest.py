"""Backtests and the metrics they report, checked on cases with known answers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_forecast import AS_OF, KEYS, daily_csv

from forecast.backtest import RESULT_KEYS, backtest
from forecast.errors import CostcastError
from forecast.ingest import ingest_files
from forecast.metrics import coverage, pinball, seasonal_scale, wape
from forecast.pricing import load_price_book


def test_metrics_by_hand():
    actual = np.array([10.0, 20.0, 30.0])
    paths = np.array([[12.0, 18.0, 30.0], [8.0, 22.0, 30.0]])  # mean 10, 20, 30
    assert wape(actual, paths) == 0.0
    shifted = paths + 3  # mean 13, 23, 33: errors 3 each, sum |actual| = 60
    assert wape(actual, shifted) == pytest.approx(9 / 60)
    # 80% interval of two paths spans between them: 10 in [8.4, 11.6], 20 in [18.4, 21.6]
    assert coverage(actual, paths) == 1.0
    assert coverage(actual + 5, paths) == 0.0
    # one path equal to the truth: every quantile is the truth, no loss
    assert pinball(actual, actual[None, :]) == 0.0
    # a constant forecast 1 above: under-forecast loss is 0, over-forecast (1 - q) * 1
    expected = np.mean([1 - q for q in np.arange(1, 10) / 10])
    assert pinball(actual, (actual + 1)[None, :]) == pytest.approx(expected)
    assert seasonal_scale(np.array([1, 2, 3, 4, 5, 6, 7, 3, 2, 3, 4, 5, 6, 7.0])) == pytest.approx(
        2 / 7
    )


@pytest.fixture
def weekly_ledger(ledger, tmp_path):
    ingest_files(ledger, [daily_csv(tmp_path / "u.csv", KEYS, days=140)])
    return ledger


def test_constant_spend_is_forecast_without_error(weekly_ledger):
    frame = backtest(
        weekly_ledger, load_price_book(), horizon=7, windows=2, by="team", n_paths=30, jobs=1
    )
    assert list(frame.columns) == list(RESULT_KEYS)
    assert set(frame["model"]) == {"seasonal_naive", "prophet", "global_gbm", "ensemble", "auto"}
    naive = frame.set_index("model").loc["seasonal_naive"]
    assert naive["wape"] == pytest.approx(0.0, abs=1e-12)
    assert naive["coverage_80"] == 1.0
    assert naive["pinball"] == pytest.approx(0.0, abs=1e-12)
    assert (frame["level"] == "team").all() and (frame["windows"] == 2).all()
    assert ((frame["wape"] >= 0) & (frame["coverage_80"] <= 1)).all()


def test_too_many_windows_for_the_history(weekly_ledger):
    with pytest.raises(CostcastError, match="use fewer windows"):
        backtest(weekly_ledger, load_price_book(), horizon=28, windows=8)


def test_backtest_command_json_has_exactly_the_documented_keys(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COSTCAST_DB", raising=False)
    cli("ingest", daily_csv(tmp_path / "u.csv", KEYS, days=100))
    code, out, err = cli(
        "backtest", "--horizon", "7", "--windows", "2", "--by", "model", "--paths", "20",
        "--output", "json", "--jobs", "1",
    )  # fmt: skip
    assert code == 0, err
    records = json.loads(out)
    assert [set(r) for r in records] == [set(RESULT_KEYS)] * 5
    assert {r["model"] for r in records} == {
        "seasonal_naive", "prophet", "global_gbm", "ensemble", "auto",
    }  # fmt: skip
    assert all(0 <= r["coverage_80"] <= 1 for r in records)
    assert AS_OF  # the fixture data end on AS_OF; the backtest ends there too
