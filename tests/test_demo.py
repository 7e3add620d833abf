"""Demo data: deterministic, the promised shape, and the injected events visible in the ledger."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from forecast.billed import import_billed
from forecast.config import load_config
from forecast.demo import write_demo_data
from forecast.ingest import ingest_files
from forecast.ledger import Ledger
from forecast.pricing import load_price_book
from forecast.reconcile import reconcile
from forecast.usage import usage_summary

END = dt.date(2026, 10, 31)


@pytest.mark.slow
def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    a = write_demo_data(tmp_path / "a", seed=3, months=1, end=END)
    b = write_demo_data(tmp_path / "b", seed=3, months=1, end=END)
    c = write_demo_data(tmp_path / "c", seed=4, months=1, end=END)
    assert [p.name for p in a] == [p.name for p in b]
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b, strict=True))
    assert a[0].read_bytes() != c[0].read_bytes()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    write_demo_data(out, seed=11, months=15, end=END)
    config = load_config(out / "costcast.yaml")
    with Ledger(config.ledger) as ledger:
        ingest_files(ledger, sorted(out.glob("usage-*.csv")))
        import_billed(ledger, sorted(out.glob("billed-*.json")))
        yield ledger, load_price_book(config), yaml.safe_load((out / "events.yaml").read_text())


@pytest.mark.slow
def test_demo_has_the_promised_shape(demo):
    ledger, book, truth = demo
    first, last, teams, features, models, providers = ledger.con.execute(
        """SELECT min(ts), max(ts), count(DISTINCT team), count(DISTINCT feature),
                  count(DISTINCT model), count(DISTINCT provider) FROM usage"""
    ).fetchall()[0]
    assert (last.date() - first.date()).days >= 15 * 30
    assert last.date() == END and last.hour == 23
    assert (teams, features, models, providers) == (9, 30, 8, 3)
    assert {e["kind"] for e in truth["events"]} == {
        "launch", "retry_incident", "prompt_growth", "price_cut", "billing_gap",
    }  # fmt: skip
    users = ledger.con.execute('SELECT count(DISTINCT "user") FROM usage').fetchall()[0][0]
    assert users > 10  # one feature keeps per-analyst detail
    # every model of the demo is priced over its whole history (backfilled entries included)
    usage_summary(ledger, book, freq="month")


def _event(truth, kind):
    return next(e for e in truth["events"] if e["kind"] == kind)


@pytest.mark.slow
def test_injected_events_show_in_the_ledger(demo):
    ledger, book, truth = demo
    launch = _event(truth, "launch")
    before, after = ledger.con.execute(
        "SELECT sum(requests) FILTER (WHERE ts < ?), sum(requests) FILTER (WHERE ts >= ?) "
        "FROM usage WHERE feature = ?",
        [launch["start"], launch["start"], launch["feature"]],
    ).fetchall()[0]
    assert before is None and after > 0

    incident = _event(truth, "retry_incident")
    inside, outside = ledger.con.execute(
        """SELECT sum(requests) FILTER (WHERE status = 'error' AND inside) / sum(requests) FILTER (WHERE inside),
                  sum(requests) FILTER (WHERE status = 'error' AND NOT inside) / sum(requests) FILTER (WHERE NOT inside)
           FROM (SELECT *, ts >= ? AND ts < ? AS inside FROM usage WHERE feature = ?)""",
        [incident["start"], incident["end"], incident["feature"]],
    ).fetchall()[0]
    assert inside == pytest.approx(0.35, abs=0.03)
    assert outside == pytest.approx(0.012, abs=0.004)

    growth = _event(truth, "prompt_growth")
    first, last = ledger.con.execute(
        """SELECT sum(input_tokens) FILTER (WHERE ts < ?::DATE + 30) / sum(requests) FILTER (WHERE ts < ?::DATE + 30),
                  sum(input_tokens) FILTER (WHERE ts >= ?::DATE - 30) / sum(requests) FILTER (WHERE ts >= ?::DATE - 30)
           FROM usage WHERE feature = ?""",
        [growth["start"], growth["start"], growth["end"], growth["end"], growth["feature"]],
    ).fetchall()[0]
    assert last / first == pytest.approx(1.6, abs=0.08)

    cut = _event(truth, "price_cut")
    day = dt.date.fromisoformat(cut["start"])
    daily = usage_summary(
        ledger, book, by="model", freq="day", start=day - dt.timedelta(days=1), end=day
    )
    flash = daily[daily["model"] == cut["model"]].set_index("timestamp")
    per_token = flash["cost_usd"] / (flash["input_tokens"] + flash["output_tokens"])
    # the mix of input and output barely moves in a day: cost per token drops by the discount
    assert per_token.iloc[1] / per_token.iloc[0] == pytest.approx(1 - cut["discount"], abs=0.03)


@pytest.mark.slow
def test_every_example_scenario_runs_against_the_demo_forecast(demo, tmp_path):
    from pathlib import Path

    from forecast.fiscal import FiscalCalendar, Horizon
    from forecast.runs import RunSettings, create_forecast
    from forecast.scenario import load_scenario
    from forecast.scenario.engine import evaluate

    ledger, book, _ = demo
    run = create_forecast(
        ledger, book, horizon=Horizon.until(dt.date(2027, 6, 30)),
        settings=RunSettings(forecasters="seasonal_naive", n_paths=60), jobs=2,
    )  # fmt: skip
    examples = sorted((Path(__file__).parent.parent / "scenarios").glob("*.yaml"))
    deltas, budgets = {}, {}
    for path in examples:
        result = evaluate(ledger, run, book, load_scenario(path), FiscalCalendar(2))
        total = result.totals["delta"]["mean"]
        assert sum(c["delta_mean"] for c in result.changes) == pytest.approx(total, abs=1e-6)
        deltas[path.stem], budgets[path.stem] = total, result.budget
    # each example does on the demo what its name promises
    assert set(deltas) == {
        "enable-prompt-caching",
        "launch-support-bot",
        "prompt-drift",
        "provider-price-cut",
        "retry-loop-returns",
        "route-summaries-to-mini",
    }
    assert deltas["provider-price-cut"] < 0 < deltas["prompt-drift"]
    assert deltas["enable-prompt-caching"] < 0 and deltas["route-summaries-to-mini"] < 0
    assert deltas["retry-loop-returns"] > 0 and deltas["launch-support-bot"] > 0
    launch = budgets["launch-support-bot"]
    assert launch["p_exceed_scenario"] >= launch["p_exceed_baseline"] + 0.1, launch


@pytest.mark.slow
def test_reconcile_flags_the_billing_gap_and_nothing_else(demo):
    ledger, book, truth = demo
    gap = _event(truth, "billing_gap")
    frame = reconcile(ledger, book)
    assert set(frame.provider) == {"openai", "anthropic"} and len(frame) == 2 * 62
    flagged = frame[frame.flag]
    assert [(str(d), p) for d, p in zip(flagged.day, flagged.provider, strict=True)] == [
        (gap["day"], gap["provider"])
    ]
    row = flagged.iloc[0]
    assert row.billed_usd / row.priced_usd == pytest.approx(gap["billed_over_priced"], rel=1e-6)
    # every other day's bill is the priced usage to the cent
    assert frame[~frame.flag].diff_usd.abs().max() < 0.01


def test_writing_the_demo_again_keeps_its_api_tokens(tmp_path):
    from forecast.tokens import create_token, list_tokens

    write_demo_data(tmp_path, seed=1, months=1, end=END)
    create_token(tmp_path / "costcast.yaml", "erp", ["exports:read"])
    write_demo_data(tmp_path, seed=1, months=1, end=END)
    from forecast.config import load_config

    assert [t["name"] for t in list_tokens(load_config(tmp_path / "costcast.yaml"))] == ["erp"]


@pytest.mark.slow
def test_support_outcomes_show_the_incident_and_price_a_resolved_ticket(demo):
    from pathlib import Path

    from forecast.kpis import kpis
    from forecast.outcomes import import_outcomes

    ledger, book, truth = demo
    incident = _event(truth, "retry_incident")
    import_outcomes(ledger, [Path(ledger.path).parent / "outcomes-support.csv"])
    start = dt.date.fromisoformat(incident["start"]) - dt.timedelta(days=7)
    days = kpis(ledger, book, by="team,feature", freq="day", start=start,
                end=start + dt.timedelta(days=14))  # fmt: skip
    triage = days[days["feature"] == incident["feature"]].set_index("period_start")
    inside = (triage.index >= incident["start"]) & (triage.index < incident["end"])
    assert triage.loc[inside, "resolution_rate"].mean() == pytest.approx(0.40, abs=0.05)
    assert triage.loc[~inside, "resolution_rate"].mean() == pytest.approx(0.78, abs=0.03)
    # about three successful calls a ticket
    calls = triage["successful_requests"].astype(float)
    assert (triage["outcome_attempts"] == (calls // 3).astype(int)).all()
    # a day's outcomes cover its whole usage: the cost per resolved ticket is the day's cost
    # over its resolved tickets
    ratio = triage["cost_usd"] / triage["successful_outcomes"]
    assert triage["cost_per_successful_outcome"].to_numpy() == pytest.approx(ratio, rel=1e-6)


def test_demo_data_mistakes_are_located_errors(cli, tmp_path):
    """A file for --out and a negative seed ended in tracebacks; a history ending before
    its models' releases failed on pricing the budgets, which its own config backfills."""
    taken = tmp_path / "taken"
    taken.write_text("x")
    code, _, err = cli("demo-data", "--out", taken, "--months", "1")
    assert code == 2 and "option --out: " in err and "is a file, not a folder" in err, err
    code, _, err = cli("demo-data", "--out", tmp_path / "d", "--seed", "-5", "--months", "1")
    assert code == 2 and "option --seed: " in err and not (tmp_path / "d").exists(), err
    code, _, err = cli("demo-data", "--out", taken / "below", "--months", "1")
    assert code == 2 and "option --out: cannot write into" in err, err
    code, _, err = cli("demo-data", "--out", tmp_path / "old", "--months", "1",
                       "--end", "2020-03-31")  # fmt: skip
    assert code == 0, err
    config = yaml.safe_load((tmp_path / "old" / "costcast.yaml").read_text())
    assert config["budgets"] and all(b["amount"] > 0 for b in config["budgets"])
    # every model it uses is priced from the history's first day
    assert {e["effective"] for e in config["prices"]["entries"]} >= {"2020-03-01"}
