"""Scenario evaluation on a baseline whose numbers are known exactly (constant daily traffic)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from builders import AS_OF, daily_csv

from forecast.errors import CostcastError, ScenarioError, UnknownModelError
from forecast.fiscal import FiscalCalendar, Horizon
from forecast.ingest import ingest_files
from forecast.pricing import load_price_book
from forecast.runs import RunSettings, create_forecast
from forecast.runstore import load_run
from forecast.scenario import parse_scenario
from forecast.scenario.engine import evaluate, load_baseline

KEYS = [("search", "ask", "gpt-4o"), ("support", "bot", "gpt-4o"), ("support", "triage", "gpt-4.1")]
# per key and day: 100 requests of 1000 input and 100 output tokens
GPT4O_DAY = 100 * (1000 * 2.50 + 100 * 10) / 1e6  # 0.35
GPT41_DAY = 100 * (1000 * 2.00 + 100 * 8) / 1e6  # 0.28
D = dt.date(2026, 7, 1)  # forecast runs 2026-06-16 to 2026-07-15: 15 days from D


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    from forecast.ledger import Ledger

    tmp = tmp_path_factory.mktemp("scenario")
    ledger = Ledger(tmp / "l.duckdb")
    ingest_files(ledger, [daily_csv(tmp / "u.csv", KEYS)])
    book = load_price_book()
    run = create_forecast(
        ledger, book, horizon=Horizon.until(dt.date(2026, 7, 15)),
        settings=RunSettings(forecasters="seasonal_naive", n_paths=50), jobs=1,
    )  # fmt: skip
    yield ledger, run, book
    ledger.close()


def run_scenario(baseline, changes: str, **extra):
    ledger, run, book = baseline
    head = "name: test\nbaseline: latest\n" + "".join(f"{k}: {v}\n" for k, v in extra.items())
    scenario = parse_scenario(head + "changes:\n" + changes)
    return evaluate(ledger, run, book, scenario, FiscalCalendar(1))


def test_baseline_totals_are_the_known_constants(baseline):
    result = run_scenario(baseline, "  - {kind: traffic, factor: 1.0, start: 2026-07-01}\n")
    assert result.totals["baseline"]["mean"] == pytest.approx(30 * (2 * GPT4O_DAY + GPT41_DAY))
    assert result.totals["delta"]["mean"] == pytest.approx(0.0, abs=1e-9)


def test_halving_a_price_halves_that_models_cost_from_its_day_only(baseline):
    result = run_scenario(
        baseline, "  - {kind: price, model: gpt-4o, discount: 0.5, start: 2026-07-01}\n"
    )
    assert result.totals["delta"]["mean"] == pytest.approx(-15 * 2 * GPT4O_DAY / 2)
    months = result.periods[result.periods.freq == "month"]
    periods = months.groupby(["model", "period"])[["delta_mean"]].sum()
    # June (16 forecast days + 15 actual days) untouched; July halves gpt-4o, not gpt-4.1
    assert periods.loc[("gpt-4o", "2026-06"), "delta_mean"] == pytest.approx(0.0)
    assert periods.loc[("gpt-4o", "2026-07"), "delta_mean"] == pytest.approx(-15 * GPT4O_DAY)
    assert periods.loc[("gpt-4.1", "2026-07"), "delta_mean"] == pytest.approx(0.0)
    # the run ends on 15 July: July is covered for 15 of its 31 days, and says so
    flags = months.groupby("period")[["days", "partial"]].first()
    assert flags.loc["2026-07"].tolist() == [15, True]
    assert flags.loc["2026-06"].tolist() == [30, False]


def test_launch_with_fixed_numbers_adds_requests_times_tokens_times_price(baseline):
    result = run_scenario(
        baseline,
        "  - {kind: launch, team: support, feature: new-bot, model: gpt-4o, start: 2026-07-01,"
        " requests_per_day: 1000, input_tokens_per_request: 500, output_tokens_per_request: 50}\n",
    )
    per_day = 1000 * (500 * 2.50 + 50 * 10) / 1e6  # 1.75
    delta = result.totals["delta"]
    assert delta["mean"] == pytest.approx(15 * per_day)
    assert delta["p10"] == pytest.approx(15 * per_day) and delta["p90"] == pytest.approx(
        15 * per_day
    )


def test_route_share_zero_or_same_price_changes_nothing_and_conserves_requests(baseline):
    ledger, run, book = baseline
    nothing = run_scenario(
        baseline,
        "  - {kind: route, from_model: gpt-4o, to_model: gpt-4.1, share: 0, start: 2026-07-01}\n",
    )
    assert nothing.totals["delta"]["mean"] == pytest.approx(0.0, abs=1e-12)
    # a dated snapshot of the same model: same prices, same intensities
    same = run_scenario(
        baseline,
        "  - {kind: route, from_model: gpt-4o, to_model: gpt-4o-2024-08-06, share: 0.5,"
        " start: 2026-07-01}\n",
    )
    assert same.totals["delta"]["mean"] == pytest.approx(0.0, abs=1e-9)
    # moving to gpt-4.1 changes cost by exactly the price difference on the moved half
    moved = run_scenario(
        baseline,
        "  - {kind: route, feature: ask, from_model: gpt-4o, to_model: gpt-4.1, share: 0.5,"
        " start: 2026-07-01}\n",
    )
    assert moved.totals["delta"]["mean"] == pytest.approx(15 * 0.5 * (GPT41_DAY - GPT4O_DAY))
    from forecast.scenario.engine import _Applier

    scenario = parse_scenario(
        "name: t\nchanges:\n  - {kind: route, from_model: gpt-4o, to_model: gpt-4.1,"
        " share: 0.7, start: 2026-06-20, ramp_days: 5}\n"
    )
    applier = _Applier(load_baseline(ledger, run, book), scenario, book, 0)
    assert len(applier.touched) == 2 and len(applier.untouched) == 1  # the gpt-4.1 series
    streams = applier.apply({0})
    assert len(streams) == 4  # two series, each split between gpt-4o and gpt-4.1
    total_after = sum(s.volume.sum() for s in streams)
    assert total_after == pytest.approx(sum(s.volume.sum() for s in applier.touched))


def test_shapley_shares_add_up_and_ignore_the_order_of_independent_changes(baseline):
    changes = [
        "  - {kind: price, model: gpt-4o, discount: 0.2, start: 2026-06-20}\n",
        "  - {kind: traffic, team: support, factor: 1.5, start: 2026-07-01}\n",
        "  - {kind: tokens, feature: ask, output_factor: 2, start: 2026-06-25}\n",
    ]
    forward = run_scenario(baseline, "".join(changes))
    backward = run_scenario(baseline, "".join(reversed(changes)))
    deltas = [c["delta_mean"] for c in forward.changes]
    assert sum(deltas) == pytest.approx(forward.totals["delta"]["mean"])
    assert sum(c["share"] for c in forward.changes) == pytest.approx(1.0)
    assert deltas == pytest.approx([c["delta_mean"] for c in reversed(backward.changes)])


def test_ranges_widen_the_interval_and_fixed_numbers_do_not(baseline):
    fixed = run_scenario(baseline, "  - {kind: traffic, factor: 1.1, start: 2026-07-01}\n")
    ranged = run_scenario(
        baseline,
        "  - {kind: traffic, factor: {low: 0.9, likely: 1.1, high: 1.4}, start: 2026-07-01}\n",
    )
    width = lambda r: r.totals["delta"]["p90"] - r.totals["delta"]["p10"]  # noqa: E731
    assert width(fixed) == pytest.approx(0.0, abs=1e-9)
    assert width(ranged) > 0.1 * abs(ranged.totals["delta"]["mean"])


def test_budget_probability_baseline_versus_scenario(baseline):
    # the run covers July 1-15: 15 days, doubled by the scenario; the budget sits between
    july = 15 * (2 * GPT4O_DAY + GPT41_DAY)
    result = run_scenario(
        baseline,
        "  - {kind: traffic, factor: 2, start: 2026-07-01}\n",
        budget=f"{{amount: {july * 1.5:.4f}, period: 2026-07}}",
    )
    assert result.budget["p_exceed_baseline"] == 0.0
    assert result.budget["p_exceed_scenario"] == 1.0


def test_mistakes_are_named(baseline):
    ledger = baseline[0]
    with pytest.raises(ScenarioError, match="matches no series") as info:
        run_scenario(baseline, "  - {kind: sunset, feature: nope, start: 2026-07-01}\n")
    assert info.value.field == "changes[0]"
    with pytest.raises(UnknownModelError, match="gpt-9"):
        run_scenario(
            baseline,
            "  - {kind: launch, team: t, feature: f, model: gpt-9, start: 2026-07-01,"
            " requests_per_day: 1, input_tokens_per_request: 1, output_tokens_per_request: 1}\n",
        )
    with pytest.raises(UnknownModelError, match="gpt-9"):
        run_scenario(
            baseline,
            "  - {kind: route, from_model: gpt-4o, to_model: gpt-9, share: 0.5, start: 2026-07-01}\n",
        )
    with pytest.raises(CostcastError, match="no forecast run 'run-nope'"):
        load_run(ledger, "run-nope")
    early = run_scenario(baseline, "  - {kind: traffic, factor: 2, start: 2026-01-01}\n")
    assert "applied from 2026-06-16" in early.warnings[0]
    assert early.totals["delta"]["mean"] == pytest.approx(30 * (2 * GPT4O_DAY + GPT41_DAY))
    assert np.isfinite(early.totals["annualized_delta_mean"])
    assert AS_OF < D


def test_shares_played_per_origin_equal_the_whole_game(baseline):
    """shapley() plays one small game per series; the brute-force game over every subset of
    all changes on all series must give the same shares (here with a launch that a route
    then splits, and a route that feeds a price change)."""
    import itertools
    import math

    from forecast.scenario.engine import _Applier, _total, shapley

    ledger, run, book = baseline
    scenario = parse_scenario(
        "name: t\nbaseline: latest\nchanges:\n"
        "  - {kind: launch, team: support, feature: newbot, model: gpt-4o, start: 2026-06-20,\n"
        "     requests_per_day: {low: 50, likely: 80, high: 150}, input_tokens_per_request: 500,\n"
        "     output_tokens_per_request: 50}\n"
        "  - {kind: route, team: support, from_model: gpt-4o, to_model: gpt-4.1, share: 0.5, start: 2026-07-01}\n"
        "  - {kind: price, model: gpt-4.1, discount: 0.2, start: 2026-06-25}\n"
        "  - {kind: traffic, team: search, factor: 1.5, start: 2026-06-16}\n"
    )
    applier = _Applier(load_baseline(ledger, run, book), scenario, book, seed=0)
    n = len(scenario.changes)

    def value(subset) -> float:
        return float(np.mean(_total(applier.apply(set(subset)))))

    whole = [0.0] * n
    for i in range(n):
        others = [j for j in range(n) if j != i]
        for size in range(n):
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for subset in itertools.combinations(others, size):
                whole[i] += weight * (value({*subset, i}) - value(subset))
    assert shapley(applier) == pytest.approx(whole, rel=1e-9, abs=1e-9)
    assert sum(whole) == pytest.approx(value(range(n)) - value(()))
    assert all(abs(share) > 1e-6 for share in whole)  # every change does something here


def test_the_baseline_keeps_the_prices_its_run_used(baseline):
    """After a price-book edit the baseline still matches the run it names: the run's own
    total cost (its saved cost paths), not today's book."""
    from forecast.pricing import PriceBook, PriceEntry
    from forecast.runstore import load_paths

    ledger, run, book = baseline
    _, cost = load_paths(ledger, run.run_id, "cost")
    run_total = cost.sum(axis=(0, 2)).mean()
    edited = PriceBook([*book.entries, PriceEntry(model="gpt-4o", effective=dt.date(2026, 1, 1),
                                                  input=100.0, output=400.0)])  # fmt: skip
    scenario = parse_scenario(
        "name: t\nchanges:\n  - {kind: traffic, team: search, factor: 1, start: 2026-07-01}\n"
    )
    result = evaluate(ledger, run, edited, scenario, FiscalCalendar(1))
    assert result.totals["baseline"]["mean"] == pytest.approx(run_total, rel=1e-9)
    assert result.totals["delta"]["mean"] == pytest.approx(0.0, abs=1e-9)
