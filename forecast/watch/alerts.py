"""Alerts from the ledger: replayed over a span of history, or checked at one hour with
their state kept in the ledger (an alert fires once, stays open while its rule holds, and
resolves the first hour it no longer does).

Each alert is one record: ``rule``, ``scope`` (the team, feature... it concerns),
``fired_at``, ``resolved_at`` (empty while open), ``value`` and ``threshold`` at the hour it
fired, and ``contributors``: for each dimension not in the scope, the value that carried
most of the change (the spike's extra cost, or the failed requests) and its share.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from forecast.config import Budget
from forecast.coverage import usage_hours
from forecast.deployments import DeploymentEntry, deployment_starts
from forecast.errors import CostcastError
from forecast.fiscal import FiscalCalendar
from forecast.ledger import Ledger
from forecast.pricing.book import PriceBook
from forecast.schema import DIMENSIONS
from forecast.usage import check_year, exact_sum, priced_usage_sql
from forecast.watch.budgets import budget_alerts
from forecast.watch.record import Alert
from forecast.watch.rules import (
    MAD_TO_SD,
    WEEK_HOURS,
    AlertRules,
    Verdict,
    failures,
    hourly_spike,
    token_inflation,
    unpriced,
)

HISTORY_HOURS = 5 * WEEK_HOURS  # four weeks of baseline before the first hour judged
CONTRIBUTOR_DIMS = ("team", "feature", "model", "user", "deployment")


def utc_hour(stamp: dt.datetime, param: str) -> dt.datetime:
    """The UTC hour ``stamp`` falls in, naive as the ledger keeps times."""
    if stamp.tzinfo is not None:
        try:
            stamp = stamp.astimezone(dt.UTC).replace(tzinfo=None)
        except OverflowError:  # the first or last hours a datetime holds, shifted past it
            check_year(param, stamp.replace(tzinfo=None))
            raise
    return stamp.replace(minute=0, second=0, microsecond=0)


def within_usage(ledger: Ledger, *hours: tuple[str, dt.datetime]) -> None:
    """Each of ``hours`` (its name, the hour) one the ledger holds usage for, from its first
    hour to its last (daily and minute buckets covering their hours): any other hour's cost
    is unknown, and a check there would resolve every open alert as if spending had
    stopped."""
    first, last = ledger.con.execute(
        """SELECT date_trunc('hour', min(ts)),
                  date_trunc('hour', max(ts + CASE bucket WHEN '1d' THEN INTERVAL 1 DAY
                                                          WHEN '1h' THEN INTERVAL 1 HOUR
                                                          ELSE INTERVAL 1 MINUTE END)
                                     - INTERVAL 1 MICROSECOND)
           FROM usage"""
    ).fetchall()[0] if ledger.has_table("usage") else (None, None)  # fmt: skip
    if first is None or last is None:
        usage_hours(ledger)  # the empty ledger's own error
    for name, stamp in hours:
        if not first <= stamp <= last:
            raise CostcastError(
                f"the ledger's usage runs from {first:%Y-%m-%d %H:00} to {last:%Y-%m-%d %H:00}: "
                f"the hour {stamp:%Y-%m-%d %H:00} is outside it, and what it cost is unknown",
                param=name, value=stamp.isoformat(),
                hint="ingest that hour's usage first, or pick an hour inside that span "
                "(without --at, watch checks the last hour of data)",
            )  # fmt: skip


@dataclass
class Hourly:
    hours: pd.DatetimeIndex
    scopes: list[dict[str, str]]
    cost: np.ndarray  # (hours, scopes); NaN before the ledger's first hour of usage
    requests: np.ndarray
    failed: np.ndarray
    inputs: np.ndarray  # input tokens
    unpriced: np.ndarray  # rows the price book cannot price


def hourly(ledger: Ledger, book: PriceBook, by: list[str], first: dt.datetime,
           last: dt.datetime) -> Hourly:  # fmt: skip
    """Cost, requests and failed requests per hour and scope, every hour of [first, last]
    (0 where a scope had no usage; unpriced usage counts no cost, and ``unpriced`` its
    rows, for the rule that says so). Cost is unknown (NaN) before the ledger's first hour
    of usage: the weeks before a ledger's history are no weeks of zero spend, and as
    zeros they made the spike baseline of a young ledger zero for its first weeks, so that
    every hour over the floor fired."""
    keys = ", ".join(f'"{k}"' for k in by)
    frame = ledger.con.execute(
        f"""SELECT date_trunc('hour', ts) AS hour, {keys},
                   coalesce({exact_sum("cost_usd")}, 0) AS cost,
                   CAST(coalesce(sum(requests), 0) AS DOUBLE) AS requests,
                   CAST(coalesce(sum(requests) FILTER (WHERE status = 'error'), 0) AS DOUBLE)
                       AS failed,
                   CAST(sum(input_tokens) FILTER (WHERE requests IS NOT NULL) AS DOUBLE)
                       AS inputs,
                   CAST(count(*) FILTER (WHERE cost_usd IS NULL) AS DOUBLE) AS unpriced
            FROM ({priced_usage_sql(ledger, book, first.date(), last.date(), strict=False)})
            WHERE ts >= ? AND ts <= ? GROUP BY ALL""",
        [first, last],
    ).df()
    hours = pd.date_range(first, last, freq="h")
    if frame.empty:
        zero = np.zeros((len(hours), 0))
        return Hourly(hours, [], zero, zero, zero, zero, zero)
    # scopes numbered in key order; not a pivot table, whose column selection squeezes a
    # scope named by an empty value (no user, no deployment) into a Series
    groups = frame.groupby(by, sort=True, dropna=False)
    codes = groups.ngroup().to_numpy()
    keys = groups.size().index
    scopes = [dict(zip(by, (k if isinstance(k, tuple) else (k,)), strict=True)) for k in keys]
    row = hours.get_indexer(frame["hour"])
    on = row >= 0  # every hour is one of them where first is on the hour, as callers give it

    def table(measure: str) -> np.ndarray:
        out = np.zeros((len(hours), len(scopes)))
        np.add.at(out, (row[on], codes[on]),
                  frame[measure].to_numpy(dtype=float, na_value=0.0)[on])  # fmt: skip
        return out

    cost = table("cost")
    cost[hours < pd.Timestamp(usage_hours(ledger)[0]).floor("h")] = np.nan
    return Hourly(hours, scopes, cost, table("requests"), table("failed"),
                  table("inputs"), table("unpriced"))  # fmt: skip


def verdicts(data: Hourly, rules: AlertRules, ledger: Ledger | None = None,
             listed: Sequence[DeploymentEntry] = ()) -> dict[str, Verdict]:  # fmt: skip
    out = {}
    if rules.token_inflation.enabled and ledger is not None:
        base, noise = inflation_baselines(ledger, rules, data, listed)
        out["token_inflation"] = token_inflation(data.inputs, data.requests, base,
                                                 rules.token_inflation, noise)  # fmt: skip
    if rules.hourly_spike.enabled:
        out["hourly_spike"] = hourly_spike(data.cost, rules.hourly_spike)
    if rules.failures.enabled:
        out["failures"] = failures(data.requests, data.failed, rules.failures)
    if rules.unpriced.enabled:
        out["unpriced"] = unpriced(data.unpriced)
    return out


def inflation_baselines(ledger: Ledger, rules: AlertRules, data: Hourly,
                        listed: Sequence[DeploymentEntry] = ()) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(hours, scopes) twice: input tokens per request over the ``baseline_days`` after the
    latest anchor (a deployment of the scope's feature, tagged or listed, or the scope's
    first hour of usage) that is at least that old, and how far its days (each 24 hours from
    the anchor) swung around it (1.4826 x their median absolute deviation); NaN while the
    latest anchor is younger (see ``rules.token_inflation``)."""
    days, by = rules.token_inflation.baseline_days, rules.by
    keys = ", ".join(f'"{k}"' for k in by)
    joined = " AND ".join(f'u."{k}" = s."{k}"' for k in by)
    scoped = ", ".join(f's."{k}"' for k in by)
    deployed = deployment_starts(ledger, listed)[["team", "feature", "started"]]
    ledger.con.register("_deployed", deployed)
    try:
        anchors = ledger.con.execute(
            f"""WITH scopes AS (
                    SELECT DISTINCT {keys}, team AS _team, feature AS _feature FROM usage),
                starts AS (
                    SELECT {scoped}, CAST(d.started AS TIMESTAMP) AS start
                    FROM scopes s JOIN _deployed d ON s._team = d.team AND s._feature = d.feature
                    UNION
                    SELECT {keys}, min(ts) AS start FROM usage GROUP BY {keys}),
                daily AS (
                    SELECT {scoped}, s.start, date_diff('hour', s.start, u.ts) // 24 AS day,
                           sum(u.input_tokens) FILTER (WHERE u.requests IS NOT NULL) AS tokens,
                           sum(u.requests) AS calls
                    FROM starts s JOIN usage u ON {joined}
                         AND u.ts >= s.start AND u.ts < s.start + INTERVAL {int(days)} DAY
                    GROUP BY ALL)
                SELECT {keys}, start, sum(tokens) / nullif(sum(calls), 0) AS level,
                       {MAD_TO_SD} * mad(tokens / nullif(calls, 0)) AS noise
                FROM daily GROUP BY ALL ORDER BY start"""
        ).df()
    finally:
        ledger.con.unregister("_deployed")
    level = np.full((len(data.hours), len(data.scopes)), np.nan)
    noise = np.full_like(level, np.nan)
    hours = data.hours.to_numpy()
    grouped = {tuple(k if isinstance(k, tuple) else (k,)): part
               for k, part in anchors.groupby(by, sort=False)}  # fmt: skip
    for j, scope in enumerate(data.scopes):
        part = grouped.get(tuple(scope[k] for k in by))
        if part is None:
            continue
        starts = part["start"].to_numpy(dtype="datetime64[ns]")
        latest = np.searchsorted(starts, hours, side="right") - 1
        known = latest >= 0
        at = np.maximum(latest, 0)
        old_enough = known & (hours - starts[at] >= np.timedelta64(days, "D"))
        level[:, j] = np.where(old_enough, part["level"].to_numpy(dtype=float)[at], np.nan)
        noise[:, j] = np.where(old_enough, part["noise"].to_numpy(dtype=float)[at], np.nan)
    return level, noise


def replay(ledger: Ledger, book: PriceBook, rules: AlertRules, start: dt.datetime,
           end: dt.datetime, contributors: bool = True, budgets: Sequence[Budget] = (),
           calendar: FiscalCalendar | None = None, carried: bool = False,
           listed: Sequence[DeploymentEntry] = ()) -> list[Alert]:  # fmt: skip
    """Every alert a watch running each hour of [start, end] would have raised, in order
    (``budgets`` with their ``calendar`` add the budget alerts of ``watch.budgets``); with
    ``carried`` (a check's replay, whose caller has placed its last hour in the usage),
    also those that fired in the weeks before and are still open at ``start``;
    ``listed``: the config's deployments, for ``token_inflation``)."""
    check_year("from", start)
    check_year("to", end)
    if not carried:  # a check has placed its hour in the usage; the weeks before may hold none
        within_usage(ledger, ("from", start), ("to", end))
    data = hourly(ledger, book, rules.by, start - dt.timedelta(hours=HISTORY_HOURS), end)
    first = int(np.searchsorted(data.hours, pd.Timestamp(start)))
    alerts = []
    for rule, verdict in verdicts(data, rules, ledger, listed).items():
        for j, scope in enumerate(data.scopes):
            clears = None if verdict.clears is None else verdict.clears[:, j]
            # over the history too: an alert's state at the first hour judged depends on it
            escalate = rules.escalation_of(rule)
            excess = verdict.excess[:, j] if escalate else None
            before: tuple[int, int | None] | None = None  # the scope's previous episode
            for i, end_at in episodes(verdict.holds[:, j], rules.clear_hours_of(rule), clears,
                                      excess, escalate):  # fmt: skip
                # an alert opening where the one before closed escalates it (a resolution
                # is at a clear hour, an opening at one that holds: never the same hour)
                escalates = (data.hours[before[0]].to_pydatetime()
                             if before is not None and before[1] == i else None)  # fmt: skip
                before = (i, end_at)
                if i < first and not (carried and (end_at is None or end_at > first)):
                    continue
                resolved = None if end_at is None else data.hours[end_at].to_pydatetime()
                alerts.append(Alert(rule, scope, data.hours[i].to_pydatetime(), resolved,
                                    float(verdict.value[i, j]), float(verdict.threshold[i, j]),
                                    escalates=escalates,
                                    baseline=float(verdict.baseline[i, j])))  # fmt: skip
    if budgets and calendar is not None:
        alerts += budget_alerts(ledger, book, budgets, calendar, rules.budget, start, end)
    alerts.sort(key=lambda a: (a.fired_at, a.rule, json.dumps(a.scope, sort_keys=True)))
    if contributors:
        for alert in alerts:
            alert.contributors = contributors_of(ledger, book, alert, rules)
    return alerts


def episodes(holds: np.ndarray, clear_hours: int, clears: np.ndarray | None = None,
             excess: np.ndarray | None = None, escalate: float = 0.0,
             ) -> list[tuple[int, int | None]]:  # fmt: skip
    """(first hour, resolving hour or None while open) of each alert: an alert opens the
    first hour its rule holds and resolves once it has been clear (``clears``, by default
    wherever it does not hold) for ``clear_hours`` hours in a row, at the first of them,
    so a flickering condition is one alert. With ``excess`` and ``escalate``, an hour
    holding with ``escalate`` times the excess its alert opened with closes that alert
    there and opens the next."""
    clears = ~holds if clears is None else clears
    out: list[tuple[int, int | None]] = []
    start, quiet, opened_with = None, 0, 0.0
    for i, on in enumerate(holds):
        if (on and start is not None and escalate and excess is not None and opened_with > 0
                and excess[i] >= escalate * opened_with):  # fmt: skip
            out.append((start, i))
            start, quiet, opened_with = i, 0, float(excess[i])
        elif on or (start is not None and not clears[i]):
            if start is None:
                start, opened_with = i, float(excess[i]) if excess is not None else 0.0
            quiet = 0
        elif start is not None:
            quiet += 1
            if quiet >= clear_hours:
                out.append((start, i - quiet + 1))
                start, quiet = None, 0
    if start is not None:
        out.append((start, None))
    return out


def contributors_of(ledger: Ledger, book: PriceBook, alert: Alert, rules: AlertRules
                  ) -> list[dict[str, Any]]:  # fmt: skip
    """Per dimension outside the scope: the value carrying most of the change and its share
    (a spike's extra cost over the same hours of the weeks before; an inflation's input
    tokens above the baseline's per request; the failed requests; the unpriced rows). A
    budget alert keeps its own (``watch.budgets``)."""
    if alert.rule.startswith("budget_"):
        return alert.contributors
    where = " AND ".join(f'"{k}" = ?' for k in alert.scope)
    hour = pd.Timestamp(alert.fired_at)
    # only a spike is measured against earlier hours; the other rules against their own
    spike = alert.rule == "hourly_spike"
    known = pd.Timestamp(usage_hours(ledger)[0]).floor("h")  # no weeks before the ledger's
    weeks = [week for k in range(1, rules.hourly_spike.weeks + 1) if spike
             and (week := hour - pd.Timedelta(hours=WEEK_HOURS * k)) >= known]  # fmt: skip
    priced = priced_usage_sql(ledger, book, min([hour, *weeks]).date(), hour.date(),
                              strict=False)  # fmt: skip
    out = []
    for dim in (d for d in CONTRIBUTOR_DIMS if d not in alert.scope and d in DIMENSIONS):
        frame = ledger.con.execute(
            f"""SELECT "{dim}" AS value, date_trunc('hour', ts) AS hour,
                       coalesce(sum(cost_usd), 0) AS cost,
                       coalesce(sum(requests) FILTER (WHERE status = 'error'), 0) AS failed,
                       CAST(coalesce(sum(input_tokens), 0) AS DOUBLE) AS inputs,
                       count(*) FILTER (WHERE cost_usd IS NULL) AS unpriced,
                       CAST(coalesce(sum(requests), 0) AS DOUBLE) AS requests
                FROM ({priced}) WHERE {where} AND date_trunc('hour', ts) IN ({", ".join("?" * (1 + len(weeks)))})
                GROUP BY ALL""",
            [*alert.scope.values(), hour, *weeks],
        ).df()
        now = frame[frame["hour"] == hour].set_index("value")
        if spike:  # the extra cost over the same hours of the weeks before
            before = frame[frame["hour"] != hour].groupby("value")["cost"].sum() / max(
                len(weeks), 1
            )
            change = now["cost"].sub(before.reindex(now.index, fill_value=0.0))
        elif alert.rule == "token_inflation":  # input tokens above the baseline's per request
            # the threshold is no fixed multiple of it once the baseline's days swing
            assert alert.baseline is not None, "set by the replay that fired it"
            change = now["inputs"] - now["requests"] * alert.baseline
        else:
            change = now["failed" if alert.rule == "failures" else "unpriced"].astype(float)
        change = change[(change > 0) & (change.index != "")]  # no value: not a contributor
        if change.empty or change.sum() <= 0:
            continue
        top = change.idxmax()
        out.append({"dimension": dim, "value": top,
                    "share": round(float(change[top] / change.sum()), 4)})  # fmt: skip
    return out
