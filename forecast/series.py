"""Driver series: per key (team, feature, model) and UTC day, volume, token intensity and failures.

Token columns are ``t_<kind>`` for the four priced kinds (``t_input`` is
plain, uncached input), so they cannot be confused with the canonical
``input_tokens`` that includes the cache.

Cost is never forecast directly: it is volume x intensity x the price in
effect on the day. Volume is the request count, or all tokens where a source
does not count requests (Anthropic's usage report) or where requests forecast
cost worse than tokens do (``forecast.intensity.better_unit``); the run says
which in ``volume_unit``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from forecast.chunk import SeriesInput
from forecast.errors import LedgerError, UnpricedModelError
from forecast.ledger import Ledger
from forecast.pricing.book import PRICE_COLUMNS, PriceBook
from forecast.usage import exact_sum, priced_usage_sql, unpriced

SERIES_KEYS = ("team", "feature", "model")
TOKEN_KINDS = ("input", "cached_input", "cache_write", "output")
# Tokens of each kind, as the canonical columns store them (uncached input derived).
_KIND_SQL = {
    "input": "input_tokens - cached_input_tokens - cache_write_tokens",
    "cached_input": "cached_input_tokens",
    "cache_write": "cache_write_tokens",
    "output": "output_tokens",
}
INTENSITY_WINDOW_DAYS = 28
REQUESTS, TOKENS = "requests", "tokens"  # the two units volume is forecast in


def daily_drivers(
    ledger: Ledger, book: PriceBook, end: dt.date, exclude: Sequence[str] = ()
) -> pd.DataFrame:
    """One row per key and day up to ``end`` (inclusive), zero-filled between a key's first
    day and ``end``: requests (NaN where a source did not count them), tokens by kind,
    failed requests and failed tokens, cost from the book. The models in ``exclude`` (those
    the book cannot price) are left out."""
    priced = priced_usage_sql(ledger, book, None, end, exclude=exclude)
    kinds = ", ".join(f"sum({sql}) AS t_{kind}" for kind, sql in _KIND_SQL.items())
    frame = ledger.con.execute(
        f"""
        SELECT team, feature, model, CAST(ts AS DATE) AS ds,
               CASE WHEN bool_or(requests IS NULL) THEN NULL ELSE sum(requests) END AS requests,
               coalesce(sum(requests) FILTER (WHERE status = 'error'), 0) AS failed_requests,
               coalesce(sum(input_tokens + output_tokens) FILTER (WHERE status = 'error'), 0)
                   AS failed_tokens,
               {kinds}, {exact_sum("cost_usd")} AS cost
        FROM ({priced}) GROUP BY ALL ORDER BY ALL
        """
    ).df()
    return _fill_days(frame, end)


def priced_drivers(
    ledger: Ledger, book: PriceBook, as_of: dt.date
) -> tuple[pd.DataFrame, list[str]]:
    """``daily_drivers`` up to ``as_of`` of the models the book can price, and what it
    cannot price, in words (a run leaves those out and says so); an error where nothing
    priced is left."""
    missing = unpriced(ledger, book, None, as_of)
    labels = [label for _, label in missing]
    drivers = daily_drivers(ledger, book, as_of, exclude=[m for m, _ in missing])
    if drivers.empty:
        if missing:
            raise UnpricedModelError(labels)
        raise LedgerError(f"the ledger has no usage on or before {as_of}")
    return drivers, labels


def _fill_days(frame: pd.DataFrame, end: dt.date) -> pd.DataFrame:
    """Days without usage are real zeros (no requests either) between a key's first day
    and ``end``."""
    frame["ds"] = pd.to_datetime(frame["ds"])
    if frame.empty:  # nothing priced: the caller says why
        return frame
    parts = []
    for key, part in frame.groupby(list(SERIES_KEYS), sort=True):
        days = pd.date_range(part["ds"].min(), pd.Timestamp(end), freq="D")
        full = part.set_index("ds").reindex(days)
        full.index.name = "ds"
        idle = full["cost"].isna()
        for col, value in zip(SERIES_KEYS, key, strict=True):
            full[col] = value
        numeric = [c for c in full.columns if c not in SERIES_KEYS]
        full.loc[idle, numeric] = 0.0
        parts.append(full.reset_index())
    out = pd.concat(parts, ignore_index=True)
    return out[[*SERIES_KEYS, "ds", *[c for c in out.columns if c not in (*SERIES_KEYS, "ds")]]]


def key_id(team: str, feature: str, model: str) -> str:
    return f"{team}|{feature}|{model}"


def token_matrix(part: pd.DataFrame) -> np.ndarray:
    """(kinds, days) tokens of each priced kind, in ``TOKEN_KINDS`` order."""
    return np.asarray(part[[f"t_{k}" for k in TOKEN_KINDS]].to_numpy(dtype=float).T)


def failure_rate(part: pd.DataFrame, unit: str, as_of: dt.date) -> float:
    """Failed share of the volume over the last 28 days (all history if those were idle)."""
    failed, total = ("failed_requests", "requests") if unit == REQUESTS else ("failed_tokens", None)
    volume = part[total] if total else part[[f"t_{k}" for k in TOKEN_KINDS]].sum(axis=1)
    recent = part["ds"] > pd.Timestamp(as_of) - pd.Timedelta(days=INTENSITY_WINDOW_DAYS)
    for rows in (recent, slice(None)):
        if volume[rows].sum() > 0:
            return float(part.loc[rows, failed].sum() / volume[rows].sum())
    return 0.0


def tier_mix(ledger: Ledger, as_of: dt.date) -> pd.DataFrame:
    """Per key and service tier: share of the key's tokens over the recent window."""
    start = as_of - dt.timedelta(days=INTENSITY_WINDOW_DAYS - 1)
    return ledger.con.execute(
        """
        SELECT team, feature, model, service_tier,
               tokens / sum(tokens) OVER (PARTITION BY team, feature, model) AS share
        FROM (SELECT team, feature, model, service_tier,
                     sum(input_tokens + output_tokens) AS tokens
              FROM usage WHERE ts >= ? AND ts < ? GROUP BY ALL)
        WHERE tokens > 0
        """,
        [start, as_of + dt.timedelta(days=1)],
    ).df()


def tier_shares(mix: pd.DataFrame, team: str, feature: str, model: str) -> dict[str, float]:
    """A key's recent service-tier mix; all standard when it has no recent usage."""
    rows = mix[(mix.team == team) & (mix.feature == feature) & (mix.model == model)]
    if rows.empty:
        return {"standard": 1.0}
    return {row.service_tier: float(row.share) for row in rows.itertuples(index=False)}


def kind_prices(
    book: PriceBook, model: str, tiers: dict[str, float], days: pd.DatetimeIndex
) -> dict[str, np.ndarray]:
    """USD per million tokens of each kind on each day, blended over the tier mix."""
    out = {kind: np.zeros(len(days)) for kind in PRICE_COLUMNS}
    for tier, share in tiers.items():
        for kind, prices in book.on_days(model, days, tier).items():
            out[kind] += share * prices
    return out


def usd_per_unit(intensity: np.ndarray, prices: np.ndarray) -> np.ndarray:
    """USD per unit of a series' volume on each day: its tokens of each kind per unit
    (kinds, days) at the prices per million tokens of each kind (kinds, days)."""
    return np.asarray(np.einsum("kd,kd->d", intensity, prices) / 1e6)


@dataclass
class DriverSeries:
    """One (team, feature, model) series as the run prices it."""

    team: str
    feature: str
    model: str
    unit: str  # what volume counts: requests or tokens
    failure_rate: float
    tiers: dict[str, Any]
    prices: np.ndarray  # (kinds, days) USD per million tokens on each forecast day
    input: SeriesInput
