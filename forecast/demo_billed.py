"""What the demo organisation's providers billed, as their own cost exports.

The last 62 days of OpenAI and Anthropic usage, priced with the demo's price
book, written as an OpenAI Costs API page list (dollars) and an Anthropic
cost report (cents as strings). The bills match priced usage except on one
day, when OpenAI billed a project the usage export missed (30% more): the
``billing_gap`` event in events.yaml, which ``costcast reconcile`` should flag
and nothing else.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd

from forecast.pricing.book import PriceBook, PriceEntry, bundled_entries

BILLED_DAYS = 62
GAP_SHARE = 0.3


def _priced_daily(usage: pd.DataFrame, book: PriceBook, first: dt.date) -> pd.DataFrame:
    frame = usage.assign(day=pd.to_datetime(usage["timestamp"]).dt.date)
    frame = frame[frame["day"] >= first]
    kinds = ["input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens"]
    sums = frame.groupby(["day", "provider", "model"], as_index=False)[kinds].sum()
    costs = []
    for row in sums.itertuples(index=False):
        p = book.price(row.model, row.day).per_token_kind()
        uncached = row.input_tokens - row.cached_input_tokens - row.cache_write_tokens
        costs.append(
            (uncached * p["input"] + row.cached_input_tokens * p["cached_input"]
             + row.cache_write_tokens * p["cache_write"] + row.output_tokens * p["output"]) / 1e6
        )  # fmt: skip
    return sums.assign(cost=costs)


def write_demo_billed(
    out_dir: Path, usage: pd.DataFrame, price_entries: list[dict[str, Any]], end: dt.date
) -> tuple[list[Path], dict[str, Any]]:
    """(files written, the billing_gap event)."""
    book = PriceBook([*bundled_entries(), *(PriceEntry.model_validate(e) for e in price_entries)])
    first = end - dt.timedelta(days=BILLED_DAYS - 1)
    daily = _priced_daily(usage, book, first)
    gap_day = end - dt.timedelta(days=20)

    buckets = []
    openai = daily[daily["provider"] == "openai"]
    for day, part in openai.groupby("day", sort=True):
        start = int(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp())
        results = [
            {"object": "organization.costs.result",
             "amount": {"value": round(float(r.cost), 6), "currency": "usd"},
             "line_item": r.model, "project_id": "proj_demo"}
            for r in part.itertuples(index=False)
        ]  # fmt: skip
        if day == gap_day:
            results.append(
                {"object": "organization.costs.result",
                 "amount": {"value": round(float(part["cost"].sum()) * GAP_SHARE, 6), "currency": "usd"},
                 "line_item": "gpt-4.1-mini", "project_id": "proj_unexported"}
            )  # fmt: skip
        buckets.append({"object": "bucket", "start_time": start, "end_time": start + 86400,
                        "results": results})  # fmt: skip
    # two pages, as a paginated download saves them
    half = len(buckets) // 2
    pages = [
        {"object": "page", "data": buckets[:half], "has_more": True, "next_page": "page_2"},
        {"object": "page", "data": buckets[half:], "has_more": False, "next_page": None},
    ]
    openai_path = out_dir / "billed-openai-costs.json"
    openai_path.write_text(json.dumps(pages, indent=1) + "\n")

    items = []
    anthropic = daily[daily["provider"] == "anthropic"]
    for day, part in anthropic.groupby("day", sort=True):
        items.append({
            "starting_at": f"{day}T00:00:00Z",
            "ending_at": f"{day + dt.timedelta(days=1)}T00:00:00Z",
            "results": [
                {"amount": f"{r.cost * 100:.4f}", "currency": "USD", "cost_type": "tokens",
                 "description": f"{r.model} tokens", "model": r.model, "workspace_id": None}
                for r in part.itertuples(index=False)
            ],
        })  # fmt: skip
    anthropic_path = out_dir / "billed-anthropic-costs.json"
    anthropic_path.write_text(
        json.dumps({"data": items, "has_more": False, "next_page": None}, indent=1) + "\n"
    )
    event = {
        "kind": "billing_gap",
        "provider": "openai",
        "day": str(gap_day),
        "billed_over_priced": 1 + GAP_SHARE,
        "note": "project proj_unexported is billed but missing from the usage export",
    }
    return [openai_path, anthropic_path], event
