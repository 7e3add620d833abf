"""Calibrated sample paths: each series' point forecast plus errors it really made.

Every series is cross-validated from the same cutoffs (``forecast.engine``).
The errors of its chosen forecast from each cutoff, over the days the window
reaches, form one **error trajectory**, in units of the series' level at that
cutoff (its mean over the 28 days before). A sample path is the point
forecast plus one whole trajectory, scaled by today's level: empirical
(conformal) calibration per horizon step, that keeps what matters to finance:

- **Days are not independent.** A trajectory is replayed whole, so a path
  that runs high in week one runs high in week two as it really did, and the
  spread of a month's or a quarter's total is that of real totals, not the
  daily spread shrunk by the square root of the days.
- **Series are not independent either.** Path ``p`` uses the same cutoff for
  every series, so the shocks that hit many series at once (a holiday, an
  org-wide change) add up in team and company totals as they did; how far the
  paths are then re-paired for the company total is ``forecast.dependence``'s.
- **Short histories borrow.** A path replays the series' own trajectory at
  its cutoff; where the series is too young for that cutoff, one of a
  *similar* series (same idle-day class) there, rescaled so that its size
  over the window is what this series' errors typically reach there (its
  first-week error times the run's typical growth at that window). A
  class-mate's burst or change of level lends its shape, not its size: once
  a series with all its windows borrowed 40% of its paths, and one bursty
  class-mate left a stable series' median month at a fifth of its mean. A
  series with no trajectory at all gets its error size from its own
  day-to-day noise, as its class-mates' errors relate to theirs.
- **Beyond a window's reach** (the validated days) a trajectory's last-week
  level error grows like ``(k / reach) ** gamma``, ``gamma`` fitted per run
  from how the weekly level error grew within full windows (0: noise around
  a fixed level; 0.5: a random walk), and each day takes the error of a day
  of that last week drawn at random (``extend``).
- **Few trajectories are too narrow.** Empirical quantiles of a handful of
  draws under-cover, so each window is held out in turn and the draws from
  the others are stretched until they cover 80% of its days and of its window
  totals (``calibrate_spread``): the finite-sample correction, measured out
  of sample. Per idle-day class, shrunk towards the run's pooled factor by
  how few series the class has: a mostly idle series covers its zero days
  for free, and one factor pooled with those left busy series (a source's
  totals) covering half their days. The pooled factor leaves out the days
  that missed by nothing (idle, forecast idle).
- **The mean is the point forecast.** Errors are centred across paths; the paths
  themselves (``forecast.paths``) are floored and each day rescaled to the point
  forecast's mean, so no skew or floor moves the number that adds up in every total (a
  series too young for a window: its point forecast on the paths that do not stop).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

import numpy as np

T = TypeVar("T")
R = TypeVar("R")
BATCH = 64  # series drawn per numpy call: 64 x 200 paths x 91 days is 9 MB an array
IDLE_CLASSES = (0.1, 0.5)  # share of idle days among the last 56: smooth, some, mostly idle
DEFAULT_GAMMA = 0.5
SCALE_STEPS = 7  # error size is compared over the first week, which every window reaches
CLASS_NAMES = ("smooth", "some_idle", "mostly_idle")  # the classes of IDLE_CLASSES, in order
CLASS_PRIOR_SERIES = 3  # a class's own stretch weighs n / (n + this) against the pooled one


def idle_class(values: np.ndarray) -> int:
    recent = values[-56:]
    share = float(np.mean(recent == 0)) if len(recent) else 1.0
    return int(np.searchsorted(IDLE_CLASSES, share, side="right"))


def series_level(values: np.ndarray) -> float:
    """What errors are measured in: the mean of the last 28 days, or of the whole history
    when those were idle (never 0 for a series that ever had usage)."""
    recent = values[-28:]
    level = float(recent.mean()) if len(recent) else 0.0
    return level if level > 0 else (float(values.mean()) if len(values) else 0.0)


def noise_level(values: np.ndarray) -> float:
    """Day-to-day noise relative to the level: the mean absolute change from the same weekday
    a week before (from the day before in a series younger than two weeks)."""
    level = series_level(values)
    lag = 7 if len(values) > 14 else 1
    if level <= 0 or len(values) <= lag:
        return float("nan")
    return float(np.abs(values[lag:] - values[:-lag]).mean() / level)


def _nanmean(values: np.ndarray, axis: int | tuple[int, ...]) -> np.ndarray:
    """NaN-skipping mean that is NaN, without a warning, where nothing is known."""
    known = ~np.isnan(values)
    total = np.where(known, values, 0.0).sum(axis=axis)
    count = known.sum(axis=axis)
    return np.asarray(
        np.divide(total, count, out=np.full(np.shape(total), np.nan), where=count > 0)
    )


def growth_exponent(errors: np.ndarray) -> float:
    """How the weekly level error grows with the week of the horizon, as a power law fitted
    over the run's full-length trajectories (series, windows, H); in [0, 1]."""
    weeks = errors.shape[2] // 7
    if weeks < 2:
        return DEFAULT_GAMMA
    weekly = np.abs(errors[:, :, : weeks * 7].reshape(*errors.shape[:2], weeks, 7).mean(axis=3))
    per_series = _nanmean(weekly, axis=1)  # (series, weeks)
    per_series = per_series[~np.isnan(per_series).any(axis=1)]
    if len(per_series) == 0:
        return DEFAULT_GAMMA
    typical = np.median(per_series, axis=0)
    if (typical <= 0).any():
        return DEFAULT_GAMMA
    x = np.log(np.arange(weeks) + 0.5)
    slope = np.polyfit(x, np.log(typical), 1)[0]
    return float(np.clip(slope, 0.0, 1.0))


def extend(z: np.ndarray, h: int, gamma: float, reach: np.ndarray | None = None,
           picks: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """Trajectories (paths, days) carried to ``h`` days: beyond each row's ``reach`` (all
    of its days by default), the last week's level error grows like a power of the
    horizon, and each day takes the error of one day of that week: the day of its weekday,
    or with ``picks`` ((paths, h) integers from 0 to 6) the day drawn there. Drawn days
    keep one odd day of a week from recurring on its weekday in every week that follows:
    replayed, a burst from a one-week window recurred thirteen times in a quarter, and
    every month's total became as skewed as a day."""
    n, width = z.shape
    reach = np.full(n, width) if reach is None else np.asarray(reach, dtype=int)
    if n == 0 or h <= reach.min():
        return z[:, :h]
    # what is the same for every row of one reach, worked out once per reach
    reaches, row_of = np.unique(reach, return_inverse=True)
    week = np.minimum(7, reaches)
    start = reaches - week
    days = np.arange(h)
    beyond = days[None, :] >= reaches[:, None]
    offset = ((days[None, :] - start[:, None]) % week[:, None])[row_of] if picks is None else (
        picks % week[row_of, None])  # fmt: skip
    source = np.where(beyond[row_of], start[row_of, None] + offset,
                      np.minimum(days, width - 1)[None, :])  # fmt: skip
    growth = ((days[None, :] + 1) / np.maximum(reaches - week / 2, 1.0)[:, None]) ** gamma
    last_week = np.minimum(start[:, None] + np.arange(7), reaches[:, None] - 1)
    in_week = np.arange(7)[None, :] < week[:, None]
    last = np.take_along_axis(z, last_week[row_of], axis=1)
    level = np.where(in_week[row_of], last, 0.0).sum(axis=1, keepdims=True) / week[row_of, None]
    values = np.take_along_axis(z, source, axis=1)
    return np.where(beyond[row_of], level * (growth[row_of] - 1.0) + values, values)


@dataclass
class ErrorBank:
    """The run's error trajectories: ``errors`` (series, windows, H), NaN past each
    window's ``reaches`` and for windows a series is too young for; ``classes`` the idle-day
    class and ``noise`` the in-sample ``noise_level`` of each series."""

    errors: np.ndarray
    classes: np.ndarray
    noise: np.ndarray
    reaches: np.ndarray
    spread: np.ndarray = field(default_factory=lambda: np.ones(len(CLASS_NAMES)))  # per class
    factors: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.has = ~np.isnan(self.errors[:, :, 0])  # (series, windows)
        self.scales = _nanmean(np.abs(self.errors[:, :, :SCALE_STEPS]), axis=(1, 2))
        # each trajectory's size over its whole reach, and how that typically relates to
        # a series' first-week scale at each window: what a borrowed trajectory is scaled to
        self.sizes = _nanmean(np.abs(self.errors), axis=2)
        with np.errstate(divide="ignore", invalid="ignore"):
            grown = self.sizes / self.scales[:, None]
        grown[~np.isfinite(grown)] = np.nan
        with warnings.catch_warnings():  # a window no series reaches: NaN, then 1
            warnings.simplefilter("ignore", RuntimeWarning)
            self.growth = np.nan_to_num(np.nanmedian(grown, axis=0), nan=1.0)
        full = self.reaches == self.errors.shape[2]
        self.gamma = growth_exponent(self.errors[:, full]) if full.any() else DEFAULT_GAMMA
        self._mates: dict[tuple[int, int], np.ndarray] = {}

    @property
    def windows(self) -> int:
        return int(self.errors.shape[1])

    def calibrate(self, seed: int = 0) -> None:
        """Stretch every draw by the larger of its class's daily and window-total factors
        (``calibrate_spread``), so that neither days nor totals are overconfident."""
        self.factors = calibrate_spread(self, seed=seed)
        self.spread = np.array([max(self.factors[name]["daily"], self.factors[name]["total"])
                                for name in CLASS_NAMES])  # fmt: skip

    def mates(self, cls: int, window: int) -> np.ndarray:
        """Series of the class with a trajectory at ``window`` (any class if none has one)."""
        key = (cls, window)
        if key not in self._mates:
            found = np.flatnonzero(self.has[:, window] & (self.classes == cls))
            if not len(found):
                found = np.flatnonzero(self.has[:, window])
            self._mates[key] = found
        return self._mates[key]

    def scale_of(self, i: int, cls: int) -> float:
        """Series ``i``'s typical first-week error: its own, or its day-to-day noise times
        how its class-mates' errors relate to their noise."""
        if i >= 0 and self.has[i].any():
            return float(self.scales[i])
        known = self.has.any(axis=1) & (self.noise > 0)
        mates = known & (self.classes == cls)
        ratios = (
            self.scales[mates if mates.any() else known]
            / self.noise[mates if mates.any() else known]
        )
        noise = self.noise[i] if i >= 0 else np.nan
        if not len(ratios):
            return 0.0
        if not noise > 0:  # nothing to go by but the class
            pool = self.scales[mates if mates.any() else known]
            return float(np.median(pool))
        return float(noise * np.median(ratios))

    def draw(self, i: int, cls: int, window_draws: np.ndarray, seed: int, h: int) -> np.ndarray:
        """(paths, h) relative errors for series ``i`` (an index into the bank, or -1 for a
        series it does not hold), centred across paths and stretched by ``spread``."""
        many = self.draw_many(np.array([i]), np.array([cls]), window_draws, np.array([seed]), h)
        return np.asarray(many[0])

    def draw_many(self, rows: np.ndarray, classes: np.ndarray, window_draws: np.ndarray,
                  seeds: np.ndarray, h: int) -> np.ndarray:  # fmt: skip
        """``draw`` for many series at once: (series, paths, h), each from its own seed."""
        paths = len(window_draws)
        rngs = [np.random.default_rng(int(seed)) for seed in seeds]
        spread = self.spread[np.asarray(classes, dtype=int)][:, None, None]
        if not self.has.any():
            drawn = [self._unvalidated(int(i), rng, paths, h)
                     for i, rng in zip(rows, rngs, strict=True)]  # fmt: skip
            return np.asarray(spread * np.stack(drawn))
        chosen = [self._trajectories(int(i), int(c), window_draws, rng)
                  for i, c, rng in zip(rows, classes, rngs, strict=True)]  # fmt: skip
        source, ratio, usable = (np.stack(parts) for parts in zip(*chosen, strict=True))
        z = np.nan_to_num(self.errors[source, window_draws[None, :]] * ratio[:, :, None])
        reach = np.tile(self.reaches[window_draws], len(rows))
        picks = None  # the days drawn past a window's reach, where one is passed
        if h > reach.min():
            picks = np.stack([rng.integers(0, 7, (paths, h), dtype=np.int8) for rng in rngs])
            picks = picks.reshape(-1, h)
        z = extend(z.reshape(-1, z.shape[2]), h, self.gamma, reach, picks)
        z = z.reshape(len(rows), paths, h)
        z[~usable] = 0.0
        z -= z.mean(axis=1, keepdims=True)
        z *= spread
        return z

    def _trajectories(
        self, i: int, cls: int, window_draws: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Which trajectory each path replays: (series, ratio to its error size, whether
        there is one). The series' own at the path's window where it has one, else a
        class-mate's there, scaled so that its size over the window is the size this
        series' errors typically reach there: its first-week scale times the run's
        typical growth at that window. A class-mate's burst or change of level then
        lends its shape, not its size."""
        paths = len(window_draws)
        own = np.zeros(self.windows, dtype=bool) if i < 0 else self.has[i]
        take_own = own[window_draws]
        scale = self.scale_of(i, cls)
        source = np.full(paths, max(i, 0))
        ratio = np.ones(paths)
        usable = take_own.copy()
        for window in np.unique(window_draws):
            rows = np.flatnonzero(window_draws == window)
            others = rows[~take_own[rows]]
            mates = self.mates(cls, int(window))
            if not len(others) or not len(mates):
                continue
            picked = mates[rng.integers(0, len(mates), size=len(others))]
            source[others] = picked
            size = self.sizes[picked, window]
            ratio[others] = np.divide(scale * self.growth[window], size,
                                      out=np.zeros(len(others)), where=size > 0)  # fmt: skip
            usable[others] = True
        return source, ratio, usable

    def _unvalidated(self, i: int, rng: np.random.Generator, paths: int, h: int) -> np.ndarray:
        """No series of the run is old enough for one window: errors of the size of the
        series' own day-to-day noise, half a level error that persists and grows like a
        random walk, half a daily error. Wide and rough; the run flags these series."""
        noise = self.noise[i] if i >= 0 and self.noise[i] > 0 else 1.0
        steps = np.arange(1, h + 1)
        level = rng.normal(0, 1, (paths, 1)) * np.sqrt(steps / 7)[None, :]
        z = noise * (level + rng.normal(0, 1, (paths, h))) / np.sqrt(2)
        return np.asarray(z - z.mean(axis=0, keepdims=True))


def needed_factors(z: np.ndarray, actual: np.ndarray, coverage: float) -> np.ndarray:
    """Per column: the least factor by which the central ``coverage`` interval of ``z``
    (paths, n) must stretch around zero to hold ``actual`` (n,); or of many series at once,
    ``z`` (series, paths, n) and ``actual`` (series, n)."""
    lo, hi = np.quantile(z, [(1 - coverage) / 2, (1 + coverage) / 2], axis=-2)
    bound = np.where(actual >= 0, hi, lo)
    with np.errstate(divide="ignore", invalid="ignore"):
        # a miss by a zero-width interval: no stretch covers it (a large number, not inf,
        # so that quantiles of these stay finite)
        need = np.where(bound * actual > 0, actual / bound, 1e9)
    return np.where(actual == 0, 0.0, need)


class _Needs(NamedTuple):
    """What one batch of held-out series needed: its series, and per series the stretch of
    each of its days (series, days) and of its window total (series, 1)."""

    series: np.ndarray
    daily: np.ndarray
    total: np.ndarray


def calibrate_spread(
    bank: ErrorBank, seed: int = 0, n_paths: int = 100, coverage: float = 0.8,
    max_series: int = 200,
) -> dict[str, Any]:  # fmt: skip
    """Stretch factors that make the bank's intervals cover ``coverage`` of days (and of
    window totals) they did not see: each window is held out in turn, its errors compared
    with paths drawn from the other windows only. Returned pooled over the run
    (``daily``, ``total``) and per idle-day class (``smooth`` ..., with its ``series``
    count): the class's own factor weighted ``n / (n + CLASS_PRIOR_SERIES)`` for its ``n``
    held-out series, the pooled one the rest."""
    W = bank.windows
    rows = np.flatnonzero(bank.has.any(axis=1))
    if W < 2 or not len(rows):  # no window to hold out, or none to draw from
        ones = {"daily": 1.0, "total": 1.0}
        return {**ones, **{name: {**ones, "series": 0} for name in CLASS_NAMES}}
    rng = np.random.default_rng(seed)
    if len(rows) > max_series:
        rows = np.sort(rng.choice(rows, max_series, replace=False))
    needs: list[_Needs] = []
    saved, bank.spread = bank.spread, np.ones(len(CLASS_NAMES))
    try:
        batches = []  # (window, its draws, series, their seeds), drawn in this order
        for j in range(W):
            others = np.array([w for w in range(W) if w != j])
            draws = others[rng.integers(0, len(others), n_paths)]
            held = rows[bank.has[rows, j]]
            seeds = np.array([rng.integers(2**31) for _ in held], dtype=np.int64)
            batches += [(j, draws, held[k : k + BATCH], seeds[k : k + BATCH])
                        for k in range(0, len(held), BATCH)]  # fmt: skip

        def needed(batch: tuple[int, np.ndarray, np.ndarray, np.ndarray]) -> _Needs:
            j, draws, part, seeds = batch
            reach = int(bank.reaches[j])
            z = bank.draw_many(part, bank.classes[part], draws, seeds, reach)
            held_out = bank.errors[part, j, :reach]
            return _Needs(part, needed_factors(z, held_out, coverage), needed_factors(
                z.sum(axis=2)[:, :, None], held_out.sum(axis=1)[:, None], coverage))  # fmt: skip

        # every series drawn has a window of its own, held out in one batch at least
        needs = list(threaded(needed, batches))
    finally:
        bank.spread = saved

    def factor(kind: str, cls: int | None = None) -> float:
        return _stretch(needs, kind, bank.classes, cls, coverage)

    out: dict[str, Any] = {kind: factor(kind) for kind in ("daily", "total")}
    held_out = np.concatenate([need.series for need in needs])
    for c, name in enumerate(CLASS_NAMES):
        n = len(np.unique(held_out[bank.classes[held_out] == c]))
        weight = n / (n + CLASS_PRIOR_SERIES)
        out[name] = {kind: weight * factor(kind, c) + (1 - weight) * out[kind] if n else out[kind]
                     for kind in ("daily", "total")}  # fmt: skip
        out[name]["series"] = n
    return out


def _stretch(needs: list[_Needs], kind: str, classes: np.ndarray, cls: int | None,
             coverage: float) -> float:  # fmt: skip
    """The ``coverage`` quantile of what the days (or totals) of one class needed, or of
    every class (``cls`` None): the pooled factor, every class's prior, from the days that
    missed by anything. An idle day forecast idle needs no stretch whatever the interval;
    counted, such days set the prior by the share of idle days, not by what the days with
    usage need (a class's own factor keeps them: they are its to cover)."""
    parts = []
    for need in needs:
        rows = slice(None) if cls is None else classes[need.series] == cls
        parts.append(getattr(need, kind)[rows].ravel())
    values = np.concatenate(parts)
    if cls is None and (values > 0).any():
        values = values[values > 0]
    return float(np.clip(np.quantile(values, coverage), 0.5, 5.0))


def threaded(fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
    """``map`` over threads, one per core, in order: numpy lets go of the GIL in the large
    array operations of a batch of draws, so two cores draw a run's paths in 0.56 of the
    time one does."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        yield from pool.map(fn, items)
