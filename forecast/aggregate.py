"""Aggregates of a forecast run: sums of sample paths per group and fiscal period.

Every table is built the same way: for each path, add up cost over the
group's keys and the period's days (actuals for days up to the as-of date,
so the current period shows its landing), then take the mean and quantiles
across paths. Means therefore add up across groups exactly; quantiles are
real quantiles of each sum, and do not add up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from forecast.errors import CostcastError
from forecast.fiscal import FiscalCalendar
from forecast.ledger import Ledger
from forecast.runs import ForecastRun
from forecast.schema import split_keys

LEVELS = ("team", "feature", "model")
OUTPUT_FREQS = ("day", "week", "month", "quarter", "year")
TOTAL = "total"


def quantile_name(q: float) -> str:
    """0.1 -> p10, 0.975 -> p97.5"""
    return f"p{round(float(q) * 100, 6):g}"


def parse_levels(by: str | Sequence[str] | None) -> list[str]:
    return split_keys(by, LEVELS, "forecast")


def _periods(run: ForecastRun, calendar: FiscalCalendar, freq: str) -> pd.DataFrame:
    """Every day from the start of the first period to the horizon end, with its period label."""
    first = calendar.period_start(run.start, freq)
    days = pd.date_range(first, run.horizon_end, freq="D")
    return pd.DataFrame({"ds": days.date, "period": calendar.labels(days, freq)})


def summarize(
    ledger: Ledger,
    run: ForecastRun,
    *,
    by: str | Sequence[str] | None = None,
    freq: str = "month",
    calendar: FiscalCalendar | None = None,
    budgets: Sequence[dict] = (),
    quantiles: Sequence[float] = (0.1, 0.5, 0.9),
) -> pd.DataFrame:
    """One row per group and period: mean, p10, p50, p90 (or the quantiles asked for),
    budget, p_exceed; plus total rows."""
    levels = parse_levels(by)
    if not quantiles or any(not 0 < q < 1 for q in quantiles):
        raise CostcastError("quantiles must lie strictly between 0 and 1", field="quantiles",
                            value=list(quantiles))  # fmt: skip
    if freq not in OUTPUT_FREQS:
        raise CostcastError(
            f"unknown period {freq!r}; choose from {', '.join(OUTPUT_FREQS)}", field="--freq"
        )
    calendar = calendar or FiscalCalendar()
    con = ledger.con
    con.register("_periods", _periods(run, calendar, freq))
    group = ", ".join(f'"{k}"' for k in levels)
    select_group = (group + ",") if levels else ""
    sums = f"""
        WITH fc AS (
            SELECT {select_group} period, path, sum(cost) AS cost
            FROM forecast_paths JOIN _periods USING (ds)
            WHERE run_id = $run GROUP BY ALL),
        act AS (
            SELECT {select_group} period, sum(cost) AS actual
            FROM forecast_actuals JOIN _periods USING (ds)
            WHERE run_id = $run GROUP BY ALL)
        SELECT {select_group} period, path, cost + coalesce(actual, 0) AS cost
        FROM fc LEFT JOIN act USING ({(group + ", ") if levels else ""}period)
    """
    stats = "avg(cost) AS mean" + "".join(
        f', quantile_cont(cost, {float(q)}) AS "{quantile_name(q)}"' for q in quantiles
    )
    totals = con.execute(
        f"""SELECT period, {stats} FROM (
                SELECT period, path, sum(cost) AS cost FROM ({sums}) GROUP BY period, path)
            GROUP BY period ORDER BY period""",
        {"run": run.run_id},
    ).df()
    for level in levels:
        totals.insert(0, level, TOTAL)
    frame = totals
    if levels:  # without --by, the total rows are all there is
        detail = con.execute(
            f"SELECT {select_group} period, {stats} FROM ({sums}) GROUP BY ALL ORDER BY ALL",
            {"run": run.run_id},
        ).df()
        frame = pd.concat([detail, totals[detail.columns]], ignore_index=True)
    frame = _with_budgets(con, run, frame, levels, budgets, sums)
    con.unregister("_periods")
    frame["run_id"] = run.run_id
    return frame


def _with_budgets(con, run, frame, levels, budgets, sums) -> pd.DataFrame:
    frame["budget"] = pd.NA
    frame["p_exceed"] = pd.NA
    for budget in budgets:
        match = pd.Series(frame["period"] == budget["period"], index=frame.index)
        scope = {k: budget.get(k) for k in LEVELS if budget.get(k)}
        if any(k not in levels for k in scope):
            continue  # a team budget says nothing about a by-model table
        for level in levels:
            match &= frame[level] == scope.get(level, TOTAL)
        if not match.any():
            continue
        where = " AND ".join(["period = $period"] + [f'"{k}" = ${k}' for k in scope])
        cells = f"SELECT path, sum(cost) AS cost FROM ({sums}) WHERE {where} GROUP BY path"
        params = {
            "run": run.run_id,
            "period": budget["period"],
            **scope,
            "amount": budget["amount"],
        }
        p = con.execute(f"SELECT avg((cost > $amount)::INT) FROM ({cells})", params).fetchall()
        frame.loc[match, "budget"] = budget["amount"]
        frame.loc[match, "p_exceed"] = p[0][0]
    return frame


def history(ledger: Ledger, run: ForecastRun, by: Sequence[str], since: dt.date) -> pd.DataFrame:
    """Daily actual cost per group the run saw, from ``since`` to its as-of date."""
    group = ", ".join(f'"{k}"' for k in by)
    return ledger.con.execute(
        f"""SELECT {(group + ",") if by else ""} ds, sum(cost) AS cost FROM forecast_actuals
            WHERE run_id = ? AND ds >= ? GROUP BY ALL ORDER BY ALL""",
        [run.run_id, since],
    ).df()


def config_budgets(config, ledger: Ledger, run_id: str) -> list[dict]:
    """The config's budgets, refusing any that name a team, feature or model the run lacks."""
    from forecast.runs import run_series

    series = run_series(ledger, run_id)
    budgets = []
    for index, budget in enumerate(config.budgets):
        for level in LEVELS:
            value = getattr(budget, level)
            if value is not None and value not in set(series[level]):
                raise CostcastError(
                    f"budget for unknown {level} {value!r}",
                    file=str(config.source) if config.source else None,
                    field=f"budgets[{index}].{level}",
                    hint=f"the {level}s in the forecast are: {', '.join(sorted(set(series[level])))}",
                )
        budgets.append(budget.model_dump(exclude_none=True))
    return budgets
