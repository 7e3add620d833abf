"""The demo's costcast.yaml: backfilled and cut prices, this and next quarter's budgets,
accounting, and the API tokens a config written before already holds."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from forecast.demo_org import FEATURES, MODELS
from forecast.pricing.book import bundled_entries

FISCAL_YEAR_START = 2  # February, so fiscal quarters differ visibly from calendar ones


def demo_budgets(usage: pd.DataFrame, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """Budgets for this and next fiscal quarter: the last 91 days' spend plus 10%, in
    thousands, for the organisation and its two largest teams (priced at list prices, a
    model released after ``start`` at its first, as the demo's config backfills it)."""
    from forecast.fiscal import FiscalCalendar
    from forecast.pricing.book import PriceBook, PriceEntry

    backfills = [PriceEntry.model_validate(b) for m in MODELS if (b := _backfill(m, start))]
    book = PriceBook([*bundled_entries(), *backfills])
    since = (pd.Timestamp(end) - pd.Timedelta(days=90)).strftime("%Y-%m-%d")
    recent = usage[usage["timestamp"] >= since]
    cost = pd.Series(0.0, index=recent.index)
    for model, part in recent.groupby("model"):
        p = book.price(model, end).per_token_kind()
        plain = part.input_tokens - part.cached_input_tokens - part.cache_write_tokens
        cost[part.index] = (
            plain * p["input"] + part.cached_input_tokens * p["cached_input"]
            + part.cache_write_tokens * p["cache_write"] + part.output_tokens * p["output"]
        ) / 1e6  # fmt: skip
    by_team = cost.groupby(recent["team"]).sum().sort_values(ascending=False)
    calendar = FiscalCalendar(FISCAL_YEAR_START)
    this_quarter = calendar.label(end + dt.timedelta(days=1), "quarter")
    _, this_end = calendar.parse_period(this_quarter)
    next_quarter = calendar.label(this_end, "quarter")
    budgets = []
    for period in (this_quarter, next_quarter):
        budgets.append({"period": period, "amount": float(round(cost.sum() * 1.1, -3))})
        for team in by_team.index[:2]:
            budgets.append(
                {"team": team, "period": period, "amount": float(round(by_team[team] * 1.1, -3))}
            )
    return budgets


def _backfill(model: str, start: dt.date) -> dict[str, Any] | None:
    """The config entry pricing ``model`` from ``start``, where its first list price is later
    (the synthetic history uses it before its real release); else None."""
    first = min(
        (e for e in bundled_entries() if e.model == model and e.tier == "standard"),
        key=lambda e: e.effective,
    )
    if first.effective <= start:
        return None
    return first.model_dump(exclude_none=True, mode="json") | {
        "effective": str(start), "source": "demo: synthetic history predates release"
    }  # fmt: skip


def demo_config(truth: dict[str, Any], start: dt.date) -> dict[str, Any]:
    """costcast.yaml for the demo: the price cut, and backfilled prices for models the
    synthetic history uses before their real release."""
    cut = next(e for e in truth["events"] if e["kind"] == "price_cut")
    entries = []
    book = bundled_entries()
    for model in MODELS:
        if backfill := _backfill(model, start):
            entries.append(backfill)
        if model == cut["model"]:
            current = max(
                (e for e in book if e.model == model and e.tier == "standard"),
                key=lambda e: e.effective,
            )
            discounted = current.model_dump(exclude_none=True, mode="json")
            for key in ("input", "cached_input", "cache_write", "output"):
                if key in discounted:
                    discounted[key] = round(discounted[key] * (1 - cut["discount"]), 6)
            entries.append(
                discounted | {"effective": cut["start"], "source": "demo: synthetic price cut"}
            )
    teams = sorted({f.team for f in FEATURES})
    return {
        "ledger": "costcast.duckdb",
        "fiscal_year_start": FISCAL_YEAR_START,
        "prices": {"entries": entries},
        "accounting": {
            "entity": "DEMO-US",
            "currency": "USD",
            "expense_account": "6420",
            "accrual_account": "2190",
            "cost_centers": {team: f"CC-{team.upper()}" for team in teams},
        },
    }


def kept_api(config: Path) -> dict[str, Any]:
    """The ``api`` section (tokens made for the demo) of a config written before: a second
    ``demo-data`` must not revoke them."""
    if not config.exists():
        return {}
    try:
        earlier = yaml.safe_load(config.read_text())
    except yaml.YAMLError:
        return {}
    api = earlier.get("api") if isinstance(earlier, dict) else None
    return {"api": api} if isinstance(api, dict) else {}
