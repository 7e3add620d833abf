"""Budget alerts: a budget of costcast.yaml whose spend so far (``budget_spent``) or whose
landing at the recent burn rate (``budget_landing``) reaches a level (85%, then 90%) of its
amount, judged at the end of each day of its period; each level fires once per budget and
resolves when the period ends. Their scope names the budget's period and team, feature or
model; ``value`` is the share of the amount.

The landing is the spend so far plus the mean of the last 7 days' cost for every day left
(``forecast.burn``'s burn-rate basis): a replay must not see a forecast run made later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np

from forecast.burn import SCOPE, WINDOW, daily_cost
from forecast.config import Budget
from forecast.fiscal import FiscalCalendar
from forecast.ledger import Ledger
from forecast.pricing.book import PriceBook
from forecast.watch.record import Alert
from forecast.watch.rules import BudgetRule


def budget_alerts(ledger: Ledger, book: PriceBook, budgets: Sequence[Budget],
                  calendar: FiscalCalendar, rule: BudgetRule, start: dt.datetime,
                  end: dt.datetime) -> list[Alert]:  # fmt: skip
    """The budget alerts a watch running every day of [start, end] would have raised."""
    if not rule.enabled:
        return []
    alerts = []
    for budget in budgets:
        first, after = calendar.parse_period(budget.period)
        last_day = min(end.date(), after - dt.timedelta(days=1))
        if last_day < max(first, start.date()):
            continue
        daily = daily_cost(ledger, book, budget, first, last_day).fillna(0.0)
        spent = daily.cumsum()
        burn = daily.rolling(WINDOW, min_periods=1).mean()
        left = np.array([(after - d).days - 1 for d in daily.index])
        shares = {"budget_spent": spent / budget.amount,
                  "budget_landing": (spent + burn * left) / budget.amount}  # fmt: skip
        scope = {"budget": budget.period, **{k: getattr(budget, k) for k in SCOPE
                                             if getattr(budget, k)}}  # fmt: skip
        for name, share in shares.items():
            for level in sorted(rule.levels):
                crossed = share[(share >= level) & (share.index >= start.date())]
                if crossed.empty:
                    continue
                day = crossed.index[0]
                ended = after if after <= end.date() else None
                alerts.append(Alert(f"{name}_{round(level * 100)}", scope, _close(day, end),
                                    None if ended is None else _close(ended, end),
                                    round(float(crossed.iloc[0]), 6), level))  # fmt: skip
    return alerts


def _close(day: dt.date, end: dt.datetime) -> dt.datetime:
    """The last hour of ``day``, when a day's spend is known (``end`` if sooner)."""
    return min(dt.datetime.combine(day, dt.time(23)), end)
