"""Sample paths: a series' point forecast plus the error trajectories ``forecast.intervals``
draws, floored where the series has never been, each day rescaled so that its mean over
the paths is exactly the point forecast (the number that adds up in every total)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from forecast.intervals import BATCH, ErrorBank, threaded


def lowest_ratio(actual: np.ndarray, point: np.ndarray) -> float:
    """The lowest a day of a series' own windows came in against its forecast (actual /
    point, in [0, 1]; 0 where a window held an idle day, or there is no window): the floor
    of its paths. Centred errors mirror a past jump into a fall: a series whose level went
    5x, with half its windows across the jump, had half its paths at zero although no
    day of its had come in under 0.4 of its forecast."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = actual / point
    seen = ratio[np.isfinite(ratio) & (point > 0)]
    return float(np.clip(seen.min(), 0.0, 1.0)) if len(seen) else 0.0


def paths_from(point: np.ndarray, level: Any, z: np.ndarray, floor: Any = 0.0) -> np.ndarray:
    """(paths, h) sample paths around ``point`` (h,) whose daily mean is exactly ``point``,
    none under ``floor`` x ``point`` before that rescale; or of many series at once:
    ``point`` (series, h), ``level`` and ``floor`` (series,), ``z`` (series, paths, h)."""
    level = np.asarray(level, dtype=float)[..., None, None]
    lowest = np.asarray(floor, dtype=float)[..., None, None] * point[..., None, :]
    # in place after the first product: a run's paths are hundreds of MB, and every pass
    # allocating its own copy made drawing them a third slower
    paths: np.ndarray = np.multiply(level, z)
    paths += point[..., None, :]
    np.maximum(paths, lowest, out=paths)
    mean = paths.mean(axis=-2)
    factor = np.divide(point, mean, out=np.zeros_like(point), where=mean > 0)
    paths *= factor[..., None, :]
    return paths


def sample_paths(
    bank: ErrorBank,
    points: np.ndarray,
    levels: np.ndarray,
    rows: np.ndarray,
    classes: np.ndarray,
    seeds: np.ndarray,
    n_paths: int,
    run_seed: int,
    floors: np.ndarray | None = None,
) -> Iterator[np.ndarray]:
    """Paths per series, in order: ``points`` (series, h), ``rows`` the series' index in the
    bank (-1 where it has none), ``floors`` each one's ``lowest_ratio`` (0 by default). One
    draw of cutoffs is shared by every series."""
    floors = np.zeros(len(points)) if floors is None else floors
    window_draws = np.random.default_rng(run_seed).integers(0, max(bank.windows, 1), n_paths)
    if bank.windows == 0:
        yield from (np.repeat(point[None, :], n_paths, axis=0) for point in points)
        return

    def drawn(start: int) -> np.ndarray:
        part = slice(start, start + BATCH)
        z = bank.draw_many(rows[part], classes[part], window_draws, seeds[part], points.shape[1])
        return paths_from(points[part], levels[part], z, floors[part])

    for batch in threaded(drawn, range(0, len(points), BATCH)):
        yield from batch
