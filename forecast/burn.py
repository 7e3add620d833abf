"""Budget burn: how much of each budget in progress is spent, how fast, and when it runs out.

Per budget of ``costcast.yaml`` whose period holds the day asked about (``as_of``, default
the ledger's last day), for its scope (team, feature, model, or the whole organisation):

- ``spent_usd``: cost from the period's first day to ``as_of``; ``used_share`` = spent / amount;
  where the ledger's usage begins later than the period, ``days_unknown`` days of it are not
  in the ledger: the spend counts from its first day (a lower bound), and so do the rates;
- ``burn_rate_usd_per_day`` and ``burn_rate_sd``: mean and standard deviation of the daily
  cost over the last ``window`` days (7; fewer early in a period) that are complete: a day
  not over yet, or one a provider's usage has not arrived for (``forecast.coverage``'s
  ``default_as_of``, as a forecast run is held back), is no day of low spend. Such days
  are projected at the rate, or at what they cost so far where that is more;
- ``projected_total_usd`` and ``exhaustion_date`` (the first day the spend reaches the
  amount, empty if not within the period), with ``basis`` saying where they come from:
  ``actual`` where the budget is spent already; ``forecast run ID`` where the latest run
  forecasts every remaining day of the period (the total from its mean per day, the date
  by which half of its paths reach the amount, as the ``budget_forecast`` alerts give it:
  the mean path's crossing day is neither the mean nor the median of the paths' days);
  else ``burn rate`` (the recent rate carried to the period's end);
- ``p_exceed``: the share of the run's paths that land above the amount (1 where the
  spend has passed it already and goes on; empty on the burn rate, which has no spread).

Unpriced usage makes the spend unknown (empty), never zero.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from forecast.config import Budget
from forecast.coverage import default_as_of, usage_hours
from forecast.errors import CostcastError
from forecast.fiscal import FiscalCalendar
from forecast.ledger import Ledger
from forecast.periods import exceed_share
from forecast.pricing.book import PriceBook
from forecast.runstore import ForecastRun, count_runs, load_paths, load_run
from forecast.usage import cost_sum, priced_usage_sql

WINDOW = 7
SCOPE = ("team", "feature", "model")
COLUMNS = [
    "period", *SCOPE, "amount", "spent_usd", "used_share", "days_elapsed", "days_in_period",
    "days_unknown",
    "burn_rate_usd_per_day", "burn_rate_sd", "projected_total_usd", "p_exceed",
    "exhaustion_date", "basis",
]  # fmt: skip


def budget_burn(
    ledger: Ledger,
    book: PriceBook,
    budgets: Sequence[Budget],
    calendar: FiscalCalendar,
    *,
    as_of: dt.date | None = None,
    window: int = WINDOW,
) -> pd.DataFrame:
    """One row per budget whose period holds ``as_of`` (see the module docstring)."""
    last = usage_hours(ledger)[1].date()
    if as_of is not None and as_of > last:
        # the days after the ledger's last are unknown, not spent-nothing
        raise CostcastError(
            f"the ledger's usage ends on {last}: budget burn as of {as_of} would count the "
            "days after it as spending nothing", param="to",
            hint=f"ingest usage up to {as_of}, or ask as of {last} or earlier",
        )  # fmt: skip
    as_of = as_of or last
    complete = min(as_of, default_as_of(ledger)[0])
    run = _latest_run(ledger)
    rows = []
    for budget in budgets:
        first, after = calendar.parse_period(budget.period)
        if not first <= as_of < after:
            continue
        known = known_from(ledger, first)
        daily = daily_cost(ledger, book, budget, known, as_of)
        # a period whose every day so far is incomplete: its days as they are
        through = complete if complete >= known else as_of
        rows.append(_row(budget, daily, first, after, through, run, ledger, window))
    return pd.DataFrame(rows, columns=COLUMNS)


def _latest_run(ledger: Ledger) -> ForecastRun | None:
    if not ledger.has_table("forecast_runs") or not count_runs(ledger):
        return None
    return load_run(ledger, "latest")


def known_from(ledger: Ledger, first: dt.date) -> dt.date:
    """``first``, or the ledger's first day of usage where that is later: the days before it
    are unknown, not spent-nothing (as zeros they made a young ledger's burn rate low)."""
    return max(first, usage_hours(ledger)[0].date())


def daily_cost(
    ledger: Ledger, book: PriceBook, budget: Budget, first: dt.date, as_of: dt.date
) -> pd.Series:
    """Cost per day from ``first`` to ``as_of`` in the budget's scope, 0 on days without
    usage, NaN on days with usage the book cannot price."""
    where, params = _scope_where(budget)
    cost = ledger.con.execute(
        f"""SELECT CAST(ts AS DATE) AS day,
                   {cost_sum()} AS cost
            FROM ({priced_usage_sql(ledger, book, first, as_of, strict=False, daily=True, dims=SCOPE)})
            WHERE {where} GROUP BY ALL""",
        params,
    ).df()
    days = pd.date_range(first, as_of, freq="D").date
    return cost.set_index("day")["cost"].reindex(days, fill_value=0.0).astype(float)


def unpriced_models(ledger: Ledger, book: PriceBook, budget: Budget, first: dt.date,
                    last: dt.date) -> list[dict[str, Any]]:  # fmt: skip
    """The models in the budget's scope whose usage in [first, last] the book cannot price,
    most unpriced rows first, each with its share of them (as alert contributors)."""
    where, params = _scope_where(budget)
    rows = ledger.con.execute(
        f"""SELECT model, count(*) AS n
            FROM ({priced_usage_sql(ledger, book, first, last, strict=False)})
            WHERE cost_usd IS NULL AND {where} GROUP BY model ORDER BY n DESC, model""",
        params,
    ).fetchall()
    total = sum(n for _, n in rows)
    return [{"dimension": "model", "value": m, "share": round(n / total, 4)} for m, n in rows]


def _scope_where(budget: Budget) -> tuple[str, list[str]]:
    where = " AND ".join(f'"{k}" = ?' for k in SCOPE if getattr(budget, k)) or "TRUE"
    return where, [getattr(budget, k) for k in SCOPE if getattr(budget, k)]


# Long on purpose: one budget's row reads best as the formulas of the module docstring in order.
def _row(
    budget: Budget,
    daily: pd.Series,
    first: dt.date,
    after: dt.date,
    through: dt.date,
    run: ForecastRun | None,
    ledger: Ledger,
    window: int,
) -> dict[str, Any]:
    """``daily``: the cost of each day to the day asked about; ``through``: the last of them
    that is complete (the rate's last day)."""
    as_of = daily.index[-1] if len(daily) else through
    spent = float(daily.sum(skipna=False))
    recent = daily[daily.index <= through].iloc[-window:]
    burn = float(recent.mean(skipna=False))
    sd = float(recent.std(ddof=1, skipna=False)) if len(recent) > 1 else float("nan")
    remaining = pd.date_range(as_of + dt.timedelta(days=1), after - dt.timedelta(days=1)).date
    row: dict[str, Any] = {
        "period": budget.period, **{k: getattr(budget, k) for k in SCOPE},
        "amount": budget.amount, "spent_usd": round(spent, 6),
        "used_share": round(spent / budget.amount, 6), "days_elapsed": len(daily),
        "days_in_period": (after - first).days,
        "days_unknown": (daily.index[0] - first).days if len(daily) else (as_of - first).days + 1,
        "burn_rate_usd_per_day": round(burn, 6),
        "burn_rate_sd": round(sd, 6), "projected_total_usd": None, "p_exceed": None,
        "exhaustion_date": None, "basis": None,
    }  # fmt: skip
    if math.isnan(spent):
        return row  # unknown cost: nothing to project
    cumulative = daily.cumsum()
    paths = _forecast_paths(ledger, run, budget, remaining)
    # the days not complete yet: at the rate, or at what they cost so far where more
    pending = daily[daily.index > through]
    topped = float(np.maximum(pending, burn).sum() - pending.sum())
    # the rest of the period: the run's mean per day where it forecasts it, else the burn
    rest = topped + (burn * len(remaining) if paths is None else float(paths.mean(axis=0).sum()))
    if spent >= budget.amount:
        row |= {"projected_total_usd": round(spent + rest, 6), "basis": "actual",
                "p_exceed": 1.0 if spent > budget.amount or rest > 0 else 0.0,
                "exhaustion_date": exhaustion_day(cumulative, None, budget.amount)}  # fmt: skip
        return row
    if paths is not None and run is not None:
        so_far = spent + topped
        row |= {"basis": f"forecast run {run.run_id}",
                "exhaustion_date": paths_exhaustion_day(so_far, paths, as_of, budget.amount),
                "p_exceed": exceed_share(so_far + paths.sum(axis=1), budget.amount)}  # fmt: skip
    else:
        ahead = pd.concat([np.maximum(pending, burn), pd.Series(burn, index=remaining)])
        basis = f"burn rate of the last {len(recent)} days"
        if len(pending):
            basis += f" to {through} ({', '.join(map(str, pending.index))} not complete)"
        row |= {"basis": basis,
                "exhaustion_date": exhaustion_day(cumulative[cumulative.index <= through],
                                                  ahead, budget.amount)}  # fmt: skip
    row["projected_total_usd"] = round(spent + rest, 6)
    return row


def exhaustion_day(cumulative: pd.Series, ahead: pd.Series | None, amount: float) -> dt.date | None:
    """The first day spend reaches ``amount``: of the days spent (``cumulative``, by day),
    else of the days ``ahead`` (their cost per day) added to the last; None where neither
    gets there (or the spend is unknown)."""
    reached = cumulative[cumulative >= amount]
    if not len(reached) and ahead is not None and len(cumulative):
        landing = cumulative.iloc[-1] + ahead.cumsum()
        reached = landing[landing >= amount]
    return reached.index[0] if len(reached) else None


def paths_exhaustion_day(so_far: float, paths: np.ndarray, day: dt.date,
                         amount: float) -> dt.date | None:  # fmt: skip
    """From ``so_far`` spent by the end of ``day``, and ``paths`` (paths, days) of the cost
    of the days after it: the day by which half of the paths reach ``amount`` (the median of
    their first days there, a path that never gets there counting as past the last); None
    where fewer than half do."""
    if not paths.shape[1]:
        return None
    reached = so_far + np.cumsum(paths, axis=1) >= amount
    first_day = np.where(reached.any(axis=1), reached.argmax(axis=1), paths.shape[1])
    half = int(np.quantile(first_day, 0.5, method="inverted_cdf"))
    return day + dt.timedelta(days=half + 1) if half < paths.shape[1] else None


def _forecast_paths(
    ledger: Ledger, run: ForecastRun | None, budget: Budget, days: np.ndarray
) -> np.ndarray | None:
    """The run's paths of daily cost (paths, days) over ``days`` in the budget's scope, if
    it forecasts them all; else None."""
    if run is None:
        return None
    if not len(days):
        return np.zeros((run.n_paths, 0))
    keys, paths = load_paths(ledger, run.run_id)
    start = run.as_of + dt.timedelta(days=1)
    if days[0] < start or days[-1] > run.horizon_end or not len(keys):
        return None
    offset = (days[0] - start).days
    return np.asarray(paths[in_scope(keys, budget)].sum(axis=0)[:, offset : offset + len(days)])


def in_scope(keys: pd.DataFrame, budget: Budget) -> np.ndarray:
    """Which of a run's series (``keys``: team, feature, model) a budget covers."""
    inside = np.ones(len(keys), dtype=bool)
    for k in SCOPE:
        if getattr(budget, k):
            inside &= (keys[k] == getattr(budget, k)).to_numpy()
    return inside
