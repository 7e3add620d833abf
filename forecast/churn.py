"""How much of a team's spend goes to models it had not used before.

A run forecasts every model the team has used (``forecast.engine``); a model it has not used
yet is in no series, and its spend in no total. Teams that keep trying new models spend a
real share there: in one person's coding-agent usage a median 36.5% of a fortnight's cost
went to models first used in it (``bench/churn.py``), and the team's total came to 0.46x
what it spent. Nothing in a model's own history says how much, so a run measures it on the
team's recent past and says so.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

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
    day = pd.to_datetime(used["ds"]).dt.date
    first = day.groupby([used["team"], used["model"]]).transform("min")
    out = []
    for team in sorted(used["team"].unique()):
        mine = (used["team"] == team).to_numpy()
        new = total = 0.0
        fortnights = 0
        for k in range(CUTOFFS):
            cut = as_of - dt.timedelta(days=FORTNIGHT + 7 * k)
            after = (
                mine & (day > cut).to_numpy() & (day <= cut + dt.timedelta(FORTNIGHT)).to_numpy()
            )
            spent = float(used["cost"][after].sum())
            if spent <= 0 or not (mine & (day <= cut).to_numpy()).any():
                continue
            fortnights += 1
            total += spent
            new += float(used["cost"][after & (first > cut).to_numpy()].sum())
        if fortnights:
            out.append({"team": team, "share": round(new / total, 4), "fortnights": fortnights})
    return out
