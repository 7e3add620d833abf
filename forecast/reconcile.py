"""Reconciliation: cost priced from usage against what providers billed, per day and provider.

A difference means the price book is wrong (a discount, a new price, a tier)
or the usage export is incomplete (a missing project or key). A day is
flagged when the difference is above both tolerances: an absolute one in USD
(small days are noisy) and a share of the billed amount.

Only providers that have billed rows are compared, and only over the days
from their first to their last billed day: outside that there is nothing to
compare with, which the result says instead of showing zeros.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from forecast.billed import billed_daily
from forecast.errors import CostcastError, LedgerError
from forecast.ledger import Ledger
from forecast.pricing.book import PriceBook
from forecast.usage import priced_usage_sql

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

    status is ``ok``, ``differs``, ``no usage`` (billed, but no usage that day) or
    ``not billed`` (usage, but no bill that day inside the provider's billed range).
    """
    if tolerance_pct < 0 or tolerance_usd < 0:
        raise CostcastError("tolerances must not be negative", field="tolerance")
    if start and end and end < start:
        raise CostcastError(f"--to {end} is before --from {start}", field="--to")
    billed = billed_daily(ledger, start, end)
    if billed.empty:
        raise LedgerError(
            "no billed actuals in this range: import a provider cost export first",
            hint="costcast billing import FILE (OpenAI costs, Anthropic cost report, FOCUS CSV)",
        )
    billed["day"] = pd.to_datetime(billed["day"]).dt.date
    spans = billed.groupby("provider")["day"].agg(["min", "max"])
    first, last = spans["min"].min(), spans["max"].max()
    priced = ledger.con.execute(
        f"""SELECT CAST(ts AS DATE) AS day, provider, sum(cost_usd) AS priced_usd
            FROM ({priced_usage_sql(ledger, book, first, last)}) GROUP BY ALL"""
    ).df()
    priced["day"] = pd.to_datetime(priced["day"]).dt.date
    frame = billed.merge(priced, on=["day", "provider"], how="outer")
    frame = frame[frame["provider"].isin(spans.index)]
    inside = [
        spans.loc[p, "min"] <= d <= spans.loc[p, "max"]
        for d, p in zip(frame["day"], frame["provider"], strict=True)
    ]
    frame = frame[inside].copy()
    has_billed, has_usage = frame["billed_usd"].notna(), frame["priced_usd"].notna()
    frame[["billed_usd", "priced_usd"]] = frame[["billed_usd", "priced_usd"]].fillna(0.0)
    frame["diff_usd"] = frame["billed_usd"] - frame["priced_usd"]
    frame["diff_pct"] = (frame["diff_usd"] / frame["billed_usd"]).where(frame["billed_usd"] != 0)
    frame["flag"] = (frame["diff_usd"].abs() > tolerance_usd) & (
        frame["diff_usd"].abs() > tolerance_pct * frame["billed_usd"].abs()
    )
    frame["status"] = "ok"
    frame.loc[frame["flag"], "status"] = "differs"
    frame.loc[~has_usage, "status"] = "no usage"
    frame.loc[~has_billed, "status"] = "not billed"
    return frame[COLUMNS].sort_values(["day", "provider"]).reset_index(drop=True)
