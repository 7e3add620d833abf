"""How much of a team's spend goes to features and models it had not used before.

A run forecasts every (feature, model) key the team has used (``forecast.engine``); one it
has not used yet is in no series. Teams that keep trying new models spend a real share
there: in one person's coding-agent usage a median 36.5% of a fortnight's cost went to
models first used in it (``bench/churn.py``), and the team's total came to 0.46x what it
spent. Nothing in a key's own history says how much, so a run measures it on the team's
past: ``new_model_share`` (gross, said by ``forecast`` where large) and ``unseen_ratios``
(net of what known keys fell short: a team that only moved to another model spent
nothing new), from which ``unseen_lines`` gives each team a line of its own in the run.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from forecast.chunk import SeriesInput
from forecast.coverage import GAP_DAYS
from forecast.engine import SeriesForecast, series_seed
from forecast.errors import CostcastError
from forecast.series import TOKENS, DriverSeries, key_id, usd_per_unit

FORTNIGHT = 14  # the spend measured after each cutoff
CUTOFFS = 8  # weekly cutoffs, the latest a fortnight before the as-of day
SAY_SHARE = 0.10  # a share this large or more is worth a warning


def new_model_share(drivers: pd.DataFrame, as_of: dt.date) -> list[dict[str, Any]]:
    """Per team: of its cost in the fortnight after each of the last ``CUTOFFS`` weekly
    cutoffs (the latest ``FORTNIGHT`` days before ``as_of``), the share spent on models the
    team first used after that cutoff (``share``, pooled over the cutoffs), and over how many
    (``fortnights``: those where the team had usage before the cutoff and cost after it).
    ``drivers``: daily cost per (team, feature, model), ``ds`` and ``cost``."""
    used = drivers[drivers["cost"] > 0]
    if used.empty:
        return []
    # whole days as numbers, each comparison one pass over the rows for every team at once
    day = used["ds"].to_numpy(dtype="datetime64[D]")
    first = used.groupby(["team", "model"])["ds"].transform("min").to_numpy(dtype="datetime64[D]")
    team, cost = used["team"], used["cost"]
    new = pd.Series(0.0, index=sorted(team.unique()))
    total, fortnights = new.copy(), new.copy()
    for k in range(CUTOFFS):
        cut = np.datetime64(as_of - dt.timedelta(days=FORTNIGHT + 7 * k), "D")
        after = (day > cut) & (day <= cut + FORTNIGHT)
        spent = cost[after].groupby(team[after]).sum()
        # a team's fortnight counts where it had usage before the cutoff and cost after it
        counted = spent[(spent > 0) & spent.index.isin(team[day <= cut].unique())]
        fortnights[counted.index] += 1
        total[counted.index] += counted
        newly = after & (first > cut)
        new = new.add(cost[newly].groupby(team[newly]).sum().reindex(counted.index), fill_value=0)
    return [
        {"team": t, "share": round(float(new[t] / total[t]), 4), "fortnights": int(n)}
        for t, n in fortnights.items()
        if n
    ]


NEW = "(new)"  # feature and model of the line that holds a team's spend on series not used yet
REACH = 52  # weekly cutoffs a team's new spend is measured after: a year back
FIRST_CUTOFF = 2  # the latest cutoff is a fortnight back, so each shows two weeks at least
MIN_CUTOFFS = 4  # fewer cutoffs than this say too little: no line
# Net new spend (new keys' spend less the known keys' shortfall) under this share of the
# expected spend is a sum's rounding, none: one key taking over from another on the same
# days came to 9e-17 in one order of summing and to 0 in another, and made a line.
NOISE = 1e-9
LEVEL_DAYS = 28  # a team's level at a cutoff: its mean daily cost over this many days
MIX_DAYS = 28  # the new line's tokens take the mix of the team's last this many days


def unseen_ratios(
    drivers: pd.DataFrame, as_of: dt.date, h: int
) -> dict[str, tuple[float, np.ndarray, np.ndarray]]:
    """Per team with new spend: (level now, ratios, weights), one ratio and weight per past
    weekly cutoff.

    After a cutoff (``FIRST_CUTOFF`` to ``REACH`` weeks back, on the as-of date's weekday),
    over the days to come (up to ``h`` of them, to ``as_of``), the weight is what the team
    would have spent at its level (mean daily cost over the ``LEVEL_DAYS`` to the cutoff),
    and the ratio what it spent on (feature, model) keys it first used after the cutoff,
    less what the keys it knew fell short of that level, to the weight. Pooled: new
    spend per dollar of level, net of the spend it took over from known keys (a team that
    moved from one model to another once spent nothing new, on the whole; one that launched
    a feature did), a team's first weeks, when its level was low, weighing little. Days in
    a gap of the data (``GAP_DAYS`` or more with no usage from anyone: ``in_gaps``) count
    in neither a level nor the days to come, so that a missing month lowers no level and
    makes no shortfall. A cutoff counts where the team had usage in the fortnight before
    it and the ledger had usage in the fortnight after it; a team with fewer than
    ``MIN_CUTOFFS`` that count, or no net new spend after any, has none.
    """
    frame = drivers[drivers["ds"] <= pd.Timestamp(as_of)]
    days = pd.date_range(frame["ds"].min(), pd.Timestamp(as_of), freq="D")
    # (keys, days) cost matrices; whole days as positions, the as-of date the last
    cost = frame.pivot_table(index=["team", "feature", "model"], columns="ds", values="cost",
                             aggfunc="sum", fill_value=0.0).reindex(columns=days, fill_value=0.0)  # fmt: skip
    matrix = cost.to_numpy()
    used = matrix > 0
    anyone = used.any(axis=0)
    counted = ~in_gaps(~anyone)  # a gap in the data is neither a low level nor a shortfall
    end = len(days) - 1
    out: dict[str, tuple[float, np.ndarray, np.ndarray]] = {}
    for team, rows in cost.groupby(level="team", sort=True).indices.items():
        mine, seen = matrix[rows], used[rows]
        if not seen.any():
            continue
        first = seen.argmax(axis=1)  # each key's first day of use
        total = mine.sum(axis=0)
        began = int(first.min())
        ratios, weights = [], []
        for k in range(FIRST_CUTOFF, REACH + 1):
            cut = end - 7 * k
            if cut < began or not seen[:, max(cut - 13, 0) : cut + 1].any():
                continue  # nothing to be new against
            if not anyone[cut + 1 : cut + 15].any():
                continue
            level = _level(total, counted, cut, began)
            n = min(h, end - cut)
            expected = level * counted[cut + 1 : cut + 1 + n].sum()
            if expected <= 0:
                continue  # its days to come all in a gap
            new = mine[first > cut, cut + 1 : cut + 1 + n].sum()
            net = new - max(0.0, expected - mine[first <= cut, cut + 1 : cut + 1 + n].sum())
            ratios.append(net / expected if net > NOISE * expected else 0.0)
            weights.append(expected)
        if len(ratios) >= MIN_CUTOFFS and any(ratios):
            now = _level(total, counted, end, began)
            out[str(team)] = (now, np.array(ratios), np.array(weights))
    return out


def _level(total: np.ndarray, counted: np.ndarray, day: int, began: int) -> float:
    """Mean daily cost over the ``LEVEL_DAYS`` to position ``day`` (from ``began`` if later),
    days in a gap of the data left out."""
    since = max(day - LEVEL_DAYS + 1, began)
    return float(total[since : day + 1].sum()) / max(int(counted[since : day + 1].sum()), 1)


def in_gaps(quiet: np.ndarray) -> np.ndarray:
    """Days inside a run of ``GAP_DAYS`` or more ``quiet`` days (no usage from any source):
    usage not exported, more likely than none (``forecast.coverage.usage_gaps``)."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]])))
    out = np.zeros(len(quiet), dtype=bool)
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        if stop - start >= GAP_DAYS:
            out[start:stop] = True
    return out


def unseen_lines(
    series: list[DriverSeries],
    forecasts: dict[str, SeriesForecast],
    drivers: pd.DataFrame,
    as_of: dt.date,
    h: int,
    n_paths: int,
    seed: int,
) -> list[tuple[DriverSeries, SeriesForecast, dict[str, Any]]]:
    """Per team with new spend (``unseen_ratios``), a line keyed (team, ``NEW``, ``NEW``)
    for what it will spend on features and models it had not used by ``as_of``: on each
    path, one past cutoff's ratio (drawn by weight) times the team's level now, shaped as
    the team's other series are on that path (weekdays, and how busy the path is).
    ``forecasts``: the run's, by series uid. Each line comes with what the run keeps of
    how it was made (team, cutoffs, pooled ratio, level now)."""
    out = []
    for team, (level, ratios, weights) in unseen_ratios(drivers, as_of, h).items():
        mine = [s for s in series if s.team == team]
        if any(s.feature == NEW and s.model == NEW for s in mine):
            raise CostcastError(
                f"team {team!r} has a series whose feature and model are both {NEW!r}: that "
                "name is the run's line for features and models not used yet; rename one",
                field="model", value=NEW,
            )  # fmt: skip
        if not mine:
            continue  # every model it used is one the book cannot price (the run says so)
        # (paths, days) the team's cost on each path
        known = sum(forecasts[s.input.uid].paths
                    * usd_per_unit(forecasts[s.input.uid].intensity, s.prices) for s in mine)  # fmt: skip
        rng = np.random.default_rng(series_seed(seed, f"{team}|{NEW}"))
        drawn = rng.choice(len(ratios), size=n_paths, p=weights / weights.sum())
        # the team's level now, shaped by its paths (weekdays, and how busy each path is)
        shape = known / known.mean() if known.mean() > 0 else np.ones((n_paths, h))
        pooled = float(ratios @ weights / weights.sum())
        note = (
            f"features and models first used after {as_of}: each path is the team's level now "
            f"({level:,.2f} USD a day) times what it spent on keys new after one of its last "
            f"{len(ratios)} weekly cutoffs, net of what it moved off known ones, per dollar of "
            f"its level then ({pooled:.2f} pooled)"
        )
        line, forecast = _line(team, mine, ratios[drawn][:, None] * level * shape, note)
        kept = {"team": team, "cutoffs": len(ratios), "pooled_ratio": round(pooled, 4),
                "level_usd_per_day": round(level, 6)}  # fmt: skip
        out.append((line, forecast, kept))
    return out


def _line(team: str, mine: list[DriverSeries], cost: np.ndarray, note: str
          ) -> tuple[DriverSeries, SeriesForecast]:  # fmt: skip
    """The team's ``NEW`` line with ``cost`` (paths, days) as a run holds a series: its
    tokens the team's mix of its last ``MIX_DAYS`` days, priced at its series' prices
    weighed by those tokens, so that scenarios on the team (traffic, prices per kind)
    reach it; its failure rate theirs, weighed by recent spend."""
    mix, prices = team_prices(mine)
    intensity = np.repeat(mix[:, None], cost.shape[1], axis=1)
    unit = usd_per_unit(intensity, prices)
    volume = np.divide(cost, unit, out=np.zeros_like(cost), where=unit > 0)
    uid = key_id(team, NEW, NEW)
    spend = [s.input.weight for s in mine]
    failed = float(np.average([s.failure_rate for s in mine],
                              weights=spend if sum(spend) > 0 else None))  # fmt: skip
    line = DriverSeries(
        team, NEW, NEW, TOKENS, failed, {"standard": 1.0}, prices,
        SeriesInput(uid, np.zeros(0), np.zeros((len(mix), 0)), prices[:, 0] / 1e6, ()),
    )  # fmt: skip
    return line, SeriesForecast(uid, "new_series", (), None, {}, note, {}, intensity, volume)


def team_prices(mine: list[DriverSeries]) -> tuple[np.ndarray, np.ndarray]:
    """(mix, prices): the share of each token kind in a team's tokens of its last
    ``MIX_DAYS`` days (all its days where those had none), and the price of each kind on
    each forecast day, its series' prices weighed by their tokens of that kind."""
    tokens = np.stack([s.input.tokens.sum(axis=1) for s in mine])
    recent = np.stack([s.input.tokens[:, -MIX_DAYS:].sum(axis=1) for s in mine])
    if recent.sum() > 0:
        tokens = recent
    kinds = tokens.sum(axis=0)  # (kinds,)
    share = np.divide(tokens, kinds, out=np.full_like(tokens, 1 / len(mine)), where=kinds > 0)
    prices = np.einsum("sk,skd->kd", share, np.stack([s.prices for s in mine]))
    return kinds / max(kinds.sum(), 1e-300), prices
