"""Budget alerts: a budget of costcast.yaml whose spend so far (``budget_spent``) or whose
landing at the recent burn rate (``budget_landing``) reaches a level (85%, then 90%) of its
amount, judged at the end of each day of its period; each level fires once per budget and
resolves when the period ends. Their scope names the budget's period and team, feature or
model; ``value`` is the share of the amount.

The landing is the spend so far plus the mean of the last 7 days' cost for every day left
(``forecast.burn``'s burn-rate basis). Days after the ledger's last complete one (a day not
over, or one a provider's usage has not arrived for: ``forecast.coverage.default_as_of``)
keep the rate of that day, and are landed at it where they cost less so far. Where a
forecast run covers the rest of the period, two more rules read its sample paths (spend so
far plus each path's cost of the days left): ``budget_forecast_<level>`` where the median landing (P50) reaches the level, and
``budget_at_risk`` where the share of paths passing the amount (``p_exceed``) reaches
``max_p_exceed`` (20%). A day is judged by the latest run whose as-of day is that day or
before: it saw no later usage, so a replay of history stays honest.

A day with usage the price book cannot price makes the spend unknown from that day on:
no level is judged on a guess. ``budget_unpriced`` fires on the first such day instead,
naming the unpriced models (``contributors``, each with its share of the unpriced rows;
``value``: the days of the period so far with usage of unknown cost).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from forecast.burn import (
    SCOPE,
    WINDOW,
    daily_cost,
    exhaustion_day,
    in_scope,
    known_from,
    paths_exhaustion_day,
    unpriced_models,
)
from forecast.config import Budget
from forecast.coverage import default_as_of
from forecast.fiscal import FiscalCalendar
from forecast.ledger import Ledger
from forecast.periods import exceed_share
from forecast.pricing.book import PriceBook
from forecast.runstore import list_runs, load_paths
from forecast.watch.record import Alert
from forecast.watch.rules import BudgetRule


def budget_alerts(ledger: Ledger, book: PriceBook, budgets: Sequence[Budget],
                  calendar: FiscalCalendar, rule: BudgetRule, start: dt.datetime,
                  end: dt.datetime) -> list[Alert]:  # fmt: skip
    """The budget alerts a watch running every day of [start, end] would have raised."""
    if not rule.enabled:
        return []
    runs = list_runs(ledger).sort_values(["created_at", "run_id"], ascending=False)
    runs["as_of"] = pd.to_datetime(runs["as_of"]).dt.date
    runs["horizon_end"] = pd.to_datetime(runs["horizon_end"]).dt.date
    alerts: list[Alert] = []
    if not budgets:
        return alerts
    complete = default_as_of(ledger)[0]
    for budget in budgets:
        first, after = calendar.parse_period(budget.period)
        last_day = min(end.date(), after - dt.timedelta(days=1))
        if last_day < max(first, start.date()):
            continue
        known = known_from(ledger, first)
        if last_day < known:
            continue  # the ledger holds none of the period yet
        daily = daily_cost(ledger, book, budget, known, last_day)
        spent = daily.cumsum(skipna=False)  # unknown from the first unpriced day on
        burn, topped = _burn_rate(daily, complete)
        left = np.array([(after - d).days - 1 for d in daily.index])
        shares = {"budget_spent": spent / budget.amount,
                  "budget_landing": (spent + topped + burn * left) / budget.amount}  # fmt: skip
        checks = [(f"{name}_{round(level * 100)}", share, level)
                  for name, share in shares.items() for level in sorted(rule.levels)]  # fmt: skip
        runs_out_on: dict[dt.date, dt.date] = {}
        if rule.forecast:
            median, exceed, runs_out_on = forecast_landing(ledger, runs, budget, spent, after)
            checks += [(f"budget_forecast_{round(level * 100)}", median / budget.amount, level)
                       for level in sorted(rule.levels)]  # fmt: skip
            checks.append(("budget_at_risk", exceed, rule.max_p_exceed))
        scope = {"budget": budget.period, **{k: getattr(budget, k) for k in SCOPE
                                             if getattr(budget, k)}}  # fmt: skip
        ended = after if after <= end.date() else None
        unknown = daily[daily.isna() & (daily.index >= start.date())]
        if not unknown.empty:
            alerts.append(Alert("budget_unpriced", scope, _close(unknown.index[0], end),
                                None if ended is None else _close(ended, end),
                                float(daily.isna().sum()), 0.0,
                                unpriced_models(ledger, book, budget, first, last_day)))  # fmt: skip
        for name, share, level in checks:
            crossed = share[(share >= level) & (share.index >= start.date())]
            if crossed.empty:
                continue
            day = crossed.index[0]
            runs_out = None  # budget_at_risk: a share of paths, not a day
            if name.startswith(("budget_spent", "budget_landing")) or spent[day] >= budget.amount:
                runs_out = exhaustion(spent, burn, budget.amount, day, after)
            elif name.startswith("budget_forecast"):
                runs_out = runs_out_on.get(day)
            alerts.append(Alert(name, scope, _close(day, end),
                                None if ended is None else _close(ended, end),
                                round(float(crossed.iloc[0]), 6), level,
                                exhaustion_date=runs_out))  # fmt: skip
    return alerts


def _burn_rate(daily: pd.Series, complete: dt.date) -> tuple[pd.Series, pd.Series]:
    """Per day: the burn rate (the mean of the last 7 days' cost), and what the days after
    ``complete`` up to it would add at that rate (where they cost less so far). Those days
    take the rate of ``complete``: as days of low spend they lowered it."""
    burn = daily.rolling(WINDOW, min_periods=1).mean()
    late = np.asarray(daily.index > complete)
    topped = pd.Series(0.0, index=daily.index)
    if late.any() and not late.all():
        burn[late] = burn[~late].iloc[-1]
        topped[late] = (np.maximum(daily[late], burn[late]) - daily[late]).cumsum()
    return burn, topped


def exhaustion(spent: pd.Series, burn: pd.Series, amount: float, day: dt.date,
               after: dt.date) -> dt.date | None:  # fmt: skip
    """Judged at the end of ``day``: the first day the spend (``spent``, cumulative) reaches
    ``amount``, already passed or at that day's burn rate from the next day on, as
    ``kpis --budget-burn`` finds it; None where not before ``after`` (the period's end)."""
    ahead = pd.Series(burn.get(day), index=pd.date_range(day, after, inclusive="neither").date,
                      dtype=float)  # fmt: skip
    return exhaustion_day(spent[spent.index <= day], ahead, amount)


def forecast_landing(ledger: Ledger, runs: pd.DataFrame, budget: Budget, spent: pd.Series,
                     after: dt.date) -> tuple[pd.Series, pd.Series, dict[dt.date, dt.date]]:  # fmt: skip
    """Per day of ``spent`` (the spend so far, cumulative): the median landing, the share
    of paths passing the amount, and (where half the paths or more reach it within the
    period) the day by which half of them have, from the latest run with that as-of day or
    before that forecasts the rest of the period; NaN (no day) where none does."""
    median = pd.Series(np.nan, index=spent.index)
    exceed = pd.Series(np.nan, index=spent.index)
    runs_out: dict[dt.date, dt.date] = {}
    last = after - dt.timedelta(days=1)
    scoped: dict[str, np.ndarray | None] = {}  # run -> its paths summed over the scope
    for day, so_far in spent.items():
        usable = runs[(runs["as_of"] <= day) & (runs["horizon_end"] >= last)]
        if usable.empty:
            continue
        run = usable.iloc[0]  # newest first
        if run["run_id"] not in scoped:
            keys, paths = load_paths(ledger, run["run_id"])
            inside = in_scope(keys, budget)
            scoped[run["run_id"]] = paths[inside].sum(axis=0) if inside.any() else None
        mine = scoped[run["run_id"]]
        if mine is None:
            continue
        first = (day - run["as_of"]).days  # index of the day after ``day`` in the run
        days_left = mine[:, first : first + (last - day).days]
        landing = so_far + days_left.sum(axis=1)
        median[day] = float(np.median(landing))
        exceed[day] = exceed_share(landing, budget.amount)
        runs_out_day = paths_exhaustion_day(so_far, days_left, day, budget.amount)
        if runs_out_day is not None:
            runs_out[day] = runs_out_day
    return median, exceed, runs_out


def _close(day: dt.date, end: dt.datetime) -> dt.datetime:
    """The last hour of ``day``, when a day's spend is known (``end`` if sooner)."""
    return min(dt.datetime.combine(day, dt.time(23)), end)
