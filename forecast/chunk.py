"""One chunk of series, as a worker handles it: every local candidate's forecasts, then the choice.

Two steps, so that a run can overlap them with the global candidates, which
learn across all series at once: ``fit_local`` cross-validates and forecasts
every local candidate of a chunk (it needs nothing but the chunk), and
``decide_chunk`` adds the global candidates' forecasts, scores every
candidate on the windows' priced volume, chooses (``forecast.selection``)
and keeps the chosen forecast's errors for the calibration. ``forecast_chunk``
does both in one call. A series whose windows cannot reach a full window's length
(a young one, after a launch) is not extrapolated past the furthest day they reach
(``hold_start``): there its forecast repeats the week before, and it is flagged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from forecast.frame import Panel
from forecast.intensity import intensity_forecast, priced_volume
from forecast.intervals import idle_class, series_level
from forecast.metrics import mase_scale, typical_change
from forecast.models import COSTLY, ENSEMBLE, FORECASTERS, make_forecaster
from forecast.selection import (
    ENSEMBLE_SIZE,
    ERROR_CAP,
    Choice,
    Selector,
    combine,
)

MIN_TRAIN = 21  # days of history before a cutoff for its window to count
SHORT_FALLBACK = ("seasonal_naive", "tsb", "imapa", "croston_sba")
MEAN = "history_mean"  # the last resort, for a series of a day or two that nothing else fits


@dataclass
class SeriesInput:
    """One series to forecast: daily volume (requests, or tokens where the source has no
    request counts), its tokens of each priced kind over the same days, and what each
    kind's token costs on the first forecast day (so errors weigh kinds as cost does)."""

    uid: str
    y: np.ndarray
    tokens: np.ndarray  # (kinds, days)
    price_weights: np.ndarray  # (kinds,)
    candidates: tuple[str, ...]
    weight: float = 1.0  # recent spend: costly candidates go to the heaviest series


@dataclass
class Plan:
    h: int
    cutoffs: tuple[int, ...]  # days before the end
    cv_horizon: int
    end: pd.Timestamp
    params: dict[str, Any] = field(default_factory=dict)
    keep_candidates: bool = False


@dataclass
class Outcome:
    """What the chunk worker learned about one series (before paths are drawn)."""

    uid: str
    forecaster: str
    members: tuple[str, ...]
    scores: dict[str, Any]
    flag: str | None
    skipped: dict[str, Any]  # candidate -> why it could not be used on this series
    point: np.ndarray  # (h,) volume
    intensity: np.ndarray  # (kinds, h)
    level: float
    cls: int
    errors: np.ndarray  # (windows, H) relative errors of the chosen forecast, NaN if absent
    actual_cv: np.ndarray  # (windows, H) priced volume in each window
    point_cv: np.ndarray  # (windows, H) the chosen forecast from each cutoff
    unit_cv: np.ndarray  # (windows, H) forecast cost of a unit of volume (at today's prices)
    levels_cv: np.ndarray  # (windows,) the level errors are relative to
    candidates: dict[str, Any] = field(default_factory=dict)  # name -> (point, errors), when kept
    history_days: int = 0  # days of history the series had on the run's as-of day


def reaches(plan: Plan) -> np.ndarray:
    """Days each window covers: its cutoff's distance from the end, at most H."""
    return np.asarray(np.minimum(np.array(plan.cutoffs), plan.cv_horizon))


def hold_start(length: int, plan: Plan) -> int | None:
    """The day from which a forecast of a series ``length`` days old repeats its last week,
    or None. A young series' windows reach only a few weeks ahead (``MIN_TRAIN`` days of
    history before each cutoff), so nothing it has shown says whether a trend holds past
    them: after a launch the trend candidates score best on the ramp and would carry its
    slope for a quarter."""
    usable = _usable(length, plan.cutoffs)
    reach = int(reaches(plan)[usable].max()) if usable.any() else 0
    return None if reach >= plan.cv_horizon else max(reach, 7)


def held(forecast: np.ndarray, start: int | None, days: int | None = None) -> np.ndarray:
    """``forecast`` with its days from ``start`` on (up to ``days``) its week before again."""
    end = len(forecast) if days is None else days
    if start is None or start >= end:
        return forecast
    out = forecast.copy()
    ahead = np.arange(start, end)
    out[ahead] = forecast[start - 7 + (ahead - start) % 7]
    return out


def _as_held(cvs: dict[str, np.ndarray], length: int, plan: Plan) -> dict[str, np.ndarray]:
    """Each window's forecasts as a run on its cutoff day would have held them."""
    starts = [hold_start(length - c, plan) for c in plan.cutoffs]
    if all(start is None for start in starts):
        return cvs
    return {name: np.stack([held(cv[j], starts[j], reach) for j, reach in
                            enumerate(reaches(plan))]) for name, cv in cvs.items()}  # fmt: skip


def _usable(length: int, cutoffs: Sequence[int]) -> np.ndarray:
    return np.array([length - c >= MIN_TRAIN for c in cutoffs], dtype=bool)


def _windows(
    s: SeriesInput, plan: Plan, usable: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per cutoff: the priced volume that came (W, H), the forecast cost of one unit of
    volume (W, H) and the series' level (W,); NaN past a window's reach."""
    W, H = len(plan.cutoffs), plan.cv_horizon
    actual = np.full((W, H), np.nan)
    unit = np.full((W, H), np.nan)
    levels = np.full(W, np.nan)
    for j, (cut, reach) in enumerate(zip(plan.cutoffs, reaches(plan), strict=True)):
        if not usable[j]:
            continue
        end = len(s.y) - cut
        intensity = intensity_forecast(s.y[:end], s.tokens[:, :end], reach)
        priced = priced_volume(s.tokens[:, end : end + reach], intensity, s.price_weights)
        actual[j, :reach] = np.where(np.isnan(priced), s.y[end : end + reach], priced)
        unit[j, :reach] = s.price_weights @ intensity
        levels[j] = series_level(s.y[:end])
    return actual, unit, levels


def _relative(actual: np.ndarray, point: np.ndarray, levels: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.asarray((actual - point) / np.where(levels > 0, levels, np.nan)[:, None])


@dataclass
class LocalFits:
    """A chunk's local candidates: per series, each candidate's forecast (``finals``), its
    forecasts from the cutoffs (``cvs``) and why it could not be used (``skipped``); and
    what the windows held and today's intensity forecast (``drivers``), worked out here
    too as they need no candidate, while this process waits for the global model."""

    finals: dict[str, dict[str, Any]]
    cvs: dict[str, dict[str, Any]]
    skipped: dict[str, dict[str, Any]]
    drivers: dict[str, tuple[np.ndarray, ...]] = field(default_factory=dict)


def fit_local(plan: Plan, inputs: Sequence[SeriesInput]) -> LocalFits:
    """Cross-validate and forecast every local candidate of these series."""
    panel = Panel(tuple(s.uid for s in inputs), tuple(s.y for s in inputs), plan.end)
    local = sorted({n for s in inputs for n in s.candidates if FORECASTERS[n].scope == "local"}
                   | set(SHORT_FALLBACK))  # fmt: skip
    fits = LocalFits(
        {u: {} for u in panel.ids}, {u: {} for u in panel.ids}, {u: {} for u in panel.ids}
    )
    usable = [_usable(len(s.y), plan.cutoffs) for s in inputs]
    # a series too young for any window gets the short-history fallback, nothing else
    scored = [u.any() for u in usable]
    for name in local:
        tried = {i for i, s in enumerate(inputs) if name in s.candidates and scored[i]}
        young = [i for i, s in enumerate(inputs) if not scored[i] and (
            name in SHORT_FALLBACK or (name in s.candidates and name not in COSTLY))]  # fmt: skip
        rows = sorted({*tried, *young})
        model = make_forecaster(name, **plan.params.get(name, {}))
        points, cv = model.forecast_and_validate(
            panel.take(rows), plan.h, plan.cv_horizon, plan.cutoffs
        )
        for k, i in enumerate(rows):
            fits.finals[panel.ids[i]][name] = points[k]
            if i in tried:
                fits.cvs[panel.ids[i]][name] = cv[k]
        for uid, why in model.skipped_.items():
            fits.skipped[uid].setdefault(name, why)
    for s, windows in zip(inputs, usable, strict=True):
        actual, unit, levels = _windows(s, plan, windows)
        fits.drivers[s.uid] = (actual, unit, levels, intensity_forecast(s.y, s.tokens, plan.h))
    return fits


def decide_chunk(
    plan: Plan, inputs: Sequence[SeriesInput], fits: LocalFits, global_forecasts: dict[str, Any]
) -> list[Outcome]:
    """Add the global candidates' forecasts to the local ones, then choose per series.

    ``global_forecasts`` maps a global candidate to ``{uid: (point, cv[, why skipped])}``."""
    for name, per_series in global_forecasts.items():
        for s in inputs:
            if s.uid in per_series:
                fits.finals[s.uid][name], fits.cvs[s.uid][name] = per_series[s.uid][:2]
                if len(per_series[s.uid]) > 2:
                    fits.skipped[s.uid][name] = per_series[s.uid][2]
    return [_decide(s, plan, fits.finals[s.uid], fits.cvs[s.uid], fits.skipped[s.uid],
                    fits.drivers[s.uid]) for s in inputs]  # fmt: skip


def forecast_chunk(
    plan: Plan, inputs: Sequence[SeriesInput], global_forecasts: dict[str, Any]
) -> list[Outcome]:
    """``fit_local`` and ``decide_chunk`` in one call, where the global forecasts are known."""
    return decide_chunk(plan, inputs, fit_local(plan, inputs), global_forecasts)


def _fallback(
    s: SeriesInput, plan: Plan, finals: dict[str, Any], scored: bool
) -> tuple[Choice, str]:
    """Too young to score (or nothing scored): the median of what was asked for and can
    fit, else of the simple forecasters, else the mean of its days, flat; and its flag."""
    fits = [n for n, f in finals.items() if f is not None and not np.isnan(f).any()]
    fallback = tuple(n for n in s.candidates if n in fits) or tuple(
        n for n in SHORT_FALLBACK if n in fits
    )
    if not fallback:  # nothing fits days this few
        finals[MEAN] = np.full(plan.h, float(np.mean(s.y)) if len(s.y) else 0.0)
        fallback = (MEAN,)
    choice = Choice(ENSEMBLE if len(fallback) > 1 else fallback[0], fallback, {})
    members = ", ".join(fallback)
    if scored:
        return choice, f"no candidate could be scored: median of {members}"
    return choice, f"short history ({len(s.y)} days): median of {members}"


def _decide(
    s: SeriesInput, plan: Plan, finals: dict[str, Any], cvs: dict[str, Any],
    skipped: dict[str, Any], drivers: tuple[np.ndarray, ...],
) -> Outcome:  # fmt: skip
    usable = _usable(len(s.y), plan.cutoffs)
    actual, unit, levels, end_intensity = drivers
    cells = usable[:, None] & (np.arange(plan.cv_horizon)[None, :] < reaches(plan)[:, None])
    ok = {}
    for name in s.candidates:
        point, cv = finals.get(name), cvs.get(name)
        if point is None or np.isnan(point).any():
            skipped.setdefault(name, "no forecast")
            continue
        if usable.any() and (cv is None or np.isnan(cv[cells]).any()):
            skipped.setdefault(name, "could not be fitted from every cutoff")
            continue
        ok[name] = np.where(cells, cv, np.nan) if cv is not None else np.full_like(actual, np.nan)
    flag = None
    scale, cap = mase_scale(s.y), ERROR_CAP * typical_change(s.y)
    selector = Selector(actual, _as_held(ok, len(s.y), plan), scale, cap) if (
        usable.any() and ok) else None  # fmt: skip
    if selector is not None:
        choice = selector.confirmed(selector.choose())
    else:
        choice, flag = _fallback(s, plan, finals, bool(usable.any()))
    start = hold_start(len(s.y), plan)
    point = held(combine(finals, choice.members), start)
    if start is not None and start < plan.h:
        held_note = (f"from day {start + 1} on, its forecast repeats days {start - 6}-{start} "
                     "(no window of its own reaches further)")  # fmt: skip
        flag = f"{flag}; {held_note}" if flag else f"{len(s.y)} days of history: {held_note}"
    point_cv = (selector.chosen_without(choice) if selector is not None
                else np.full_like(actual, np.nan))  # fmt: skip
    kept = {}
    if plan.keep_candidates:
        for name, cv in ok.items():
            kept[name] = (finals[name], _relative(actual, cv, levels))
        if len(ok) > 1 and usable.any():
            members = tuple(sorted(ok, key=lambda n: choice.scores.get(n, np.inf)))[:ENSEMBLE_SIZE]
            kept[ENSEMBLE] = (
                combine(finals, members),
                _relative(actual, combine(ok, members), levels),
            )
    return Outcome(
        s.uid, choice.name, choice.members, choice.scores, flag, skipped, point, end_intensity,
        series_level(s.y), idle_class(s.y), _relative(actual, point_cv, levels), actual,
        point_cv, unit, levels, kept, len(s.y),
    )  # fmt: skip


# -- the whole run -------------------------------------------------------------------------
