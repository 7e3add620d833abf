"""Features served by several models: what a request costs on each, and what moving a share of
a costlier model's requests to the feature's cheapest one would save, written as a scenario
that ``costcast scenario run`` takes unchanged.

Formulas, per team and feature, over a window of days (default: the last 28 of the ledger):

- ``cost_per_request`` = cost_usd / requests of each model (failed calls included);
- ``cheapest_model``: the model with the lowest cost per request on that feature;
- ``saving_usd_per_month`` = requests x share x (cost_per_request - the cheapest's) x
  30.4375 / days in the window: what moving ``share`` of this model's requests would have
  saved, at the cheapest model's observed cost per request on the same feature;
- ``intensity_factor`` = (input + output tokens per request of the cheapest model) / (the
  same of this model): how much longer or shorter its answers and prompts ran, which the
  scenario's ``route`` carries over; unknown where this model's calls carried no tokens.

Models whose cost is unknown (no price) or that count no requests are listed without a saving.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import yaml

from forecast.coverage import usage_hours
from forecast.errors import CostcastError
from forecast.fiscal import DAYS_PER_MONTH
from forecast.ledger import Ledger
from forecast.pricing.book import PriceBook
from forecast.usage import check_span, cost_sum, priced_usage_sql

WINDOW_DAYS = 28
SPREAD_COLUMNS = [
    "team", "feature", "model", "requests", "cost_usd", "cost_per_request", "cheapest_model",
    "cheapest_cost_per_request", "share", "saving_usd_per_month", "intensity_factor",
]  # fmt: skip


def model_cost_spread(
    ledger: Ledger,
    book: PriceBook,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    share: float = 0.5,
) -> pd.DataFrame:
    """One row per model of every feature that more than one model served in the window."""
    if not 0 < share <= 1:
        raise CostcastError("the share to move must be above 0 and at most 1", param="share",
                            value=share)  # fmt: skip
    check_span(ledger, start, end)
    start, end = _window(ledger, start, end)
    priced = priced_usage_sql(ledger, book, start, end, strict=False)
    frame = ledger.con.execute(
        f"""SELECT team, feature, model, CAST(sum(requests) AS BIGINT) AS requests,
                   {cost_sum()} AS cost_usd,
                   CAST(sum(input_tokens + output_tokens) AS DOUBLE) AS tokens
            FROM ({priced}) WHERE requests IS NOT NULL
            GROUP BY ALL HAVING sum(requests) > 0 ORDER BY ALL"""
    ).df()
    months = DAYS_PER_MONTH / ((end - start).days + 1)
    frame["cost_per_request"] = frame["cost_usd"] / frame["requests"]
    per_token = frame["tokens"] / frame["requests"]
    rows = []
    for _, part in frame.groupby(["team", "feature"], sort=True):
        if len(part) < 2:
            continue
        known = part["cost_per_request"].notna()
        cheapest = part[known]["cost_per_request"].idxmin() if known.any() else None
        for i, row in part.iterrows():
            out: dict[str, Any] = {k: row[k] for k in ("team", "feature", "model", "requests")}
            out |= {"cost_usd": row["cost_usd"], "cost_per_request": row["cost_per_request"],
                    "share": share}  # fmt: skip
            if cheapest is not None and known[i]:
                cheap = part.loc[cheapest]
                gap = row["cost_per_request"] - cheap["cost_per_request"]
                out |= {
                    "cheapest_model": cheap["model"],
                    "cheapest_cost_per_request": cheap["cost_per_request"],
                    "saving_usd_per_month": row["requests"] * share * gap * months,
                    # a model whose calls carried no tokens has nothing to scale: unknown
                    "intensity_factor": (per_token[cheapest] / per_token[i]
                                         if per_token[i] > 0 else None),
                }  # fmt: skip
            rows.append(out)
    spread = pd.DataFrame(rows, columns=SPREAD_COLUMNS).round(
        {"cost_usd": 6, "cost_per_request": 8, "cheapest_cost_per_request": 8,
         "saving_usd_per_month": 2, "intensity_factor": 4}
    )  # fmt: skip
    spread.attrs["window"] = (start, end)  # what the scenario starts after
    return spread


def _window(ledger: Ledger, start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    first, last = (stamp.date() for stamp in usage_hours(ledger))
    end = end or last
    start = start or max(first, end - dt.timedelta(days=WINDOW_DAYS - 1))
    return start, end


def routing_scenario(spread: pd.DataFrame, baseline: str = "latest") -> str:
    """The scenario YAML: one ``route`` per costlier model with a saving, to the cheapest,
    from the day after the spread's window."""
    start = spread.attrs["window"][1] + dt.timedelta(days=1)
    movable = spread[spread["saving_usd_per_month"].fillna(0) > 0]
    if movable.empty:
        raise CostcastError(
            "no feature is served by more than one priced model with a cheaper one among "
            "them: nothing to route",
            param="routing_savings",
        )
    changes = [
        {"kind": "route", "team": r.team, "feature": r.feature, "from_model": r.model,
         "to_model": r.cheapest_model, "share": float(r.share),
         "intensity_factor": float(np.clip(r.intensity_factor, 0.01, 100)), "start": start}
        for r in movable.itertuples(index=False)
    ]  # fmt: skip
    total = float(movable["saving_usd_per_month"].sum())
    doc = {
        "name": "Route to each feature's cheapest model",
        "description": f"Move {movable['share'].iloc[0]:.0%} of the requests on a costlier "
        f"model to the feature's cheapest; at recent volumes about ${total:,.2f} a month "
        "less (costcast kpis --routing-savings).",
        "baseline": baseline,
        "changes": changes,
    }
    header = "# yaml-language-server: $schema=schema.json\n"
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
