"""Billed actuals: each format read to hand-computed dollars, imports atomic and revisable,
and reconciliation flagging exactly the day that differs."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from builders import KEYS, daily_csv

from forecast.billed import billed_daily, import_billed, read_billed
from forecast.errors import CostcastError, DataFormatError, LedgerError
from forecast.ingest import ingest_files
from forecast.pricing import load_price_book
from forecast.reconcile import reconcile, reconciliation

BILLED = "billed/"


def test_openai_costs_pages_in_dollars(fixture_path):
    fmt, rows, _ = read_billed(fixture_path(BILLED + "openai_costs.json"))
    assert fmt == "openai_costs"
    # amount.value as a number and as a string, "usd" and "USD"
    assert rows.groupby("day")["amount_usd"].sum().to_dict() == pytest.approx(
        {dt.date(2026, 6, 3): 1.05, dt.date(2026, 6, 4): 1.06, dt.date(2026, 6, 5): 5.00}
    )
    assert set(rows["project"]) == {"proj_demo"} and set(rows["provider"]) == {"openai"}


def test_anthropic_cost_report_amounts_are_cents(fixture_path):
    fmt, rows, _ = read_billed(fixture_path(BILLED + "anthropic_cost_report.json"))
    assert fmt == "anthropic_costs"
    assert sorted(rows["amount_usd"]) == pytest.approx([0.005, 1.2345])  # "0.5" and "123.45" cents
    fmt, rows, _ = read_billed(fixture_path(BILLED + "anthropic_analytics_cost.json"))
    assert list(rows["amount_usd"]) == pytest.approx([2.50125, 0.99])  # amount, not list_amount
    assert list(rows["day"]) == [dt.date(2026, 3, 1), dt.date(2026, 3, 2)]


def test_focus_is_read_leniently_and_skips_are_reported(fixture_path):
    fmt, rows, notes = read_billed(fixture_path(BILLED + "focus.csv"))
    assert fmt == "focus"  # a BOM, a 3/2/26 date, an hourly row, a column subset
    assert rows.groupby("provider")["amount_usd"].sum().to_dict() == pytest.approx(
        {"openai": 3.50, "aws": 0.25}
    )
    assert set(rows["day"]) == {dt.date(2026, 3, 2)}
    assert any("ChargeCategory Tax" in n for n in notes)
    assert any("ServiceCategory Compute" in n for n in notes)


@pytest.mark.parametrize(
    ("text", "message", "where"),
    [
        ('[{"data": [{"start_time": 1780444800, "end_time": 1780531200, "results": '
         '[{"amount": {"value": 1, "currency": "eur"}}]}]}]',
         "only USD", {"record": 1, "field": "amount.currency"}),
        ('[{"data": [{"start_time": 1780444800, "end_time": 1780448400, "results": []}]}]',
         "daily buckets", {"record": 1, "field": "end_time"}),
        ('[{"data": [{"start_time": 1780444800, "end_time": 1780531200, "results": '
         '[{"amount": {"value": "a lot", "currency": "usd"}}]}]}]',
         "must be a number", {"record": 1, "field": "amount.value"}),
        # each of these ended in an AttributeError or a TypeError (found by the fuzz test)
        ('[{"data": [null]}]', "record \\(an object\\)", {"record": 1}),
        ('[{"data": [{"start_time": 1780444800, "end_time": "x", "results": []}]}]',
         "daily buckets", {"record": 1, "field": "end_time"}),
        ('[{"data": [{"start_time": 1780444800, "results": "abc"}]}]',
         "list of objects", {"record": 1, "field": "results"}),
        ('[{"data": [{"start_time": 1780444800, "results": [{"project_id": 5, "amount": '
         '{"value": 1, "currency": "usd"}}]}]}]',
         "expected text", {"record": 1, "field": "results[].project_id"}),
    ],
)  # fmt: skip
def test_bad_openai_costs_name_the_record_and_field(tmp_path, text, message, where):
    path = tmp_path / "costs.json"
    path.write_text(text)
    with pytest.raises(DataFormatError, match=message) as info:
        read_billed(path, "openai_costs")
    assert {k: getattr(info.value, k) for k in where} == where


DAY_1 = '"starting_at": "2026-06-01T00:00:00Z", "ending_at": "2026-06-02T00:00:00Z"'


@pytest.mark.parametrize(
    ("item", "message", "field"),
    [
        (f'{{{DAY_1}, "results": [1]}}', "list of objects", "results"),
        (f'{{{DAY_1}, "cost": {{"amount": "5", "currency": "USD"}}, "group": "x"}}',
         "group must be an object", "group"),
        (f'{{{DAY_1}, "cost": {{"amount": "5", "currency": "USD"}}, "group": {{"model": []}}}}',
         "expected text", "group.model"),
        (f'{{{DAY_1}, "results": [{{"amount": "5", "currency": "USD", "description": 3}}]}}',
         "expected text", "results[].description"),
    ],
)  # fmt: skip
def test_bad_anthropic_cost_reports_name_the_record_and_field(tmp_path, item, message, field):
    path = tmp_path / "report.json"
    path.write_text(f'{{"data": [{item}], "has_more": false}}')
    with pytest.raises(DataFormatError, match=message) as info:
        read_billed(path, "anthropic_costs")
    assert (info.value.record, info.value.field) == (1, field)


def test_a_focus_charge_longer_than_a_day_names_its_line(tmp_path):
    path = tmp_path / "focus.csv"
    path.write_text(
        "BilledCost,ChargePeriodStart,ChargePeriodEnd,ProviderName\n"
        "1.00,2026-03-01T00:00:00Z,2026-03-02T00:00:00Z,OpenAI\n"
        "9.00,2026-03-01T00:00:00Z,2026-04-01T00:00:00Z,OpenAI\n"
    )
    with pytest.raises(DataFormatError, match="longer than one day") as info:
        read_billed(path)
    assert info.value.line == 3 and info.value.field == "ChargePeriodEnd"


def test_import_is_idempotent_and_a_revised_day_replaces_the_old_amount(
    ledger, fixture_path, tmp_path
):
    source = fixture_path(BILLED + "openai_costs.json")
    (first,) = import_billed(ledger, [source])
    assert (first.added, first.revised, first.unchanged) == (4, 0, 0)
    (again,) = import_billed(ledger, [source])
    assert again.skipped
    pages = json.loads(source.read_text())
    pages[1]["data"][0]["results"][0]["amount"]["value"] = 1.07  # 2026-06-05 settled lower
    revised = tmp_path / "costs-rev.json"
    revised.write_text(json.dumps(pages))
    (third,) = import_billed(ledger, [revised])
    assert (third.added, third.revised, third.unchanged) == (0, 1, 3)
    daily = billed_daily(ledger).set_index("day")["billed_usd"]
    assert daily.sum() == pytest.approx(1.05 + 1.06 + 1.07)


def test_a_bad_file_leaves_billed_actuals_as_they_were(ledger, fixture_path, tmp_path):
    import_billed(ledger, [fixture_path(BILLED + "openai_costs.json")])
    bad = tmp_path / "bad.json"
    bad.write_text('[{"data": [{"start_time": "yesterday", "results": []}]}]')
    with pytest.raises(DataFormatError, match="start_time"):
        import_billed(ledger, [fixture_path(BILLED + "anthropic_cost_report.json"), bad])
    assert set(billed_daily(ledger)["provider"]) == {"openai"}


@pytest.fixture
def priced_ledger(ledger, tmp_path):
    # three gpt-4o keys at 0.35 USD a day each: 1.05 USD priced per day, 2026-02-16 to 06-15
    ingest_files(ledger, [daily_csv(tmp_path / "u.csv", KEYS)])
    return ledger


def test_reconcile_flags_only_the_day_that_differs(priced_ledger, fixture_path, tmp_path):
    import_billed(priced_ledger, [fixture_path(BILLED + "openai_costs.json")])
    late = tmp_path / "late.csv"  # billed after the ledger's last day; and Anthropic, unused
    late.write_text("BilledCost,ChargePeriodStart,ProviderName\n2.00,2026-06-20T00:00:00Z,OpenAI\n"
                    "3.00,2026-06-10T00:00:00Z,Anthropic\n")  # fmt: skip
    import_billed(priced_ledger, [late])
    both = reconcile(priced_ledger, load_price_book())
    # Anthropic billed 3.00 on June 10, a day the ledger holds, with no usage of it: flagged
    anthropic = both[both["provider"] == "anthropic"].iloc[0]
    assert (anthropic["status"], anthropic["flag"], anthropic["diff_usd"]) == (
        "no usage",
        True,
        3.0,
    )
    frame = both[both["provider"] == "openai"].set_index("day")
    assert list(frame.index) == [dt.date(2026, 6, d) for d in [*range(3, 16), 20]]
    assert frame.loc[dt.date(2026, 6, 3), "status"] == "ok"  # 1.05 billed, 1.05 priced
    assert frame.loc[dt.date(2026, 6, 4), "status"] == "ok"  # off by 0.01: under both tolerances
    day5 = frame.loc[dt.date(2026, 6, 5)]
    assert day5["status"] == "differs" and day5["diff_usd"] == pytest.approx(5.00 - 1.05)
    # June 6-15: usage but no bill inside the billed range; June 16-19: neither, so not listed
    assert set(frame.loc[dt.date(2026, 6, 6) : dt.date(2026, 6, 15), "status"]) == {"not billed"}
    # June 20 is after the ledger's last day (06-15): its usage is not in yet, not zero
    assert frame.loc[dt.date(2026, 6, 20), ["status", "flag"]].tolist() == ["outside usage", False]
    tight = reconcile(priced_ledger, load_price_book(), tolerance_usd=0, end=dt.date(2026, 6, 5))
    assert list(tight["flag"]) == [False, False, True]  # 0.01 is still under 2% of 1.06


def test_reconcile_without_billed_actuals_says_so(priced_ledger):
    with pytest.raises(LedgerError, match="no billed actuals"):
        reconcile(priced_ledger, load_price_book())
    # a grouping it has not: named as the operation's parameter, with the value given
    with pytest.raises(CostcastError, match="provider or project") as info:
        reconciliation(priced_ledger, load_price_book(), [], by="team")
    assert (info.value.param, info.value.value, info.value.field) == ("by", "team", None)


def test_reconcile_by_project_where_the_config_says_whose_teams_they_are(ledger, tmp_path):
    from forecast.attribution import AttributionRule
    from forecast.reconcile import project_teams, reconcile_projects

    # 0.35 USD a day each: unmapped usage kept as team project_id:proj_a, and team search,
    # which a rule maps from proj_b alone
    usage = daily_csv(tmp_path / "u.csv", [("project_id:proj_a", "x", "gpt-4o"),
                                           ("search", "y", "gpt-4o")], days=3, end=dt.date(2026, 6, 3))  # fmt: skip
    ingest_files(ledger, [usage])
    bill = tmp_path / "focus.csv"
    bill.write_text(
        "BilledCost,ChargePeriodStart,ProviderName,SubAccountId\n"
        + "".join(f"0.35,2026-06-0{d}T00:00:00Z,OpenAI,proj_a\n" for d in (1, 2))
        + "0.90,2026-06-03T00:00:00Z,OpenAI,proj_a\n"
        + "".join(f"0.35,2026-06-0{d}T00:00:00Z,OpenAI,proj_b\n" for d in (1, 2, 3))
        + "1.00,2026-06-01T00:00:00Z,OpenAI,proj_c\n"
    )
    import_billed(ledger, [bill])
    rules = [AttributionRule(match={"project_id": "proj_b"}, team="search"),
             AttributionRule(match={"api_key_id": "key_*"}, team="support")]  # fmt: skip
    assert project_teams(rules, ["proj_b"]) == {"proj_b": {"search", "project_id:proj_b"}}
    frame = reconcile_projects(ledger, load_price_book(), rules, tolerance_usd=0.1)
    status = {(str(r.day), r.project): r.status for r in frame.itertuples()}
    assert status == {
        ("2026-06-01", "proj_a"): "ok", ("2026-06-02", "proj_a"): "ok",
        ("2026-06-03", "proj_a"): "differs",  # 0.90 billed, 0.35 priced
        ("2026-06-01", "proj_b"): "ok", ("2026-06-02", "proj_b"): "ok",
        ("2026-06-03", "proj_b"): "ok",
        ("2026-06-01", "proj_c"): "unmapped",  # no team is proj_c's: not compared
    }  # fmt: skip
    differs = frame[frame.status == "differs"].iloc[0]
    assert differs.diff_usd == pytest.approx(0.90 - 0.35)
    # a team that another rule can also produce is not a project's alone
    shared = [AttributionRule(match={"project_id": "proj_b"}, team="search"),
              AttributionRule(match={"api_key_id": "key_*"}, team="search")]  # fmt: skip
    assert project_teams(shared, ["proj_b"]) == {"proj_b": {"project_id:proj_b"}}


def test_billed_days_outside_1971_to_2200_are_refused(tmp_path):
    """A start_time of 10**17 seconds ended in fromtimestamp's OSError; a FOCUS row of
    9999-12-30 was stored, beside usage that can only lie in 1971-2200."""
    page = {"object": "page", "has_more": False, "data": [
        {"object": "bucket", "start_time": 10**17, "end_time": 10**17 + 86400, "results": []}]}  # fmt: skip
    (tmp_path / "costs.json").write_text(json.dumps([page]))
    with pytest.raises(DataFormatError, match="start_time must fall between 1971 and 2200") as e:
        read_billed(tmp_path / "costs.json")
    assert (e.value.record, e.value.field) == (1, "start_time")
    (tmp_path / "focus.csv").write_text(
        "BilledCost,BillingCurrency,ChargePeriodStart,ChargePeriodEnd,ProviderName\n"
        "2.40,USD,2026-06-01T00:00:00Z,2026-06-02T00:00:00Z,OpenAI\n"
        "1.10,USD,9999-12-30T00:00:00Z,9999-12-31T00:00:00Z,OpenAI\n"
    )
    with pytest.raises(DataFormatError, match="a billed day between 1971 and 2200") as e:
        read_billed(tmp_path / "focus.csv")
    assert e.value.line == 3
