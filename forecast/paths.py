"""Sample paths: a series' point forecast plus the error trajectories ``forecast.intervals``
draws, floored where the series has never been, each day rescaled so that its mean over
the paths is exactly the point forecast (the number that adds up in every total).

What no series' own windows show comes from the run's other series:

- **A series too young for a window of its own** replays its own days instead
  (``own_history_paths``): the bank's errors are those of older series, steadier than a
  model in its first weeks, which may as well stop as triple. Borrowed, they gave the
  young per-model series of real usage (``bench/churn.py``) a 14-day P10-P90 that held
  their actual total 5-13% of the time, and a P10 above zero for models used once. Its
  mean is its point forecast on the paths that go on, zero on those that stop: its point
  forecast (the short-history fallback's, validated by no window) knows nothing of
  stopping, and kept as the mean it made the paths that went on spend up to five times
  the rate the model had (young models not used the week before: 1,074 USD forecast for
  1.08 spent over 19 fortnights; 384 now).
- **Young models are taken up.** A young series used the week before also grows on each
  path as one of the run's young series in use did after a past cutoff
  (``AfterCutoffs.young_growth``): its own days hold no take-up, and such models spent more than their P90 in a third of
  the fortnights (in two sevenths since).
- **Models are dropped.** A share of a series' paths is zero throughout, the share of the
  run's series like it (young or not, used the week before or not) that had nothing in
  the fortnight after a past cutoff (``AfterCutoffs.stop_shares``). For an older series
  only where it was used that week: its windows, floored at their lowest day, cannot reach zero, while
  a quiet series' windows hold its idle days already (giving it the share too moved real
  usage's daily coverage from 79-80% to 82-85%).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

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


BLOCK = 7  # days replayed together: a week keeps a weekday pattern and a burst's run of days
YOUNG_DAYS = 28  # a series this young at a cutoff is young for the stop shares
STOP_DAYS = 14  # stopped: no usage for this long (or the horizon, if shorter)
STOP_PRIOR = 3  # the shares are shrunk towards none, as if this many more series had gone on
RECENT_DAYS = 7  # used lately: any usage in the last week
GROWTH_FLOOR = 1e-6  # a young series that went to less than this share of itself stopped


def used_lately(history: np.ndarray) -> int:
    """1 where the series had usage in its last ``RECENT_DAYS`` days, else 0: the column of
    ``AfterCutoffs.stop_shares`` it takes."""
    return int(history[-RECENT_DAYS:].sum() > 0)


def too_young(bank: ErrorBank, row: int) -> bool:
    """A series with no trajectory of its own in the bank (``row`` -1: not in it at all):
    its paths replay its own days."""
    return row < 0 or not bank.has[row].any()


class AfterCutoffs(NamedTuple):
    """What the run's series did after each past weekly cutoff (``after_cutoffs``)."""

    # (young, old) x (quiet, used): of the run's series at each past cutoff (every week
    # back from the end), the share with no usage at all over the ``STOP_DAYS`` after it;
    # apart for series ``YOUNG_DAYS`` old or less and older, and for those not used in the
    # week before the cutoff and those used. Models are tried and dropped: on real usage a
    # third of the models under four weeks old and used that week, and a quarter of the
    # older ones, had nothing in the fortnight after (``bench/churn.py``). A series' own
    # days cannot tell that; the run's others can.
    stop_shares: np.ndarray
    # Of the run's young series used in the week before a past cutoff that went on after
    # it: each one's mean day over the ``STOP_DAYS`` after (the horizon, if shorter), over
    # its mean day before (its whole history then: the days ``own_history_paths`` replays).
    # Models in their first weeks are taken up or let go: on real usage the young models
    # in use spent more than their P90 in a third of the fortnights (``bench/churn.py``),
    # while their own days, replayed, knew no growth.
    young_growth: np.ndarray


def after_cutoffs(histories: Sequence[np.ndarray], h: int) -> AfterCutoffs:
    """The stop shares and young series' growth of ``AfterCutoffs``, in one walk over the
    past cutoffs. A cutoff after which no series had any usage is left out: that is a gap
    in the data (``forecast`` says so), not every model stopping."""
    stopped, seen = np.zeros((2, 2)), np.zeros((2, 2))
    growth = []
    for cut in past_cutoffs(histories, h):
        np.add.at(seen, (cut.old[cut.ever], cut.used[cut.ever]), 1)
        gone = cut.ever & cut.quiet
        np.add.at(stopped, (cut.old[gone], cut.used[gone]), 1)
        going = cut.ever & (cut.old == 0) & (cut.used == 1) & ~cut.quiet
        at = cut.cuts[going]  # used before (ever), so their mean day before is above zero
        after = (cut.total[at + cut.days] - cut.total[at]) / cut.days
        growth.append(after / (cut.total[at] / at))
    return AfterCutoffs(stopped / (seen + STOP_PRIOR),
                        np.concatenate(growth) if growth else np.zeros(0))  # fmt: skip


@dataclass
class _Cutoffs:
    """One series' past weekly cutoffs (days of history before each: ``cuts``), its
    cumulative usage ``total`` (0 first), and per cutoff: counted (``ever``: used before,
    and not a gap after), old (past ``YOUNG_DAYS``), used in the week before, quiet after."""

    cuts: np.ndarray
    days: int
    total: np.ndarray
    ever: np.ndarray
    old: np.ndarray
    used: np.ndarray
    quiet: np.ndarray


def past_cutoffs(histories: Sequence[np.ndarray], h: int) -> Iterator[_Cutoffs]:
    """Every week back from the end, as ``after_cutoffs`` counts them. A cutoff after which
    no series had any usage is a gap in the data (``forecast`` says so), not counted."""
    days = min(h, STOP_DAYS)
    if not len(histories):
        return
    # the histories all end on the as-of day: any usage on each day, counted from the end
    longest = max(len(y) for y in histories)
    anyone = np.zeros(longest)
    for y in histories:
        anyone[longest - len(y) :] += y > 0
    anyone = np.concatenate([[0.0], np.cumsum(anyone > 0)])
    for y in histories:
        cuts = np.arange(len(y) - days, 0, -7)  # days of history before each cutoff
        if not len(cuts):
            continue
        total = np.concatenate([[0.0], np.cumsum(y)])
        start = longest - len(y) + cuts
        yield _Cutoffs(
            cuts, days, total,
            ever=(total[cuts] > 0) & (anyone[start + days] - anyone[start] > 0),
            old=(cuts > YOUNG_DAYS).astype(int),
            used=(total[cuts] - total[np.maximum(cuts - RECENT_DAYS, 0)] > 0).astype(int),
            quiet=total[cuts + days] - total[cuts] <= 0,
        )  # fmt: skip


def young_note(stop: float) -> str:
    """What a series' flag says of paths that replay its own days."""
    return "its paths replay its own days (no window of its own)" + (
        f", {stop:.0%} of them zero throughout, as the run's young series stopped" if stop else ""
    )


def own_history_paths(point: np.ndarray, history: np.ndarray, n_paths: int,
                      rng: np.random.Generator, stop: float = 0.0,
                      growth: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """(paths, h): ``point`` times the series' own days over their mean, the days replayed
    a week at a time from random days of its history (wrapping round its end), each path
    times one of ``growth`` (where given), a ``stop`` share of the paths at zero
    throughout; each day then rescaled so that its mean over the paths is ``point`` times
    the share that goes on. A model used on one day of
    thirteen keeps that day's odds: a fifth of its fortnights spend nothing even where
    no model stopped before."""
    if not len(history) or history.mean() <= 0:
        return np.repeat(point[None, :], n_paths, axis=0)
    h, n = len(point), len(history)
    starts = rng.integers(0, n, (n_paths, -(-h // BLOCK)))
    days = ((starts[:, :, None] + np.arange(BLOCK)) % n).reshape(n_paths, -1)[:, :h]
    paths = point[None, :] * (history[days] / history.mean())
    if growth is not None and len(growth):
        # each path grows as one of the run's young series did (``AfterCutoffs``), or not
        # at all as if STOP_PRIOR more had not; its mean is kept by the rescale after
        drawn = np.r_[growth, np.ones(STOP_PRIOR)][
            rng.integers(len(growth) + STOP_PRIOR, size=n_paths)
        ]
        # a millionth of what it was is a series that stopped (and a denormal multiplier
        # would overflow the rescale)
        paths *= np.where(drawn < GROWTH_FLOOR, 0.0, drawn)[:, None]
    return stopped(paths, point * (1 - stop), stop, rng)


def stopped(paths: np.ndarray, point: np.ndarray, stop: float, rng: np.random.Generator
            ) -> np.ndarray:  # fmt: skip
    """``paths`` with a ``stop`` share of them at zero throughout, each day then rescaled so
    that its mean is ``point``."""
    n_paths = len(paths)
    going = np.ones(n_paths, dtype=bool)  # one path always goes on
    going[rng.permutation(n_paths)[: min(round(stop * n_paths), n_paths - 1)]] = False
    paths[~going] = 0.0
    mean = paths.mean(axis=0)
    factor = np.divide(point, mean, out=np.zeros_like(point, dtype=float), where=mean > 0)
    paths *= factor
    # A day no path drew usage on goes to the paths with usage on other days: spread over
    # every path, it gave a model used once a little spend on every path, and a P10 above
    # zero. Where no path that goes on has any usage, it goes to all of those.
    empty = (mean <= 0) & (point > 0)
    if empty.any():
        active = going & (paths.sum(axis=1) > 0)
        active = active if active.any() else going
        paths[:, empty] = np.where(active[:, None], point[empty] * n_paths / active.sum(), 0.0)
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
    histories: Sequence[np.ndarray] | None = None,
    stops: np.ndarray | None = None,
    growth: np.ndarray | None = None,
) -> Iterator[np.ndarray]:
    """Paths per series, in order: ``points`` (series, h), ``rows`` the series' index in the
    bank (-1 where it has none), ``floors`` each one's ``lowest_ratio`` (0 by default),
    ``histories`` each one's daily values (where given: a series without a trajectory of
    its own in the bank replays them, and some paths stop, as the module docstring says;
    ``stops`` and ``growth``: the ``AfterCutoffs`` to use, those of ``histories`` by
    default). One draw of cutoffs is shared by every series."""
    floors = np.zeros(len(points)) if floors is None else floors
    window_draws = np.random.default_rng(run_seed).integers(0, max(bank.windows, 1), n_paths)
    if histories is not None and (stops is None or growth is None):
        found = after_cutoffs(histories, points.shape[1])  # one walk for both
        stops = found.stop_shares if stops is None else stops
        growth = found.young_growth if growth is None else growth
    if stops is None:
        stops = np.zeros((2, 2))

    def own(i: int, drawn: np.ndarray | None) -> np.ndarray:
        """Series ``i``'s paths: its own days where it has no trajectory (``drawn`` None),
        else its drawn paths, some stopped where it was used in the last week."""
        assert histories is not None
        y = histories[i]
        used = used_lately(y)
        # a stream of its own: the bank's draws for the series stay what they were
        rng = np.random.default_rng([int(seeds[i]), 1])
        if drawn is None:
            return own_history_paths(points[i], y, n_paths, rng, stops[0, used],
                                     growth if used else None)  # fmt: skip
        return stopped(drawn, points[i], stops[1, 1], rng) if used else drawn

    if bank.windows == 0:
        for i, point in enumerate(points):
            yield np.repeat(point[None, :], n_paths, axis=0) if histories is None else own(i, None)
        return

    def drawn(start: int) -> np.ndarray:
        part = slice(start, start + BATCH)
        z = bank.draw_many(rows[part], classes[part], window_draws, seeds[part], points.shape[1])
        paths = paths_from(points[part], levels[part], z, floors[part])
        if histories is not None:
            for j, row in enumerate(rows[part]):
                paths[j] = own(start + j, None if too_young(bank, row) else paths[j])
        return paths

    for batch in threaded(drawn, range(0, len(points), BATCH)):
        yield from batch
