"""Evaluate a scenario against a saved forecast run, without refitting anything.

The baseline run's series become *streams*: volume paths (path x day),
token intensity per kind, failure rate and price per kind per day. Each
change transforms streams (scales volume, moves it to another model, edits
prices or intensities) from its start day, ramping in linearly. Cost is
recomputed as volume x intensity x price. Uncertain inputs ``{low, likely,
high}`` are drawn per sample path (PERT), once, so every evaluation sees the
same draws. Each change's share of the difference is its Shapley value: the
average, over every order of the changes, of what it adds, so shares add up to
the total difference and do not depend on how independent changes are listed.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from forecast.aggregate import period_coverage
from forecast.errors import LedgerError, ScenarioError
from forecast.fiscal import FiscalCalendar
from forecast.ledger import Ledger
from forecast.periods import exceed_share, period_totals
from forecast.pricing.book import PRICE_COLUMNS, PriceBook
from forecast.runstore import (
    ForecastRun,
    load_actuals,
    load_intensity,
    load_paths,
    load_prices,
    series_rows,
)
from forecast.scenario.changes import Range
from forecast.scenario.schema import Scenario, ScenarioBudget
from forecast.scenario.streams import Context, Stream
from forecast.series import kind_prices

Costs = dict[int, np.ndarray]  # id of a stream -> its cost, (paths, days)

EXACT_SHAPLEY_MAX = 10


@dataclass
class Baseline:
    run: ForecastRun
    days: pd.DatetimeIndex
    streams: list[Stream]
    actuals: pd.DataFrame  # team, feature, model, ds, cost (history the run saw)


def load_baseline(ledger: Ledger, run: ForecastRun, book: PriceBook) -> Baseline:
    days = pd.date_range(run.start, run.horizon_end, freq="D")
    d = len(days)
    series = series_rows(ledger, run.run_id)
    keys, volumes = load_paths(ledger, run.run_id, "volume")
    if list(keys.itertuples(index=False, name=None)) != list(
        series[["team", "feature", "model"]].itertuples(index=False, name=None)
    ):
        raise LedgerError(f"run {run.run_id} is incomplete: its paths do not match its series")
    intensity = load_intensity(ledger, run.run_id)
    kept = load_prices(ledger, run.run_id)  # the run's own prices: a later book edit is not in
    streams = []
    prices: dict[tuple[Any, ...], dict[str, Any]] = {}  # most series share a model and tier mix
    for i, row in enumerate(series.itertuples(index=False)):
        tiers = json.loads(row.tiers)
        key = (row.team, row.feature, row.model) if kept else (row.model, row.tiers)
        if key not in prices:
            # runs saved before runs kept their prices are priced with today's book
            prices[key] = kept.get(key) or kind_prices(book, row.model, tiers, days)
        # runs before intensity was forecast kept one number per kind
        per_day = intensity.get((row.team, row.feature, row.model)) or {
            k: np.full(d, getattr(row, k)) for k in PRICE_COLUMNS
        }
        streams.append(
            Stream(
                row.team, row.feature, row.model, volumes[i], dict(per_day),
                np.full(d, row.failure_rate), dict(prices[key]), tiers,
            )
        )  # fmt: skip
    actuals = load_actuals(ledger, run.run_id)
    return Baseline(run, days, streams, actuals)


def pert(value: float | Range, rng: np.random.Generator, n: int) -> np.ndarray | float:
    """A fixed number as is; a range as n PERT draws (shape (n, 1), one per path)."""
    if not isinstance(value, Range):
        return value
    low, likely, high = value.low, value.likely, value.high
    if high == low:
        return float(low)
    alpha = 1 + 4 * (likely - low) / (high - low)
    beta = 1 + 4 * (high - likely) / (high - low)
    return (low + (high - low) * rng.beta(alpha, beta, size=n))[:, None]


class _Applier:
    """Applies one scenario's changes; draws every uncertain number once."""

    def __init__(self, baseline: Baseline, scenario: Scenario, book: PriceBook, seed: int) -> None:
        self.baseline = baseline
        self.scenario = scenario
        n = baseline.run.n_paths
        self.context = Context(baseline.days, n, book)
        rng = np.random.default_rng(seed)
        self.values = [
            {name: pert(getattr(change, name), rng, n) for name in type(change).model_fields}
            for change in scenario.changes
        ]
        self.weights = [change.weight(baseline.days) for change in scenario.changes]
        # Only series some change can reach are recomputed per evaluation; the rest cost
        # the same in every subset of changes.
        reach = [
            any(c.targets([s], self.context) for c in scenario.changes) for s in baseline.streams
        ]
        self.touched = [s for s, r in zip(baseline.streams, reach, strict=True) if r]
        self.untouched = [s for s, r in zip(baseline.streams, reach, strict=True) if not r]
        self.untouched_total = _total(self.untouched)

    def apply(
        self,
        subset: set[int],
        streams: list[Stream] | None = None,
        launches: set[int] | None = None,
    ) -> list[Stream]:
        """The reachable streams (or ``streams``) after the changes in ``subset``, in file
        order; ``launches`` limits which launch changes add their stream."""
        return self.acting(subset, streams, launches)[0]

    def acting(
        self,
        subset: set[int] | range,
        streams: list[Stream] | None = None,
        launches: set[int] | None = None,
    ) -> tuple[list[Stream], set[int]]:
        """``apply``, and which of the changes acted (found streams, or added one)."""
        out = list(self.touched if streams is None else streams)
        acted = set()
        for index, change in enumerate(self.scenario.changes):
            if index not in subset or (
                change.adds and launches is not None and index not in launches
            ):
                continue
            if change.adds or change.targets(out, self.context):
                acted.add(index)
                out = change.apply(out, self.values[index], self.weights[index], self.context)
        return out, acted


def _total(streams: list[Stream]) -> np.ndarray:
    """Total cost over the horizon, per path (a 0-d zero without streams)."""
    return np.asarray(sum((s.total() for s in streams), 0.0), dtype=float)


def shapley(applier: _Applier) -> list[float]:
    """Each change's Shapley value for the mean total cost.

    The total is a sum over origins: each reachable baseline series (with whatever
    changes split off it, such as a routed share) and each launched feature. A change
    that never touches an origin is a null player in that origin's game, so each
    origin's game is played only among the changes that reach it, and the values,
    being linear in the game, add up across origins. Exact up to ten changes per
    origin, 200 random orders beyond.
    """
    changes = applier.scenario.changes
    everything = set(range(len(changes)))
    launched = [i for i, c in enumerate(changes) if c.adds]
    origins: list[tuple[list[Stream], set[int]]] = [([s], set()) for s in applier.touched]
    origins += [([], {i}) for i in launched]
    phi = [0.0] * len(changes)
    for streams, launches in origins:
        # the changes that reach this origin at all, with every change in play
        players = sorted(applier.acting(everything, streams, launches)[1])
        if not players:
            continue
        cache: dict[frozenset[int], float] = {}

        def value(
            subset: frozenset[int],
            streams: list[Stream] = streams,
            launches: set[int] = launches,
            cache: dict[frozenset[int], float] = cache,
        ) -> float:
            if subset not in cache:
                total = _total(applier.apply(set(subset), streams, launches))
                cache[subset] = float(np.mean(total))
            return cache[subset]

        for i, share in _shapley_values(players, value).items():
            phi[i] += share
    return phi


def _shapley_values(
    players: list[int], value: Callable[[frozenset[int]], float]
) -> dict[int, float]:
    n = len(players)
    phi = dict.fromkeys(players, 0.0)
    if n <= EXACT_SHAPLEY_MAX:
        for i in players:
            others = [j for j in players if j != i]
            for size in range(n):
                weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
                for subset in itertools.combinations(others, size):
                    s = frozenset(subset)
                    phi[i] += weight * (value(s | {i}) - value(s))
        return phi
    rng = np.random.default_rng(0)
    orders = 200
    for _ in range(orders):
        current: frozenset[int] = frozenset()
        for i in rng.permutation(players):
            phi[int(i)] += (value(current | {int(i)}) - value(current)) / orders
            current = current | {int(i)}
    return phi


@dataclass
class ScenarioResult:
    scenario: Scenario
    baseline_run: str
    totals: dict[str, Any]
    periods: pd.DataFrame
    changes: list[dict[str, Any]]
    budget: dict[str, Any] | None
    warnings: list[str]
    daily: dict[str, Any]  # for charts: baseline and scenario daily total quantiles

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.scenario.name,
            "baseline_run": self.baseline_run,
            "totals": self.totals,
            "periods": json.loads(self.periods.to_json(orient="records")),
            "changes": self.changes,
            "budget": self.budget,
            "warnings": self.warnings,
        }


def _stats(values: np.ndarray) -> dict[str, Any]:
    p10, p50, p90 = np.quantile(values, [0.1, 0.5, 0.9])
    return {"mean": float(values.mean()), "p10": float(p10), "p50": float(p50), "p90": float(p90)}


# Long on purpose: totals, periods, budget and charts share one cost array per stream, computed once here.
def evaluate(
    ledger: Ledger,
    run: ForecastRun,
    book: PriceBook,
    scenario: Scenario,
    calendar: FiscalCalendar,
    seed: int = 0,
) -> ScenarioResult:
    baseline = load_baseline(ledger, run, book)
    applier = _Applier(baseline, scenario, book, seed)
    notes = []
    for index, change in enumerate(scenario.changes):
        if change.start < run.start:
            notes.append(
                f"changes[{index}] ({change.kind}) starts {change.start}, before the baseline's "
                f"first forecast day {run.start}: applied from {run.start}"
            )
    changed, acted = applier.acting(range(len(scenario.changes)))
    full = applier.untouched + changed
    for index, change in enumerate(scenario.changes):
        if index not in acted:
            scope = ", ".join(f"{k}={getattr(change, k)}" for k in ("team", "feature", "model")
                              if getattr(change, k, None) is not None)  # fmt: skip
            raise ScenarioError(
                f"{change.kind} matches no series of baseline {run.run_id}"
                + (f" ({scope})" if scope else ""),
                field=f"changes[{index}]",
                hint="check the names against costcast runs show " + run.run_id,
            )
    base_streams = baseline.streams
    base_total = applier.untouched_total + _total(applier.touched)
    scen_total = applier.untouched_total + _total(full[len(applier.untouched) :])
    phi = shapley(applier)
    delta_mean = float((scen_total - base_total).mean())
    changes = [
        {"kind": c.kind, "delta_mean": phi[i],
         "share": phi[i] / delta_mean if abs(delta_mean) > 1e-12 else None}
        for i, c in enumerate(scenario.changes)
    ]  # fmt: skip
    horizon_days = len(baseline.days)
    totals = {
        "baseline": _stats(base_total),
        "scenario": _stats(scen_total),
        "delta": _stats(scen_total - base_total),
        "days": horizon_days,
        "annualized_delta_mean": delta_mean * 365 / horizon_days,
    }
    # each stream's (paths, days) cost, once: periods, budget and charts all sum it
    costs = {id(st): st.cost() for st in [*base_streams, *full]}
    periods = _periods(baseline, base_streams, full, calendar, costs)
    for freq in ("month", "quarter"):
        rows = periods["freq"] == freq
        labels = list(dict.fromkeys(periods.loc[rows, "period"]))
        covered = period_coverage(ledger, run, labels, freq, calendar)
        days = {p: c[0] for p, c in covered.items()}
        partial = {p: c[0] < c[1] for p, c in covered.items()}
        periods.loc[rows, "days"] = periods.loc[rows, "period"].map(days)
        periods.loc[rows, "partial"] = periods.loc[rows, "period"].map(partial)
    periods = periods.astype({"days": int, "partial": bool})
    budget = None
    if scenario.budget is not None:
        budget = _budget(baseline, base_streams, full, calendar, scenario.budget, costs)
    daily = {
        "days": [d.date().isoformat() for d in baseline.days],
        "baseline": np.quantile(
            sum(costs[id(st)] for st in base_streams), [0.1, 0.5, 0.9], axis=0
        ).tolist(),
        "scenario": np.quantile(
            sum(costs[id(st)] for st in full), [0.1, 0.5, 0.9], axis=0
        ).tolist(),
    }
    return ScenarioResult(scenario, run.run_id, totals, periods, changes, budget, notes, daily)


def _period_sums(
    baseline: Baseline, streams: list[Stream], calendar: FiscalCalendar, freq: str, costs: Costs
) -> dict[tuple[str, str, str], np.ndarray]:
    """(team, model, period) -> cost per path, actuals of the period's past days included."""
    labels = calendar.labels(baseline.days, freq).to_numpy()
    out: dict[tuple[Any, ...], np.ndarray] = {}
    for s in streams:
        sums, names = period_totals(costs[id(s)], labels)
        for j, label in enumerate(names):
            key = (s.team, s.model, label)
            out[key] = out.get(key, 0) + sums[:, j]
    first = calendar.period_start(baseline.run.start, freq)
    past = baseline.actuals[pd.to_datetime(baseline.actuals["ds"]) >= pd.Timestamp(first)]
    if not past.empty:
        past = past.assign(period=calendar.labels(past["ds"], freq).to_numpy())
        for (team, model, period), cost in (
            past.groupby(["team", "model", "period"])["cost"].sum().items()
        ):
            if (team, model, period) in out:
                out[(team, model, period)] = out[(team, model, period)] + cost
    return out


def _periods(
    baseline: Baseline,
    base_streams: list[Stream],
    scen_streams: list[Stream],
    calendar: FiscalCalendar,
    costs: Costs,
) -> pd.DataFrame:
    frames = []
    for freq in ("month", "quarter"):
        base = _period_sums(baseline, base_streams, calendar, freq, costs)
        scen = _period_sums(baseline, scen_streams, calendar, freq, costs)
        keys = sorted(set(base) | set(scen))
        zero = np.zeros(baseline.run.n_paths)
        b = np.stack([np.broadcast_to(base.get(k, zero), zero.shape) for k in keys])
        s = np.stack([np.broadcast_to(scen.get(k, zero), zero.shape) for k in keys])
        frame = pd.DataFrame(keys, columns=["team", "model", "period"])
        frame.insert(0, "freq", freq)
        for name, values in (("baseline", b), ("scenario", s), ("delta", s - b)):
            q10, q50, q90 = np.quantile(values, [0.1, 0.5, 0.9], axis=1)
            frame[f"{name}_mean"] = values.mean(axis=1)
            frame[f"{name}_p10"], frame[f"{name}_p50"], frame[f"{name}_p90"] = q10, q50, q90
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _budget(
    baseline: Baseline,
    base_streams: list[Stream],
    scen_streams: list[Stream],
    calendar: FiscalCalendar,
    budget: ScenarioBudget,
    costs: Costs,
) -> dict[str, Any]:
    freq = (
        "year"
        if budget.period.startswith("FY")
        else ("quarter" if "Q" in budget.period else "month")
    )
    totals: list[np.ndarray] = []
    for streams in (base_streams, scen_streams):
        sums = _period_sums(baseline, streams, calendar, freq, costs)
        parts = [v for (team, model, period), v in sums.items() if period == budget.period]
        if not parts:
            raise ScenarioError(
                f"budget period {budget.period} is outside the baseline's horizon "
                f"({baseline.run.start} to {baseline.run.horizon_end})",
                field="budget.period",
            )
        totals.append(np.sum(parts, axis=0))
    return {
        "amount": budget.amount,
        "period": budget.period,
        "p_exceed_baseline": exceed_share(totals[0], budget.amount),
        "p_exceed_scenario": exceed_share(totals[1], budget.amount),
    }
