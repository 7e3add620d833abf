"""Calibrated sample paths: each series' point forecast plus errors it really made.

Every series is cross-validated from the same cutoffs (``forecast.engine``).
The errors of its chosen forecast at each cutoff, over the next ``H`` days,
form one **error trajectory**, in units of the series' level at that cutoff
(its mean over the 28 days before). A sample path is the point forecast plus
one whole trajectory, scaled by today's level. This is empirical (conformal)
calibration per horizon step, and it keeps what matters for finance:

- **Days are not independent.** A trajectory is replayed whole, so a path
  that runs high in week one runs high in week two as it really did, and the
  spread of a month's or a quarter's total is that of real totals, not the
  daily spread shrunk by the square root of the days.
- **Series are not independent either.** Path ``p`` uses the same cutoff for
  every series, so the shocks that hit many series at once (a holiday, an
  org-wide change) add up in team and company totals as they did.
- **Short histories borrow.** A series with ``n`` own trajectories takes its
  own with probability ``n / (n + PRIOR_WINDOWS)``; otherwise one of a
  *similar* series (same idle-day class) at the same cutoff, rescaled by
  the ratio of the two series' typical error size.
- **Beyond the validated horizon** a trajectory's last-week level error grows
  like ``(k / H) ** gamma``, ``gamma`` fitted per run from how the weekly level
  error grew within ``H`` (0: noise around a fixed level; 0.5: a random walk).
- **The mean is the point forecast.** Errors are centred across paths, paths
  are clipped at zero, and each day is rescaled to the point forecast's mean,
  so no skew or clipping moves the number that adds up in every total.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

PRIOR_WINDOWS = 4  # own trajectories count this much more than the pool's before they win
IDLE_CLASSES = (0.1, 0.5)  # share of idle days among the last 56: smooth, some, mostly idle
DEFAULT_GAMMA = 0.5


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


def _nanmean(values: np.ndarray, axis) -> np.ndarray:
    """NaN-skipping mean that is NaN, without a warning, where nothing is known."""
    known = ~np.isnan(values)
    total = np.where(known, values, 0.0).sum(axis=axis)
    count = known.sum(axis=axis)
    return np.divide(total, count, out=np.full(np.shape(total), np.nan), where=count > 0)


def growth_exponent(errors: np.ndarray) -> float:
    """How the weekly level error grows with the week of the horizon, as a power law fitted
    over the run's trajectories (series, windows, H); in [0, 1]."""
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


@dataclass
class ErrorBank:
    """The run's error trajectories: ``errors`` (series, windows, H), NaN for a window a
    series is too young for; ``classes`` its idle-day class per series."""

    errors: np.ndarray
    classes: np.ndarray

    def __post_init__(self) -> None:
        self.has = ~np.isnan(self.errors).any(axis=2)  # (series, windows)
        self.scales = _nanmean(np.abs(self.errors), axis=(1, 2))
        self.gamma = growth_exponent(self.errors)
        self._mates: dict[tuple[int, int], np.ndarray] = {}

    @property
    def windows(self) -> int:
        return self.errors.shape[1]

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
        if self.has[i].any():
            return float(self.scales[i])
        known = self.scales[self.has.any(axis=1) & (self.classes == cls)]
        if not len(known):
            known = self.scales[self.has.any(axis=1)]
        return float(np.median(known)) if len(known) else 0.0

    def draw(self, i: int, cls: int, window_draws: np.ndarray, seed: int) -> np.ndarray:
        """(paths, H) relative errors for series ``i`` (an index into the bank, or -1 for a
        series with no trajectories of its own), centred across paths."""
        rng = np.random.default_rng(seed)
        paths = len(window_draws)
        own = np.zeros(self.windows, dtype=bool) if i < 0 else self.has[i]
        alpha = own.sum() / (own.sum() + PRIOR_WINDOWS)
        take_own = own[window_draws] & (rng.random(paths) < alpha)
        z = np.zeros((paths, self.errors.shape[2]))
        if take_own.any():
            z[take_own] = self.errors[i, window_draws[take_own]]
        scale = self.scale_of(i, cls) if i >= 0 else self.scale_of_class(cls)
        for window in np.unique(window_draws[~take_own]):
            rows = np.flatnonzero(~take_own & (window_draws == window))
            mates = self.mates(cls, int(window))
            if not len(mates):
                continue
            picked = mates[rng.integers(0, len(mates), size=len(rows))]
            ratio = np.divide(scale, self.scales[picked], out=np.zeros(len(rows)),
                              where=self.scales[picked] > 0)  # fmt: skip
            z[rows] = self.errors[picked, window] * ratio[:, None]
        return z - z.mean(axis=0, keepdims=True)

    def scale_of_class(self, cls: int) -> float:
        known = self.scales[self.has.any(axis=1) & (self.classes == cls)]
        if not len(known):
            known = self.scales[self.has.any(axis=1)]
        return float(np.median(known)) if len(known) else 0.0


def extend(z: np.ndarray, h: int, gamma: float) -> np.ndarray:
    """Trajectories (paths, H) carried to ``h`` days: beyond H, the last week's level error
    grows like a power of the horizon and its day-to-day pattern repeats, weekday kept."""
    H = z.shape[1]
    if h <= H:
        return z[:, :h]
    week = min(7, H)
    last = z[:, H - week :]
    level = last.mean(axis=1, keepdims=True)
    beyond = np.arange(H, h)
    growth = ((beyond + 1) / max(H - week / 2, 1.0)) ** gamma
    noise = (last - level)[:, (beyond - (H - week)) % week]
    return np.concatenate([z, level * growth[None, :] + noise], axis=1)


def paths_from(point: np.ndarray, level: float, z: np.ndarray) -> np.ndarray:
    """(paths, h) sample paths around ``point`` whose daily mean is exactly ``point``."""
    paths = np.clip(point[None, :] + level * z, 0.0, None)
    mean = paths.mean(axis=0)
    factor = np.divide(point, mean, out=np.zeros_like(point), where=mean > 0)
    return paths * factor[None, :]


def sample_paths(
    bank: ErrorBank,
    points: np.ndarray,
    levels: np.ndarray,
    rows: np.ndarray,
    classes: np.ndarray,
    seeds: np.ndarray,
    n_paths: int,
    run_seed: int,
) -> Iterator[np.ndarray]:
    """Paths per series, in order: ``points`` (series, h), ``rows`` the series' index in the
    bank (-1 where it has none). One draw of cutoffs is shared by every series."""
    window_draws = np.random.default_rng(run_seed).integers(0, max(bank.windows, 1), n_paths)
    h = points.shape[1]
    for point, level, row, cls, seed in zip(points, levels, rows, classes, seeds, strict=True):
        if bank.windows == 0:
            yield np.repeat(point[None, :], n_paths, axis=0)
            continue
        z = extend(bank.draw(int(row), int(cls), window_draws, int(seed)), h, bank.gamma)
        yield paths_from(point, float(level), z)
