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
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from forecast.demo_billed import write_demo_billed
from forecast.demo_config import demo_budgets, demo_config, kept_api
from forecast.demo_org import (
    BASE_ERROR_RATE,
    FEATURES,
    INCIDENT,
    LAUNCHED,
    MODELS,
    PRICE_CUT_MODEL,
    PROMPT_GROWTH,
    USER_FEATURE,
    VOLUME_SCALE,
    Feature,
)
from forecast.demo_outcomes import write_demo_outcomes
from forecast.errors import CostcastError

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


def write_demo_data(out_dir: str | Path, *, seed: int, months: int, end: dt.date) -> list[Path]:
    """Monthly usage CSV, billed costs, outcomes, events.yaml (ground truth), costcast.yaml."""
    if seed < 0:
        raise CostcastError("the seed is a whole number, 0 or more", param="seed", value=seed)
    out_dir = Path(out_dir)
    try:
        if out_dir.exists() and not out_dir.is_dir():  # said before the history is made
            raise CostcastError(f"{out_dir} is a file, not a folder", param="out",
                                value=str(out_dir))  # fmt: skip
        start = (pd.Timestamp(end) - pd.DateOffset(months=months) + pd.Timedelta(days=1)).date()
        usage, truth = generate(seed, start, end)  # no I/O: an OSError is the folder's
        return _write(out_dir, usage, truth, seed, start, end)
    except OSError as exc:  # a name too long, a folder it cannot make or write in, a full disk
        raise CostcastError(f"cannot write into {out_dir}: {exc.strerror or exc}", param="out",
                            value=str(out_dir)) from None  # fmt: skip


def _write(out_dir: Path, usage: pd.DataFrame, truth: dict[str, Any], seed: int,
           start: dt.date, end: dt.date) -> list[Path]:  # fmt: skip
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    month = usage["timestamp"].str.slice(0, 7)
    for key, part in usage.groupby(month, sort=True):
        path = out_dir / f"usage-{key}.csv"
        part.to_csv(path, index=False)
        written.append(path)
    settings = demo_config(truth, start) | {"budgets": demo_budgets(usage, start, end)}
    billed, gap = write_demo_billed(out_dir, usage, settings["prices"]["entries"], end)
    outcomes = write_demo_outcomes(out_dir, usage, truth, seed)
    truth["events"].append(gap)
    (events := out_dir / "events.yaml").write_text(yaml.safe_dump(truth, sort_keys=False))
    config = out_dir / "costcast.yaml"
    settings |= kept_api(config)
    config.write_text(
        "# Demo configuration written by `costcast demo-data`.\n"
        + yaml.safe_dump(settings, sort_keys=False)
    )
    return [*written, *billed, outcomes, events, config]
