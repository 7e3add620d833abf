"""Forecast many daily series: cross-validate candidates, choose or combine, calibrate paths.

For a horizon of ``h`` days every series is cross-validated from the same
cutoffs (``plan_cutoffs``; windows of ``H = min(h, 91)`` days), by
every candidate forecaster. From each cutoff the series' token intensity is
forecast too, so the error of a window is measured in *priced volume*: what
cost, divided by the forecast cost of one unit of volume, shows was used.
Those errors choose the forecaster (``forecast.selection``) and, for the
chosen one, become the calibration's trajectories (``forecast.intervals``).

Local candidates run per chunk of series in a process pool, or on a Dask
cluster when a client is given (``forecast.chunk``); global ones run once
over the whole panel, here, while the workers fit the local ones. Sample
paths are drawn afterwards in this process, each series from its own seed,
so results do not depend on where or in which order chunks run.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from forecast.chunk import (
    Outcome,
    Plan,
    SeriesInput,
    decide_chunk,
    fit_local,
    forecast_chunk,
    reaches,
)
from forecast.dependence import Pairing, calibrate_dependence, pairing, unit_cost
from forecast.errors import CostcastError
from forecast.frame import Panel
from forecast.intervals import ErrorBank, noise_level
from forecast.models import COSTLY, FORECASTERS, make_forecaster
from forecast.paths import (
    after_cutoffs,
    lowest_ratio,
    sample_paths,
    too_young,
    used_lately,
    young_note,
)

MAX_CV_HORIZON = 91
WORKER_NICE = 5  # added to the workers' niceness (see _Workers)
MAX_JOBS = 256  # worker processes a caller may ask for: each is a process, started per chunk
COSTLY_SHARE = 0.005  # of a run's series, by weight, that auto also tries costly models on ...
COSTLY_MIN_SERIES = 20  # ... and never fewer than this many: smaller runs try them on all


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


def budget_costly(
    inputs: Sequence[SeriesInput], share: float = COSTLY_SHARE, at_least: int = COSTLY_MIN_SERIES
) -> int:
    """Keep costly candidates (Prophet, AutoETS) for the heaviest series only; returns how
    many keep them. They cost a hundred times what the others cost per series, and spend
    is heavy-tailed: the largest series carry most of the dollars and of any
    dollar-weighted error. Series given exactly one candidate are left alone."""
    eligible = [s for s in inputs if set(s.candidates) & COSTLY and len(s.candidates) > 1]
    keep = max(int(np.ceil(share * len(inputs))), at_least)
    if len(eligible) <= keep:
        return len(eligible)
    for s in sorted(eligible, key=lambda s: (-s.weight, s.uid))[keep:]:
        s.candidates = tuple(n for n in s.candidates if n not in COSTLY)
    return keep


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


def _outcomes(
    plan: Plan, inputs: Sequence[SeriesInput], jobs: int | None, dask_client: Any
) -> Iterator[list[Outcome]]:
    """Each chunk's outcomes, as they come. Workers fit the local candidates while this
    process learns the global ones (the largest single fit of a run), then each chunk's
    choice goes out with its share of the global forecasts."""
    jobs = jobs or multiprocessing.cpu_count()
    chunks = _chunks(inputs, jobs)
    _import_models(inputs)
    global_forecasts: dict[str, Any] = {}

    def shipped(chunk: list[SeriesInput]) -> dict[str, Any]:
        return {n: {s.uid: per[s.uid] for s in chunk if s.uid in per}
                for n, per in global_forecasts.items()}  # fmt: skip

    if dask_client is None and (jobs == 1 or len(chunks) == 1):
        global_forecasts = _global_forecasts(plan, inputs)
        for chunk in chunks:
            yield forecast_chunk(plan, chunk, shipped(chunk))
        return
    with _Workers(min(jobs, len(chunks)), dask_client) as workers:
        # submitted first, so that forked workers start before this process fits anything;
        # chunks with costly candidates first, so that none of them is left to run alone
        waiting = {workers.submit(fit_local, plan, c): ("fit", c)
                   for c in sorted(chunks, key=_costly_count, reverse=True)}  # fmt: skip
        # beside a local pool, one thread: OpenMP's and BLAS's threads wait for each other,
        # spinning on cores the workers hold (the global model's fit ran 6-8x slower)
        with threadpool_limits(limits=1 if dask_client is None else None):
            global_forecasts = _global_forecasts(plan, inputs)
        while waiting:
            for future in workers.first_done(list(waiting)):
                step, chunk = waiting.pop(future)
                if step == "fit":
                    fits = future if dask_client is not None else future.result()
                    waiting[workers.submit(decide_chunk, plan, chunk, fits, shipped(chunk))] = (
                        "decide", chunk)  # fmt: skip
                else:
                    yield future.result()


def _costly_count(chunk: list[SeriesInput]) -> int:
    return sum(n in COSTLY for s in chunk for n in s.candidates)


class _Workers:
    """A process pool here, or a Dask cluster: submit, and wait for the first done.

    On Dask a chunk's local fits stay on the worker that made them: ``decide_chunk``
    is given the future, and the scheduler runs it there."""

    def __init__(self, jobs: int, dask_client: Any) -> None:
        self.dask = dask_client
        self.pool: ProcessPoolExecutor | None = None
        if dask_client is None:
            # Forking a process that runs other threads (a server) can copy a held lock
            # into the child; from any thread but the main one, start workers from a
            # clean server.
            context = None
            if threading.current_thread() is not threading.main_thread():
                context = multiprocessing.get_context("forkserver")
            # Workers yield to this process: the global model here is what every chunk's
            # choice waits for (it then ends in 6 s instead of 9 on the 2,000-series
            # benchmark), and a server's requests are answered here too.
            self.pool = ProcessPoolExecutor(
                max_workers=jobs, mp_context=context, initializer=os.nice, initargs=(WORKER_NICE,)
            )

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self.pool is not None:
            return self.pool.submit(fn, *args)
        return self.dask.submit(fn, *args, pure=False)

    def first_done(self, futures: list[Any]) -> set[Any]:
        if self.pool is not None:
            return wait(futures, return_when=FIRST_COMPLETED).done
        from distributed import wait as dask_wait

        return set(dask_wait(futures, return_when="FIRST_COMPLETED").done)

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:  # on an error, do not wait for chunks no one will read
            self.pool.shutdown(wait=exc[0] is None, cancel_futures=exc[0] is not None)


def _import_models(inputs: Sequence[SeriesInput]) -> None:
    """Import the candidates' libraries here, once: forked workers inherit them instead of
    each spending seconds importing statsforecast (or Prophet) again."""
    import statsforecast.models  # noqa: F401

    if any("prophet" in s.candidates for s in inputs):
        # cmdstanpy makes its temporary folder on import and removes it at exit: imported
        # here, forked workers share this process's, where each had made its own and left
        # it behind (a worker ends without running exit handlers)
        import cmdstanpy  # noqa: F401
        import prophet  # noqa: F401
    if any(FORECASTERS[n].scope == "global" for s in inputs for n in s.candidates):
        # loaded before ``threadpool_limits``, which limits only the libraries loaded
        import sklearn.ensemble  # noqa: F401


@dataclass
class EngineResult:
    forecasts: dict[str, SeriesForecast]
    outcomes: dict[str, Outcome]
    bank: ErrorBank
    plan: Plan
    paired: Pairing = field(default_factory=lambda: Pairing(0.0, {}, {}))
    stops: np.ndarray = field(default_factory=lambda: np.zeros((2, 2)))  # forecast.paths
    growth: np.ndarray = field(default_factory=lambda: np.zeros(0))  # forecast.paths


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
    for batch in _outcomes(plan, inputs, jobs, dask_client):
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
    paired = calibrate_dependence(bank, done, seed)  # how the series' paths add up
    forecasts = {}
    seeds = np.array([series_seed(seed, u) for u in order])
    levels = np.array([o.level for o in done])
    classes = np.array([o.cls for o in done])
    rows = np.arange(len(done))
    floors = np.array([lowest_ratio(o.actual_cv, o.point_cv) for o in done])
    histories = [s.y for s in inputs]
    shares = after_cutoffs(histories, h)  # what the run's series did: stop, grow
    stops = shares.stop_shares
    chosen = list(sample_paths(bank, np.stack([o.point for o in done]), levels, rows,
                               classes, seeds, n_paths, seed, floors, histories, *shares))  # fmt: skip
    if paired.alpha > 0:  # one series at a time: no (series, paths, days) array at once
        units = np.array([unit_cost(o) for o in done])
        pairs = pairing(np.stack([p.sum(axis=1) for p in chosen]) * units[:, None], paired.alpha)
        for i, order in enumerate(pairs):  # in place: one series' copy at a time
            chosen[i] = chosen[i][order]
    for i, (o, paths) in enumerate(zip(done, chosen, strict=True)):
        flag = _flag(o.flag, histories[i], stops) if too_young(bank, i) else o.flag
        forecasts[o.uid] = SeriesForecast(
            o.uid, o.forecaster, o.members, o.scores.get(o.forecaster), o.scores, flag,
            o.skipped, o.intensity, paths,
        )  # fmt: skip
    if keep_candidates:
        _candidate_paths(done, forecasts, bank, levels, seeds, n_paths, seed, histories, shares)
    return EngineResult(forecasts, outcomes, bank, plan, paired, *shares)


def _flag(flag: str | None, history: np.ndarray, stops: np.ndarray) -> str:
    """A young series' flag: its paths are its own days (``forecast.paths``), and stop."""
    note = young_note(stops[0, used_lately(history)])
    return f"{flag}; {note}" if flag else note


def _candidate_paths(done: list[Outcome], forecasts: dict[str, SeriesForecast], chosen: ErrorBank,
                     levels: np.ndarray, seeds: np.ndarray, n_paths: int, seed: int,
                     histories: list[np.ndarray], shares: tuple[np.ndarray, np.ndarray]
                     ) -> None:  # fmt: skip
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
                             seeds[has], n_paths, seed, histories=[histories[i] for i in has],
                             stops=shares[0], growth=shares[1])  # fmt: skip
        for i, paths in zip(has, drawn, strict=True):
            forecasts[done[i].uid].candidate_paths[name] = paths
