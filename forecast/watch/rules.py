"""Alert rules (``alerts:`` in costcast.yaml) and what each one asks of an hour.

Every rule looks at each scope (by default a team's feature) hour by hour, using only the
hours before it, so a replay of history raises what a watch running then would have:

- ``hourly_spike``: the hour's cost is above its seasonal baseline (the median of the same
  hour of the week over the preceding ``weeks``; of the same hour of the day over the last
  7 days while fewer weeks are known) by more than ``rise`` (30%), by more than ``spread``
  robust standard deviations of those same hours (1.4826 x their median absolute
  deviation: a scope whose hours swing widely must swing further), and by at least
  ``min_increase_usd``, so that noise on small amounts does not fire;
- ``failures``: the failed share of requests over the last ``hours`` (3) is above
  ``max_share`` (5%) with at least ``min_requests`` requests in them, and so far above it
  that chance does not explain it: the one-sided ``confidence`` (95%) Wilson lower bound of
  the share is above ``max_share`` too (0: the share alone). Failures come in clumps, and
  on the demo 35 alerts in 14 months were 5-7% of a few hundred requests; with the bound,
  only the retry-loop incident (17% of thousands) fires, in the same hour;
- ``unpriced``: the hour has usage the price book cannot price (``value``: its rows). Its
  cost is unknown, and every cost rule above reads it as nothing: this says so.

- ``token_inflation``: input tokens per request over the last ``window_hours`` (24) are
  more than ``max_rise`` (25%) above their level in the ``baseline_days`` (7) after the
  scope's last deployment (a value of the usage's ``deployment`` column, starting at its
  first hour) or, where none is known, after its first day of usage; not while a
  deployment is younger than that baseline (it explains a change until its own level is
  known), and only over ``min_requests`` requests; and by more than ``spread`` (3) robust
  standard deviations of that baseline's daily levels (each 24 hours from its start), as a
  scope whose prompts swing day to day must swing further: on the ServeGen clients, whose
  lengths change with the hour's mix of callers, this took the second week's inflation
  alerts from 183 to 97 on 380 scopes. Once open, it counts as clear only where the rise
  is back under ``recover_rise`` (15%; with a wider threshold, the same share of it).

An hour's condition holding opens an alert; it resolves once the condition has been clear
for ``clear_hours`` (3) hours in a row (a rule's own ``clear_hours`` overrides it), so
that a condition that flickers is one alert; a spike alert after
``hourly_spike.clear_hours`` (24), as a scope's cost that returns the next working day
would otherwise fire again each morning (on the demo, a launch's ramp raised 18 spike
alerts in 19 days). So that a long-open spike alert does not hide a
larger incident on its scope, it escalates: an hour whose excess over the baseline is
``escalate`` (2) times the excess the alert fired with closes it at that hour and fires a
new one. On the bursty ServeGen clients the two took alerts from 2.5 to 1.6 a
client-week, and the 2x spikes that open (or escalate) an alert from 48% to 49%.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from forecast.schema import DIMENSIONS
from forecast.watch.deliver import Target

WEEK_HOURS = 168
MAD_TO_SD = 1.4826


class HourlyRule(BaseModel):
    """What every rule judged hour by hour has: whether it runs, and the clear hours in a
    row that resolve its alert (None: the section's ``clear_hours``)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    clear_hours: int | None = Field(default=None, ge=1, le=168)


class SpikeRule(HourlyRule):
    rise: float = Field(default=0.30, gt=0, le=100)
    spread: float = Field(default=3.0, ge=0, le=100)
    min_increase_usd: float = Field(default=5.0, ge=0, le=1e9)
    weeks: int = Field(default=4, ge=1, le=52)
    # a spike alert stays open until a whole day passes without a hot hour: cost that
    # returns with the next working day (a launch ramping up, a bursty client) is the same
    # alert, not one a day
    clear_hours: int | None = Field(default=24, ge=1, le=168)
    # an open spike alert escalates (it is closed and a new one fires) when an hour's excess
    # over its baseline is this many times the excess it fired with: a day-long alert would
    # otherwise hide a larger incident on the same scope (0: never)
    escalate: float = Field(default=2.0, ge=0, le=1000)


class FailureRule(HourlyRule):
    max_share: float = Field(default=0.05, gt=0, lt=1)
    hours: int = Field(default=3, ge=1, le=168)
    min_requests: int = Field(default=100, ge=1)
    # how sure the share is above max_share (its Wilson lower bound is); 0: the share alone
    confidence: float = Field(default=0.95, ge=0, lt=1)


class InflationRule(HourlyRule):
    max_rise: float = Field(default=0.25, gt=0, le=100)
    # and by more than this many robust standard deviations of the baseline's daily levels
    spread: float = Field(default=3.0, ge=0, le=100)
    window_hours: int = Field(default=24, ge=1, le=24 * 31)
    baseline_days: int = Field(default=7, ge=1, le=90)
    min_requests: int = Field(default=100, ge=1)
    # An open alert clears only once the rise is back under this: a slow drift hovers at
    # the threshold for weeks, and without the gap it would fire and clear every few hours.
    recover_rise: float = Field(default=0.15, ge=0, le=100)

    def model_post_init(self, context: object) -> None:
        if self.recover_rise > self.max_rise:
            raise ValueError(f"recover_rise ({self.recover_rise}) cannot pass max_rise "
                             f"({self.max_rise})")  # fmt: skip


class UnpricedRule(HourlyRule):
    """Nothing to set but whether it runs and how it clears."""


class BudgetRule(BaseModel):
    """``budget_spent_<level>``, ``budget_landing_<level>``, ``budget_forecast_<level>`` and
    ``budget_at_risk`` alerts (see ``budgets``)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    levels: list[float] = Field(default_factory=lambda: [0.85, 0.90], min_length=1)
    forecast: bool = True  # also judge the latest forecast run's landing (P50, p_exceed)
    max_p_exceed: float = Field(default=0.2, gt=0, le=1)

    def model_post_init(self, context: object) -> None:
        if any(not 0 < level <= 10 for level in self.levels):
            raise ValueError(f"levels are shares of the budget above 0; got {self.levels}")


class AlertRules(BaseModel):
    """The ``alerts:`` section: which rules run, on which scope, with which thresholds."""

    model_config = ConfigDict(extra="forbid")

    by: list[str] = Field(default_factory=lambda: ["team", "feature"])
    # an alert resolves once its rule has been clear this many hours in a row
    clear_hours: int = Field(default=3, ge=1, le=168)
    hourly_spike: SpikeRule = Field(default_factory=SpikeRule)
    failures: FailureRule = Field(default_factory=FailureRule)
    token_inflation: InflationRule = Field(default_factory=InflationRule)
    unpriced: UnpricedRule = Field(default_factory=UnpricedRule)
    budget: BudgetRule = Field(default_factory=BudgetRule)
    deliver: list[Target] = Field(default_factory=list)  # webhooks new and resolved alerts go to

    def clear_hours_of(self, rule: str) -> int:
        """How many clear hours in a row resolve an alert of ``rule``."""
        own: int | None = getattr(self, rule).clear_hours
        return self.clear_hours if own is None else own

    def escalation_of(self, rule: str) -> float:
        """How many times its first excess an hour's must be to escalate an open alert of
        ``rule`` (0: it never does; only spike alerts escalate)."""
        return float(getattr(getattr(self, rule), "escalate", 0.0))

    def model_post_init(self, context: object) -> None:
        unknown = [k for k in self.by if k not in DIMENSIONS]
        if unknown or not self.by:
            raise ValueError(f"by must name some of {', '.join(DIMENSIONS)}; got {self.by}")


@dataclass
class Verdict:
    """One rule over (hours, scopes): where it holds, the value and the threshold."""

    holds: np.ndarray  # bool
    value: np.ndarray
    threshold: np.ndarray
    baseline: np.ndarray  # what the value is compared with (NaN where not applicable)
    clears: np.ndarray | None = None  # where an open alert counts as clear; None: ~holds

    @property
    def excess(self) -> np.ndarray:
        """How far the value is above its baseline (what a spike alert escalates on)."""
        return np.asarray(self.value - self.baseline)


def seasonal_baseline(cost: np.ndarray, weeks: int) -> tuple[np.ndarray, np.ndarray]:
    """(median, robust sd) of the same hour of the week over the preceding ``weeks`` (at
    least two known), else of the same hour of the day over the last 7 days (at least
    three); NaN where neither is known. ``cost`` is (hours, scopes), hour 0 the oldest."""
    weekly = _lagged(cost, WEEK_HOURS, weeks)
    daily = _lagged(cost, 24, 7)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: young scopes
        med_w = np.nanmedian(weekly, axis=0)
        sd_w = MAD_TO_SD * np.nanmedian(np.abs(weekly - med_w), axis=0)
        med_d = np.nanmedian(daily, axis=0)
        sd_d = MAD_TO_SD * np.nanmedian(np.abs(daily - med_d), axis=0)
    enough_w = np.sum(~np.isnan(weekly), axis=0) >= 2
    enough_d = np.sum(~np.isnan(daily), axis=0) >= 3
    median = np.where(enough_w, med_w, np.where(enough_d, med_d, np.nan))
    sd = np.where(enough_w, sd_w, np.where(enough_d, sd_d, np.nan))
    return median, sd


def _lagged(values: np.ndarray, step: int, count: int) -> np.ndarray:
    """(count, hours, scopes): the value ``k * step`` hours earlier, k = 1..count; NaN before
    the first hour."""
    out = np.full((count, *values.shape), np.nan)
    for k in range(1, count + 1):
        lag = k * step
        if lag < len(values):
            out[k - 1, lag:] = values[:-lag]
    return out


def hourly_spike(cost: np.ndarray, rule: SpikeRule) -> Verdict:
    median, sd = seasonal_baseline(cost, rule.weeks)
    rise = np.maximum.reduce([rule.rise * median, rule.spread * sd,
                              np.full_like(median, rule.min_increase_usd)])  # fmt: skip
    threshold = median + rise
    with np.errstate(invalid="ignore"):
        holds = ~np.isnan(median) & (cost > threshold)
    return Verdict(holds, cost, threshold, median)


def failures(requests: np.ndarray, failed: np.ndarray, rule: FailureRule) -> Verdict:
    """Failed share over the trailing ``hours`` (this one included)."""
    total, bad = _trailing_sum(requests, rule.hours), _trailing_sum(failed, rule.hours)
    with np.errstate(all="ignore"):
        share = np.where(total > 0, bad / total, 0.0)
    holds = (total >= rule.min_requests) & (share > rule.max_share)
    if rule.confidence > 0:
        holds &= wilson_lower(share, total, rule.confidence) > rule.max_share
    return Verdict(holds, share, np.full_like(share, rule.max_share), np.full_like(share, np.nan))


def wilson_lower(share: np.ndarray, n: np.ndarray, confidence: float) -> np.ndarray:
    """The one-sided ``confidence`` lower bound of a binomial share seen in ``n`` trials
    (Wilson's score interval; 0 where there were none)."""
    z = NormalDist().inv_cdf(confidence)
    with np.errstate(all="ignore"):
        n = np.asarray(n, dtype=float)
        centre = share + z * z / (2 * n)
        spread = z * np.sqrt(share * (1 - share) / n + z * z / (4 * n * n))
        bound = (centre - spread) / (1 + z * z / n)
    return np.where(n > 0, bound, 0.0)


def unpriced(rows: np.ndarray) -> Verdict:
    """Holds in every hour with rows the book cannot price."""
    zero = np.zeros_like(rows)
    return Verdict(rows > 0, rows, zero, np.full_like(rows, np.nan))


def _trailing_sum(values: np.ndarray, hours: int) -> np.ndarray:
    """Sum over each hour and the ``hours - 1`` before it (fewer at the start)."""
    running = np.cumsum(values, axis=0)
    out = running.copy()
    out[hours:] -= running[:-hours]
    return out


def token_inflation(
    inputs: np.ndarray, requests: np.ndarray, baseline: np.ndarray, rule: InflationRule,
    noise: np.ndarray,
) -> Verdict:  # fmt: skip
    """Trailing input tokens per request against ``baseline`` (per hour and scope; NaN
    where no baseline holds, e.g. a deployment still young), whose daily levels swung by
    ``noise`` (a robust standard deviation; NaN counts as none)."""
    tokens, calls = (
        _trailing_sum(inputs, rule.window_hours),
        _trailing_sum(requests, rule.window_hours),
    )
    swing = rule.spread * np.nan_to_num(noise)
    with np.errstate(all="ignore"):
        per_request = np.where(calls > 0, tokens / calls, np.nan)
        threshold = np.maximum(baseline * (1 + rule.max_rise), baseline + swing)
        holds = (calls >= rule.min_requests) & (per_request > threshold)
        # back under the same share of the way to the threshold: 15% of 25% by default
        high = per_request > baseline + (threshold - baseline) * (rule.recover_rise
                                                                  / rule.max_rise)  # fmt: skip
    return Verdict(holds & ~np.isnan(baseline), per_request, threshold, baseline,
                   clears=~(high & ~np.isnan(baseline)))  # fmt: skip
