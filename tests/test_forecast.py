"""Forecast runs on small ledgers whose right answers can be worked out by hand."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from builders import AS_OF, DAILY_COST, KEYS, daily_csv

from forecast.aggregate import summarize
from forecast.backtest import backtest
from forecast.config import load_config
from forecast.errors import CostcastError, LedgerError, UnpricedModelError
from forecast.fiscal import FiscalCalendar, Horizon
from forecast.ingest import ingest_files
from forecast.ledger import Ledger
from forecast.pricing import load_price_book
from forecast.runs import RunSettings, create_forecast
from forecast.runstore import list_runs, load_run
from forecast.scoring import largest_miss


@pytest.fixture
def constant_ledger(ledger, tmp_path):
    ingest_files(ledger, [daily_csv(tmp_path / "u.csv", KEYS)])
    return ledger


@pytest.mark.parametrize("models", ["seasonal_naive", "prophet"])
def test_constant_traffic_forecasts_that_constant(constant_ledger, models):
    book = load_price_book()
    run = create_forecast(
        constant_ledger, book, horizon=Horizon.until(AS_OF + dt.timedelta(days=30)),
        settings=RunSettings(forecasters=models, n_paths=50), jobs=1,
    )  # fmt: skip
    assert run.as_of == AS_OF and run.start == dt.date(2026, 6, 16)
    daily = constant_ledger.con.execute(
        "SELECT ds, path, sum(cost) FROM forecast_path_days WHERE run_id = ? GROUP BY ALL",
        [run.run_id],
    ).df()
    assert daily.iloc[:, 2].mean() == pytest.approx(3 * DAILY_COST, rel=0.01)


def test_parts_add_up_to_the_total_and_landing(constant_ledger):
    book = load_price_book()
    run = create_forecast(
        constant_ledger, book, horizon=Horizon.until(dt.date(2026, 8, 31)),
        settings=RunSettings(forecasters="seasonal_naive", n_paths=50), jobs=1,
    )  # fmt: skip
    table = summarize(constant_ledger, run, by="team", freq="month")
    june = table[table.period == "2026-06"].set_index("team")
    # landing: 15 June days of actuals plus 15 forecast days, each 0.35 per key
    assert june.loc["search", "mean"] == pytest.approx(30 * DAILY_COST)
    assert june.loc["support", "mean"] == pytest.approx(2 * 30 * DAILY_COST)
    for _, part in table.groupby("period"):
        teams = part[part.team != "total"]
        total = part[part.team == "total"].iloc[0]
        assert teams["mean"].sum() == pytest.approx(total["mean"], rel=1e-12)
        assert total["p90"] >= total["p50"] >= total["p10"]
    assert set(table.period) == {"2026-06", "2026-07", "2026-08"}
    # June: 15 days of actuals and 15 forecast; nothing is partial
    assert not table["partial"].any() and set(table["days"]) == {30, 31}
    cut = create_forecast(
        constant_ledger, book, horizon=Horizon.until(dt.date(2026, 7, 10)),
        settings=RunSettings(forecasters="seasonal_naive", n_paths=50), jobs=1,
    )  # fmt: skip
    july = summarize(constant_ledger, cut, by="team", freq="month").query("period == '2026-07'")
    assert july["partial"].all() and (july["days"] == 10).all()  # the horizon ends on the 10th


def test_price_cut_in_the_book_halves_cost_from_its_day(constant_ledger, tmp_path):
    cut = dt.date(2026, 7, 1)
    (tmp_path / "costcast.yaml").write_text(
        "prices:\n  entries:\n"
        f"    - {{model: gpt-4o, effective: {cut}, input: 1.25, cached_input: 0.625, output: 5.00}}\n"
    )
    book = load_price_book(load_config(tmp_path / "costcast.yaml"))
    run = create_forecast(
        constant_ledger, book, horizon=Horizon.until(dt.date(2026, 7, 14)),
        settings=RunSettings(forecasters="seasonal_naive", n_paths=50), jobs=1,
    )  # fmt: skip
    p50 = (
        constant_ledger.con.execute(
            """SELECT ds, quantile_cont(cost, 0.5) FROM (
               SELECT ds, path, sum(cost) AS cost FROM forecast_path_days WHERE run_id = ?
               GROUP BY ALL) GROUP BY ds ORDER BY ds""",
            [run.run_id],
        )
        .df()
        .set_index("ds")
        .iloc[:, 0]
    )
    before = p50[p50.index < pd.Timestamp(cut)]
    after = p50[p50.index >= pd.Timestamp(cut)]
    assert len(before) == 15 and len(after) == 14
    assert before.to_numpy() == pytest.approx(3 * DAILY_COST)
    assert after.to_numpy() == pytest.approx(3 * DAILY_COST / 2)


def test_budgets_probability_of_exceeding(constant_ledger):
    run = create_forecast(
        constant_ledger, load_price_book(), horizon=Horizon.until(dt.date(2026, 9, 30)),
        settings=RunSettings(forecasters="seasonal_naive", n_paths=50), jobs=1,
    )  # fmt: skip
    quarter = 92 * DAILY_COST  # Q3: July-September
    budgets = [
        {"period": "2026-Q3", "amount": 3 * quarter * 0.9},  # total: certainly exceeded
        {"period": "2026-Q3", "team": "search", "amount": quarter * 1.5},  # certainly not
    ]
    table = summarize(constant_ledger, run, by="team", freq="quarter", budgets=budgets)
    q3 = table[table.period == "2026-Q3"].set_index("team")
    assert q3.loc["total", "p_exceed"] == 1.0
    assert q3.loc["search", "p_exceed"] == 0.0
    assert pd.isna(q3.loc["support", "budget"])


def test_kept_period_totals_are_the_sums_of_the_paths(constant_ledger):
    """What a run keeps at save (per series, fiscal period and path) must give the tables
    that summing every day of every path gives: computed here both ways."""
    calendar = FiscalCalendar(2)
    run = create_forecast(
        constant_ledger, load_price_book(), horizon=Horizon.until(dt.date(2026, 10, 31)),
        settings=RunSettings(forecasters="seasonal_naive", n_paths=30), jobs=1, calendar=calendar,
    )  # fmt: skip
    budgets = [{"period": "2026-Q2", "team": "support", "amount": 40.0}]
    kept = {
        (by, freq): summarize(constant_ledger, run, by=by, freq=freq, calendar=calendar,
                              budgets=budgets)
        for by in ("", "team", "team,model") for freq in ("month", "quarter", "year")
    }  # fmt: skip
    # kept under a fiscal year from February: a calendar year is summed from the paths
    other = summarize(constant_ledger, run, by="team", freq="quarter", calendar=FiscalCalendar(1))
    con = constant_ledger.con
    assert con.execute("SELECT count(*) FROM forecast_period_paths").fetchall()[0][0] > 0
    con.execute("DELETE FROM forecast_period_paths")  # as a run saved by an older costcast
    for (by, freq), table in kept.items():
        summed = summarize(constant_ledger, run, by=by, freq=freq, calendar=calendar,
                           budgets=budgets)  # fmt: skip
        pd.testing.assert_frame_equal(table, summed, check_exact=False, rtol=1e-9)
    summed = summarize(constant_ledger, run, by="team", freq="quarter", calendar=FiscalCalendar(1))
    pd.testing.assert_frame_equal(other, summed)
    assert list(other["period"].unique()) == ["2026-Q2", "2026-Q3", "2026-Q4"]


def test_same_seed_same_numbers_and_runs_are_listed(constant_ledger):
    settings = RunSettings(forecasters="seasonal_naive", n_paths=40, seed=7)
    runs = [
        create_forecast(constant_ledger, load_price_book(), horizon=Horizon.until(dt.date(2026, 7, 31)),
                        settings=settings, jobs=1)
        for _ in range(2)
    ]  # fmt: skip
    a, b = (summarize(constant_ledger, r, by="team").drop(columns="run_id") for r in runs)
    pd.testing.assert_frame_equal(a, b)
    assert runs[0].run_id != runs[1].run_id
    assert set(list_runs(constant_ledger)["run_id"]) == {r.run_id for r in runs}
    assert load_run(constant_ledger, "latest").run_id in {r.run_id for r in runs}
    prov = load_run(constant_ledger, runs[0].run_id).meta["provenance"]
    assert prov["rows"] == 120 * 3 and prov["last_day"] == str(AS_OF)


def test_short_history_gets_a_flagged_median_of_simple_forecasters(ledger, tmp_path):
    ingest_files(ledger, [daily_csv(tmp_path / "u.csv", KEYS[:1], days=20)])
    run = create_forecast(
        ledger, load_price_book(), horizon=Horizon.until(AS_OF + dt.timedelta(days=7)),
        settings=RunSettings(forecasters="auto", n_paths=30), jobs=1,
    )  # fmt: skip
    forecaster, flag = ledger.con.execute(
        "SELECT forecaster, flag FROM forecast_series WHERE run_id = ?", [run.run_id]
    ).fetchall()[0]
    assert forecaster == "ensemble"
    assert flag == (
        "short history (20 days): median of seasonal_naive, tsb, imapa, croston_sba; "
        "its paths replay its own days (no window of its own)"
    )  # none stopped
    # the global model needs 35 days: it is skipped on this series, and the run says so
    assert run.meta["skipped"]["global_gbm"]["series"] == 1


def test_as_of_cuts_history_and_bad_requests_are_refused(constant_ledger, tmp_path):
    book = load_price_book()
    cut = dt.date(2026, 5, 31)
    run = create_forecast(
        constant_ledger, book, as_of=cut, horizon=Horizon.until(dt.date(2026, 6, 30)),
        settings=RunSettings(forecasters="seasonal_naive", n_paths=20), jobs=1,
    )  # fmt: skip
    assert run.as_of == cut
    assert load_run(constant_ledger, run.run_id).meta["provenance"]["last_day"] == str(cut)
    with pytest.raises(CostcastError, match="after the ledger's last complete day"):
        create_forecast(
            constant_ledger,
            book,
            as_of=dt.date(2026, 7, 1),
            horizon=Horizon.until(dt.date(2026, 8, 1)),
        )
    with pytest.raises(CostcastError, match="on or before the as-of date"):
        create_forecast(constant_ledger, book, horizon=Horizon.until(dt.date(2026, 6, 1)))
    with pytest.raises(CostcastError, match="cannot forecast by colour"):
        summarize(constant_ledger, run, by="colour")
    with Ledger(tmp_path / "empty.duckdb") as empty, pytest.raises(LedgerError, match="empty"):
        create_forecast(empty, book, horizon=Horizon.until(dt.date(2026, 8, 1)))


def test_fiscal_quarters_follow_the_configured_start(constant_ledger):
    run = create_forecast(
        constant_ledger, load_price_book(), horizon=Horizon.until(dt.date(2026, 8, 31)),
        settings=RunSettings(forecasters="seasonal_naive", n_paths=20), jobs=1,
    )  # fmt: skip
    table = summarize(constant_ledger, run, freq="quarter", calendar=FiscalCalendar(2))
    # February start: May-July is Q2 of FY2026, August starts Q3
    assert list(table.period) == ["2026-Q2", "2026-Q3"]


@pytest.fixture
def dask_cluster(tmp_path):
    """A real Dask cluster on loopback: a scheduler and two single-threaded worker processes,
    each started as its own program, as on separate machines."""
    import json
    import subprocess
    import time

    info = tmp_path / "scheduler.json"
    scheduler = subprocess.Popen(
        [Path(sys.executable).parent / "dask", "scheduler", "--host", "127.0.0.1", "--port", "0",
         "--no-dashboard", "--scheduler-file", str(info)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    workers = []
    try:
        for _ in range(100):
            if info.exists() and info.stat().st_size:
                break
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        workers = [
            subprocess.Popen(
                [
                    Path(sys.executable).parent / "dask",
                    "worker",
                    address,
                    "--nthreads",
                    "1",
                    "--nworkers",
                    "1",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(2)
        ]
        yield address
    finally:
        for process in (*workers, scheduler):
            process.terminate()
        for process in (*workers, scheduler):
            process.wait(timeout=30)


@pytest.mark.slow
def test_a_dask_cluster_of_separate_processes_gives_the_local_paths(tmp_path, dask_cluster):
    from distributed import Client, get_task_stream

    rng = np.random.default_rng(3)
    path = tmp_path / "noisy.csv"
    rows = ["timestamp,bucket,team,feature,model,requests,input_tokens,output_tokens"]
    for day in pd.date_range(AS_OF - dt.timedelta(days=89), AS_OF):
        for team, feature, model in KEYS:
            n = int(rng.poisson(200 if day.day_of_week < 5 else 60))
            rows.append(
                f"{day:%Y-%m-%d}T00:00:00Z,1d,{team},{feature},{model},{n},{n * 900},{n * 80}"
            )
    path.write_text("\n".join(rows) + "\n")
    book = load_price_book()
    settings = RunSettings(
        forecasters="seasonal_naive,theta,tsb,imapa,global_gbm", n_paths=40, seed=11
    )
    horizon = dt.date(2026, 7, 15)

    def paths_of(ledger, run):
        return ledger.con.execute(
            """SELECT team, feature, model, ds, path, cost FROM forecast_path_days WHERE run_id = ?
               ORDER BY ALL""",
            [run.run_id],
        ).df()

    with Ledger(tmp_path / "a.duckdb") as local:
        ingest_files(local, [path])
        local_run = create_forecast(
            local, book, horizon=Horizon.until(horizon), settings=settings, jobs=2
        )
        expected = paths_of(local, local_run)
    with Client(dask_cluster, timeout=60) as client, Ledger(tmp_path / "b.duckdb") as remote:
        client.wait_for_workers(2, timeout=60)
        ingest_files(remote, [path])
        with get_task_stream(client) as stream:
            dask_run = create_forecast(
                remote, book, horizon=Horizon.until(horizon), settings=settings, dask_client=client
            )
        got = paths_of(remote, dask_run)
    # the series' chunks really ran in the worker processes, not here
    chunks = [t for t in stream.data if "decide_chunk" in t["key"] or "fit_local" in t["key"]]
    assert len(chunks) == 6 and all(t["worker"].startswith("tcp://127.0.0.1:") for t in chunks)
    pd.testing.assert_frame_equal(expected, got)


def test_a_ledger_with_paths_in_the_old_long_layout_is_converted(constant_ledger, tmp_path):
    from forecast.ledger import Ledger
    from forecast.runstore import load_paths

    run = create_forecast(
        constant_ledger, load_price_book(), horizon=Horizon.until(AS_OF + dt.timedelta(days=10)),
        settings=RunSettings(forecasters="seasonal_naive", n_paths=20), jobs=1,
    )  # fmt: skip
    keys, before = load_paths(constant_ledger, run.run_id, "volume")
    con = constant_ledger.con
    con.execute("CREATE TABLE long_copy AS SELECT * FROM forecast_path_days")
    con.execute("DROP VIEW forecast_path_days")
    con.execute("DROP TABLE forecast_paths")
    con.execute("ALTER TABLE long_copy RENAME TO forecast_paths")  # as costcast 0.1 wrote it
    path = constant_ledger.path
    constant_ledger.close()
    # a reading command converts it too, as a writer first, while no one else has it open
    with Ledger(path, read_only=True) as reopened:
        again_keys, after = load_paths(reopened, run.run_id, "volume")
        assert again_keys.equals(keys)
        assert np.array_equal(after, before)
    with Ledger(path) as writer:
        assert load_paths(writer, run.run_id, "cost")[1].shape == (3, 20, 10)


def test_auto_tries_costly_forecasters_on_the_heaviest_series_only():
    from forecast.chunk import SeriesInput
    from forecast.engine import budget_costly
    from forecast.models import resolve_forecasters

    auto = resolve_forecasters("auto")
    costly = {"prophet", "ets", "theta"}

    def series(i, candidates=auto):
        return SeriesInput(f"k{i}", np.ones(10), np.ones((4, 10)), np.ones(4), candidates,
                           weight=float(i))  # fmt: skip

    inputs = [series(i) for i in range(50)]
    assert budget_costly(inputs, share=0.1, at_least=3) == 5  # 10% of 50
    with_costly = {s.uid for s in inputs if costly <= set(s.candidates)}
    assert with_costly == {"k45", "k46", "k47", "k48", "k49"}  # the five heaviest
    assert all(set(s.candidates) == set(auto) - costly for s in inputs if s.uid not in with_costly)
    small = [series(i) for i in range(4)]
    assert budget_costly(small, share=0.1, at_least=20) == 4  # a small run keeps them everywhere
    forced = [series(i, ("prophet",)) for i in range(50)]
    budget_costly(forced, share=0.1, at_least=3)
    assert all(s.candidates == ("prophet",) for s in forced)


def test_a_model_the_book_cannot_price_is_left_out_and_named(ledger, tmp_path):
    from forecast.runstore import run_series

    ingest_files(ledger, [daily_csv(tmp_path / "u.csv", KEYS[:1])])
    ingest_files(ledger, [daily_csv(tmp_path / "m.csv", [("search", "ask", "mystery-7")])])
    run = create_forecast(
        ledger, load_price_book(), horizon=Horizon.until(AS_OF + dt.timedelta(days=7)),
        settings=RunSettings(forecasters="seasonal_naive", n_paths=20), jobs=1,
    )  # fmt: skip
    assert run.meta["unpriced"] == ["mystery-7"]
    assert list(run_series(ledger, run.run_id)["model"]) == ["gpt-4o"]


def quick_forecast(ledger, tmp_path, cli, monkeypatch) -> tuple[str, str]:
    """`costcast forecast` of a week by seasonal naive on ``ledger`` (closed for it): its
    stdout and stderr."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COSTCAST_DB", str(ledger.path))
    ledger.close()
    code, out, err = cli("forecast", "--horizon", "7d", "--forecasters", "seasonal_naive",
                         "--paths", "20", "--jobs", "1")  # fmt: skip
    assert code == 0, err
    return out, err


def test_the_forecast_table_says_it_leaves_unpriced_models_out(ledger, tmp_path, cli, monkeypatch):
    ingest_files(ledger, [daily_csv(tmp_path / "u.csv", KEYS[:1])])
    ingest_files(ledger, [daily_csv(tmp_path / "m.csv", [("search", "ask", "mystery-7")])])
    out, err = quick_forecast(ledger, tmp_path, cli, monkeypatch)
    assert "left out mystery-7" in err
    assert "without 1 unpriced" in " ".join(out.split())  # in the table's title


def test_a_ledger_the_book_cannot_price_at_all_names_its_models(ledger, tmp_path):
    ingest_files(ledger, [daily_csv(tmp_path / "m.csv", [("search", "ask", "mystery-7")])])
    with pytest.raises(UnpricedModelError) as info:  # was pandas' "No objects to concatenate"
        create_forecast(ledger, load_price_book(), horizon=Horizon.until(AS_OF + dt.timedelta(days=7)),
                        settings=RunSettings(forecasters="seasonal_naive", n_paths=20), jobs=1)  # fmt: skip
    assert info.value.models == ["mystery-7"]
    with pytest.raises(UnpricedModelError):  # was a TypeError on the empty drivers' first day
        backtest(ledger, load_price_book(), horizon=7, windows=2,
                 settings=RunSettings(forecasters="seasonal_naive", n_paths=20), jobs=1)  # fmt: skip


def test_the_runs_own_backtest_says_each_window_apart(constant_ledger):
    run = create_forecast(
        constant_ledger, load_price_book(), horizon=Horizon.until(AS_OF + dt.timedelta(days=30)),
        settings=RunSettings(forecasters="seasonal_naive", n_paths=50), jobs=1,
    )  # fmt: skip
    backtest = run.meta["backtest"]
    windows = backtest["by_window"]
    assert len(windows) == backtest["windows"] >= 2
    # every full window has the same days: the whole is their mean
    assert backtest["coverage_80"] == pytest.approx(np.mean([w["coverage_80"] for w in windows]))
    # constant spend, forecast by last week's: the windows' sums are what came
    assert backtest["bias"] == pytest.approx(0.0, abs=1e-9) == backtest["wape"]
    assert [w["bias"] for w in windows] == pytest.approx([0.0] * len(windows), abs=1e-9)
    from forecast.cli.forecasting import _by_window

    # the cutoffs 105 and 91 days before 2026-06-15: forecast from the day after each
    said = _by_window([{"cutoff_days_before": 91, "coverage_80": 0.4},
                       {"cutoff_days_before": 105, "coverage_80": 0.86}], AS_OF)  # fmt: skip
    assert said == " (from 2026-03-03: 86%, from 2026-03-17: 40%)"
    # each window's bias beside its coverage, where the run kept it
    said = _by_window([{"cutoff_days_before": 91, "coverage_80": 0.4, "bias": -0.1234},
                       {"cutoff_days_before": 105, "coverage_80": 0.86, "bias": 0.05}], AS_OF)  # fmt: skip
    assert said == (" (from 2026-03-03: 86% covered, bias +5.0%; from 2026-03-17: 40% covered, "
                    "bias -12.3%)")  # fmt: skip
    # a window under 70% names the series that missed most there, and its age if young
    miss = {"series": "support|copilot|gpt-4o", "forecast_vs_actual": -0.34,
            "missed_usd": 8871.0, "days_old_at_cutoff": 30}  # fmt: skip
    said = _by_window([{"cutoff_days_before": 91, "coverage_80": 0.51, "largest_miss": miss},
                       {"cutoff_days_before": 105, "coverage_80": 0.8}], AS_OF)  # fmt: skip
    assert said == (" (from 2026-03-03: 80%, from 2026-03-17: 51%); the largest miss from "
                    "2026-03-17: support / copilot / gpt-4o, forecast 34% low (30 days old at "
                    "that cutoff)")  # fmt: skip
    assert _by_window([{"cutoff_days_before": 91, "coverage_80": 0.75, "largest_miss": miss}],
                      AS_OF) == ""  # fmt: skip


def test_the_largest_miss_of_a_window_is_the_series_off_by_the_most_dollars():
    def outcome(uid: str, actual: list[float], point: list[float], unit: float) -> SimpleNamespace:
        window = np.array([actual, [np.nan] * 2]), np.array([point, [np.nan] * 2])
        return SimpleNamespace(uid=uid, actual_cv=window[0], point_cv=window[1],
                               unit_cv=np.full((2, 2), unit), history_days=130)  # fmt: skip

    # cost: a came to 2 x 10 x 2 = 40 and was forecast 36 (4 low, 10%); b 2 x 5 x 1 = 10,
    # forecast 16 (6 high, 60%); c has no such window
    outcomes = [outcome("a", [10, 10], [9, 9], 2.0), outcome("b", [5, 5], [8, 8], 1.0),
                outcome("c", [np.nan] * 2, [np.nan] * 2, 1.0)]  # fmt: skip
    miss = largest_miss(outcomes, 0, cutoff=91)
    assert miss == {"series": "b", "forecast_vs_actual": pytest.approx(0.6),
                    "missed_usd": pytest.approx(6.0), "days_old_at_cutoff": 39}  # fmt: skip
    assert largest_miss(outcomes, 1, cutoff=105) is None


def test_a_span_with_no_usage_at_all_is_said_not_forecast_silently(ledger, tmp_path, cli,
                                                                     monkeypatch):  # fmt: skip
    """120 days to 2026-06-15 with nothing from 2026-04-01 to 04-10 (10 days: an export
    that failed, or an idle spell) and from 05-01 to 05-06 (6 days, under a week)."""
    path = daily_csv(tmp_path / "u.csv", KEYS[:2])
    lines = path.read_text().splitlines()
    gone = {f"2026-04-{d:02d}" for d in range(1, 11)} | {f"2026-05-{d:02d}" for d in range(1, 7)}
    path.write_text("\n".join(x for x in lines if x[:10] not in gone) + "\n")
    ingest_files(ledger, [path])
    from forecast.coverage import usage_gaps

    assert usage_gaps(ledger, AS_OF) == [{"first": "2026-04-01", "last": "2026-04-10", "days": 10}]
    assert usage_gaps(ledger, dt.date(2026, 4, 5)) == []  # no usage after it yet: no gap
    _, err = quick_forecast(ledger, tmp_path, cli, monkeypatch)
    said = " ".join(err.split())
    assert "gap no usage at all from 2026-04-01 to 2026-04-10 (10 days)" in said
    assert "2026-05-01" not in said
    code, _, err = cli("runs", "show", "latest")
    assert code == 0 and "from 2026-04-01 to 2026-04-10" in " ".join(err.split())
    code, _, err = cli("backtest", "--horizon", "7", "--windows", "2", "--forecasters",
                       "seasonal_naive", "--paths", "20", "--jobs", "1")  # fmt: skip
    assert code == 0 and "from 2026-04-01 to 2026-04-10 (10 days)" in " ".join(err.split())
    # as of a day inside the gap, nothing after it is known yet: no gap to say
    code, _, err = cli("backtest", "--horizon", "7", "--windows", "2", "--forecasters",
                       "seasonal_naive", "--paths", "20", "--jobs", "1", "--as-of", "2026-04-05")  # fmt: skip
    assert code == 0 and "gap" not in err


def test_a_provider_whose_usage_stops_before_the_others_is_said(ledger, tmp_path, cli,
                                                                 monkeypatch):  # fmt: skip
    """To Monday 2026-06-15: OpenAI every day; Anthropic every day but its last ten (an
    export that runs behind); Mistral on working days only, to Friday 06-12; Google on three
    days, the last a month before (it stopped)."""
    days = pd.date_range(AS_OF - dt.timedelta(days=59), AS_OF)

    def rows(model, provider, on):
        return [f"{d:%Y-%m-%d}T00:00:00Z,1d,ops,{provider},{model},{provider},10,1000,100"
                for d in on]  # fmt: skip

    lines = (rows("gpt-4o", "openai", days) + rows("claude-sonnet-4", "anthropic", days[:-10])
             + rows("gemini-2.0-flash", "google", days[[0, 10, 29]])
             + rows("mistral-large", "mistral", days[(days.dayofweek < 5) & (days < "2026-06-13")]))  # fmt: skip
    (tmp_path / "u.csv").write_text(
        "timestamp,bucket,team,feature,model,provider,requests,input_tokens,output_tokens\n"
        + "\n".join(lines) + "\n"
    )  # fmt: skip
    ingest_files(ledger, [tmp_path / "u.csv"])
    from forecast.coverage import lagging_providers

    # Anthropic's last day 2026-06-05, 10 days before; every one of them a day it had usage
    # on in the four weeks before. Mistral misses Monday 06-15, a day it always had: one day
    # (its weekend is none). Google's last day is 30 days before: stopped, not behind
    assert [(p["provider"], p["last_day"], p["days"], p["missing_from"], p["usual_days_missing"])
            for p in lagging_providers(ledger, AS_OF)] == [
        ("anthropic", "2026-06-05", 10, "2026-06-06", 10),
        ("mistral", "2026-06-12", 3, "2026-06-15", 1)]  # fmt: skip
    # as of Sunday 06-14, Mistral's weekend is no lag; Anthropic's one day is
    assert [p["provider"] for p in lagging_providers(ledger, dt.date(2026, 6, 14))] == ["anthropic"]
    # a run's own as-of date: Mistral, one usual day late, holds it back to the day before
    # that day; Anthropic, ten days late, may have stopped, and is only said
    from forecast.coverage import default_as_of

    as_of, held = default_as_of(ledger)
    assert as_of == dt.date(2026, 6, 14) and [p["provider"] for p in held] == ["mistral"]
    _, err = quick_forecast(ledger, tmp_path, cli, monkeypatch)
    said = " ".join(err.split())
    assert "as of 2026-06-14" in said
    assert (
        "held back as of 2026-06-14: mistral's usage ends on 2026-06-12 and misses 2026-06-15"
        in said
    )
    assert "behind anthropic's usage ends on 2026-06-05, 9 days before the as-of date" in said
    assert "behind mistral" not in said and "google" not in said
