"""Actual LLM cost as FOCUS 1.2 rows: one per day, provider, model, tier, team and token kind.

ListCost is the price book's price times tokens (PricingQuantity in millions
of tokens times ListUnitPrice, as the spec's cross-column rule asks);
BilledCost and EffectiveCost are the provider's bill spread over the day's
rows by their list cost (see export/actuals.py), or the list cost where no
bill is in. x_CostSource says which. Columns follow the 1.2 column names and
formats: UTC times written ``YYYY-MM-DDTHH:mm:ssZ``, plain decimals, flat
JSON tags, custom columns prefixed ``x_``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pandas as pd

from forecast.config import Config
from forecast.errors import CostcastError
from forecast.export.actuals import billed_scaling
from forecast.export.csvsafe import csv_text
from forecast.ledger import Ledger
from forecast.pricing.book import PriceBook
from forecast.usage import check_year, priced_usage

FOCUS_COLUMNS = [
    "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingAccountId",
    "BillingAccountName", "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd",
    "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory", "ChargeClass", "ChargeDescription",
    "ChargeFrequency", "ConsumedQuantity", "ConsumedUnit", "PricingQuantity", "PricingUnit",
    "PricingCategory", "ListUnitPrice", "ContractedUnitPrice", "InvoiceIssuerName",
    "ProviderName", "PublisherName", "ServiceName", "ServiceCategory", "ServiceSubcategory",
    "SkuId", "SkuPriceId", "SubAccountId", "SubAccountName", "Tags", "x_Model", "x_TokenType",
    "x_Team", "x_ServiceTier", "x_CostSource",
]  # fmt: skip
# token kind: (ledger token column expression, price column)
KINDS = {
    "input": ("input_tokens - cached_input_tokens - cache_write_tokens", "price_input"),
    "cached_input": ("cached_input_tokens", "price_cached_input"),
    "cache_write": ("cache_write_tokens", "price_cache_write"),
    "output": ("output_tokens", "price_output"),
}
PROVIDER_NAMES = {"openai": "OpenAI", "anthropic": "Anthropic", "google": "Google"}
PER = 1_000_000  # prices are per million tokens


# Free text from usage, bills or the config (amounts, dates and units are ours).
FOCUS_TEXT_COLUMNS = [
    "BillingAccountId", "BillingAccountName", "ChargeDescription", "InvoiceIssuerName",
    "ProviderName", "PublisherName", "ServiceName", "SkuId", "SkuPriceId", "SubAccountId",
    "SubAccountName", "x_Model", "x_Team", "x_ServiceTier",
]  # fmt: skip


def focus_csv(frame: pd.DataFrame) -> bytes:
    """FOCUS rows as CSV a spreadsheet cannot run (see ``forecast.export.csvsafe``)."""
    return csv_text(frame, FOCUS_TEXT_COLUMNS).encode("utf-8")


def focus_export(
    ledger: Ledger, book: PriceBook, config: Config, start: dt.date, end: dt.date
) -> pd.DataFrame:
    """FOCUS rows for [start, end], every value already formatted as text (null = "")."""
    check_year("from", start)
    check_year("to", end)
    if end < start:
        raise CostcastError(f"the last day {end} is before the first {start}", param="to")
    sums = ", ".join(f"sum({expr}) AS tokens_{kind}" for kind, (expr, _) in KINDS.items())
    prices = ", ".join(f"max({col}) AS {col}" for _, col in KINDS.values())
    frame = priced_usage(
        ledger, book, start, end,
        f"CAST(ts AS DATE) AS day, provider, model, price_model, service_tier, team, {sums}, {prices}",
    )  # fmt: skip
    if frame.empty:
        raise CostcastError(f"no usage between {start} and {end}", param="from")
    long = []
    for kind, (_, price_col) in KINDS.items():
        part = frame[["day", "provider", "model", "price_model", "service_tier", "team"]].copy()
        part["kind"] = kind
        part["tokens"] = frame[f"tokens_{kind}"].astype("int64")
        part["price"] = frame[price_col].astype(float)
        long.append(part[part["tokens"] > 0])
    rows = pd.concat(long, ignore_index=True)
    rows["list_cost"] = rows["tokens"] * rows["price"] / PER
    scale, unmatched = billed_scaling(ledger, book, start, end)
    rows = rows.merge(scale, on=["day", "provider"], how="left")
    rows["source"] = rows["scale"].notna().map({True: "billed", False: "priced"})
    rows["billed"] = rows["list_cost"] * rows["scale"].fillna(1.0)
    rows = rows.sort_values(["day", "provider", "model", "service_tier", "team", "kind"])
    out = [_usage_row(r, config) for r in rows.itertuples(index=False)]
    out += [_unmatched_row(r, config) for r in unmatched.itertuples(index=False)]
    return pd.DataFrame(out, columns=FOCUS_COLUMNS)


def _common(day: dt.date, provider: str, config: Config) -> dict[str, Any]:
    name = PROVIDER_NAMES.get(provider, provider.title() if provider else "Unknown")
    month = day.replace(day=1)
    next_month = (month + dt.timedelta(days=32)).replace(day=1)
    return {
        "BillingAccountId": config.accounting.billing_account_id,
        "BillingAccountName": config.accounting.billing_account_name or "",
        "BillingCurrency": "USD",
        "BillingPeriodStart": _time(month),
        "BillingPeriodEnd": _time(next_month),
        "ChargePeriodStart": _time(day),
        "ChargePeriodEnd": _time(day + dt.timedelta(days=1)),
        "ChargeCategory": "Usage",
        "ChargeClass": "",
        "ChargeFrequency": "Usage-Based",
        "PricingCategory": "Standard",
        "InvoiceIssuerName": name,
        "ProviderName": name,
        "PublisherName": name,
        "ServiceName": f"{name} API",
        "ServiceCategory": "AI and Machine Learning",
        "ServiceSubcategory": "Generative AI",
        "SubAccountId": "",
        "SubAccountName": "",
    }


def _usage_row(r: Any, config: Config) -> dict[str, Any]:
    sku = f"{r.price_model}:{r.kind}"
    return {
        **_common(r.day, r.provider, config),
        "BilledCost": _num(r.billed),
        "EffectiveCost": _num(r.billed),
        "ListCost": _num(r.list_cost),
        "ContractedCost": _num(r.list_cost),
        "ChargeDescription": f"{r.model} {r.kind.replace('_', ' ')} tokens ({r.service_tier})",
        "ConsumedQuantity": str(r.tokens),
        "ConsumedUnit": "Tokens",
        "PricingQuantity": _num(r.tokens / PER),
        "PricingUnit": "1000000 Tokens",
        "ListUnitPrice": _num(r.price),
        "ContractedUnitPrice": _num(r.price),
        "SkuId": sku,
        "SkuPriceId": f"{sku}:{r.service_tier}",
        "Tags": json.dumps({"team": r.team}, sort_keys=True),
        "x_Model": r.model,
        "x_TokenType": r.kind,
        "x_Team": r.team,
        "x_ServiceTier": r.service_tier,
        "x_CostSource": r.source,
    }


def _unmatched_row(r: Any, config: Config) -> dict[str, Any]:
    """A bill for a day with no usage in the ledger: kept, as one row per day and provider,
    so BilledCost still adds up to the bill."""
    amount = _num(r.billed_usd)
    return {
        **_common(r.day, r.provider, config),
        "BilledCost": amount, "EffectiveCost": amount, "ListCost": amount,
        "ContractedCost": amount,
        "ChargeDescription": "billed by the provider; no usage in the ledger for this day",
        "ConsumedQuantity": "", "ConsumedUnit": "", "PricingQuantity": "1",
        "PricingUnit": "Days", "ListUnitPrice": amount, "ContractedUnitPrice": amount,
        "SkuId": f"{r.provider}:unmatched", "SkuPriceId": f"{r.provider}:unmatched",
        "Tags": "{}", "x_Model": "", "x_TokenType": "", "x_Team": "", "x_ServiceTier": "",
        "x_CostSource": "billed",
    }  # fmt: skip


def _time(day: dt.date) -> str:
    return f"{day:%Y-%m-%d}T00:00:00Z"


def _num(value: float) -> str:
    """A plain decimal as FOCUS wants it: no exponent, no thousands separator, no plus sign."""
    text = f"{float(value):.12f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text
