"""Model cost spread and the routing scenario, against four weeks worked out by hand."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
import yaml

from forecast.errors import CostcastError
from forecast.ingest import ingest_files
from forecast.pricing import load_price_book
from forecast.routing import model_cost_spread, routing_scenario
from forecast.scenario import load_scenario

HEADER = "timestamp,bucket,team,feature,model,requests,input_tokens,output_tokens\n"
FIRST = dt.date(2026, 5, 18)  # 28 days, to 2026-06-14


def four_weeks(path):
    """support/summaries on gpt-4o (100 calls a day of 1,000 in and 100 out tokens) and on
    gpt-4o-mini (50 a day of 1,200 in and 150 out); search/ask on gpt-4o alone."""
    rows = []
    for i in range(28):
        day = FIRST + dt.timedelta(days=i)
        rows += [f"{day}T00:00:00Z,1d,support,summaries,gpt-4o,100,100000,10000",
                 f"{day}T00:00:00Z,1d,support,summaries,gpt-4o-mini,50,60000,7500",
                 f"{day}T00:00:00Z,1d,search,ask,gpt-4o,70,70000,7000"]  # fmt: skip
    path.write_text(HEADER + "\n".join(rows) + "\n")
    return path


def test_cost_per_request_and_saving_by_hand(ledger, tmp_path):
    ingest_files(ledger, [four_weeks(tmp_path / "u.csv")])
    spread = model_cost_spread(ledger, load_price_book(), share=0.5).set_index("model")
    # gpt-4o: (1000 * 2.50 + 100 * 10) / 1e6 = 0.0035 a call; gpt-4o-mini:
    # (1200 * 0.15 + 150 * 0.60) / 1e6 = 0.00027. Moving half of 100 calls a day saves
    # 50 * 0.00323 = 0.1615 a day, 4.9157 a 30.4375-day month.
    assert list(spread.index) == ["gpt-4o", "gpt-4o-mini"]  # search/ask has one model
    assert spread.loc["gpt-4o", "cost_per_request"] == pytest.approx(0.0035)
    assert spread.loc["gpt-4o-mini", "cost_per_request"] == pytest.approx(0.00027)
    assert spread.loc["gpt-4o", "cheapest_model"] == "gpt-4o-mini"
    assert spread.loc["gpt-4o", "saving_usd_per_month"] == pytest.approx(4.92)
    assert spread.loc["gpt-4o", "intensity_factor"] == pytest.approx(1350 / 1100, abs=1e-4)
    assert spread.loc["gpt-4o-mini", "saving_usd_per_month"] == 0
    # a window of the last week only: the same daily saving, so the same monthly one
    week = model_cost_spread(ledger, load_price_book(), start=dt.date(2026, 6, 8), share=0.5)
    assert week.set_index("model").loc["gpt-4o", "saving_usd_per_month"] == pytest.approx(4.92)
    with pytest.raises(CostcastError, match="share"):
        model_cost_spread(ledger, load_price_book(), share=1.5)


def test_the_routing_scenario_runs_unchanged_and_saves(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COSTCAST_DB", raising=False)
    assert cli("ingest", four_weeks(tmp_path / "u.csv"))[0] == 0
    code, out, err = cli("kpis", "--routing-savings", "route.yaml", "--output", "json")
    assert code == 0, err
    assert json.loads(out)[0]["saving_usd_per_month"] == pytest.approx(4.92)
    doc = yaml.safe_load((tmp_path / "route.yaml").read_text())
    (change,) = doc["changes"]
    assert change | {"intensity_factor": 0} == {
        "kind": "route", "team": "support", "feature": "summaries", "from_model": "gpt-4o",
        "to_model": "gpt-4o-mini", "share": 0.5, "intensity_factor": 0,
        "start": dt.date(2026, 6, 15),
    }  # fmt: skip
    load_scenario(tmp_path / "route.yaml")  # valid against the schema
    assert cli("forecast", "--horizon", "28d", "--forecasters", "seasonal_naive")[0] == 0
    code, out, err = cli("scenario", "run", "route.yaml", "--no-save", "--output", "json")
    assert code == 0, err
    delta = json.loads(out)["totals"]["delta"]["mean"]
    # half of gpt-4o's summaries at the mini's price and 1.23x the tokens: each moved call
    # costs 0.0035 * 0 + (1350 tokens' worth at mini prices) instead of 0.0035
    moved_cost = (1000 * 1350 / 1100 * 0.15 + 100 * 1350 / 1100 * 0.60) / 1e6
    assert delta == pytest.approx(-28 * 50 * (0.0035 - moved_cost), rel=0.05)


def test_nothing_to_route_is_said(ledger, tmp_path):
    (tmp_path / "one.csv").write_text(HEADER + "2026-06-01T00:00:00Z,1d,a,b,gpt-4o,5,500,50\n")
    ingest_files(ledger, [tmp_path / "one.csv"])
    spread = model_cost_spread(ledger, load_price_book())
    assert spread.empty
    with pytest.raises(CostcastError, match="nothing to route"):
        routing_scenario(spread)


def test_a_model_whose_calls_carry_no_tokens_has_no_intensity_factor(ledger, tmp_path):
    # found by the pipeline property test: two models of one feature whose calls counted no
    # tokens cost 0 a call each; the factor between them was 0 / 0 (a warning, then NaN in
    # the table). A tokenless model beside one with tokens: its factor is unknown too.
    (tmp_path / "u.csv").write_text(
        HEADER
        + "2026-06-01T00:00:00Z,1d,a,b,gpt-4o,5,0,0\n"
        + "2026-06-01T00:00:00Z,1d,a,b,gpt-4o-mini,4,0,0\n"
        + "2026-06-01T00:00:00Z,1d,c,d,gpt-4o,2,0,0\n"
        + "2026-06-01T00:00:00Z,1d,c,d,gpt-4o-mini,10,1000,100\n"
    )
    ingest_files(ledger, [tmp_path / "u.csv"])
    spread = model_cost_spread(ledger, load_price_book()).set_index(["feature", "model"])
    # feature b: both cost 0 a call, the first (gpt-4o) is the cheapest; no saving either way
    assert spread.loc[("b", "gpt-4o"), "cost_per_request"] == 0
    assert spread.loc[("b", "gpt-4o"), "cheapest_model"] == "gpt-4o"
    assert spread.loc[("b", "gpt-4o-mini"), "saving_usd_per_month"] == 0
    assert spread["intensity_factor"].loc[["b"]].isna().all()
    # feature d: gpt-4o (no tokens, cost 0) is the cheapest; the mini's calls carry 110
    # tokens each, and 0 / 110 is a factor of 0 for it, while gpt-4o's own is unknown
    assert spread.loc[("d", "gpt-4o-mini"), "cheapest_model"] == "gpt-4o"
    assert spread.loc[("d", "gpt-4o-mini"), "intensity_factor"] == 0
    assert pd.isna(spread.loc[("d", "gpt-4o"), "intensity_factor"])
