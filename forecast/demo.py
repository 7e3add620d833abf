"""A synthetic organisation's LLM usage: realistic enough to exercise every part of costcast.

Eight teams, thirty features, eight models from three providers, hourly from
``months`` before ``end`` to ``end``: business-hours and weekly cycles,
US holidays, steady growth, and four injected events whose ground truth is
written to ``events.yaml`` so later detection can be tested against it:

- a feature launch with a three-week ramp;
- a retry-loop incident (error rate and request volume jump for three days);
- a prompt that grows slowly longer, with no deployment tag to explain it;
- a provider price cut, written as a price entry in the demo's costcast.yaml.

Same seed and same dates give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from forecast.demo_billed import write_demo_billed
from forecast.demo_outcomes import write_demo_outcomes
from forecast.pricing.book import bundled_entries

MODELS = {
    "gpt-4.1": "openai",
    "gpt-4.1-mini": "openai",
    "gpt-4o-mini": "openai",
    "o4-mini": "openai",
    "claude-sonnet-4": "anthropic",
    "claude-3-5-haiku": "anthropic",
    "gemini-2.5-flash": "google",
    "gemini-2.5-pro": "google",
}


@dataclass(frozen=True)
class Feature:
    team: str
    name: str
    daily_requests: float
    models: tuple[tuple[str, float], ...]  # (model, share of requests)
    input_tokens: float  # per request
    output_tokens: float
    cached_share: float = 0.0  # of input tokens read from the prompt cache
    business: bool = True  # office-hours and weekday pattern, quiet on holidays
    monthly_growth: float = 0.02


# fmt: off
FEATURES = (
    Feature("search", "semantic-search", 9000, (("gpt-4.1-mini", 1.0),), 1800, 220, 0.3, False, 0.03),
    Feature("search", "query-rewrite", 14000, (("gpt-4o-mini", 1.0),), 400, 60, 0.0, False, 0.03),
    Feature("search", "answer-synthesis", 3500, (("gpt-4.1", 0.7), ("claude-sonnet-4", 0.3)), 4200, 450, 0.4, False, 0.04),
    Feature("search", "result-rerank", 6000, (("gemini-2.5-flash", 1.0),), 2500, 40, 0.0, False, 0.02),
    Feature("support", "ticket-triage", 2600, (("claude-3-5-haiku", 1.0),), 1500, 120, 0.2),
    Feature("support", "reply-drafts", 1800, (("claude-sonnet-4", 1.0),), 3200, 600, 0.5),
    Feature("support", "kb-answers", 2200, (("gpt-4.1-mini", 1.0),), 2800, 350, 0.3, False),
    Feature("support", "sentiment-tags", 4000, (("gemini-2.5-flash", 1.0),), 700, 20),
    Feature("sales", "lead-scoring", 900, (("gpt-4.1", 1.0),), 2400, 300),
    Feature("sales", "email-writer", 1200, (("claude-sonnet-4", 1.0),), 1600, 700, 0.1),
    Feature("sales", "call-summaries", 500, (("gemini-2.5-pro", 1.0),), 9000, 900),
    Feature("sales", "crm-enrichment", 1500, (("gpt-4o-mini", 1.0),), 1100, 150),
    Feature("marketing", "ad-copy", 700, (("gpt-4.1", 0.5), ("claude-sonnet-4", 0.5)), 900, 500),
    Feature("marketing", "seo-briefs", 300, (("gemini-2.5-pro", 1.0),), 5000, 1500),
    Feature("marketing", "image-captions", 2000, (("gpt-4.1-mini", 1.0),), 1200, 80),
    Feature("engineering", "code-review", 1400, (("o4-mini", 0.6), ("claude-sonnet-4", 0.4)), 7000, 1100, 0.3),
    Feature("engineering", "test-generation", 600, (("o4-mini", 1.0),), 5000, 2000),
    Feature("engineering", "incident-summaries", 150, (("gpt-4.1", 1.0),), 12000, 800),
    Feature("engineering", "docs-chat", 1000, (("gpt-4.1-mini", 1.0),), 3500, 400, 0.4),
    Feature("data", "sql-assistant", 350, (("gpt-4.1", 1.0),), 3000, 350, 0.2),
    Feature("data", "pipeline-doc", 120, (("gemini-2.5-pro", 1.0),), 8000, 1200),
    Feature("data", "classification-batch", 9000, (("gpt-4o-mini", 1.0),), 600, 15, 0.0, False, 0.05),
    Feature("data", "entity-extraction", 5000, (("gemini-2.5-flash", 1.0),), 1400, 180, 0.0, False),
    Feature("legal", "contract-review", 180, (("claude-sonnet-4", 1.0),), 15000, 1500, 0.2),
    Feature("legal", "clause-search", 400, (("gpt-4.1-mini", 1.0),), 2000, 150),
    Feature("finance", "invoice-parsing", 1100, (("gemini-2.5-flash", 1.0),), 2200, 250),
    Feature("finance", "expense-audit", 250, (("o4-mini", 1.0),), 3500, 900),
    Feature("finance", "forecast-notes", 60, (("claude-sonnet-4", 1.0),), 6000, 1000),
    Feature("people", "hr-helpdesk", 500, (("claude-3-5-haiku", 1.0),), 1800, 300, 0.3),
    Feature("support", "support-copilot", 8000, (("claude-sonnet-4", 1.0),), 2600, 420, 0.4),
)
# fmt: on
LAUNCHED = "support-copilot"
INCIDENT = "ticket-triage"
PROMPT_GROWTH = "contract-review"
PRICE_CUT_MODEL = "gemini-2.5-flash"
USER_FEATURE = "sql-assistant"
BASE_ERROR_RATE = 0.012
# Volumes above are per day at the start; this scales the whole organisation
# to a mid-size company's spend (tens of thousands of dollars a month).
VOLUME_SCALE = 4.0

# US federal holidays that visibly dent business traffic.
_HOLIDAYS = ("01-01", "07-04", "12-24", "12-25", "12-31")


def _thanksgiving(year: int) -> dt.date:
    nov1 = dt.date(year, 11, 1)
    return nov1 + dt.timedelta(days=(3 - nov1.weekday()) % 7 + 21)


def event_dates(start: dt.date, end: dt.date) -> dict[str, dt.date]:
    span = (end - start).days
    return {
        "launch": end - dt.timedelta(days=min(120, span // 3)),
        "incident": start + dt.timedelta(days=int(span * 0.55)),
        "price_cut": end - dt.timedelta(days=min(150, span // 2)),
    }


# Long on purpose: the demo organisation's story, event by event, in one place.
def generate(seed: int, start: dt.date, end: dt.date) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Hourly canonical usage rows and the ground truth of the injected events."""
    rng = np.random.default_rng(seed)
    hours = pd.date_range(start, end + dt.timedelta(days=1), freq="h", inclusive="left", tz="UTC")
    n = len(hours)
    days_in = np.asarray((hours - hours[0]) / pd.Timedelta(days=1), dtype=float)
    dates = hours.date
    weekday = hours.day_of_week.to_numpy()
    hour = hours.hour.to_numpy()
    holidays = {
        dt.date(y, int(md[:2]), int(md[3:]))
        for y in range(start.year, end.year + 1)
        for md in _HOLIDAYS
    }
    holidays |= {_thanksgiving(y) for y in range(start.year, end.year + 1)}
    is_holiday = np.array([d in holidays for d in dates])
    # Working hours centred on 15:00 UTC (Europe afternoon, US morning).
    office = 0.15 + np.exp(-0.5 * ((hour - 15) / 3.5) ** 2)
    always_on = 0.6 + 0.4 * np.exp(-0.5 * ((hour - 16) / 5.0) ** 2)
    events = event_dates(start, end)
    truth: dict[str, Any] = {"seed": seed, "start": str(start), "end": str(end), "events": []}

    frames = []
    for f in FEATURES:
        shape = office if f.business else always_on
        shape = shape / shape.mean()
        week = np.where(weekday >= 5, 0.25 if f.business else 0.85, 1.0)
        holiday = np.where(is_holiday, 0.35 if f.business else 0.9, 1.0)
        growth = (1 + f.monthly_growth) ** (days_in / 30.4)
        # Day-level noise shared by all hours of a day: real traffic drifts by day.
        day_index = (days_in // 1).astype(int)
        day_noise = rng.lognormal(0.0, 0.12, size=day_index.max() + 1)[day_index]
        rate = VOLUME_SCALE * f.daily_requests / 24 * shape * week * holiday * growth * day_noise
        error_rate = np.full(n, BASE_ERROR_RATE)
        input_per_request = np.full(n, float(f.input_tokens))
        if f.name == LAUNCHED:
            since = (hours.tz_localize(None) - pd.Timestamp(events["launch"])) / pd.Timedelta(
                days=1
            )
            ramp = np.clip(np.asarray(since, dtype=float) / 21.0, 0.0, 1.0)
            rate = rate * ramp / growth  # a new feature: no history of growth before launch
            truth["events"].append(
                {
                    "kind": "launch",
                    "team": f.team,
                    "feature": f.name,
                    "model": f.models[0][0],
                    "start": str(events["launch"]),
                    "ramp_days": 21,
                    "requests_per_day": VOLUME_SCALE * f.daily_requests,
                }
            )
        if f.name == INCIDENT:
            lo = pd.Timestamp(events["incident"], tz="UTC")
            hit = (hours >= lo) & (hours < lo + pd.Timedelta(days=3))
            rate = np.where(hit, rate * 4.0, rate)
            error_rate = np.where(hit, 0.35, error_rate)
            truth["events"].append(
                {
                    "kind": "retry_incident",
                    "team": f.team,
                    "feature": f.name,
                    "start": str(events["incident"]),
                    "end": str(events["incident"] + dt.timedelta(days=3)),
                    "request_multiplier": 4.0,
                    "error_rate": 0.35,
                }
            )
        if f.name == PROMPT_GROWTH:
            total_days = max(days_in[-1], 1.0)
            input_per_request = f.input_tokens * (1 + 0.6 * days_in / total_days)
            truth["events"].append(
                {
                    "kind": "prompt_growth",
                    "team": f.team,
                    "feature": f.name,
                    "start": str(start),
                    "end": str(end),
                    "input_tokens_start": f.input_tokens,
                    "input_tokens_end": round(f.input_tokens * 1.6),
                }
            )
        deployment = _deployments(f.name, days_in)
        for model, share in f.models:
            requests = rng.poisson(rate * share)
            frames.append(
                _rows(rng, f, model, hours, requests, error_rate, input_per_request, deployment)
            )
    truth["events"].append(
        {
            "kind": "price_cut",
            "provider": MODELS[PRICE_CUT_MODEL],
            "model": PRICE_CUT_MODEL,
            "start": str(events["price_cut"]),
            "discount": 0.4,
        }
    )
    usage = pd.concat(frames, ignore_index=True)
    order = ["timestamp", "team", "feature", "model", "status", "user"]
    return usage.sort_values(order, kind="stable").reset_index(drop=True), truth


def _deployments(feature: str, days_in: np.ndarray) -> np.ndarray:
    if feature == PROMPT_GROWTH:  # ships untagged: nothing in the ledger explains its growth
        return np.full(len(days_in), "")
    # A new release roughly every six weeks; the offset differs per feature.
    offset = sum(map(ord, feature)) % 42
    release = ((days_in + offset) // 42).astype(int)
    return np.char.add(f"{feature}@v1.", release.astype(str))


def _rows(
    rng: np.random.Generator,
    f: Feature,
    model: str,
    hours: pd.DatetimeIndex,
    requests: np.ndarray,
    error_rate: np.ndarray,
    input_per_request: np.ndarray,
    deployment: np.ndarray,
) -> pd.DataFrame:
    errors = rng.binomial(requests, error_rate)
    ok = requests - errors
    jitter = rng.lognormal(0.0, 0.08, size=len(hours))
    inp = input_per_request * jitter
    out = f.output_tokens * rng.lognormal(0.0, 0.1, size=len(hours))
    # Anthropic prompts write to the cache now and then; reads are the bulk.
    write_share = 0.03 if MODELS[model] == "anthropic" and f.cached_share else 0.0
    parts = []
    for status, count, out_scale in (("success", ok, 1.0), ("error", errors, 0.05)):
        keep = count > 0
        if not keep.any():
            continue
        c = count[keep]
        input_tokens = np.round(c * inp[keep]).astype(np.int64)
        cached = np.round(input_tokens * f.cached_share).astype(np.int64)
        write = np.round(input_tokens * write_share).astype(np.int64)
        frame = pd.DataFrame(
            {
                "timestamp": hours[keep].strftime("%Y-%m-%dT%H:%M:%SZ"),
                "bucket": "1h",
                "team": f.team,
                "feature": f.name,
                "model": model,
                "provider": MODELS[model],
                "status": status,
                "requests": c,
                "input_tokens": input_tokens,
                "cached_input_tokens": cached,
                "cache_write_tokens": write,
                "output_tokens": np.round(c * out[keep] * out_scale).astype(np.int64),
                "user": "",
                "deployment": deployment[keep],
            }
        )
        if f.name == USER_FEATURE:
            frame = _split_users(rng, frame)
        parts.append(frame)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _split_users(rng: np.random.Generator, frame: pd.DataFrame) -> pd.DataFrame:
    """One row per hour and analyst: a few heavy users carry most requests (Zipf-like)."""
    users = [f"analyst-{i:02d}" for i in range(1, 26)]
    weights = 1.0 / np.arange(1, len(users) + 1) ** 1.1
    weights /= weights.sum()
    pieces = []
    for row in frame.itertuples(index=False):
        counts = rng.multinomial(row.requests, weights)
        for user, k in zip(users, counts, strict=True):
            if k == 0:
                continue
            share = k / row.requests
            rec = row._asdict()
            rec.update(
                user=user,
                requests=int(k),
                input_tokens=int(np.rint(row.input_tokens * share)),
                cached_input_tokens=int(np.rint(row.cached_input_tokens * share)),
                cache_write_tokens=int(np.rint(row.cache_write_tokens * share)),
                output_tokens=int(np.rint(row.output_tokens * share)),
            )
            rec["cached_input_tokens"] = min(rec["cached_input_tokens"], rec["input_tokens"])
            pieces.append(rec)
    return pd.DataFrame(pieces, columns=frame.columns)


FISCAL_YEAR_START = 2  # February, so fiscal quarters differ visibly from calendar ones


def demo_budgets(usage: pd.DataFrame, end: dt.date) -> list[dict[str, Any]]:
    """Budgets for this and next fiscal quarter: the last 91 days' spend plus 10%, in
    thousands, for the organisation and its two largest teams (priced at list prices)."""
    from forecast.fiscal import FiscalCalendar
    from forecast.pricing import load_price_book

    book = load_price_book()
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


def demo_config(truth: dict[str, Any], start: dt.date) -> dict[str, Any]:
    """costcast.yaml for the demo: the price cut, and backfilled prices for models the
    synthetic history uses before their real release."""
    cut = next(e for e in truth["events"] if e["kind"] == "price_cut")
    entries = []
    book = bundled_entries()
    for model in MODELS:
        first = min(
            (e for e in book if e.model == model and e.tier == "standard"),
            key=lambda e: e.effective,
        )
        if first.effective > start:
            entries.append(
                first.model_dump(exclude_none=True, mode="json")
                | {"effective": str(start), "source": "demo: synthetic history predates release"}
            )
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


def write_demo_data(out_dir: str | Path, *, seed: int, months: int, end: dt.date) -> list[Path]:
    """Monthly usage CSV, billed costs, outcomes, events.yaml (ground truth), costcast.yaml."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = (pd.Timestamp(end) - pd.DateOffset(months=months) + pd.Timedelta(days=1)).date()
    usage, truth = generate(seed, start, end)
    written = []
    month = usage["timestamp"].str.slice(0, 7)
    for key, part in usage.groupby(month, sort=True):
        path = out_dir / f"usage-{key}.csv"
        part.to_csv(path, index=False)
        written.append(path)
    settings = demo_config(truth, start) | {"budgets": demo_budgets(usage, end)}
    billed, gap = write_demo_billed(out_dir, usage, settings["prices"]["entries"], end)
    outcomes = write_demo_outcomes(out_dir, usage, truth, seed)
    truth["events"].append(gap)
    (events := out_dir / "events.yaml").write_text(yaml.safe_dump(truth, sort_keys=False))
    config = out_dir / "costcast.yaml"
    settings |= _kept_api(config)
    config.write_text(
        "# Demo configuration written by `costcast demo-data`.\n"
        + yaml.safe_dump(settings, sort_keys=False)
    )
    return [*written, *billed, outcomes, events, config]


def _kept_api(config: Path) -> dict[str, Any]:
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
