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

import numpy as np
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
