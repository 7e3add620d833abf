"""Deployment impact against two weeks worked out by hand, and a noisy case whose true
change the interval must cover."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from forecast.errors import CostcastError, NotFoundError
from forecast.impact import deployment_impact, rank_deployments
from forecast.ingest import ingest_files
from forecast.pricing import load_price_book

HEADER = "timestamp,bucket,team,feature,model,deployment,requests,input_tokens,output_tokens\n"
MONDAY = dt.date(2026, 3, 2)


def two_weeks(path, growth=1.2, noise=0.0, seed=0):
    """ops/triage on gpt-4o: 100 calls on weekdays, 40 on weekends, 1,000 input and 100
    output tokens a call under v1 (first week), ``growth`` x the input under v2."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(14):
        day = MONDAY + dt.timedelta(days=i)
        calls = 100 if day.weekday() < 5 else 40
        version, per_call = ("v1", 1000) if i < 7 else ("v2", 1000 * growth)
        per_call *= float(np.exp(rng.normal(0, noise)))
        rows.append(f"{day}T00:00:00Z,1d,ops,triage,gpt-4o,triage@{version},{calls},"
                    f"{round(calls * per_call)},{calls * 100}")  # fmt: skip
    path.write_text(HEADER + "\n".join(rows) + "\n")
    return path


def test_a_longer_prompt_by_hand(ledger, tmp_path):
    ingest_files(ledger, [two_weeks(tmp_path / "u.csv")])
    found = deployment_impact(ledger, load_price_book(), "triage@v2")
    # gpt-4o: (1000 * 2.50 + 100 * 10) / 1e6 = 0.0035 a call before, (1200 * 2.50 + 1000) / 1e6
    # = 0.0040 after: +14.29%, the same every day, so the interval is the point. 580 calls a
    # week: 0.0005 * 580 / 7 * 30.4375 = 1.261 USD a month more.
    assert found["cost_per_request_before"] == pytest.approx(0.0035)
    assert found["cost_per_request_after"] == pytest.approx(0.0040)
    assert found["change"] == pytest.approx(0.0040 / 0.0035 - 1)
    assert found["change_low"] == pytest.approx(found["change"])
    assert found["change_high"] == pytest.approx(found["change"])
    assert found["monthly_usd"] == pytest.approx(0.0005 * 580 / 7 * 30.4375)
    assert found["tokens_per_request"]["input"] == {"before": 1000, "after": 1200}
    assert (found["days_before"], found["days_after"]) == (7, 7)
    # read from the feature's 14 daily rows, March 2-15
    assert found["provenance"] | {"content_hash": None} == {
        "rows": 14, "first_day": "2026-03-02", "last_day": "2026-03-15", "content_hash": None}  # fmt: skip
    assert found["summary"] == ("deployment triage@v2 raised cost per request of triage by 14% "
                                "(95% CI +14% to +14%), +$1 a month at the current volume")  # fmt: skip


def test_a_working_day_feature_counts_its_idle_weekends_in_the_volume(ledger, tmp_path):
    """ops/triage only on weekdays (no rows at weekends), while ops/search runs every day, so
    the ledger holds the weekends: 500 calls a week after v2, not 500 over five days."""
    rows = two_weeks(tmp_path / "u.csv").read_text().splitlines()
    weekdays = [r for r in rows[1:] if dt.date.fromisoformat(r[:10]).weekday() < 5]
    every_day = [f"{MONDAY + dt.timedelta(days=i)}T00:00:00Z,1d,ops,search,gpt-4o,,10,1000,0"
                 for i in range(14)]  # fmt: skip
    (tmp_path / "u.csv").write_text("\n".join([rows[0], *weekdays, *every_day]) + "\n")
    ingest_files(ledger, [tmp_path / "u.csv"])
    found = deployment_impact(ledger, load_price_book(), "triage@v2")
    # the same 0.0035 -> 0.0040 a call as above, on 500 calls a week: 0.0005 * 500 / 7 days
    # * 30.4375 = 1.087 USD a month (over the five working days it had said 1.522)
    assert found["change"] == pytest.approx(0.0040 / 0.0035 - 1)
    assert found["monthly_usd"] == pytest.approx(0.0005 * 500 / 7 * 30.4375)
    assert (found["days_before"], found["days_after"]) == (7, 7)


def test_the_interval_covers_the_true_change_on_noisy_days(ledger, tmp_path):
    ingest_files(ledger, [two_weeks(tmp_path / "u.csv", growth=1.1, noise=0.05, seed=3)])
    found = deployment_impact(ledger, load_price_book(), "triage@v2")
    true = (1100 * 2.5 + 1000) / (1000 * 2.5 + 1000) - 1  # +7.1%
    assert found["change_low"] < true < found["change_high"]
    assert found["change_high"] - found["change_low"] < 0.15
    # under 10%, a decimal: a bound of -0.3% read "-0%"
    low, high = found["change_low"], found["change_high"]
    assert f"by {found['change']:.1%} (95% CI {low:+.1%} to {high:+.1%})" in found["summary"]


def test_mistakes_and_the_ranking(ledger, tmp_path):
    ingest_files(ledger, [two_weeks(tmp_path / "u.csv")])
    book = load_price_book()
    with pytest.raises(NotFoundError, match="no deployment 'triage@v9'"):
        deployment_impact(ledger, book, "triage@v9")
    with pytest.raises(CostcastError, match="no requests before"):
        deployment_impact(ledger, book, "triage@v1")  # the first: nothing before it
    for window in (0, 91, 100_000):  # 100,000 days back ran past pandas' dates: a traceback
        with pytest.raises(CostcastError, match="1 to 90 days"):
            deployment_impact(ledger, book, "triage@v2", window=window)
        with pytest.raises(CostcastError, match="1 to 90 days"):
            rank_deployments(ledger, book, window=window)
    ranked = rank_deployments(ledger, book)
    assert list(ranked["deployment"]) == ["triage@v2"]  # v1 has no history before it


def test_cli_impact(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COSTCAST_DB", raising=False)
    assert cli("ingest", two_weeks(tmp_path / "u.csv"))[0] == 0
    code, out, err = cli("impact", "triage@v2", "--output", "json")
    assert code == 0, err
    assert json.loads(out)["change"] == pytest.approx(0.0040 / 0.0035 - 1)
    code, out, _ = cli("impact", "--list", "--output", "csv")
    assert code == 0 and "triage@v2" in out
    code, _, err = cli("impact", "nope")
    assert code == 2 and "no deployment 'nope'" in err
    # none since a later day: an empty ranking that says why, not a blank line
    code, out, err = cli("impact", "--list", "--since", "2027-01-01")
    assert code == 0 and "no deployments since 2027-01-01" in err and "triage" not in out
    # none measurable (a window longer than the history): each says why, in a table that
    # once ended in a KeyError looking for the sentence only measured ones have
    code, out, err = cli("impact", "--list", "--window", "90")
    assert code == 0, err
    assert "triage@v2" in out and "why_unmeasured" in out


def test_free_before_and_too_few_days_say_so(cli, tmp_path, monkeypatch):
    """A model free before the deployment has no relative change, only dollars; a window
    of two days pairs too few weekdays for an interval. The JSON says null for what is
    unknown (Python's json would write NaN, which no parser reads) and the sentence says
    why instead of printing "inf%" or "nan%"."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COSTCAST_DB", raising=False)
    (tmp_path / "costcast.yaml").write_text(
        "prices:\n  entries:\n"
        "    - {model: freebie, effective: 2020-01-01, input: 0, output: 0}\n"
        "    - {model: freebie, effective: 2026-03-09, input: 2.50, output: 10.00}\n"
    )  # fmt: skip
    usage = two_weeks(tmp_path / "u.csv")
    usage.write_text(usage.read_text().replace("gpt-4o", "freebie"))
    assert cli("ingest", usage)[0] == 0
    code, out, err = cli("impact", "triage@v2", "--output", "json")
    assert code == 0, err
    found = json.loads(out)
    # after: (1200 * 2.50 + 100 * 10.00) / 1e6 = 0.004 a call, 580 calls a week
    assert found["cost_per_request_before"] == 0
    assert found["cost_per_request_after"] == pytest.approx(0.004)
    assert found["change"] is None and found["change_low"] is None
    assert found["monthly_usd"] == pytest.approx(0.004 * 580 / 7 * 30.4375)  # 10.09
    assert found["summary"] == ("deployment triage@v2 made triage's requests cost 0.004 USD "
                                "each, where they were free, +$10 a month at the current volume")  # fmt: skip

    code, out, err = cli("impact", "triage@v2", "--window", "2", "--output", "json")
    assert code == 0, err
    found = json.loads(out)
    assert found["change"] is None
    # two days each side (Monday, Tuesday), all calls free before
    assert (found["days_before"], found["days_after"]) == (2, 2)
    # the window as the issue writes it (7d), in days or weeks, or a located error
    for window, days in (("2d", 2), (" 2D ", 2), ("1w", 7)):
        code, out, err = cli("impact", "triage@v2", "--window", window, "--output", "json")
        assert code == 0, err
        assert json.loads(out)["days_after"] == days
    for bad, why in (("7x", "expected a number of days"), ("2.5d", "expected a number of days"),
                     ("13w", "1 to 90 days"), ("0d", "1 to 90 days")):  # fmt: skip
        code, out, err = cli("impact", "triage@v2", "--window", bad)
        assert code == 2 and why in err and "--window" in err and "Traceback" not in err, err


def test_too_few_weekday_pairs_give_no_interval_and_say_so(ledger, tmp_path):
    ingest_files(ledger, [two_weeks(tmp_path / "u.csv")])
    found = deployment_impact(ledger, load_price_book(), "triage@v2", window=2)
    # Monday and Tuesday, 100 calls each side: 0.0035 -> 0.0040 a call, as by hand above
    assert found["change"] == pytest.approx(0.0040 / 0.0035 - 1)
    assert np.isnan(found["change_low"]) and np.isnan(found["change_high"])
    assert found["summary"] == (
        "deployment triage@v2 raised cost per request of triage by 14% (too few days paired "
        "by weekday for a 95% CI), +$2 a month at the current volume"
    )  # 0.0005 * 100 a day * 30.4375 = 1.52


def test_pairs_whose_days_after_were_idle_give_no_interval(ledger, tmp_path):
    """The ledger begins on March 6 (ops/search every day to March 15); ops/triage on March
    6-8 (v1) and 9-12 (v2), idle after. Days 4-6 after the deployment pair with days 3-1
    before it; 0-3 have no pair inside the ledger. Every paired day after was idle: no
    resample has a cost per request after (each was NaN, and their quantile a numpy
    warning), so there is no interval."""
    rows = [f"2026-03-{d:02d}T00:00:00Z,1d,ops,search,gpt-4o,,10,1000,0" for d in range(6, 16)]
    rows += [f"2026-03-{d:02d}T00:00:00Z,1d,ops,triage,gpt-4o,triage@{'v1' if d < 9 else 'v2'},"
             f"100,{100 * (1000 if d < 9 else 1200)},{100 * 100}" for d in range(6, 13)]  # fmt: skip
    (tmp_path / "u.csv").write_text(HEADER + "\n".join(rows) + "\n")
    ingest_files(ledger, [tmp_path / "u.csv"])
    found = deployment_impact(ledger, load_price_book(), "triage@v2")
    assert found["change"] == pytest.approx(0.0040 / 0.0035 - 1)  # as by hand above
    assert np.isnan(found["change_low"]) and np.isnan(found["change_high"])
    # 400 calls over the 7 days after (the ledger holds them all): 0.0005 * 400 / 7 * 30.4375
    assert found["monthly_usd"] == pytest.approx(0.0005 * 400 / 7 * 30.4375)


def test_a_ranking_where_nothing_can_be_measured_says_why_for_each(ledger, tmp_path):
    """A model the book cannot price has no cost per request: the ranking lists its
    deployment with the reason and an unknown monthly change (it failed on sorting by a
    column no row had)."""
    usage = two_weeks(tmp_path / "u.csv")
    usage.write_text(usage.read_text().replace("gpt-4o", "mystery-7"))
    ingest_files(ledger, [usage])
    ranked = rank_deployments(ledger, load_price_book())
    assert list(ranked["deployment"]) == ["triage@v2"]
    assert ranked["why_unmeasured"].iloc[0] == (
        "ops/triage uses a model the price book cannot price"
    )
    assert ranked["monthly_usd"].isna().all()
