"""Fit many daily series and draw their sample paths: model choice per series, in parallel.

``--models auto`` scores every candidate on the series' own recent past
(rolling origin: fit up to a cutoff, forecast ``backtest_horizon`` days,
repeat for ``backtest_windows`` cutoffs) by MASE against the in-sample
weekly seasonal naive, and keeps the best. Series too short to judge fall
back to the seasonal naive and are flagged.

One task per series; tasks run in a process pool, or on a Dask cluster when
a client is given. Each series draws from its own seed (derived from the run
seed and the series key), so results do not depend on where or in which
order tasks run.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from forecast.errors import CostcastError
from forecast.metrics import seasonal_scale
from forecast.models import MODELS, make_model
from forecast.models.global_gbm import GlobalGBM


@dataclass
class SeriesTask:
    key: str
    ds: pd.DatetimeIndex
    y: np.ndarray
    h: int
    n_paths: int
    seed: int
    candidates: tuple[str, ...]
    backtest_windows: int = 2
    backtest_horizon: int = 14
    params: dict = field(default_factory=dict)
    keep_candidates: bool = False  # also return every candidate's paths (for backtests)
    weight: float = 1.0  # recent spend (or volume): what Prophet's budget is handed out by
    # Global models are fitted once across all series, before the tasks run:
    # name -> {"paths": (n_paths, h), "windows": {w: paths (100, backtest_horizon)}}
    precomputed: dict = field(default_factory=dict)


@dataclass
class SeriesForecast:
    key: str
    model: str
    score: float | None  # MASE of the chosen model in its own backtest (None: not judged)
    flag: str | None  # why the choice was forced, if it was
    paths: np.ndarray  # (n_paths, h)
    scores: dict = field(default_factory=dict)  # MASE per candidate
    # The chosen model's own backtest: (cut index, paths (100, backtest_horizon)) per window.
    windows: list = field(default_factory=list)
    candidate_paths: dict = field(default_factory=dict)


def series_seed(seed: int, key: str) -> int:
    return int(hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()[:8], 16)


def backtest_windows(name: str, task: SeriesTask) -> tuple[float, list]:
    """MASE of ``name`` over the task's rolling-origin windows, and each window's paths."""
    windows = []
    for w in range(task.backtest_windows, 0, -1):
        cut = len(task.y) - w * task.backtest_horizon
        if name in task.precomputed:
            paths = task.precomputed[name]["windows"][w]
        else:
            model = make_model(name, **task.params.get(name, {}))
            model.fit(task.ds[:cut], task.y[:cut])
            paths = model.sample_paths(task.backtest_horizon, 100, task.seed + w)
        windows.append((cut, paths))
    return _mase(task, windows), windows


ENSEMBLE = "ensemble"
CHEAP_MODELS = frozenset({"seasonal_naive"})  # fitted in milliseconds: not worth a worker


def mixture(paths: Sequence[np.ndarray]) -> np.ndarray:
    """An equal-weight mixture: path i comes from member i mod k (each member's paths are iid)."""
    stacked = np.stack(paths)  # (k, n_paths, h)
    pick = np.arange(stacked.shape[1]) % len(paths)
    return stacked[pick, np.arange(stacked.shape[1])]


def scoring_windows(task: SeriesTask) -> int:
    """How many backtest windows the history allows, keeping four weeks to fit on."""
    return min(task.backtest_windows, (len(task.y) - 28) // task.backtest_horizon)


def forecast_series(task: SeriesTask) -> SeriesForecast:
    """Choose (if asked), fit and sample one series. Runs in a worker process.

    With several candidates, their equal mixture (``ensemble``) competes too;
    it costs no extra fit. A series too young to score gets the mixture,
    flagged: no single model's guess about a days-old series deserves trust.
    """
    candidates = task.candidates
    flag = None
    n_windows = scoring_windows(task)
    short = n_windows < 1 or np.count_nonzero(task.y) < 14
    scores, windows = {}, {}
    if not short:
        scoring = replace(task, backtest_windows=n_windows)
        for name in candidates:
            scores[name], windows[name] = backtest_windows(name, scoring)
        if len(candidates) > 1:
            windows[ENSEMBLE] = [
                (parts[0][0], mixture([p for _, p in parts]))
                for parts in zip(*(windows[n] for n in candidates), strict=True)
            ]
            scores[ENSEMBLE] = _mase(task, windows[ENSEMBLE])
    if len(candidates) == 1:
        chosen = candidates[0]
    elif short:
        chosen = ENSEMBLE
        flag = f"short history ({len(task.y)} days): mixture of {', '.join(candidates)}"
    else:
        chosen = min(scores, key=lambda n: (scores[n], n))
    needed = candidates if (task.keep_candidates or chosen == ENSEMBLE) else (chosen,)
    fitted = {}
    for name in needed:
        if name in task.precomputed:
            fitted[name] = task.precomputed[name]["paths"]
        else:
            model = make_model(name, **task.params.get(name, {})).fit(task.ds, task.y)
            fitted[name] = model.sample_paths(task.h, task.n_paths, task.seed)
    if len(candidates) > 1 and (task.keep_candidates or chosen == ENSEMBLE):
        fitted[ENSEMBLE] = mixture([fitted[n] for n in candidates])
    return SeriesForecast(
        task.key, chosen, scores.get(chosen), flag, fitted[chosen], scores,
        windows.get(chosen, []), fitted if task.keep_candidates else {},
    )  # fmt: skip


def _mase(task: SeriesTask, windows: list) -> float:
    scale = seasonal_scale(task.y)
    if not scale > 0:
        scale = max(float(np.mean(np.abs(task.y))), 1.0)
    h = task.backtest_horizon
    errors = [np.abs(task.y[cut : cut + h] - paths.mean(axis=0)) for cut, paths in windows]
    return float(np.mean(np.concatenate(errors)) / scale)


GLOBAL_MODELS = {GlobalGBM.name: GlobalGBM}
ALL_MODELS = (*MODELS, *GLOBAL_MODELS)  # what auto chooses from, with their ensemble


def resolve_models(models: str | Sequence[str]) -> tuple[str, ...]:
    names = models.split(",") if isinstance(models, str) else list(models)
    names = [n.strip() for n in names if n.strip()]
    if names == ["auto"]:
        return ALL_MODELS
    for name in names:
        if name not in GLOBAL_MODELS:
            make_model(name)  # raises with the list of models
    return tuple(names)


PROPHET_SHARE = 0.1  # of a run's series, by weight, that auto also tries Prophet on ...
PROPHET_MIN_SERIES = 200  # ... and never fewer than this many: smaller runs try it on all


def budget_prophet(
    tasks: Sequence[SeriesTask],
    share: float = PROPHET_SHARE,
    at_least: int = PROPHET_MIN_SERIES,
) -> int:
    """Keep Prophet among the candidates of the heaviest series only; returns how many keep it.

    Prophet costs a hundred times what the other models cost per series, and
    auto fits it three times (two scoring windows and the final fit). Spend is
    heavy-tailed, so the largest tenth of the series carries most of the
    dollars and of any dollar-weighted error: that is where Prophet's fits go.
    The rest choose among the seasonal naive, the global model and their
    mixture. Tasks whose candidates were asked for explicitly are left alone.
    """
    eligible = [t for t in tasks if "prophet" in t.candidates and len(t.candidates) > 1]
    keep = max(int(np.ceil(share * len(tasks))), at_least)
    if len(eligible) <= keep:
        return len(eligible)
    ranked = sorted(eligible, key=lambda t: (-t.weight, t.key))
    for task in ranked[keep:]:
        task.candidates = tuple(n for n in task.candidates if n != "prophet")
    return keep


def precompute_global(tasks: Sequence[SeriesTask]) -> None:
    """Fit each global candidate once on all series (and once per backtest cutoff) and
    hand every task its share of the paths."""
    names = {n for t in tasks for n in t.candidates if n in GLOBAL_MODELS}
    if not tasks or not names:
        return
    first = tasks[0]
    for name in sorted(names):
        params = first.params.get(name, {})
        try:
            full = GLOBAL_MODELS[name](**params).fit({t.key: (t.ds, t.y) for t in tasks})
        except CostcastError:  # no series long enough to learn from: not a candidate here
            for t in tasks:
                t.candidates = tuple(n for n in t.candidates if n != name)
            continue
        per_window = {}
        for w in range(first.backtest_windows, 0, -1):
            back = w * first.backtest_horizon
            cut = {t.key: (t.ds[:-back], t.y[:-back]) for t in tasks if scoring_windows(t) >= w}
            if cut:
                per_window[w] = GLOBAL_MODELS[name](**params).fit(cut)
        window_paths = {}
        for w, model in per_window.items():
            known = [t for t in tasks if t.key in model.series_]
            window_paths[w] = model.sample_paths_many(
                [t.key for t in known], first.backtest_horizon, 100, [t.seed + w for t in known]
            )
        paths = {}
        for h, n_paths in sorted({(t.h, t.n_paths) for t in tasks}):
            same = [t for t in tasks if (t.h, t.n_paths) == (h, n_paths)]
            paths |= full.sample_paths_many(
                [t.key for t in same], h, n_paths, [t.seed for t in same]
            )
        for t in tasks:
            t.precomputed[name] = {
                "paths": paths[t.key],
                "windows": {w: got[t.key] for w, got in window_paths.items() if t.key in got},
            }


def run_tasks(
    tasks: Sequence[SeriesTask],
    *,
    jobs: int | None = None,
    dask_client=None,
    on_done: Callable[[SeriesForecast], None] | None = None,
) -> dict[str, SeriesForecast]:
    """Every task's forecast, keyed by series key, computed locally or on Dask."""
    precompute_global(tasks)
    results: dict[str, SeriesForecast] = {}
    for result in _completed(tasks, jobs, dask_client):
        results[result.key] = result
        if on_done:
            on_done(result)
    return results


def _completed(
    tasks: Sequence[SeriesTask], jobs: int | None, dask_client
) -> Iterator[SeriesForecast]:
    """Forecasts as they finish: on Dask, in a process pool, or in this process."""
    if dask_client is not None:
        from distributed import as_completed as dask_completed

        for future in dask_completed(dask_client.map(forecast_series, list(tasks), pure=False)):
            yield future.result()
    elif jobs == 1 or len(tasks) <= 1:
        yield from map(forecast_series, tasks)
    else:
        # Only series that fit a costly model go to worker processes: shipping the rest
        # (and their precomputed global paths) costs more than fitting them here, which
        # this process does while the workers run.
        costly = [bool(set(t.candidates) - CHEAP_MODELS - set(t.precomputed)) for t in tasks]
        heavy = [t for t, c in zip(tasks, costly, strict=True) if c]
        light = [t for t, c in zip(tasks, costly, strict=True) if not c]
        if not heavy:
            yield from map(forecast_series, light)
            return
        # Forking a process that runs other threads (a server) can copy a held lock into
        # the child; from any thread but the main one, start workers from a clean server.
        context = None
        if threading.current_thread() is not threading.main_thread():
            context = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = [pool.submit(forecast_series, t) for t in heavy]
            yield from map(forecast_series, light)
            for future in as_completed(futures):
                yield future.result()


def spread_factor(tasks: Sequence[SeriesTask], results: dict[str, SeriesForecast]) -> float:
    """How much the chosen models' 80% intervals must stretch to cover 80% of their own
    backtest days, pooled over every scored series (1.0: already calibrated)."""
    ratios = []
    by_key = {t.key: t for t in tasks}
    for key, result in results.items():
        y = by_key[key].y
        for cut, paths in result.windows:
            actual = y[cut : cut + paths.shape[1]]
            lo, mid, hi = np.quantile(paths, [0.1, 0.5, 0.9], axis=0)
            half = np.where(actual >= mid, hi - mid, mid - lo)
            dev = np.abs(actual - mid)
            # a miss by a zero-width interval is far outside: no factor would cover it
            outside = np.where(dev > 0, 1e9, 0.0)
            ratios.append(np.where(half > 0, dev / np.maximum(half, 1e-12), outside))
    if not ratios:
        return 1.0
    return float(np.clip(np.quantile(np.concatenate(ratios), 0.8), 0.5, 4.0))


def widen(paths: np.ndarray, factor: float) -> np.ndarray:
    """Stretch paths around their daily median by ``factor``, keeping them >= 0."""
    mid = np.median(paths, axis=0, keepdims=True)
    return np.clip(mid + factor * (paths - mid), 0.0, None)


def calibrate(tasks: Sequence[SeriesTask], results: dict[str, SeriesForecast]) -> float:
    """Apply the pooled spread factor to every chosen forecast; returns the factor."""
    factor = spread_factor(tasks, results)
    if factor != 1.0:
        for result in results.values():
            result.paths = widen(result.paths, factor)
    return factor
