"""Journal and FOCUS exports, checked against sums computed here from the ledger's tables
and against FOCUS 1.2's column rules written out independently of the exporter."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import numpy as np
import pandas as pd
import pytest
from builders import KEYS, daily_csv

from forecast.billed import import_billed
from forecast.config import Accounting, Config
from forecast.errors import ConfigError
from forecast.export import build_journal, focus_export
from forecast.fiscal import Horizon
from forecast.ingest import ingest_files
from forecast.pricing import load_price_book
from forecast.runs import RunSettings, create_forecast

CONFIG = Config(
    accounting=Accounting(entity="ACME", cost_centers={"search": "CC-1", "support": "CC-2"})
)


@pytest.fixture
def constant(ledger, tmp_path):
    ingest_files(ledger, [daily_csv(tmp_path / "u.csv", KEYS)])  # 1.05 USD a day, to 06-15
    return ledger


def test_actuals_journal_uses_the_bill_where_it_is_in(constant, fixture_path):
    import_billed(
        constant, [fixture_path("billed/openai_costs.json")]
    )  # June 3-5: 1.05, 1.06, 5.00
    journal = build_journal(constant, load_price_book(), CONFIG, period="2026-06", basis="actuals")
    debit = journal.lines[journal.lines.debit != ""].set_index("cost_center")["debit"]
    # 12 priced days at 0.35 per key, plus the 7.11 billed spread by priced share (1/3, 2/3)
    assert debit.to_dict() == {"CC-1": "6.57", "CC-2": "13.14"}
    assert journal.meta["total"] == "19.71" and journal.meta["source_id"] == "actuals"
    # usage to June 15: actuals of half the month, which each line says (an ERP sees lines)
    assert (journal.meta["days"], journal.meta["days_in_period"], journal.meta["partial"]) == (
        15, 30, True)  # fmt: skip
    assert set(journal.lines.description) == {
        "Accrued LLM API usage 2026-06 (actuals, 15 of 30 days)"}  # fmt: skip


def test_an_unmapped_team_is_an_error_naming_it(constant):
    config = Config(accounting=Accounting(cost_centers={"search": "CC-1"}))
    with pytest.raises(ConfigError, match="'support' has no cost centre"):
        build_journal(constant, load_price_book(), config, period="2026-05", basis="actuals")
    config = Config(accounting=Accounting(default_cost_center="CC-ALL"))
    journal = build_journal(constant, load_price_book(), config, period="2026-05", basis="actuals")
    assert list(journal.lines.cost_center) == ["CC-ALL", "CC-ALL"]
    assert journal.lines.debit[0] == f"{31 * 1.05:.2f}"
    assert journal.meta["partial"] is False and "days)" not in journal.lines.description[0]


def test_journal_lines_add_up_to_the_run_mean_of_a_noisy_forecast(ledger, tmp_path):
    rng = np.random.default_rng(3)
    rows = ["timestamp,bucket,team,feature,model,requests,input_tokens,output_tokens"]
    keys = [("a", "x", "gpt-4o"), ("b", "y", "gpt-4o-mini"), ("c", "z", "gpt-4.1")]
    for day in pd.date_range("2026-02-01", "2026-06-15"):
        for team, feature, model in keys:
            n = int(rng.integers(50, 500))
            rows.append(
                f"{day:%Y-%m-%d}T00:00:00Z,1d,{team},{feature},{model},{n},{n * 997},{n * 101}"
            )
    (tmp_path / "noisy.csv").write_text("\n".join(rows) + "\n")
    ingest_files(ledger, [tmp_path / "noisy.csv"])
    run = create_forecast(
        ledger, load_price_book(), horizon=Horizon.until(dt.date(2026, 7, 31)),
        settings=RunSettings(forecasters="seasonal_naive", n_paths=100), jobs=1,
    )  # fmt: skip
    config = Config(accounting=Accounting(cost_centers={"a": "CC-A", "b": "CC-BC", "c": "CC-BC"}))
    journal = build_journal(ledger, load_price_book(), config, period="2026-06", run_id=run.run_id)
    # the run's June mean, summed here from its own tables: actuals June 1-15 + paths June 16-30
    actual = ledger.con.execute(
        "SELECT sum(cost) FROM forecast_actuals WHERE run_id = ? AND ds >= '2026-06-01'",
        [run.run_id],
    ).fetchall()[0][0]
    paths = ledger.con.execute(
        """SELECT path, sum(cost) FROM forecast_path_days
           WHERE run_id = ? AND ds <= '2026-06-30' GROUP BY path""",
        [run.run_id],
    ).df()
    expected = actual + paths.iloc[:, 1].mean()
    debits = pd.to_numeric(journal.lines.debit.replace("", None)).dropna()
    credits = pd.to_numeric(journal.lines.credit.replace("", None)).dropna()
    assert round(debits.sum(), 2) == round(credits.sum(), 2) == round(expected, 2)
    assert journal.meta["total"] == f"{expected:.2f}"
    assert list(journal.lines.cost_center) == ["CC-A", "CC-A", "CC-BC", "CC-BC"]
    assert set(journal.lines.source_id) == {run.run_id}


# FOCUS 1.2 rules, from the spec's column table (reference/formats.md section 6)
MANDATORY_NOT_NULL = [
    "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingAccountId",
    "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart",
    "ChargePeriodEnd", "ChargeCategory", "InvoiceIssuerName", "ProviderName", "PublisherName",
    "ServiceName", "ServiceCategory",
]  # fmt: skip
MANDATORY_NULLABLE = ["BillingAccountName", "ChargeClass", "ChargeDescription", "PricingQuantity",
                      "PricingUnit"]  # fmt: skip
FOCUS_12_COLUMNS = set(MANDATORY_NOT_NULL + MANDATORY_NULLABLE) | {
    "ChargeFrequency", "ConsumedQuantity", "ConsumedUnit", "ListUnitPrice", "ContractedUnitPrice",
    "PricingCategory", "ServiceSubcategory", "SkuId", "SkuPriceId", "SubAccountId",
    "SubAccountName", "Tags",
}  # fmt: skip
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")


def check_focus(frame: pd.DataFrame) -> None:
    for column in frame.columns:
        assert column in FOCUS_12_COLUMNS or column.startswith("x_"), column
    for column in MANDATORY_NOT_NULL + MANDATORY_NULLABLE:
        assert column in frame.columns, column
    for column in MANDATORY_NOT_NULL:
        assert (frame[column] != "").all(), column
    for column in (
        "BillingPeriodStart",
        "BillingPeriodEnd",
        "ChargePeriodStart",
        "ChargePeriodEnd",
    ):
        assert frame[column].str.match(DATETIME).all(), column
    for column in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "PricingQuantity",
                   "ListUnitPrice", "ContractedUnitPrice", "ConsumedQuantity"):  # fmt: skip
        values = frame[column][frame[column] != ""]
        assert values.str.match(DECIMAL).all(), column
    assert set(frame.ChargeCategory) <= {"Usage", "Purchase", "Tax", "Credit", "Adjustment"}
    assert set(frame.ServiceCategory) == {"AI and Machine Learning"}
    assert set(frame.ServiceSubcategory) <= {
        "Generative AI",
        "AI Platforms",
        "Other (AI and Machine Learning)",
    }
    assert ((frame.PricingQuantity == "") == (frame.PricingUnit == "")).all()
    usage = frame[frame.ChargeCategory == "Usage"]
    assert (usage.SkuId != "").all() and (usage.PricingQuantity != "").all()
    q = usage.PricingQuantity.astype(float)
    for price, cost in (("ListUnitPrice", "ListCost"), ("ContractedUnitPrice", "ContractedCost")):
        assert np.allclose(q * usage[price].astype(float), usage[cost].astype(float), atol=1e-9)
    for tags in frame.Tags[frame.Tags != ""]:
        assert all(not isinstance(v, dict | list) for v in json.loads(tags).values())
    assert pd.to_datetime(frame.ChargePeriodStart).le(pd.to_datetime(frame.ChargePeriodEnd)).all()


def test_focus_rows_follow_the_spec_and_add_up_to_the_bill(constant, fixture_path):
    import_billed(constant, [fixture_path("billed/openai_costs.json")])
    frame = focus_export(
        constant, load_price_book(), CONFIG, dt.date(2026, 6, 1), dt.date(2026, 6, 10)
    )
    check_focus(frame)
    frame = frame.assign(day=frame.ChargePeriodStart.str[:10], billed=frame.BilledCost.astype(float),
                         listed=frame.ListCost.astype(float))  # fmt: skip
    # two teams x one model x (input, output): 4 rows a day; list cost 0.75 + 0.30 a day
    assert frame.groupby("day").size().eq(4).all()
    assert frame.groupby("day")["listed"].sum().to_numpy() == pytest.approx([1.05] * 10)
    billed_days = frame[frame.day.isin(["2026-06-03", "2026-06-04", "2026-06-05"])]
    assert billed_days.billed.sum() == pytest.approx(1.05 + 1.06 + 5.00, abs=1e-9)
    assert set(billed_days.x_CostSource) == {"billed"}
    others = frame[~frame.index.isin(billed_days.index)]
    assert (others.billed == others.listed).all() and set(others.x_CostSource) == {"priced"}
    tokens = frame[frame.x_TokenType == "input"].ConsumedQuantity.astype(int)
    assert set(tokens) == {100 * 1000, 200 * 1000}  # search: one key; support: two


def test_focus_keeps_a_bill_with_no_usage_behind_it(constant, tmp_path):
    late = tmp_path / "late.csv"
    late.write_text(
        "BilledCost,ChargePeriodStart,ProviderName\n2.00,2026-06-14T00:00:00Z,Anthropic\n"
    )
    import_billed(constant, [late])
    frame = focus_export(
        constant, load_price_book(), CONFIG, dt.date(2026, 6, 14), dt.date(2026, 6, 14)
    )
    check_focus(frame)
    assert frame.BilledCost.astype(float).sum() == pytest.approx(1.05 + 2.00)
    assert (frame.ProviderName == "Anthropic").sum() == 1


def test_cli_exports_and_reconcile(cli, constant, fixture_path, tmp_path):
    config = tmp_path / "costcast.yaml"
    config.write_text(
        f"ledger: {constant.path}\naccounting: {{cost_centers: {{search: CC-1, support: CC-2}}}}\n"
    )
    constant.close()
    code, out, err = cli(
        "billing", "import", fixture_path("billed/openai_costs.json"), "--config", config
    )
    assert code == 0, err
    code, out, err = cli("reconcile", "--config", config, "--flagged", "--output", "csv")
    assert code == 1  # one day differs: a scheduled job sees it in the exit code
    flagged = pd.read_csv(io.StringIO(out))
    assert list(flagged.day) == ["2026-06-05"]
    code, out, err = cli("export", "journal", "2026-05", "--basis", "actuals", "--config", config)
    assert code == 0, err
    lines = pd.read_csv(io.StringIO(out), dtype=str)
    assert list(lines.debit.dropna()) == [f"{31 * 0.35:.2f}", f"{2 * 31 * 0.35:.2f}"]
    out_file = tmp_path / "focus.csv"
    code, _, err = cli("export", "focus", "--from", "2026-06-01", "--to", "2026-06-02",
                       "--out", out_file, "--config", config)  # fmt: skip
    assert code == 0, err
    check_focus(pd.read_csv(out_file, dtype=str, keep_default_na=False))


def test_a_scenario_journal_never_books_a_missing_mean_as_zero(ledger, tmp_path):
    """A result saved with a null mean (as scenarios with NaN factors once were) is refused."""
    import json as _json

    from forecast.errors import CostcastError as _Error

    ledger.con.execute(
        "INSERT INTO scenario_results VALUES ('scn-x', now(), 'x', 'run-x', '{}', ?)",
        [_json.dumps({"baseline_run": "run-x", "scenario": {}, "periods": [
            {"freq": "quarter", "team": "search", "model": "gpt-4o", "period": "2026-Q3",
             "scenario_mean": None}]})],
    )  # fmt: skip
    with pytest.raises(_Error, match="no amount for search"):
        build_journal(ledger, load_price_book(), CONFIG, period="2026-Q3", basis="scenario",
                      scenario_id="scn-x")  # fmt: skip


EVIL = ["=cmd|' /C calc'!A0", "+SUM(1+1)", "@SUM(A1:A2)", "-2+3", "a\rb"]


def test_names_never_become_formulas_in_csv_or_xlsx(cli, ledger, tmp_path):
    """Team names and config values anyone can write reach CSV and XLSX as text: OWASP's
    leading quote in CSV, strings (not formulas) in XLSX, and a bare CR kept in its row."""
    import csv as _csv

    from openpyxl import load_workbook

    path = tmp_path / "u.csv"
    rows = ["timestamp,team,feature,model,requests,input_tokens,output_tokens"]
    for i, team in enumerate(EVIL):
        quoted = '"' + team.replace('"', '""') + '"'
        rows.append(f"2026-06-0{i + 1}T00:00:00Z,{quoted},ask,gpt-4o,1,1000,100")
    path.write_text("\n".join(rows) + "\n")
    ingest_files(ledger, [path])
    ledger.close()
    config = tmp_path / "costcast.yaml"
    config.write_text(
        f"ledger: {ledger.path}\naccounting:\n  entity: '=HYPERLINK(\"http://x\")'\n"
        f"  default_cost_center: '=1+1'\n"
    )
    code, out, err = cli("usage", "--by", "team", "--freq", "day", "--output", "csv",
                         "--config", config)  # fmt: skip
    assert code == 0, err
    teams = [row["team"] for row in _csv.DictReader(io.StringIO(out, newline=""))]
    assert sorted(teams) == sorted("'" + t if t[0] in "=+-@" else t for t in EVIL)
    out_file = tmp_path / "focus.csv"
    code, _, err = cli("export", "focus", "--from", "2026-06-01", "--to", "2026-06-05",
                       "--out", out_file, "--config", config)  # fmt: skip
    assert code == 0, err
    with out_file.open(newline="") as handle:
        focus_teams = {row["x_Team"] for row in _csv.DictReader(handle)}
    assert "'=cmd|' /C calc'!A0" in focus_teams and "a\rb" in focus_teams
    xlsx = tmp_path / "j.xlsx"
    code, _, err = cli("export", "journal", "2026-06", "--basis", "actuals", "--format", "xlsx",
                       "--out", xlsx, "--config", config)  # fmt: skip
    assert code == 0, err
    sheet = load_workbook(xlsx)["journal"]
    header = [c.value for c in sheet[1]]
    entity = sheet.cell(row=2, column=header.index("entity") + 1)
    center = sheet.cell(row=2, column=header.index("cost_center") + 1)
    assert entity.data_type == "s" and entity.value == '=HYPERLINK("http://x")'
    assert center.data_type == "s" and center.value == "=1+1"
