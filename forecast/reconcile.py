"""Reconciliation: cost priced from usage against what providers billed, per day and provider.

A difference means the price book is wrong (a discount, a new price, a tier)
or the usage export is incomplete (a missing project or key). A day is
flagged when the difference is above both tolerances: an absolute one in USD
(small days are noisy) and a share of the billed amount.

Only providers that have billed rows are compared, and only over the days
from their first to their last billed day: outside that there is nothing to
compare with, which the result says instead of showing zeros.

Usage records carry teams, not the provider's project ids, so a project can
be compared only where the config says which teams are that project's alone:
the raw ``project_id:ID`` team that unmapped usage keeps, and teams that an
attribution rule matching exactly that project id (and nothing else) sets,
when no other rule sets them too. Other projects are listed as ``unmapped``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd

from forecast.attribution import AttributionRule
from forecast.billed import billed_daily
from forecast.coverage import usage_span
from forecast.errors import CostcastError, LedgerError
from forecast.ledger import Ledger
from forecast.pricing.book import PriceBook
from forecast.usage import exact_sum, priced_usage

DEFAULT_TOLERANCE_PCT = 0.02
DEFAULT_TOLERANCE_USD = 1.0
COLUMNS = ["day", "provider", "priced_usd", "billed_usd", "diff_usd", "diff_pct", "status", "flag"]


def reconcile(
    ledger: Ledger,
    book: PriceBook,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    tolerance_pct: float = DEFAULT_TOLERANCE_PCT,
    tolerance_usd: float = DEFAULT_TOLERANCE_USD,
) -> pd.DataFrame:
    """One row per provider and day: priced, billed, billed minus priced, status and flag.

    status is ``ok``, ``differs``, ``no usage`` (billed, but no usage that day),
    ``not billed`` (usage, but no bill that day inside the provider's billed range) or
    ``outside usage`` (billed on a day before or after the ledger's usage: not compared).
    """
    if tolerance_pct < 0 or tolerance_usd < 0:
        raise CostcastError("tolerances must not be negative", param="tolerance")
    if start and end and end < start:
        raise CostcastError(f"the last day {end} is before the first {start}", param="to")
    billed = billed_daily(ledger, start, end)
    if billed.empty:
        raise LedgerError(
            "no billed actuals in this range: import a provider cost export first",
            hint="costcast billing import FILE (OpenAI costs, Anthropic cost report, FOCUS CSV)",
        )
    billed["day"] = pd.to_datetime(billed["day"]).dt.date
    spans = billed.groupby("provider")["day"].agg(["min", "max"])
    first, last = spans["min"].min(), spans["max"].max()
    priced = priced_usage(
        ledger,
        book,
        first,
        last,
        f"CAST(ts AS DATE) AS day, provider, {exact_sum('cost_usd')} AS priced_usd",
    )
    frame = billed.merge(priced, on=["day", "provider"], how="outer")
    frame = frame[frame["provider"].isin(spans.index)]
    inside = [
        spans.loc[p, "min"] <= d <= spans.loc[p, "max"]
        for d, p in zip(frame["day"], frame["provider"], strict=True)
    ]
    frame = frame[inside].copy()
    has_billed, has_usage = frame["billed_usd"].notna(), frame["priced_usd"].notna()
    frame[["billed_usd", "priced_usd"]] = frame[["billed_usd", "priced_usd"]].fillna(0.0)
    _compare(frame, tolerance_pct, tolerance_usd)
    frame["status"] = "ok"
    frame.loc[frame["flag"], "status"] = "differs"
    frame.loc[~has_usage, "status"] = "no usage"
    frame.loc[~has_billed, "status"] = "not billed"
    _outside_usage(frame, ledger)
    return frame[COLUMNS].sort_values(["day", "provider"]).reset_index(drop=True)


def _outside_usage(frame: pd.DataFrame, ledger: Ledger) -> None:
    """Days billed before the ledger's first day of usage or after its last: their usage is
    not in the ledger, not zero, so they are ``outside usage`` and never flagged (a month's
    bill against a ledger begun mid-month flagged every day before it)."""
    first, stop = usage_span(ledger)
    last = (stop - dt.timedelta(microseconds=1)).date()
    outside = (frame["day"] < first.date()) | (frame["day"] > last)
    frame.loc[outside, "status"] = "outside usage"
    frame.loc[outside, "flag"] = False


def _compare(frame: pd.DataFrame, tolerance_pct: float, tolerance_usd: float) -> None:
    """Add billed minus priced, its share of the bill, and the flag: beyond both tolerances."""
    frame["diff_usd"] = frame["billed_usd"] - frame["priced_usd"]
    frame["diff_pct"] = (frame["diff_usd"] / frame["billed_usd"]).where(frame["billed_usd"] != 0)
    frame["flag"] = (frame["diff_usd"].abs() > tolerance_usd) & (
        frame["diff_usd"].abs() > tolerance_pct * frame["billed_usd"].abs()
    )


def project_teams(rules: Sequence[AttributionRule], projects: Sequence[str]) -> dict[str, set[str]]:
    """project id -> the teams whose usage is that project's alone (see the module doc)."""
    exact: dict[str, set[str]] = {}
    others: set[str] = set()  # teams some other rule can also produce
    for rule in rules:
        if not rule.team:
            continue
        pattern = rule.match.get("project_id")
        if (
            pattern is not None
            and set(rule.match) == {"project_id"}
            and not any(c in pattern for c in "*?[")
        ):
            exact.setdefault(pattern, set()).add(rule.team)
        else:
            others.add(rule.team)
    claimed: dict[str, int] = {}
    for teams in exact.values():
        for team in teams:
            claimed[team] = claimed.get(team, 0) + 1
    out = {}
    for project in projects:
        teams = {t for t in exact.get(project, set()) if t not in others and claimed[t] == 1}
        out[project] = teams | {f"project_id:{project}"}
    return out


def reconcile_projects(
    ledger: Ledger,
    book: PriceBook,
    rules: Sequence[AttributionRule],
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    tolerance_pct: float = DEFAULT_TOLERANCE_PCT,
    tolerance_usd: float = DEFAULT_TOLERANCE_USD,
) -> pd.DataFrame:
    """Per day, provider and billed project: priced usage of the project's teams against its
    bill, flagged as in ``reconcile``; status ``unmapped`` where no team is the project's."""
    billed = billed_daily(ledger, start, end, by_project=True)
    billed = billed[billed["project"] != ""]
    if billed.empty:
        raise LedgerError("no billed actuals with a project id in this range")
    billed["day"] = pd.to_datetime(billed["day"]).dt.date
    teams = project_teams(rules, sorted(set(billed["project"])))
    owner = {team: project for project, ts in teams.items() for team in ts}
    priced = priced_usage(
        ledger, book, billed["day"].min(), billed["day"].max(),
        f'CAST(ts AS DATE) AS day, provider, team, {exact_sum("cost_usd")} AS priced_usd',
    )  # fmt: skip
    priced["project"] = priced["team"].map(owner)
    mapped = set(priced["project"].dropna())
    priced = (
        priced.dropna(subset=["project"])
        .groupby(["day", "provider", "project"], as_index=False)["priced_usd"]
        .sum()
    )
    frame = billed.merge(priced, on=["day", "provider", "project"], how="left")
    frame["teams"] = frame["project"].map(lambda p: ", ".join(sorted(teams[p])))
    known = frame["project"].isin(mapped)
    frame["priced_usd"] = frame["priced_usd"].where(~known | frame["priced_usd"].notna(), 0.0)
    _compare(frame, tolerance_pct, tolerance_usd)
    frame["flag"] &= known  # an unmapped project is not compared, so never flagged
    frame["status"] = "unmapped"
    frame.loc[known, "status"] = "ok"
    frame.loc[frame["flag"], "status"] = "differs"
    _outside_usage(frame, ledger)
    columns = ["day", "provider", "project", "teams", "priced_usd", "billed_usd", "diff_usd",
               "diff_pct", "status", "flag"]  # fmt: skip
    return frame[columns].sort_values(["day", "provider", "project"]).reset_index(drop=True)


def reconciliation(
    ledger: Ledger,
    book: PriceBook,
    rules: Sequence[AttributionRule],
    *,
    by: str = "provider",
    **options: Any,
) -> pd.DataFrame:
    """``reconcile`` (by provider) or ``reconcile_projects`` (by project)."""
    if by == "provider":
        return reconcile(ledger, book, **options)
    if by == "project":
        return reconcile_projects(ledger, book, rules, **options)
    raise CostcastError("reconcile by provider or project", param="by", value=by)
