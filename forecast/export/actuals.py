"""Actual cost: billed where the provider's bill is in, else priced from usage.

A bill comes per day and provider (and project), not per team or token kind;
it is spread over that day's usage in proportion to its priced cost, so the
parts add up to the bill exactly and keep usage's split by team and model.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from forecast.billed import billed_daily
from forecast.ledger import Ledger
from forecast.pricing.book import PriceBook
from forecast.usage import exact_sum, priced_usage

UNALLOCATED = "(unallocated)"


def billed_scaling(
    ledger: Ledger, book: PriceBook, start: dt.date, end: dt.date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(scale, unmatched): per day and provider, billed / priced where both exist; and the
    billed amounts on days with no priced usage to spread them over."""
    billed = billed_daily(ledger, start, end)
    if billed.empty:
        empty = pd.DataFrame(columns=["day", "provider", "scale"]).astype({"scale": float})
        return empty, pd.DataFrame(columns=["day", "provider", "billed_usd"])
    billed["day"] = pd.to_datetime(billed["day"]).dt.date
    totals = priced_usage(
        ledger,
        book,
        start,
        end,
        f"CAST(ts AS DATE) AS day, provider, {exact_sum('cost_usd')} AS priced_usd",
    )
    if totals.empty:
        totals = pd.DataFrame(columns=["day", "provider", "priced_usd"]).astype(
            {"priced_usd": float}
        )
    both = billed.merge(totals, on=["day", "provider"], how="left")
    matched = both["priced_usd"].fillna(0) > 0
    scale = both[matched].assign(scale=lambda f: f["billed_usd"] / f["priced_usd"])
    return scale[["day", "provider", "scale"]], both.loc[
        ~matched, ["day", "provider", "billed_usd"]
    ]


def actual_cost(
    ledger: Ledger, book: PriceBook, start: dt.date, end: dt.date, by: str
) -> pd.DataFrame:
    """Actual USD per day, provider and ``by`` (a usage dimension), with its source."""
    frame = priced_usage(
        ledger,
        book,
        start,
        end,
        f'CAST(ts AS DATE) AS day, provider, "{by}", {exact_sum("cost_usd")} AS priced_usd',
    )
    if frame.empty:
        frame = pd.DataFrame(columns=["day", "provider", by, "priced_usd"])
    scale, unmatched = billed_scaling(ledger, book, start, end)
    frame = frame.merge(scale, on=["day", "provider"], how="left")
    frame["source"] = frame["scale"].notna().map({True: "billed", False: "priced"})
    frame["cost_usd"] = frame["priced_usd"] * frame["scale"].fillna(1.0)
    extra = unmatched.rename(columns={"billed_usd": "cost_usd"}).assign(
        **{by: UNALLOCATED, "priced_usd": 0.0, "source": "billed"}
    )
    parts = [f for f in (frame.drop(columns="scale"), extra) if not f.empty]
    if not parts:
        return pd.DataFrame(columns=["day", "provider", by, "priced_usd", "source", "cost_usd"])
    return pd.concat(parts, ignore_index=True)
