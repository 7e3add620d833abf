"""How series move together in the sample paths, calibrated on the company's total.

Path ``p`` of every series replays the errors of one and the same window
(``forecast.intervals``), so shocks that hit many series at once add up in team and
company totals. Yet each series' spread is calibrated on its own days, and a total drawn
from the handful of windows there are is too narrow: on the demo, re-forecast from five
as-of dates, the company's daily total fell inside its 80% interval on 69-78% of the days
its run had held out, while its series covered their own days.

What a total adds up to depends on which path of one series is summed with which path
of another, not on any series' own paths. So the paths of each series are re-paired:
its paths, ranked by how high they run over the horizon, are put in the slots ranked by
a blend of that rank and the rank of the total's path there (``alpha`` 0: as drawn; 1:
every series' highest path with the total's highest). No series' distribution, no day's
mean, and so no total's mean moves; only the spread of sums. ``calibrate_dependence``
holds each window out in turn, draws its paths from the other windows as the run's own
backtest does (``forecast.scoring``), and keeps the least ``alpha`` whose total (of the
``MAX_SERIES`` costliest series) covers 80% of the held-out days, or the most covering one
where none does; the engine then re-pairs the run's paths with it (``pairing``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np

from forecast.chunk import Outcome
from forecast.intervals import BATCH, ErrorBank
from forecast.paths import lowest_ratio, paths_from

ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)
COVERAGE = 0.8
MAX_SERIES = 200


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks along the last axis, 0 to 1 (ties in order of appearance)."""
    order = np.argsort(values, axis=-1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(values.shape[-1]), axis=-1)
    return np.asarray(ranks / max(values.shape[-1] - 1, 1))


def pairing(scores: np.ndarray, alpha: float) -> np.ndarray:
    """(series, paths) indices: slot ``k`` of series ``i`` takes its path
    ``pairing[i, k]``. ``scores`` (series, paths) say how high each path runs (its cost
    over the horizon, say); the total's score per path is their sum as drawn."""
    own = np.argsort(scores, axis=1, kind="stable")
    blend = alpha * _ranks(scores.sum(axis=0))[None, :] + (1 - alpha) * _ranks(scores)
    slots = np.argsort(blend, axis=1, kind="stable")
    out = np.empty_like(own)
    np.put_along_axis(out, slots, own, axis=1)
    return out


def repair(paths: np.ndarray, alpha: float) -> np.ndarray:
    """``paths`` (series, paths, days) of one unit (cost) re-paired for ``alpha``, each path
    ranked by its sum over the days."""
    if alpha == 0 or len(paths) < 2:
        return paths
    order = pairing(paths.sum(axis=2), alpha)
    return np.take_along_axis(paths, order[:, :, None], axis=1)


class Held(NamedTuple):
    """One held-out window: the cost paths of its series drawn from the other windows
    (series, paths, reach) and the total cost that came (reach,)."""

    window: int
    paths: np.ndarray
    actual: np.ndarray


def held_out(
    bank: ErrorBank, outcomes: Sequence[Outcome], windows: Sequence[int], seed: int,
    n_paths: int, rows: Sequence[int] | None = None, apart: set[int] | None = None,
) -> Iterator[Held]:  # fmt: skip
    """Each window of ``windows`` held out in turn: its series' cost paths drawn from the
    other windows only (each floor from the other windows too), at the prices of the first
    forecast day, as the run's own paths are drawn. ``outcomes`` are the bank's series in
    its order; ``rows`` the ones to draw (all by default). Where ``apart`` is given, only
    those series keep paths of their own and the rest are summed, as drawn, into one more
    (a run of 20,000 series would otherwise hold 20,000 x 100 x 91 values per window)."""
    rng = np.random.default_rng(seed)
    chosen = range(len(outcomes)) if rows is None else rows
    for j in windows:
        reach = int(bank.reaches[j])
        others = np.array([w for w in range(bank.windows) if w != j])
        members = [(i, outcomes[i]) for i in chosen if bank.has[i, j]]
        if not len(others) or not members:
            continue
        draws = others[rng.integers(0, len(others), n_paths)]
        seeds = np.array([rng.integers(2**31) for _ in members], dtype=np.int64)
        slot = {i: k for k, (i, _) in enumerate(m for m in members if apart is None
                                                 or m[0] in apart)}  # fmt: skip
        cost = np.zeros((len(slot) + (len(slot) < len(members)), n_paths, reach))
        actual = np.zeros(reach)
        for start in range(0, len(members), BATCH):
            part = members[start : start + BATCH]
            indices = np.array([i for i, _ in part])
            z = bank.draw_many(indices, np.array([o.cls for _, o in part]), draws,
                               seeds[start : start + BATCH], reach)  # fmt: skip
            floors = [lowest_ratio(np.delete(o.actual_cv, j, 0), np.delete(o.point_cv, j, 0))
                      for _, o in part]  # fmt: skip
            paths = paths_from(np.stack([o.point_cv[j, :reach] for _, o in part]),
                               np.array([o.levels_cv[j] for _, o in part]), z,
                               np.array(floors))  # fmt: skip
            for (i, o), series_paths in zip(part, paths, strict=True):
                unit = np.nan_to_num(o.unit_cv[j, :reach])
                actual += np.nan_to_num(o.actual_cv[j, :reach]) * unit
                cost[slot.get(i, -1)] += np.nan_to_num(series_paths) * unit
        yield Held(j, cost, actual)


def costliest(outcomes: Sequence[Outcome], n: int = MAX_SERIES) -> list[int]:
    """The indices of the ``n`` series that cost the most (level times unit cost), in order."""
    size = np.array([o.level * unit_cost(o) for o in outcomes])
    return [int(i) for i in np.sort(np.argsort(-size, kind="stable")[:n])]


def covered(held: Held, alpha: float, coverage: float = COVERAGE) -> np.ndarray:
    """Which held-out days the total's central ``coverage`` interval holds, re-paired for
    ``alpha``."""
    total = repair(held.paths, alpha).sum(axis=0)
    lo, hi = np.quantile(total, [(1 - coverage) / 2, (1 + coverage) / 2], axis=0)
    return np.asarray((held.actual >= lo) & (held.actual <= hi))


def choose_alpha(hits: dict[int, np.ndarray], days: dict[int, int],
                 leave_out: int | None = None) -> float:  # fmt: skip
    """The least ``alpha`` whose total covered ``COVERAGE`` of the held-out days (of every
    window but ``leave_out``), else the one that covered most. ``hits[j]`` holds window
    ``j``'s covered days per alpha of ``ALPHAS``."""
    kept = [j for j in hits if j != leave_out]
    if not kept:
        return 0.0
    shares = np.sum([hits[j] for j in kept], axis=0) / max(sum(days[j] for j in kept), 1)
    enough = np.flatnonzero(shares >= COVERAGE)
    return float(ALPHAS[enough[0]] if len(enough) else ALPHAS[int(np.argmax(shares))])


class Pairing(NamedTuple):
    """The run's ``alpha``, and per held-out window the days its total covered at each of
    ``ALPHAS`` and its days: what a choice with one window left out is made from."""

    alpha: float
    hits: dict[int, np.ndarray]
    days: dict[int, int]

    def shares(self) -> dict[str, float]:
        """The share of held-out days the total covered, per alpha."""
        total = sum(self.days.values())
        if not total:
            return {}
        covered_days = np.sum(list(self.hits.values()), axis=0)
        return {
            f"{a:g}": round(float(c / total), 4) for a, c in zip(ALPHAS, covered_days, strict=True)
        }


def calibrate_dependence(
    bank: ErrorBank, outcomes: Sequence[Outcome], seed: int = 0, n_paths: int = 100,
    max_series: int = MAX_SERIES,
) -> Pairing:  # fmt: skip
    """The run's ``Pairing``: every window held out in turn, on the total of the
    ``max_series`` series that cost the most: the rest add little to a company's total, and
    drawing every window of all of them made ``bench/forecast.py``'s 2,000 series take
    17.3 s instead of 11.7 s."""
    hits: dict[int, np.ndarray] = {}
    days: dict[int, int] = {}
    if len(outcomes) < 2 or bank.windows < 2:
        return Pairing(0.0, hits, days)
    rows = costliest(outcomes, max_series)
    for held in held_out(bank, outcomes, range(bank.windows), seed, n_paths, rows):
        hits[held.window] = np.array([covered(held, a).sum() for a in ALPHAS])
        days[held.window] = len(held.actual)
    return Pairing(choose_alpha(hits, days), hits, days)


def unit_cost(outcome: Outcome) -> float:
    """What a unit of the series' volume costs, on average over its windows (0 where it
    has none): the weight of its paths in the total's ranking."""
    known = outcome.unit_cv[np.isfinite(outcome.unit_cv)]
    return float(known.mean()) if len(known) else 0.0
