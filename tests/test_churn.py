"""Spend on models a team had not used before: measured on its recent past, and said."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from builders import KEYS, daily_csv

from forecast.churn import new_model_share
from forecast.fiscal import FiscalCalendar, Horizon
from forecast.ingest import ingest_files
from forecast.pricing import load_price_book
from forecast.runs import RunSettings, create_forecast

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
