"""Accrual journals: one balanced line pair per cost centre for a fiscal period.

Debit the expense account, credit the accrual account, one pair per cost
centre (teams map to cost centres in ``accounting`` of costcast.yaml).
The basis says where the amounts come from:

- ``forecast``: a run's period total per team: actuals to date plus the
  forecast for the rest. ``measure=mean`` (default) makes the lines add up to
  the run's total mean; ``p50``/``p90`` are per-line quantiles, which do not.
- ``actuals``: billed where the bill is in, else priced usage.
- ``scenario``: a saved scenario result's mean for the period.

Amounts are rounded to cents by largest remainder, so the lines add up to the
rounded total exactly. The same request gives byte-identical CSV, JSON and
XLSX: no clocks in the output, stable line order, and every line carries
the run (or scenario) id and the hash of the data behind it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import math
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import pandas as pd

from forecast.aggregate import TOTAL, summarize
from forecast.config import Config
from forecast.coverage import span_coverage, usage_span
from forecast.errors import ConfigError, CostcastError
from forecast.export.actuals import actual_cost
from forecast.export.csvsafe import csv_text
from forecast.fiscal import FiscalCalendar
from forecast.ledger import Ledger
from forecast.pricing.book import PriceBook

BASES = ("forecast", "actuals", "scenario")
MEASURES = ("mean", "p50", "p90")
JOURNAL_COLUMNS = [
    "journal_id", "line", "posting_date", "reversal_date", "entity", "gl_account",
    "cost_center", "debit", "credit", "currency", "description", "basis", "measure",
    "source_id", "data_hash",
]  # fmt: skip
# Free text a config or a team name can put in a line (amounts and dates are ours).
TEXT_COLUMNS = ["journal_id", "entity", "gl_account", "cost_center", "currency", "description",
                "basis", "measure", "source_id"]  # fmt: skip
CENT = Decimal("0.01")
# XLSX files carry a creation time; a fixed one keeps the bytes stable.
XLSX_CREATED = dt.datetime(2000, 1, 1)


@dataclass
class Journal:
    lines: pd.DataFrame
    meta: dict[str, Any]

    def to_csv(self) -> bytes:
        return csv_text(self.lines, TEXT_COLUMNS).encode("utf-8")

    def to_json(self) -> bytes:
        lines = [
            {k: (None if v == "" else v) for k, v in row.items()}
            for row in self.lines.to_dict("records")
        ]
        return (json.dumps({**self.meta, "lines": lines}, indent=1) + "\n").encode("utf-8")

    def to_xlsx(self) -> bytes:
        buffer = io.BytesIO()
        # every string a string: xlsxwriter would make "=..." a formula and "http..." a link
        options = {"strings_to_formulas": False, "strings_to_urls": False}
        with pd.ExcelWriter(
            buffer, engine="xlsxwriter", engine_kwargs={"options": options}
        ) as writer:
            writer.book.set_properties({"created": XLSX_CREATED})
            sheet = self.lines.copy()
            for column in ("debit", "credit"):
                sheet[column] = pd.to_numeric(sheet[column].replace("", None))
            sheet.to_excel(writer, sheet_name="journal", index=False)
            about = pd.DataFrame(
                {"field": list(self.meta), "value": [str(v) for v in self.meta.values()]}
            )
            about.to_excel(writer, sheet_name="about", index=False)
        return buffer.getvalue()


# Long on purpose: the lines and their metadata are one document; split, the steps would pass a dozen values between them.
def build_journal(
    ledger: Ledger,
    book: PriceBook,
    config: Config,
    *,
    period: str,
    basis: str = "forecast",
    measure: str = "mean",
    run_id: str | None = None,
    scenario_id: str | None = None,
) -> Journal:
    if basis not in BASES:
        raise CostcastError(
            f"unknown basis {basis!r}; choose from {', '.join(BASES)}", param="basis"
        )
    if measure not in MEASURES:
        raise CostcastError(
            f"unknown measure {measure!r}; choose from {', '.join(MEASURES)}", param="measure"
        )
    calendar = FiscalCalendar(config.fiscal_year_start)
    start, end = calendar.parse_period(period)  # [start, end)
    label = period.strip()
    days: int | None  # of the period, that the amounts cover
    if basis == "forecast":
        per_team, source_id, data_hash, days = _forecast(
            ledger, calendar, label, start, end, measure, run_id
        )
    elif basis == "actuals":
        if measure != "mean":
            raise CostcastError("actuals have no quantiles: use measure=mean", param="measure")
        per_team, source_id, data_hash, days = _actuals(ledger, book, calendar, label, start, end)
    else:
        if measure != "mean":
            raise CostcastError(
                "scenario results keep per-line means only: use measure=mean", param="measure"
            )
        per_team, source_id, data_hash, days = _scenario(ledger, label, scenario_id)
    missing = sorted(team for team, value in per_team.items() if not math.isfinite(value))
    if missing:  # never book a missing number as zero
        raise CostcastError(
            f"{source_id} has no amount for {', '.join(missing)} in {label}",
            param="scenario" if basis == "scenario" else "run",
        )
    amounts = _by_cost_center(per_team, config)
    total = sum(per_team.values())
    rounded = _round_to_cents(amounts, total)
    acc = config.accounting
    journal_id = f"{acc.journal_prefix}-{label}-LLM"
    last_day = end - dt.timedelta(days=1)
    whole = (end - start).days
    days = whole if days is None else days
    # an ERP reads the lines only: a period its amounts cover in part says so on each
    text = (
        f"{acc.description} {label} ({basis}" + (f", {measure}" if measure != "mean" else "")
        + (f", {days} of {whole} days" if days < whole else "") + ")"
    )  # fmt: skip
    rows: list[list[Any]] = []
    for center in sorted(rounded):
        amount = rounded[center]
        if amount == 0:
            continue  # an accrual of nothing is not a line an ERP wants
        for account, debit, credit in (
            (acc.expense_account, f"{amount:.2f}", ""),
            (acc.accrual_account, "", f"{amount:.2f}"),
        ):
            rows.append([
                journal_id, len(rows) + 1, last_day.isoformat(), end.isoformat(), acc.entity,
                account, center, debit, credit, acc.currency, text, basis, measure, source_id,
                data_hash,
            ])  # fmt: skip
    lines = pd.DataFrame(rows, columns=JOURNAL_COLUMNS)
    meta = {
        "journal_id": journal_id, "period": label, "basis": basis, "measure": measure,
        "source_id": source_id, "data_hash": data_hash, "currency": acc.currency,
        "total": f"{sum(rounded.values()):.2f}", "unrounded_total": round(total, 6),
        "days": days, "days_in_period": whole, "partial": days < whole,
    }  # fmt: skip
    return Journal(lines, meta)


def _forecast(
    ledger: Ledger,
    calendar: FiscalCalendar,
    label: str,
    start: dt.date,
    end: dt.date,
    measure: str,
    run_id: str | None,
) -> tuple[dict[str, float], str, str, int]:
    from forecast.runstore import load_run

    run = load_run(ledger, run_id or "latest")
    freq = _freq(label)
    last_day = end - dt.timedelta(days=1)
    if last_day > run.horizon_end:
        raise CostcastError(
            f"run {run.run_id} forecasts through {run.horizon_end}, before {label} ends on {last_day}",
            param="period",
            hint="start a run with a longer horizon, or choose an earlier period",
        )
    if last_day < run.start:
        raise CostcastError(
            f"{label} ended before run {run.run_id}'s first forecast day {run.start}",
            param="period",
            hint="use basis=actuals for past periods",
        )
    table = summarize(ledger, run, by="team", freq=freq, calendar=calendar)
    rows = table[(table["period"] == label) & (table["team"] != TOTAL)]
    per_team = dict(zip(rows["team"], rows[measure].astype(float), strict=True))
    # the run's actuals begin on the ledger's first day: a period before it is covered in part
    days = int(rows["days"].min()) if len(rows) else (end - start).days
    return per_team, run.run_id, run.meta["provenance"]["content_hash"], days


def _freq(label: str) -> str:
    """The kind of fiscal period a label names (2026-Q3, FY2026, 2026-07)."""
    return {"Q": "quarter", "F": "year"}.get(
        "Q" if "-Q" in label else ("F" if label.startswith("FY") else ""), "month"
    )


def _actuals(
    ledger: Ledger, book: PriceBook, calendar: FiscalCalendar, label: str, start: dt.date,
    end: dt.date,
) -> tuple[dict[str, float], str, str, int]:  # fmt: skip
    last_day = end - dt.timedelta(days=1)
    frame = actual_cost(ledger, book, start, last_day, "team")
    if frame.empty:
        raise CostcastError(
            f"no usage or billed cost between {start} and {last_day}", param="period"
        )
    per_team = frame.groupby("team")["cost_usd"].sum().to_dict()
    ordered = frame.sort_values(["day", "provider", "team"]).to_csv(
        index=False, float_format="%.9f"
    )
    digest = hashlib.sha256(ordered.encode()).hexdigest()[:16]
    # actuals to date of a period still running (or begun before the ledger) are not its own
    days, _ = span_coverage(dt.datetime.combine(start, dt.time()), _freq(label), calendar,
                            *usage_span(ledger))  # fmt: skip
    return {k: float(v) for k, v in per_team.items()}, "actuals", digest, days


def _scenario(
    ledger: Ledger, label: str, scenario_id: str | None
) -> tuple[dict[str, float], str, str, int | None]:
    from forecast.scenario.store import load_result

    if not scenario_id:
        raise CostcastError("basis=scenario needs a scenario result id", param="scenario")
    result = load_result(ledger, scenario_id)
    periods = pd.DataFrame(result["periods"])
    rows = periods[periods["period"] == label]
    if rows.empty:
        known = sorted(set(periods["period"]))
        raise CostcastError(
            f"scenario result {scenario_id} has no period {label}",
            param="period",
            hint=f"its periods are: {', '.join(known)}",
        )
    # a null mean stays missing (pandas would sum it as zero) and is refused above
    means = pd.to_numeric(rows["scenario_mean"], errors="coerce")
    per_team = means.groupby(rows["team"]).agg(lambda s: s.sum(skipna=False)).to_dict()
    digest = hashlib.sha256(
        json.dumps([result["baseline_run"], result["scenario"]], sort_keys=True).encode()
    ).hexdigest()[:16]
    # results saved before periods said their days have none: taken as whole
    days = int(rows["days"].min()) if "days" in rows and rows["days"].notna().all() else None
    return {k: float(v) for k, v in per_team.items()}, scenario_id, digest, days


def _by_cost_center(per_team: dict[str, float], config: Config) -> dict[str, float]:
    acc = config.accounting
    out: dict[str, float] = {}
    for team, amount in per_team.items():
        center = acc.cost_centers.get(team, acc.default_cost_center)
        if center is None:
            raise ConfigError(
                f"team {team!r} has no cost centre",
                file=str(config.source) if config.source else None,
                field="accounting.cost_centers",
                hint=f"map it (accounting: {{cost_centers: {{{team}: CC-...}}}}) or set "
                "accounting.default_cost_center",
            )
        out[center] = out.get(center, 0.0) + amount
    return out


def _round_to_cents(amounts: dict[str, float], total: float) -> dict[str, Decimal]:
    """Cents per cost centre adding up to the total rounded to cents (largest remainder)."""
    target = int((Decimal(repr(total)) / CENT).to_integral_value())
    exact = {k: Decimal(repr(v)) / CENT for k, v in amounts.items()}
    floors = {k: int(v.to_integral_value(rounding=ROUND_FLOOR)) for k, v in exact.items()}
    left = target - sum(floors.values())
    # hand the missing cents to the largest remainders; ties by name keep it stable
    order = sorted(exact, key=lambda k: (-(exact[k] - floors[k]), k))
    for k in order[: max(left, 0)]:
        floors[k] += 1
    return {k: Decimal(v) * CENT for k, v in floors.items()}
