"""Forecast many daily series: cross-validate candidates, choose or combine, calibrate paths.

For a horizon of ``h`` days every series is cross-validated from the same
cutoffs, ``H, H + step, ...`` days before its end (``H = min(h, 28)``), by
every candidate forecaster. From each cutoff the series' token intensity is
forecast too, so the error of a window is measured in *priced volume*: what
cost, divided by the forecast cost of one unit of volume, shows was used.
Those errors choose the forecaster (``forecast.selection``) and, for the
chosen one, become the calibration's trajectories (``forecast.intervals``).

Local candidates run per chunk of series in a process pool, or on a Dask
cluster when a client is given; global ones run once over the whole panel
first. Sample paths are drawn afterwards in this process, each series from
its own seed, so results do not depend on where or in which order chunks run.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from forecast.errors import CostcastError
from forecast.frame import Panel
from forecast.intensity import intensity_forecast, priced_volume
from forecast.intervals import ErrorBank, idle_class, noise_level, sample_paths, series_level
from forecast.metrics import mase_scale
from forecast.models import ENSEMBLE, FORECASTERS, make_forecaster
from forecast.selection import ENSEMBLE_SIZE, Choice, choose, chosen_without, combine

MIN_TRAIN = 21  # days of history before a cutoff for its window to count
MAX_CV_HORIZON = 91
COSTLY_SHARE = 0.005  # of a run's series, by weight, that auto also tries costly models on ...
COSTLY_MIN_SERIES = 20  # ... and never fewer than this many: smaller runs try them on all
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


@dataclass
class SeriesForecast:
    uid: str
    forecaster: str
    members: tuple[str, ...]
    score: float | None
    scores: dict[str, Any]
    flag: str | None
    skipped: dict[str, Any]
    intensity: np.ndarray  # (kinds, h) tokens per unit of volume
    paths: np.ndarray  # (n_paths, h) volume
    candidate_paths: dict[str, Any] = field(default_factory=dict)


def series_seed(seed: int, key: str) -> int:
    return int(hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()[:8], 16)


def plan_cutoffs(h: int, n_windows: int, step: int) -> tuple[int, tuple[int, ...]]:
    """(H, cutoffs in days before the end) for windows of ``H = min(h, 91)`` days.

    Every cutoff is whole weeks back. The latest are only 7, 14 (21), 28 and 56 days back: their windows end with
    the data, so they reach fewer than H days, but young series get errors of their own
    and the last weeks count most. The rest are H days back and earlier, ``step`` days
    apart (14 once H passes two weeks, so that full windows overlap less): they show how
    errors grow over the whole window, a quarter for a quarter's forecast."""
    cv_horizon = min(h, MAX_CV_HORIZON)
    near = (7, 14, 21, 28, 56) if cv_horizon <= 28 else (7, 14, 28, 56)
    partial = [d for d in near if d < cv_horizon][: max(n_windows - 2, 0)]
    spacing = step if cv_horizon <= 14 else max(step, 14)
    # whole weeks back, so that day k of every window falls on the weekday of day k ahead
    first = -(-cv_horizon // 7) * 7
    full = [first + spacing * j for j in range(max(n_windows - len(partial), 1))]
    return cv_horizon, tuple(sorted(partial + full))


def reaches(plan: Plan) -> np.ndarray:
    """Days each window covers: its cutoff's distance from the end, at most H."""
    return np.asarray(np.minimum(np.array(plan.cutoffs), plan.cv_horizon))


def budget_costly(
    inputs: Sequence[SeriesInput], share: float = COSTLY_SHARE, at_least: int = COSTLY_MIN_SERIES
) -> int:
    """Keep costly candidates (Prophet, AutoETS) for the heaviest series only; returns how
    many keep them. They cost a hundred times what the others cost per series, and spend
    is heavy-tailed: the largest series carry most of the dollars and of any
    dollar-weighted error. Series given exactly one candidate are left alone."""
    costly = {n for n, cls in FORECASTERS.items() if cls.cost == "costly"}
    eligible = [s for s in inputs if set(s.candidates) & costly and len(s.candidates) > 1]
    keep = max(int(np.ceil(share * len(inputs))), at_least)
    if len(eligible) <= keep:
        return len(eligible)
    for s in sorted(eligible, key=lambda s: (-s.weight, s.uid))[keep:]:
        s.candidates = tuple(n for n in s.candidates if n not in costly)
    return keep


# -- one chunk of series, in a worker ------------------------------------------------------


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


def forecast_chunk(
    plan: Plan, inputs: Sequence[SeriesInput], global_forecasts: dict[str, Any]
) -> list[Outcome]:
    """Cross-validate and forecast every local candidate of these series, then choose.

    ``global_forecasts`` maps a global candidate to ``{uid: (point, cv)}``."""
    panel = Panel(tuple(s.uid for s in inputs), tuple(s.y for s in inputs), plan.end)
    local = sorted({n for s in inputs for n in s.candidates if FORECASTERS[n].scope == "local"}
                   | set(SHORT_FALLBACK))  # fmt: skip
    finals: dict[str, dict[str, Any]] = {uid: {} for uid in panel.ids}
    cvs: dict[str, dict[str, Any]] = {uid: {} for uid in panel.ids}
    skipped: dict[str, dict[str, Any]] = {uid: {} for uid in panel.ids}
    # a series too young for any window gets the short-history fallback, nothing else
    scored = [_usable(len(s.y), plan.cutoffs).any() for s in inputs]
    costly = {n for n, cls in FORECASTERS.items() if cls.cost == "costly"}
    for name in local:
        tried = {i for i, s in enumerate(inputs) if name in s.candidates and scored[i]}
        young = [i for i, s in enumerate(inputs) if not scored[i] and (
            name in SHORT_FALLBACK or (name in s.candidates and name not in costly))]  # fmt: skip
        rows = sorted({*tried, *young})
        model = make_forecaster(name, **plan.params.get(name, {}))
        points, cv = model.forecast_and_validate(
            panel.take(rows), plan.h, plan.cv_horizon, plan.cutoffs
        )
        for k, i in enumerate(rows):
            finals[panel.ids[i]][name] = points[k]
            if i in tried:
                cvs[panel.ids[i]][name] = cv[k]
        for uid, why in model.skipped_.items():
            skipped[uid].setdefault(name, why)
    for name, per_series in global_forecasts.items():
        for uid in panel.ids:
            if uid in per_series:
                finals[uid][name], cvs[uid][name] = per_series[uid][:2]
                if len(per_series[uid]) > 2:
                    skipped[uid][name] = per_series[uid][2]
    return [_decide(s, plan, finals[s.uid], cvs[s.uid], skipped[s.uid]) for s in inputs]


def _decide(
    s: SeriesInput, plan: Plan, finals: dict[str, Any], cvs: dict[str, Any], skipped: dict[str, Any]
) -> Outcome:
    usable = _usable(len(s.y), plan.cutoffs)
    actual, unit, levels = _windows(s, plan, usable)
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
    if usable.any() and ok:
        choice = choose(actual, ok, mase_scale(s.y))
    else:
        # too young to score: the median of what was asked for and can fit, else of the
        # simple forecasters
        fits = [n for n, f in finals.items() if f is not None and not np.isnan(f).any()]
        fallback = tuple(n for n in s.candidates if n in fits) or tuple(
            n for n in SHORT_FALLBACK if n in fits
        )
        if not fallback:  # nothing fits days this few: their mean, flat
            finals[MEAN] = np.full(plan.h, float(np.mean(s.y)) if len(s.y) else 0.0)
            fallback = (MEAN,)
        choice = Choice(ENSEMBLE if len(fallback) > 1 else fallback[0], fallback, {})
        flag = (
            f"short history ({len(s.y)} days): median of {', '.join(fallback)}"
            if not usable.any()
            else f"no candidate could be scored: median of {', '.join(fallback)}"
        )
    point = combine(finals, choice.members)
    point_cv = (chosen_without(actual, ok, choice, mase_scale(s.y)) if ok and usable.any()
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
    end_intensity = intensity_forecast(s.y, s.tokens, plan.h)
    return Outcome(
        s.uid, choice.name, choice.members, choice.scores, flag, skipped, point, end_intensity,
        series_level(s.y), idle_class(s.y), _relative(actual, point_cv, levels), actual,
        point_cv, unit, levels, kept,
    )  # fmt: skip


# -- the whole run -------------------------------------------------------------------------


def _global_forecasts(plan: Plan, inputs: Sequence[SeriesInput]) -> dict[str, Any]:
    names = sorted({n for s in inputs for n in s.candidates if FORECASTERS[n].scope == "global"})
    out: dict[str, Any] = {}
    for name in names:
        rows = [s for s in inputs if name in s.candidates]
        panel = Panel(tuple(s.uid for s in rows), tuple(s.y for s in rows), plan.end)
        model = make_forecaster(name, **plan.params.get(name, {}))
        points, cv = model.forecast_and_validate(panel, plan.h, plan.cv_horizon, plan.cutoffs)
        out[name] = {}
        for k, uid in enumerate(panel.ids):
            why = model.skipped_.get(uid)
            out[name][uid] = (points[k], cv[k]) if why is None else (points[k], cv[k], why)
    return out


def _chunks(inputs: Sequence[SeriesInput], jobs: int) -> list[list[SeriesInput]]:
    """Contiguous chunks, a few per worker so that a slow one does not hold up the end."""
    size = int(np.clip(np.ceil(len(inputs) / (4 * max(jobs, 1))), 1, 50))
    return [list(inputs[i : i + size]) for i in range(0, len(inputs), size)]


def _outcomes(plan: Plan, inputs: Sequence[SeriesInput], global_forecasts: dict[str, Any],
              jobs: int | None, dask_client: Any) -> Iterator[list[Outcome]]:  # fmt: skip
    jobs = jobs or multiprocessing.cpu_count()
    chunks = _chunks(inputs, jobs)
    _import_models(inputs)

    def shipped(chunk: list[SeriesInput]) -> dict[str, Any]:
        return {n: {s.uid: per[s.uid] for s in chunk if s.uid in per}
                for n, per in global_forecasts.items()}  # fmt: skip

    if dask_client is not None:
        from distributed import as_completed as dask_completed

        futures = [dask_client.submit(forecast_chunk, plan, c, shipped(c), pure=False)
                   for c in chunks]  # fmt: skip
        for future in dask_completed(futures):
            yield future.result()
    elif jobs == 1 or len(chunks) == 1:
        for chunk in chunks:
            yield forecast_chunk(plan, chunk, shipped(chunk))
    else:
        # Forking a process that runs other threads (a server) can copy a held lock into
        # the child; from any thread but the main one, start workers from a clean server.
        context = None
        if threading.current_thread() is not threading.main_thread():
            context = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = [pool.submit(forecast_chunk, plan, c, shipped(c)) for c in chunks]
            for future in as_completed(futures):
                yield future.result()


def _import_models(inputs: Sequence[SeriesInput]) -> None:
    """Import the candidates' libraries here, once: forked workers inherit them instead of
    each spending seconds importing statsforecast (or Prophet) again."""
    import statsforecast.models  # noqa: F401

    if any("prophet" in s.candidates for s in inputs):
        import prophet  # noqa: F401


@dataclass
class EngineResult:
    forecasts: dict[str, SeriesForecast]
    outcomes: dict[str, Outcome]
    bank: ErrorBank
    plan: Plan


def run_engine(
    inputs: Sequence[SeriesInput],
    h: int,
    *,
    end: pd.Timestamp,
    n_windows: int = 6,
    step: int = 7,
    n_paths: int = 200,
    seed: int = 0,
    params: dict[str, Any] | None = None,
    keep_candidates: bool = False,
    jobs: int | None = None,
    dask_client: Any = None,
    on_done: Callable[[Outcome], None] | None = None,
) -> EngineResult:
    """Every series' forecast: the chosen forecaster, its sample paths and intensities."""
    if h < 1:
        raise CostcastError("the horizon must be at least one day", param="horizon")
    cv_horizon, cutoffs = plan_cutoffs(h, n_windows, step)
    plan = Plan(h, cutoffs, cv_horizon, pd.Timestamp(end), params or {}, keep_candidates)
    outcomes: dict[str, Outcome] = {}
    for batch in _outcomes(plan, inputs, _global_forecasts(plan, inputs), jobs, dask_client):
        for outcome in batch:
            outcomes[outcome.uid] = outcome
            if on_done:
                on_done(outcome)
    order = [s.uid for s in inputs]
    done = [outcomes[u] for u in order]
    noise = np.array([noise_level(s.y) for s in inputs])
    bank = ErrorBank(np.stack([o.errors for o in done]), np.array([o.cls for o in done]), noise,
                     reaches(plan))  # fmt: skip
    bank.calibrate(seed)
    forecasts = {}
    seeds = np.array([series_seed(seed, u) for u in order])
    levels = np.array([o.level for o in done])
    classes = np.array([o.cls for o in done])
    rows = np.arange(len(done))
    chosen = sample_paths(bank, np.stack([o.point for o in done]), levels, rows, classes,
                          seeds, n_paths, seed)  # fmt: skip
    for o, paths in zip(done, chosen, strict=True):
        forecasts[o.uid] = SeriesForecast(
            o.uid, o.forecaster, o.members, o.scores.get(o.forecaster), o.scores, o.flag,
            o.skipped, o.intensity, paths,
        )  # fmt: skip
    if keep_candidates:
        _candidate_paths(done, forecasts, bank, levels, seeds, n_paths, seed)
    return EngineResult(forecasts, outcomes, bank, plan)


def _candidate_paths(done: list[Outcome], forecasts: dict[str, SeriesForecast], chosen: ErrorBank,
                     levels: np.ndarray, seeds: np.ndarray, n_paths: int, seed: int) -> None:  # fmt: skip
    """Each candidate calibrated by its own errors, as if it alone had been chosen."""
    names = sorted({n for o in done for n in o.candidates})
    for name in names:
        has = [i for i, o in enumerate(done) if name in o.candidates]
        errors = np.full(chosen.errors.shape, np.nan)
        for i in has:
            errors[i] = done[i].candidates[name][1]
        bank = ErrorBank(errors, chosen.classes, chosen.noise, chosen.reaches)
        bank.calibrate(seed)
        points = np.stack([done[i].candidates[name][0] for i in has])
        drawn = sample_paths(bank, points, levels[has], np.array(has), chosen.classes[has],
                             seeds[has], n_paths, seed)  # fmt: skip
        for i, paths in zip(has, drawn, strict=True):
            forecasts[done[i].uid].candidate_paths[name] = paths
