"""Numbers that cannot be real are refused where they come in, with the place they are at;
none becomes a silent null, a zero or a billion-dollar bill."""

from __future__ import annotations

import pytest
from builders import snapshot

from forecast.billed import import_billed
from forecast.errors import CostcastError, DataFormatError, ScenarioError
from forecast.ingest import ingest_files
from forecast.scenario import parse_scenario

HEADER = "timestamp,team,feature,model,requests,input_tokens,output_tokens,cost_usd\n"
ROW = "2026-03-01T10:00:00Z,search,ask,gpt-4o,1,1000,100,{}\n"


@pytest.mark.parametrize("cost", ["NaN", "Infinity", "-Infinity", "inf", "1e308"])
def test_a_cost_that_is_not_a_real_amount_is_refused_at_its_line(ledger, tmp_path, cost):
    path = tmp_path / "u.csv"
    path.write_text(HEADER + ROW.format("0.5") + ROW.format(cost))
    with pytest.raises(DataFormatError) as info:
        ingest_files(ledger, [path])
    assert (info.value.line, info.value.field) == (3, "cost_usd")
    assert ledger.row_count() == 0  # nothing half-written


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ("{kind: traffic, factor: .nan, start: 2026-07-01}", "changes[0].factor"),
        ("{kind: traffic, factor: .inf, start: 2026-07-01}", "changes[0].factor"),
        ("{kind: traffic, factor: 1e308, start: 2026-07-01}", "changes[0]"),
        ("{kind: price, model: gpt-4o, discount: .nan, start: 2026-07-01}", "changes[0].discount"),
        ("{kind: route, from_model: a, to_model: b, share: 0.5, failure_factor: .inf,"
         " start: 2026-07-01}", "changes[0].failure_factor"),
        ("{kind: launch, team: t, feature: f, model: gpt-4o, requests_per_day: 1e308,"
         " input_tokens_per_request: 1, output_tokens_per_request: 1, start: 2026-07-01}",
         "changes[0].requests_per_day"),
        ("{kind: tokens, input_factor: {low: 1, likely: .nan, high: 2}, start: 2026-07-01}",
         "changes[0].input_factor.likely"),
    ],
)  # fmt: skip
def test_scenario_numbers_must_be_finite_and_real(change, field):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(f"name: x\nchanges:\n  - {change}\n", source="s.yaml")
    assert info.value.field == field and info.value.line == 3


def test_a_deeply_nested_scenario_is_an_error_not_a_crash():
    with pytest.raises(ScenarioError, match="nested too deeply"):
        parse_scenario("[" * 350 + "]" * 350)


def test_a_billed_amount_beyond_any_real_bill_is_refused(ledger, tmp_path):
    path = tmp_path / "costs.json"
    path.write_text(
        '{"data": [{"starting_at": "2026-03-01T00:00:00Z", "ending_at": "2026-03-02T00:00:00Z",'
        ' "group": {"model": "claude-sonnet-4-5"}, "cost": {"amount": "1e308",'
        ' "currency": "USD"}}], "has_more": false}'
    )
    with pytest.raises(CostcastError, match="beyond any real bill"):
        import_billed(ledger, [path], "anthropic_costs")


def test_counts_no_summary_could_add_are_refused_and_what_is_stored_stays(ledger, tmp_path):
    # each row may hold up to 2^53; a thousand rows of 9e15 add up to 9e18, under the
    # 9,223,372,036,854,775,807 a BIGINT holds: kept, and a KPI reads them whole
    def rows(day, n):
        path = tmp_path / f"day{day}.csv"
        path.write_text(HEADER + "".join(
            f"2026-03-{day:02d}T{i % 24:02d}:{i // 24:02d}:00Z,search,ask,gpt-4o,"
            f"9000000000000000,1000,100,0.5\n" for i in range(n)))  # fmt: skip
        return path

    from forecast.kpis import kpis
    from forecast.pricing import load_price_book

    ingest_files(ledger, [rows(1, 1000)])
    book = load_price_book(None)
    assert kpis(ledger, book, freq="month")["requests"].tolist() == [9 * 10**18]
    before = snapshot(ledger)
    # a hundred more: 9.9e18 over the ledger, which no month's sum could hold
    with pytest.raises(DataFormatError, match="would add up to more than") as info:
        ingest_files(ledger, [rows(2, 100)])
    assert info.value.field == "requests" and "day2.csv" in info.value.file
    assert snapshot(ledger) == before
    # and one day of them: 1,100 rows, 9.9e18 in a day, which the daily sums cannot hold
    with pytest.raises(DataFormatError, match="would add up to more than") as info:
        ingest_files(ledger, [rows(3, 1100)])
    assert info.value.field == "requests" and "day3.csv" in info.value.file
    assert snapshot(ledger) == before
    assert kpis(ledger, book, freq="month")["requests"].tolist() == [9 * 10**18]
