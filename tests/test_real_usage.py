"""Forecasts on real LLM usage (../shared/data/real-usage): bursty, idle for days, tokens only."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecast.backtest import backtest
from forecast.churn import unseen_ratios
from forecast.config import load_config
from forecast.fiscal import FiscalCalendar, Horizon
from forecast.ingest import ingest_files
from forecast.ledger import Ledger
from forecast.pricing import load_price_book
from forecast.runs import RunSettings, create_forecast
from forecast.runstore import load_paths
from forecast.series import priced_drivers

END = pd.Timestamp("2026-06-28")
DAILY = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-usage" / "daily.csv"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not DAILY.exists(), reason=f"the real usage histories are not at {DAILY}"),
]


def stream_totals(tmp_path, days: int | None = None) -> tuple[Ledger, object]:
    """The three stream totals as canonical daily rows without a requests column, as a
    source that counts tokens only would give them, priced at a flat price."""
    frame = pd.read_csv(DAILY, parse_dates=["date"])
    rows = []
    for name, part in frame[frame["model"] == "ALL"].groupby("series"):
        part = part.tail(days) if days else part
        cached = part["cached_input_tokens"].fillna(0)
        write = part["cache_write_tokens"].fillna(0)
        rows.append(pd.DataFrame({
            "timestamp": part["date"].dt.strftime("%Y-%m-%dT00:00:00Z"), "bucket": "1d",
            "team": name.split("__")[0].lower(), "feature": "all", "model": "flat-model",
            "input_tokens": (part["input_tokens"].fillna(0) + cached + write).astype("int64"),
            "cached_input_tokens": cached.astype("int64"),
            "cache_write_tokens": write.astype("int64"),
            "output_tokens": part["output_tokens"].fillna(0).astype("int64"),
        }))  # fmt: skip
    usage = pd.concat(rows)
    # the streams span different years: each moves by whole weeks (weekdays kept) to end on
    # the same day, the few days it then runs past that day dropped
    day = pd.to_datetime(usage["timestamp"].str.slice(0, 10))
    last = day.groupby(usage["team"]).transform("max")
    day += pd.to_timedelta(-(-(END - last).dt.days // 7) * 7, unit="D")
    usage["timestamp"] = day.dt.strftime("%Y-%m-%dT00:00:00Z")
    used = (usage["input_tokens"] + usage["output_tokens"] > 0) & (day <= END)
    usage[used].to_csv(tmp_path / "usage.csv", index=False)
    (tmp_path / "costcast.yaml").write_text(
        "ledger: real.duckdb\nprices:\n  entries:\n    - {model: flat-model, provider: flat, "
        "effective: 2000-01-01, input: 1.0, cached_input: 0.1, cache_write: 1.25, output: 4.0}\n"
    )
    config = load_config(tmp_path / "costcast.yaml")
    ledger = Ledger(config.ledger)
    ingest_files(ledger, [tmp_path / "usage.csv"])
    return ledger, load_price_book(config)


def test_tokens_only_streams_get_distinct_candidates_and_real_intervals(tmp_path):
    """Before: every candidate gave the same forecast and 0% coverage on these sources."""
    ledger, book = stream_totals(tmp_path)
    with ledger:
        frame = backtest(
            ledger, book, horizon=14, windows=3, step=7, by="team", jobs=2,
            settings=RunSettings(forecasters="seasonal_naive,ets,theta,tsb,imapa,global_gbm",
                                 n_paths=100),
        ).set_index("model")  # fmt: skip
    candidates = ["seasonal_naive", "ets", "theta", "tsb", "imapa", "global_gbm"]
    for a, b in itertools.combinations(candidates, 2):
        assert abs(frame.loc[a, "wape"] - frame.loc[b, "wape"]) > 1e-6, (a, b)
    assert np.isfinite(frame["mase"]).all() and (frame["series_skipped"] == 0).all()
    # honest, not degenerate: the auto forecast's 80% intervals cover days they did not see
    assert 0.5 <= frame.loc["auto", "coverage_80"] <= 1.0


def test_a_history_of_28_plus_h_days_can_be_backtested(tmp_path):
    """Before: a 61-day history failed ("the global model needs ... 35 days")."""
    ledger, book = stream_totals(tmp_path, days=60)  # 28 days to learn from, 28 to score
    with ledger:
        frame = backtest(ledger, book, horizon=28, windows=1, by="team", jobs=2,
                         settings=RunSettings(n_paths=50)).set_index("model")  # fmt: skip
    assert np.isfinite(frame.loc["auto", ["wape", "mase", "coverage_80"]].astype(float)).all()


def test_models_used_once_may_spend_nothing_and_busy_ones_may_stop(tmp_path):
    """One person's coding agents, 30+ models, most used for days: as of 2026-08-31 nine
    had been used on a single day 10-15 days before; one of them came back in the next 14
    days. Before: their fortnight's P10 was above zero, 10-17% of the mean for four and
    86-88% for five (gemini-3.1-pro: 55.7 of 64.1 USD), as if sure to come back. Models
    first used after it took a share of most fortnights: the run holds them in a line."""
    frame = pd.read_csv(DAILY, parse_dates=["date"])
    part = frame[frame["series"].str.startswith("Th1nhNg0") & (frame["model"] != "ALL")]
    part = part[part["total_tokens"] > 0]
    pd.DataFrame({
        "timestamp": part["date"].dt.strftime("%Y-%m-%dT00:00:00Z"), "bucket": "1d",
        "team": "thinh", "feature": "agents", "model": part["model"],
        "input_tokens": part["total_tokens"].astype("int64"), "output_tokens": 0,
    }).to_csv(tmp_path / "usage.csv", index=False)  # fmt: skip
    entries = "".join(f'    - {{model: "{m}", provider: flat, effective: 2000-01-01, input: 1.0, '
                      "cached_input: 0.1, cache_write: 1.25, output: 4.0}\n"
                      for m in sorted(part["model"].unique()))  # fmt: skip
    (tmp_path / "costcast.yaml").write_text(f"ledger: real.duckdb\nprices:\n  entries:\n{entries}")
    config = load_config(tmp_path / "costcast.yaml")
    as_of = pd.Timestamp("2026-08-31")
    seen = part[part["date"] <= as_of].groupby("model")["date"].agg(["nunique", "max"])
    once = seen[(seen["nunique"] == 1) & (seen["max"] <= as_of - pd.Timedelta(days=7))
                & (seen["max"] > as_of - pd.Timedelta(days=28))].index  # fmt: skip
    assert len(once) == 9
    with Ledger(config.ledger) as ledger:
        ingest_files(ledger, [tmp_path / "usage.csv"])
        run = create_forecast(ledger, load_price_book(config), as_of=as_of.date(),
                              horizon=Horizon.parse("14d", FiscalCalendar()),
                              settings=RunSettings())  # fmt: skip
        keys, paths = load_paths(ledger, run.run_id)
        drivers = priced_drivers(ledger, load_price_book(config), as_of.date())[0]
    totals = pd.DataFrame(paths.sum(axis=2), index=keys["model"])
    for model in once:
        p10, p90 = np.quantile(totals.loc[model], [0.1, 0.9])
        assert p10 == 0 < p90, (model, p10, p90)
    # a model in daily use then (gpt-5.6-luna, 28 days old) has paths that stop too: this
    # ledger's models often did
    assert 0 < (totals.loc["gpt-5.6-luna"] == 0).mean() < 0.5
    # models not used yet: the run's (new) line, at the level now times the pooled ratio of
    # new spend (net of what known models fell short) to level after each weekly cutoff,
    # worked out again here day by day; the 14 days with no usage in May (2026-05-08 to
    # 05-21, a gap) count in no level and no days to come
    cost = part.groupby("date")["total_tokens"].sum() / 1e6  # input at 1 USD per million
    first = part.groupby("model")["date"].min()
    gap = pd.date_range("2026-05-08", "2026-05-21")
    assert not cost.index.isin(gap).any() and cost.index.isin(gap - pd.Timedelta(days=1)).any()

    def counted(a: pd.Timestamp, b: pd.Timestamp) -> int:  # days in (a, b], from the first
        days = pd.date_range(max(a, cost.index.min() - pd.Timedelta(days=1)), b)[1:]
        return int((~days.isin(gap)).sum())

    def level(day: pd.Timestamp) -> float:
        spent = cost[(cost.index > day - pd.Timedelta(days=28)) & (cost.index <= day)].sum()
        return spent / counted(day - pd.Timedelta(days=28), day)

    ratios, weights = [], []
    for k in range(2, 53):
        cut = as_of - pd.Timedelta(days=7 * k)
        before = part[(part["date"] > cut - pd.Timedelta(days=14)) & (part["date"] <= cut)]
        if before.empty:
            continue
        after = part[(part["date"] > cut) & (part["date"] <= cut + pd.Timedelta(days=14))]
        new = after[after["model"].map(first) > cut]["total_tokens"].sum() / 1e6
        known = after[after["model"].map(first) <= cut]["total_tokens"].sum() / 1e6
        expected = level(cut) * counted(cut, cut + pd.Timedelta(days=14))
        ratios.append(max(0.0, new - max(0.0, expected - known)) / expected)
        weights.append(expected)
    pooled = np.dot(ratios, weights) / sum(weights)
    assert pooled > 0.1
    line = totals.loc["(new)"] / 14
    now, got, _ = unseen_ratios(drivers, as_of.date(), 14)["thinh"]
    assert now == pytest.approx(level(as_of))
    assert list(got) == pytest.approx(ratios)
    assert line.mean() == pytest.approx(level(as_of) * pooled, rel=0.15)
    # what the stream spent in those 14 days (15,493 USD) is inside the run's P10-P90 of its
    # total (886-25,359, mean 10,229; without the line, mean 5,144)
    stream = totals.sum(axis=0)
    came = cost[(cost.index > as_of) & (cost.index <= as_of + pd.Timedelta(days=14))].sum()
    assert np.quantile(stream, 0.1) < came < np.quantile(stream, 0.9)
