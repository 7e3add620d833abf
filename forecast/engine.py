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
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from forecast.metrics import seasonal_scale
from forecast.models import MODELS, make_model


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
    errors, windows = [], []
    scale = seasonal_scale(task.y)
    if not scale > 0:
        scale = max(float(np.mean(np.abs(task.y))), 1.0)
    for w in range(task.backtest_windows, 0, -1):
        cut = len(task.y) - w * task.backtest_horizon
        model = make_model(name, **task.params.get(name, {}))
        model.fit(task.ds[:cut], task.y[:cut])
        paths = model.sample_paths(task.backtest_horizon, 100, task.seed + w)
        actual = task.y[cut : cut + task.backtest_horizon]
        errors.append(np.abs(actual - paths.mean(axis=0)))
        windows.append((cut, paths))
    return float(np.mean(np.concatenate(errors)) / scale), windows


def forecast_series(task: SeriesTask) -> SeriesForecast:
    """Choose (if asked), fit and sample one series. Runs in a worker process."""
    candidates = task.candidates
    flag = None
    # Score on as many windows as the history allows, keeping four weeks to fit on.
    n_windows = min(task.backtest_windows, (len(task.y) - 28) // task.backtest_horizon)
    short = n_windows < 1 or np.count_nonzero(task.y) < 14
    if len(candidates) > 1 and short:
        candidates = ("seasonal_naive",)
        flag = f"short history ({len(task.y)} days): seasonal naive"
    scores, windows = {}, {}
    if not short:
        scoring = replace(task, backtest_windows=n_windows)
        for name in candidates:
            scores[name], windows[name] = backtest_windows(name, scoring)
    chosen = candidates[0] if len(candidates) == 1 else min(scores, key=lambda n: (scores[n], n))
    fitted = {}
    for name in task.candidates if task.keep_candidates else (chosen,):
        model = make_model(name, **task.params.get(name, {})).fit(task.ds, task.y)
        fitted[name] = model.sample_paths(task.h, task.n_paths, task.seed)
    return SeriesForecast(
        task.key, chosen, scores.get(chosen), flag, fitted[chosen], scores,
        windows.get(chosen, []), fitted if task.keep_candidates else {},
    )  # fmt: skip


def resolve_models(models: str | Sequence[str]) -> tuple[str, ...]:
    names = models.split(",") if isinstance(models, str) else list(models)
    names = [n.strip() for n in names if n.strip()]
    if names == ["auto"]:
        return tuple(MODELS)
    for name in names:
        make_model(name)  # raises with the list of models
    return tuple(names)


def run_tasks(
    tasks: Sequence[SeriesTask],
    *,
    jobs: int | None = None,
    dask_client=None,
    on_done: Callable[[SeriesForecast], None] | None = None,
) -> dict[str, SeriesForecast]:
    """Every task's forecast, keyed by series key, computed locally or on Dask."""
    results: dict[str, SeriesForecast] = {}
    if dask_client is not None:
        from distributed import as_completed as dask_completed

        futures = dask_client.map(forecast_series, list(tasks), pure=False)
        for future in dask_completed(futures):
            result = future.result()
            results[result.key] = result
            if on_done:
                on_done(result)
        return results
    if jobs == 1 or len(tasks) <= 1:
        for task in tasks:
            result = forecast_series(task)
            results[result.key] = result
            if on_done:
                on_done(result)
        return results
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        pending = [pool.submit(forecast_series, task) for task in tasks]
        for future in as_completed(pending):
            result = future.result()
            results[result.key] = result
            if on_done:
                on_done(result)
    return results
